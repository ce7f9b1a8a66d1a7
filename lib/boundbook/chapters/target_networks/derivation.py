"""The sympy derivations of the chapter "Why target networks stabilise temporal-difference
learning" (exact; rational data, no floats).

**The composite map.** Partially fitted evaluation with a target network: from the target
:math:`\\bar\\omega`, run :math:`k` gradient steps (step :math:`\\alpha`) on
:math:`\\tfrac12\\|\\Phi\\omega - (R + \\gamma P\\Phi\\bar\\omega)\\|_D^2` starting at
:math:`\\omega = \\bar\\omega`, then copy :math:`\\bar\\omega \\leftarrow \\omega`. The inner
gradient is :math:`M\\omega - \\Phi^\\top D R - \\gamma B\\bar\\omega`, so the outer map is affine,
:math:`\\bar\\omega \\mapsto A_k\\bar\\omega + b_k`, with

.. math:: A_k = (I - \\alpha M)^k + \\big(I - (I - \\alpha M)^k\\big) M^{-1}\\gamma B.

:func:`composite_map` derives :math:`A_k` by iterating the inner update symbolically (with
:math:`\\alpha` a symbol) and compares it exactly with this closed form; :math:`k = 1` is
expected semi-gradient TD(0), :math:`I + \\alpha(\\gamma B - M)`.

**Exact stability tests.** For a 2x2 real matrix with trace :math:`t` and determinant
:math:`\\delta`, the spectral radius is below one iff :math:`|\\delta| < 1` and
:math:`|t| < 1 + \\delta` (the Jury/Schur conditions): on rational data these are exact
rational comparisons (:func:`schur_stable`). The edges of the step-size window at a fixed
period are real roots of the polynomials :math:`\\delta(\\alpha) - 1`,
:math:`t(\\alpha) - 1 - \\delta(\\alpha)` and :math:`t(\\alpha) + 1 + \\delta(\\alpha)`
(:func:`step_window`).

**The classic example** (one feature): everything is a scalar, :math:`A_k = q + (1 - q)\\gamma
B/M` with :math:`q = (1 - \\alpha M)^k`, so TD (:math:`k=1`) and fitted evaluation
(:math:`q \\to 0`) lose stability at the same :math:`\\gamma = M/B = 5/6`, and for
:math:`\\gamma > 5/6` every period diverges (:func:`classic_thresholds`).
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from boundbook.chapters.target_networks.instance import Instance, classic_instance

alpha, gamma, q = sp.symbols("alpha gamma q", real=True)


def matrices(inst: Instance, g: sp.Expr | None = None) -> dict[str, sp.Matrix]:
    """Exact ``Phi, P, D, R, M, B`` and ``gamma`` of an instance."""
    phi = sp.Matrix([[sp.Integer(v) for v in row] for row in inst.phi])
    P = sp.Matrix([[sp.Rational(x.numerator, x.denominator) for x in row] for row in inst.P])
    D = sp.diag(*[sp.Rational(x.numerator, x.denominator) for x in inst.mu])
    R = sp.Matrix([sp.Rational(x.numerator, x.denominator) for x in inst.R])
    gam = sp.Rational(inst.gamma.numerator, inst.gamma.denominator) if g is None else g
    return {"Phi": phi, "P": P, "D": D, "R": R, "M": phi.T * D * phi,
            "B": phi.T * D * P * phi, "gamma": gam}


def closed_form(M: sp.Matrix, B: sp.Matrix, g: sp.Expr, a: sp.Expr, k: int) -> sp.Matrix:
    """:math:`A_k = (I - aM)^k + (I - (I - aM)^k) M^{-1} g B`."""
    eye = sp.eye(M.shape[0])
    Q = (eye - a * M) ** k
    return Q + (eye - Q) * M.inv() * g * B


@dataclass(frozen=True)
class CompositeMap:
    """``derived``: :math:`A_k` from iterating the inner update (``alpha`` symbolic) for
    ``k = 1..len``; ``matches``: each equals :func:`closed_form` exactly; ``td_matches``:
    :math:`A_1 = I + \\alpha(\\gamma B - M)`."""

    derived: tuple[sp.Matrix, ...]
    matches: bool
    td_matches: bool


def composite_map(inst: Instance, kmax: int = 4) -> CompositeMap:
    m = matrices(inst)
    M, B, g, phi, D, P, R = m["M"], m["B"], m["gamma"], m["Phi"], m["D"], m["P"], m["R"]
    d = M.shape[0]
    wbar = sp.Matrix(sp.symbols(f"wbar0:{d}", real=True))
    target = R + g * P * phi * wbar
    w, derived, ok = wbar, [], True
    for k in range(1, kmax + 1):
        w = sp.expand(w - alpha * phi.T * D * (phi * w - target))
        A = w.jacobian(wbar)
        derived.append(A)
        ok &= sp.simplify(A - closed_form(M, B, g, alpha, k)) == sp.zeros(d, d)
    td = sp.simplify(derived[0] - (sp.eye(d) + alpha * (g * B - M))) == sp.zeros(d, d)
    return CompositeMap(tuple(derived), bool(ok), bool(td))


def schur_stable(A: sp.Matrix) -> bool:
    """Exact: the 2x2 rational matrix ``A`` has spectral radius < 1."""
    t, det = A.trace(), A.det()
    return bool(abs(det) < 1 and abs(t) < 1 + det)


@dataclass(frozen=True)
class Periods:
    """At the step ``alpha = inst.step``: ``stable[k-1]`` is :math:`\\rho(A_k) < 1` (exact) for
    ``k = 1..K``; ``k_star``: the smallest period from which every period up to ``K`` is
    stable; ``td_unstable``: an eigenvalue of :math:`\\gamma B - M` has positive real part
    (so TD diverges at every step size); ``fitted_stable``: :math:`\\rho(\\gamma M^{-1}B) < 1`
    (the limit :math:`k \\to \\infty`); ``inner_stable``: :math:`|1 - \\alpha\\lambda(M)| < 1`
    (so :math:`(I-\\alpha M)^k \\to 0`)."""

    step: sp.Rational
    stable: tuple[bool, ...]
    k_star: int
    td_unstable: bool
    fitted_stable: bool
    inner_stable: bool


def periods(inst: Instance, K: int) -> Periods:
    m = matrices(inst)
    M, B, g = m["M"], m["B"], m["gamma"]
    a = sp.Rational(inst.step.numerator, inst.step.denominator)
    stable = tuple(schur_stable(closed_form(M, B, g, a, k)) for k in range(1, K + 1))
    k_star = K + 1
    for k in range(K, 0, -1):
        if not stable[k - 1]:
            break
        k_star = k
    J = g * B - M
    tr, det = J.trace(), J.det()
    disc = tr**2 - 4 * det  # eigenvalues tr/2 +- sqrt(disc)/2
    td_unstable = bool(tr > 0) if disc < 0 else bool(tr / 2 + sp.sqrt(disc) / 2 > 0)
    fitted = schur_stable(M.inv() * g * B)
    inner = schur_stable(sp.eye(M.shape[0]) - a * M)
    return Periods(a, stable, k_star, td_unstable, bool(fitted), bool(inner))


@dataclass(frozen=True)
class Window:
    """The step sizes :math:`\\alpha` at period ``k`` for which :math:`\\rho(A_k) < 1`: the
    window ``(lo, hi)`` around ``inst.step`` bounded by the nearest real roots of the Jury
    polynomials (exact algebraic numbers, with float values); ``inside``: the window's
    midpoint is Schur stable (exact, at a rational point)."""

    k: int
    lo: sp.Expr
    hi: sp.Expr
    inside: bool

    @property
    def floats(self) -> tuple[float, float]:
        return float(self.lo), float(self.hi)


def step_window(inst: Instance, k: int) -> Window:
    m = matrices(inst)
    M, B, g = m["M"], m["B"], m["gamma"]
    A = closed_form(M, B, g, alpha, k)
    t, det = sp.expand(A.trace()), sp.expand(A.det())
    roots = set()
    for poly in (det - 1, t - 1 - det, t + 1 + det):
        p = sp.Poly(sp.together(poly).as_numer_denom()[0], alpha)
        roots |= {r for r in p.real_roots() if r > 0}
    a0 = sp.Rational(inst.step.numerator, inst.step.denominator)
    lo = max((r for r in roots if float(r) < float(a0)), key=float)
    hi = min((r for r in roots if float(r) > float(a0)), key=float)
    mid = sp.nsimplify((float(lo) + float(hi)) / 2, rational=True)
    return Window(k, lo, hi, schur_stable(closed_form(M, B, g, mid, k)))


@dataclass(frozen=True)
class Classic:
    """The one-feature example: ``gamma_td`` (TD loses stability), ``gamma_fitted`` (fitted
    evaluation does), ``A_k`` in terms of :math:`q = (1-\\alpha M)^k`; ``coincide``: the two
    thresholds are equal (exactly 5/6); ``no_rescue``: :math:`A_k - 1 = (1-q)(\\gamma B/M - 1)`,
    positive for every :math:`q < 1` when :math:`\\gamma > 5/6`."""

    M: sp.Expr
    B: sp.Expr
    A_k: sp.Expr
    gamma_td: sp.Expr
    gamma_fitted: sp.Expr
    coincide: bool
    no_rescue: bool


def classic_thresholds(inst: Instance) -> Classic:
    m = matrices(inst, g=gamma)
    M, B = m["M"][0, 0], m["B"][0, 0]
    A_k = sp.simplify(q + (1 - q) * gamma * B / M)
    (g_td,) = sp.solve(sp.Eq(1 + alpha * (gamma * B - M), 1), gamma)
    (g_fit,) = sp.solve(sp.Eq(gamma * B / M, 1), gamma)
    factored = sp.simplify(A_k - 1 - (1 - q) * (gamma * B / M - 1)) == 0
    return Classic(M, B, A_k, g_td, g_fit,
                   bool(sp.simplify(g_td - g_fit) == 0 and g_td == sp.Rational(5, 6)),
                   bool(factored))


def symbolic_flags(inst: Instance, K: int, k_window: int) -> dict:
    """Everything the checks read from the derivation (plain types)."""
    cm = composite_map(inst)
    per = periods(inst, K)
    win = step_window(inst, k_window)
    cl = classic_thresholds(classic_instance())
    return {"composite": cm.matches and cm.td_matches, "k_star": per.k_star,
            "stable": list(per.stable), "td_unstable": per.td_unstable,
            "fitted_stable": per.fitted_stable, "inner_stable": per.inner_stable,
            "step": str(per.step), "window": list(win.floats), "window_inside": win.inside,
            "window_k": k_window, "classic_gamma": float(cl.gamma_td),
            "classic_coincide": cl.coincide and cl.no_rescue}
