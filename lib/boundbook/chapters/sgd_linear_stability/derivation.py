"""Mean-square linear stability of SGD at an interpolating minimum, derived with sympy.

Setting (the chapter's): per-example losses :math:`\\ell_i(\\theta) = \\tfrac12(f_i(\\theta) -
y_i)^2`, :math:`L = \\tfrac1n\\sum_i \\ell_i`, an interpolating minimum :math:`\\theta^*`
(every :math:`\\ell_i` is zero there), so the per-example Hessians are the Gauss-Newton terms
:math:`H_i = g_i g_i^\\top` (:math:`g_i = \\nabla f_i(\\theta^*)`) and
:math:`H = \\tfrac1n\\sum_i H_i`. Linearised SGD with a random batch is
:math:`\\delta_{t+1} = (I - \\eta H_S)\\delta_t` and its second moment
:math:`\\Sigma_t = \\mathbb E[\\delta_t\\delta_t^\\top]` obeys

.. math:: \\Sigma_{t+1} = \\Sigma_t - \\eta(H\\Sigma_t + \\Sigma_t H)
          + \\eta^2\\,\\mathbb E[H_S\\Sigma_t H_S],
          \\qquad \\mathbb E[H_S\\Sigma H_S] = \\alpha\\,H\\Sigma H
          + \\beta\\,\\tfrac1n\\textstyle\\sum_i H_i\\Sigma H_i,

with coefficients that depend on how the batch is drawn (derived below by exact enumeration
of the batches, with non-commuting symbols for the matrices):

=================  ===========================  ==========================
sampling           :math:`\\alpha`               :math:`\\beta`
=================  ===========================  ==========================
with replacement   :math:`1 - 1/B`              :math:`1/B`
uniform B-subsets  :math:`1 - p`                :math:`p = \\frac{n-B}{B(n-1)}`
Bernoulli(B/n)     :math:`1`                    :math:`\\frac{1}{B}(1 - \\frac{B}{n})`
=================  ===========================  ==========================

("uniform B-subsets" is Mulayoff & Michaeli's model, Bernoulli is Dexter et al.'s: each example
kept independently with probability :math:`B/n`, the sum divided by :math:`B`.)

The derivations here:

- :func:`second_moment_derivation`: the table above, by enumeration, compared exactly;
- :func:`trace_derivation`: the Rayleigh quotient of the (self-adjoint) mean-square map at
  :math:`\\Sigma = I`, and the bound it gives: mean-square stability implies
  :math:`\\eta\\,\\beta\\,\\mathrm{Tr}H \\le 2`, i.e. :math:`\\mathrm{Tr}H \\le 2B/\\eta` with
  replacement (Wu & Su's :math:`2/\\eta` at :math:`B = 1`);
- :func:`orthogonal_derivation`: the exact threshold for orthogonal, equal-norm :math:`g_i`
  (:math:`\\eta^*\\mathrm{Tr}H\\,(\\alpha/n + \\beta) = 2`), where the trace bound is attained at
  :math:`B = 1`, and the Bernoulli threshold :math:`2B/a` (linear in :math:`B`);
- :func:`coherent_derivation`: identical per-example Hessians; fixed-size batches give GD's
  :math:`2/\\lambda` for every :math:`B`, Bernoulli batches do not
  (:math:`2/(\\lambda(1 + 1/B - 1/n))`), because the batch size itself is random.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import cache

import sympy as sp

__all__ = [
    "SAMPLINGS",
    "CoherentDerivation",
    "OrthogonalDerivation",
    "SecondMomentDerivation",
    "TraceDerivation",
    "coherent_derivation",
    "coherent_markdown",
    "coherent_threshold",
    "coherent_threshold_ab",
    "noise_coefficients",
    "orthogonal_derivation",
    "orthogonal_markdown",
    "orthogonal_threshold",
    "orthogonal_threshold_ab",
    "second_moment_derivation",
    "second_moment_markdown",
    "symbolic_flags",
    "trace_bound",
    "trace_derivation",
    "trace_markdown",
]

SAMPLINGS: tuple[str, ...] = ("with", "without", "bernoulli")
"""Batch sampling models: with replacement, uniform B-subsets, Bernoulli(B/n) inclusion."""

eta, B, n, a, lam = sp.symbols("eta B n a lambda", positive=True)
trH, trH2, m4, r = sp.symbols("T_H T_{H^2} m_4 r", positive=True)
alpha, beta = sp.symbols("alpha beta", nonnegative=True)


def coefficients(sampling: str, n_: sp.Expr = n, B_: sp.Expr = B) -> tuple[sp.Expr, sp.Expr]:
    """The closed-form :math:`(\\alpha, \\beta)` of the table in the module docstring."""
    if sampling == "with":
        return 1 - 1 / B_, 1 / B_
    if sampling == "without":
        p = (n_ - B_) / (B_ * (n_ - 1))
        return 1 - p, p
    if sampling == "bernoulli":
        return sp.Integer(1), (1 - B_ / n_) / B_
    raise ValueError(f"sampling must be one of {SAMPLINGS}, got {sampling!r}")


@dataclass(frozen=True)
class SecondMomentDerivation:
    """:math:`\\mathbb E[H_S\\Sigma H_S]` by enumerating every batch, for ``n_examples``
    non-commuting :math:`H_i` (``expectation``), against the closed form (``closed``); the
    difference expands to zero iff ``matches``. ``mean_matches``: :math:`\\mathbb E[H_S] = H`."""

    sampling: str
    n_examples: int
    batch: sp.Expr
    expectation: sp.Expr
    closed: sp.Expr
    alpha: sp.Expr
    beta: sp.Expr
    matches: bool
    mean_matches: bool


def _batches(sampling: str, n_: int, B_: int | sp.Expr):
    """(probability, multiplicity vector) of every batch of the sampling model."""
    if sampling == "with":
        for tup in itertools.product(range(n_), repeat=int(B_)):
            yield sp.Rational(1, n_ ** int(B_)), [tup.count(i) for i in range(n_)]
    elif sampling == "without":
        subsets = list(itertools.combinations(range(n_), int(B_)))
        for sub in subsets:
            yield sp.Rational(1, len(subsets)), [int(i in sub) for i in range(n_)]
    elif sampling == "bernoulli":
        q = B_ / n_
        for x in itertools.product((0, 1), repeat=n_):
            k = sum(x)
            yield q**k * (1 - q) ** (n_ - k), list(x)
    else:
        raise ValueError(f"sampling must be one of {SAMPLINGS}, got {sampling!r}")


@cache
def second_moment_derivation(sampling: str, n_examples: int = 4,
                             batch: int | None = 2) -> SecondMomentDerivation:
    """Exact :math:`\\mathbb E[H_S\\Sigma H_S]` and :math:`\\mathbb E[H_S]` by enumeration.

    ``batch=None`` keeps the batch size symbolic (Bernoulli only: its enumeration is over
    inclusion patterns, whose probabilities are polynomials in :math:`B/n`).
    """
    Hs = sp.symbols(f"H1:{n_examples + 1}", commutative=False)
    S = sp.Symbol("Sigma", commutative=False)
    B_ = B if batch is None else sp.Integer(batch)
    if batch is None and sampling != "bernoulli":
        raise ValueError("a symbolic batch size needs the Bernoulli model")
    second = sp.Integer(0)
    first = sp.Integer(0)
    for prob, counts in _batches(sampling, n_examples, B_):
        HS = sum((c * h for c, h in zip(counts, Hs, strict=True) if c), sp.Integer(0)) / B_
        second += prob * HS * S * HS
        first += prob * HS
    second = sp.expand(second)
    al, be = coefficients(sampling, sp.Integer(n_examples), B_)
    Hbar = sum(Hs, sp.Integer(0)) / n_examples
    closed = sp.expand(al * Hbar * S * Hbar + be * sum((h * S * h for h in Hs), sp.Integer(0))
                       / n_examples)
    diff = sp.expand(second - closed)
    diff = sp.expand(sum(sp.simplify(c) * mono for mono, c in diff.as_coefficients_dict().items()))
    mean_diff = sp.expand(sp.expand(first) - Hbar)
    mean_diff = sum(sp.simplify(c) for c in mean_diff.as_coefficients_dict().values())
    return SecondMomentDerivation(sampling, n_examples, B_, second, closed, sp.simplify(al),
                                  sp.simplify(be), diff == 0, sp.simplify(mean_diff) == 0)


@dataclass(frozen=True)
class TraceDerivation:
    """The Rayleigh quotient of the mean-square map at :math:`\\Sigma = I` (dimension ``r``)
    for rank-one :math:`H_i = g_ig_i^\\top`, in :math:`T_H = \\mathrm{Tr}H`,
    :math:`T_{H^2} = \\mathrm{Tr}H^2` and :math:`m_4 = \\tfrac1n\\sum_i\\|g_i\\|^4`.

    ``rayleigh``: :math:`\\tfrac1r\\langle I, \\mathcal T(I)\\rangle`. ``lower``: the bound after
    :math:`T_{H^2} \\ge 0` and :math:`m_4 \\ge T_H^2` (Jensen), ``gap`` = rayleigh - lower (a sum
    of non-negative terms). ``edge``: the positive root of ``lower = 1`` in :math:`\\eta`
    (above it the map expands, so :math:`\\eta^* \\le` edge). ``edge_with``: the edge with
    replacement, compared exactly with :math:`2B/T_H` (``matches_2B``) and with Wu & Su's
    batch-size-one :math:`2/T_H` (``matches_2_at_B1`` at B = 1; ``matches_2`` for general B,
    False). ``mulayoff``: the unrelaxed necessary condition from the same quotient,
    :math:`\\eta \\le 2T_H/(\\alpha T_{H^2} + \\beta m_4)` (the form of Mulayoff & Michaeli's
    Prop. 3, Eq. 16, for rank-one :math:`H_i`)."""

    rayleigh: sp.Expr
    lower: sp.Expr
    gap: sp.Expr
    edge: sp.Expr
    edge_with: sp.Expr
    edges: dict[str, sp.Expr]
    matches_2B: bool
    matches_2_at_B1: bool
    matches_2: bool
    mulayoff: sp.Expr


@cache
def trace_derivation() -> TraceDerivation:
    al, be = alpha, beta
    # <I, T(I)> = Tr(I) - 2 eta Tr H + eta^2 (alpha Tr H^2 + beta (1/n) sum ||g_i||^4),
    # since Tr(H_i I H_i) = ||g_i||^4 for H_i = g_i g_i^T.
    rayleigh = (r - 2 * eta * trH + eta**2 * (al * trH2 + be * m4)) / r
    lower = (r - 2 * eta * trH + eta**2 * be * trH**2) / r
    gap = sp.simplify(rayleigh - lower)
    roots = [x for x in sp.solve(sp.Eq(lower, 1), eta) if x != 0]
    edge = sp.simplify(roots[0])
    edges = {s: sp.simplify(edge.subs(be, coefficients(s)[1])) for s in SAMPLINGS}
    edge_with = edges["with"]
    mul = sp.solve(sp.Eq(rayleigh, 1), eta)
    mulayoff = sp.simplify([x for x in mul if x != 0][0])
    return TraceDerivation(
        rayleigh, lower, gap, edge, edge_with, edges,
        matches_2B=sp.simplify(edge_with - 2 * B / trH) == 0,
        matches_2_at_B1=sp.simplify(edge_with.subs(B, 1) - 2 / trH) == 0,
        matches_2=sp.simplify(edge_with - 2 / trH) == 0,
        mulayoff=mulayoff)


@dataclass(frozen=True)
class OrthogonalDerivation:
    """:math:`g_i = \\sqrt a\\,e_i`, :math:`i = 1..n` (so :math:`H = (a/n)I`,
    :math:`\\mathrm{Tr}H = a`). ``generic``: the threshold for any noise coefficients,
    :math:`2n/(a(\\alpha + n\\beta))`. On diagonal :math:`\\Sigma` the map multiplies by
    ``diagonal_multiplier``, on :math:`e_ie_j^\\top` (:math:`i \\ne j`) by
    ``offdiagonal_multiplier`` (smaller by ``multiplier_gap`` :math:`\\ge 0`), so the diagonal
    mode is the top one and the threshold is where it equals 1: ``threshold[sampling]``.
    ``identity``: :math:`\\eta^*\\mathrm{Tr}H(\\alpha/n + \\beta)` (equals 2),
    ``identity_with``: with replacement, :math:`\\eta^* a((1-1/n)/B + 1/n)`;
    ``tight_at_B1``: the with-replacement threshold at B = 1 is exactly :math:`2/\\mathrm{Tr}H`;
    ``bernoulli_linear``: the Bernoulli threshold is exactly :math:`2B/a`."""

    generic: sp.Expr
    diagonal_multiplier: dict[str, sp.Expr]
    offdiagonal_multiplier: dict[str, sp.Expr]
    multiplier_gap: dict[str, sp.Expr]
    threshold: dict[str, sp.Expr]
    identity: dict[str, sp.Expr]
    identity_with: sp.Expr
    tight_at_B1: bool
    bernoulli_linear: bool
    gap_nonnegative: bool


def _orthogonal_multipliers(al: sp.Expr, be: sp.Expr) -> tuple[sp.Expr, sp.Expr]:
    # H = (a/n) I; H_i Sigma H_i = a^2 Sigma_ii e_i e_i^T; averaging over i gives
    # (a^2/n) diag(Sigma), which is zero on off-diagonal Sigma.
    diag = sp.expand(1 - 2 * eta * a / n + eta**2 * (al * a**2 / n**2 + be * a**2 / n))
    off = sp.expand(1 - 2 * eta * a / n + eta**2 * al * a**2 / n**2)
    return diag, off


def _positive_root(expr: sp.Expr) -> sp.Expr:
    roots = [x for x in sp.solve(sp.Eq(expr, 1), eta) if x != 0]
    if len(roots) != 1:
        raise ArithmeticError(f"expected one non-zero root, got {roots}")
    return sp.simplify(roots[0])


@cache
def orthogonal_derivation() -> OrthogonalDerivation:
    diag, off, gap, thr, ident = {}, {}, {}, {}, {}
    generic = _positive_root(_orthogonal_multipliers(alpha, beta)[0])
    for s in SAMPLINGS:
        al, be = coefficients(s)
        diag[s], off[s] = _orthogonal_multipliers(al, be)
        gap[s] = sp.simplify(diag[s] - off[s])
        thr[s] = _positive_root(diag[s])
        ident[s] = sp.simplify(thr[s] * a * (al / n + be))
    ident_with = sp.simplify(thr["with"] * a * ((1 - 1 / n) / B + 1 / n))
    return OrthogonalDerivation(
        generic, diag, off, gap, thr, ident, ident_with,
        tight_at_B1=sp.simplify(thr["with"].subs(B, 1) - 2 / a) == 0,
        bernoulli_linear=sp.simplify(thr["bernoulli"] - 2 * B / a) == 0,
        gap_nonnegative=all(_nonnegative_for_batches(g) for g in gap.values()))


def _nonnegative_for_batches(expr: sp.Expr) -> bool:
    """sympy's sign test of ``expr`` for batches 1 < B < n (substituting B = 1 + b,
    n = B + k with b, k > 0; the end points are limits of these)."""
    b, k = sp.symbols("b k", positive=True)
    return bool(sp.factor(expr.subs(n, B + k).subs(B, 1 + b)).is_nonnegative)


@dataclass(frozen=True)
class CoherentDerivation:
    """Identical per-example Hessians :math:`H_i = \\lambda vv^\\top`: along :math:`v` the
    second moment is multiplied by ``multiplier[sampling]`` per step (``generic``: the
    threshold for any :math:`(\\alpha, \\beta)`, :math:`2/(\\lambda(\\alpha + \\beta))`);
    ``threshold[sampling]`` is where it equals 1. ``gd_every_B[sampling]``: the threshold is GD's
    :math:`2/\\lambda` for every B (True for fixed-size batches, False for Bernoulli)."""

    generic: sp.Expr
    multiplier: dict[str, sp.Expr]
    threshold: dict[str, sp.Expr]
    gd_every_B: dict[str, bool]
    bernoulli_factor: sp.Expr


@cache
def coherent_derivation() -> CoherentDerivation:
    def multiplier(al: sp.Expr, be: sp.Expr) -> sp.Expr:
        # H_S = (sum of the batch's weights / B) H: E[H_S^2] = (alpha + beta) H^2
        return sp.expand(1 - 2 * eta * lam + eta**2 * lam**2 * (al + be))

    mult, thr, gd = {}, {}, {}
    for s in SAMPLINGS:
        mult[s] = multiplier(*coefficients(s))
        thr[s] = _positive_root(mult[s])
        gd[s] = sp.simplify(thr[s] - 2 / lam) == 0
    factor = sp.simplify(2 / (lam * thr["bernoulli"]))
    return CoherentDerivation(_positive_root(multiplier(alpha, beta)), mult, thr, gd, factor)


@cache
def _lambdified(name: str, sampling: str):
    if name == "trace":
        return sp.lambdify((trH, n, B), trace_derivation().edges[sampling], "math")
    if name == "orthogonal":
        return sp.lambdify((a, n, B), orthogonal_derivation().threshold[sampling], "math")
    if name == "coherent":
        return sp.lambdify((lam, n, B), coherent_derivation().threshold[sampling], "math")
    if name == "orthogonal_ab":
        return sp.lambdify((a, n, alpha, beta), orthogonal_derivation().generic, "math")
    if name == "coherent_ab":
        return sp.lambdify((lam, alpha, beta), coherent_derivation().generic, "math")
    if name == "coefficients":
        al, be = coefficients(sampling)
        return sp.lambdify((n, B), (al, be), "math")
    raise KeyError(name)


def noise_coefficients(sampling: str, n_examples: int, batch: float) -> tuple[float, float]:
    """Numeric :math:`(\\alpha, \\beta)` of the sampling model (module docstring's table)."""
    al, be = _lambdified("coefficients", sampling)(n_examples, batch)
    return float(al), float(be)


def trace_bound(trace_h: float, n_examples: int, batch: float, sampling: str = "with") -> float:
    """The step above which the Rayleigh quotient at :math:`\\Sigma = I` exceeds 1:
    :math:`2/(\\beta\\,\\mathrm{Tr}H)` (:math:`2B/\\mathrm{Tr}H` with replacement). Infinite when
    :math:`\\beta = 0` (full batch without replacement or Bernoulli: no trace constraint)."""
    if sampling != "with" and batch >= n_examples:
        return float("inf")
    return float(_lambdified("trace", sampling)(trace_h, n_examples, batch))


def orthogonal_threshold(sq_norm: float, n_examples: int, batch: float,
                         sampling: str = "with") -> float:
    """Exact threshold for :math:`n` orthogonal per-example gradients of squared norm ``a``."""
    return float(_lambdified("orthogonal", sampling)(sq_norm, n_examples, batch))


def orthogonal_threshold_ab(sq_norm: float, n_examples: int, alpha_: float,
                            beta_: float) -> float:
    """:func:`orthogonal_threshold` for any noise coefficients :math:`(\\alpha, \\beta)`:
    :math:`2/(a(\\alpha/n + \\beta))`."""
    return float(_lambdified("orthogonal_ab", "")(sq_norm, n_examples, alpha_, beta_))


def coherent_threshold_ab(curvature: float, alpha_: float, beta_: float) -> float:
    """:func:`coherent_threshold` for any :math:`(\\alpha, \\beta)`:
    :math:`2/(\\lambda(\\alpha + \\beta))`."""
    return float(_lambdified("coherent_ab", "")(curvature, alpha_, beta_))


def coherent_threshold(curvature: float, n_examples: int, batch: float,
                       sampling: str = "with") -> float:
    """Exact threshold when every :math:`H_i` equals :math:`H` (top eigenvalue ``curvature``)."""
    return float(_lambdified("coherent", sampling)(curvature, n_examples, batch))


def symbolic_flags() -> dict[str, bool]:
    """The exact (sympy) results the checks require: the trace edge with replacement is
    :math:`2B/\\mathrm{Tr}H`, the orthogonal identity equals 2, the Bernoulli orthogonal
    threshold is linear in :math:`B`, and the Bernoulli second moment matches its closed form
    (symbolic batch size)."""
    orth = orthogonal_derivation()
    return {
        "trace_edge_is_2B_over_trH": trace_derivation().matches_2B,
        "orthogonal_identity": bool(sp.simplify(orth.identity_with - 2) == 0),
        "orthogonal_bernoulli_linear": orth.bernoulli_linear,
        "bernoulli_operator": second_moment_derivation("bernoulli", 4, None).matches,
    }



# --------------------------------------------------------------------------- the chapter's display
def _math(expr: str) -> str:
    return f"$${expr}$$"


def second_moment_markdown(n_examples: int = 4) -> str:
    """The enumerated second moments (with replacement and uniform subsets at B = 1, 2, 3; Bernoulli
    with a symbolic B), whether they match the closed form, and the table of coefficients, as
    Markdown with display math."""
    moments = [second_moment_derivation(s, n_examples, b)
               for s in ("with", "without") for b in (1, 2, 3)]
    moments.append(second_moment_derivation("bernoulli", n_examples, None))
    parts = [_math(rf"\text{{{d.sampling}}},\ B = {sp.latex(d.batch)}:\quad "
                   rf"\alpha = {sp.latex(d.alpha)},\ \beta = {sp.latex(d.beta)}")
             for d in moments]
    parts.append(f"enumeration == closed form: {all(d.matches for d in moments)} "
                 f"| E[H_S] = H: {all(d.mean_matches for d in moments)}")
    for s in SAMPLINGS:
        al, be = coefficients(s)
        parts.append(_math(rf"\text{{{s}:}}\ \alpha = {sp.latex(al)},\quad \beta = {sp.latex(be)}"))
    return "\n\n".join(parts)


def trace_markdown() -> str:
    """The Rayleigh quotient at :math:`\\Sigma = I`, its relaxation, the edge per sampling model
    and the unrelaxed (Eq. 16) form (:func:`trace_derivation`)."""
    tr = trace_derivation()
    edges = ",\\ ".join(rf"\text{{{s}}}: {sp.latex(e)}" for s, e in tr.edges.items())
    return "\n\n".join([
        _math(r"\tfrac1r\langle I, \mathcal T(I)\rangle = " + sp.latex(tr.rayleigh)),
        _math(r"\text{quotient} - \text{bound} = " + sp.latex(tr.gap) + r" \;\ge 0"),
        _math(r"\text{bound} = 1 \text{ at } \eta = " + sp.latex(tr.edge)
              + r";\quad \text{per sampling: } " + edges),
        _math(r"\text{unrelaxed (Eq. 16 form): } \eta \le " + sp.latex(tr.mulayoff)),
        f"with replacement the edge is 2B/Tr H: {tr.matches_2B}; equals 2/Tr H at B = 1: "
        f"{tr.matches_2_at_B1}; equals 2/Tr H for every B: {tr.matches_2}"])


def orthogonal_markdown() -> str:
    """The orthogonal equal-norm thresholds per sampling model, the diagonal/off-diagonal gap and
    the identity behind the trace bound's tightness (:func:`orthogonal_derivation`)."""
    orth = orthogonal_derivation()
    parts = [_math(rf"\text{{{s}}}:\ \eta^* = {sp.latex(orth.threshold[s])},\quad "
                   rf"\text{{diagonal}} - \text{{off-diagonal factor}} = "
                   rf"{sp.latex(orth.multiplier_gap[s])}") for s in SAMPLINGS]
    parts.append(_math(r"\eta^*\,\mathrm{Tr}H\Big(\frac{1-1/n}{B} + \frac1n\Big) = "
                       + sp.latex(orth.identity_with)))
    parts.append(f"tight at B = 1 (eta* = 2/Tr H): {orth.tight_at_B1}; Bernoulli threshold is "
                 f"2B/a: {orth.bernoulli_linear}; off-diagonal modes never dominate: "
                 f"{orth.gap_nonnegative}")
    return "\n\n".join(parts)


def coherent_markdown() -> str:
    """The coherent thresholds per sampling model and the Bernoulli factor
    (:func:`coherent_derivation`)."""
    coh = coherent_derivation()
    parts = [_math(rf"\text{{{s}}}:\ \eta^* = {sp.latex(coh.threshold[s])}") for s in SAMPLINGS]
    parts.append(_math(r"\text{Bernoulli: } \frac{2/\lambda}{\eta^*} = "
                       + sp.latex(coh.bernoulli_factor)))
    parts.append(f"threshold is GD's 2/lambda for every B: {coh.gd_every_B}")
    return "\n\n".join(parts)
