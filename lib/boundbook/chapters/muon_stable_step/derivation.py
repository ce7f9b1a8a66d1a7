"""One orthogonalised (Muon) step on matrix least squares: exact algebra (sympy).

Model: :math:`L(W) = \\tfrac12\\|XW - Y\\|_F^2`, :math:`W \\in \\mathbb{R}^{n\\times m}`,
gradient :math:`G = X^\\top(XW - Y)` with thin SVD :math:`G = U\\Sigma V^\\top` of rank
:math:`r`, curvature :math:`A = X^\\top X`. Muon without momentum steps along the polar factor,
:math:`W^+ = W - \\eta\\,UV^\\top`; GD steps along :math:`G`.

Everything here is DERIVED (ours; the paper, arXiv 2605.13079, was available as an abstract
only):

- :math:`L(W - \\eta D) - L(W) = -\\eta\\langle G, D\\rangle + \\tfrac{\\eta^2}{2}\\|XD\\|_F^2`
  exactly, for any direction :math:`D` (:func:`one_step_expansion`);
- for :math:`D = UV^\\top`:
  :math:`\\langle G, UV^\\top\\rangle = \\mathrm{tr}\\,\\Sigma = \\|G\\|_*` and
  :math:`\\|XUV^\\top\\|_F^2 = \\mathrm{tr}(U^\\top A U) \\le r\\,\\lambda_{\\max}(A)`, so the
  one-step descent threshold is :math:`\\eta_1 = 2\\|G\\|_*/\\mathrm{tr}(U^\\top AU) \\ge
  2\\bar\\sigma/\\lambda_{\\max}` with :math:`\\bar\\sigma = \\|G\\|_*/r`: the step
  :math:`\\eta < 2\\bar\\sigma/\\lambda_{\\max}` is *sufficient* for descent, and necessary too
  when :math:`A` acts as :math:`\\lambda_{\\max} I` on the column space of :math:`U`
  (:func:`orthogonal_step_2x2` checks both on a rotated 2x2 family);
- for GD, :math:`\\eta_1^{\\mathrm{GD}} = 2\\|G\\|_F^2/\\mathrm{tr}(G^\\top AG) \\ge
  2/\\lambda_{\\max}`, and the iterated (linear-stability) threshold is
  :math:`2/\\lambda_{\\max}` (:func:`boundbook.symbolic.quadratic.critical_step`);
- a Muon step cannot raise the excess loss :math:`\\Delta = L - L^*` when
  :math:`\\Delta > \\eta^2 p^2 \\lambda_{\\max}^2/(8\\lambda_{\\min})` (:math:`p = \\min(n, m)`,
  using :math:`\\|G\\|_* \\ge \\|G\\|_F \\ge \\sqrt{2\\lambda_{\\min}\\Delta}`), and one step
  adds at most :math:`\\eta^2 p\\lambda_{\\max}/2`; hence
  :math:`\\sup_t \\Delta_t \\le \\max(\\Delta_0, B(\\eta))` with
  :math:`B(\\eta) = \\eta^2 p^2\\lambda_{\\max}^2/(8\\lambda_{\\min}) +
  \\eta^2 p\\lambda_{\\max}/2` (:func:`muon_ceiling`): iterated Muon never diverges.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import sympy as sp

__all__ = [
    "ExpansionCheck",
    "OrthogonalStep",
    "ceiling_markdown",
    "derivation_markdown",
    "descent_step_bound",
    "muon_ceiling",
    "one_step_expansion",
    "orthogonal_step_2x2",
]

eta = sp.Symbol("eta", positive=True)
nuc, rank, lam_max, lam_min, p_dim = sp.symbols("N_* r lambda_max lambda_min p", positive=True)

DESCENT_BOUND = 2 * (nuc / rank) / lam_max
"""The sufficient one-step descent step :math:`2\\bar\\sigma/\\lambda_{\\max}`,
:math:`\\bar\\sigma = \\|G\\|_*/r`."""

CEILING = eta**2 * p_dim**2 * lam_max**2 / (8 * lam_min) + eta**2 * p_dim * lam_max / 2
"""Our ceiling :math:`B(\\eta)` on the excess loss of iterated Muon (see the module doc)."""


@dataclass(frozen=True)
class ExpansionCheck:
    """``change``: :math:`L(W - \\eta D) - L(W)` for symbolic 3x2 ``X``, 2x2 ``W``, ``D``, 3x2
    ``Y``; ``claimed``: :math:`-\\eta\\langle G, D\\rangle + \\tfrac{\\eta^2}{2}\\|XD\\|_F^2`;
    ``matches``: their difference expands to 0."""

    change: sp.Expr
    claimed: sp.Expr
    matches: bool


@cache
def one_step_expansion() -> ExpansionCheck:
    X = sp.Matrix(3, 2, sp.symbols("x1:7", real=True))
    W = sp.Matrix(2, 2, sp.symbols("w1:5", real=True))
    D = sp.Matrix(2, 2, sp.symbols("d1:5", real=True))
    Y = sp.Matrix(3, 2, sp.symbols("y1:7", real=True))

    def loss(M: sp.Matrix) -> sp.Expr:
        R = X * M - Y
        return (R.T * R).trace() / 2

    change = sp.expand(loss(W - eta * D) - loss(W))
    G = X.T * (X * W - Y)
    claimed = -eta * (G.T * D).trace() + eta**2 / 2 * ((X * D).T * (X * D)).trace()
    return ExpansionCheck(change, claimed, sp.expand(change - claimed) == 0)


@dataclass(frozen=True)
class OrthogonalStep:
    """Rotated 2x2 family: :math:`G = R(\\theta)\\,\\mathrm{diag}(s_1, s_2)\\,R(\\phi)^\\top`,
    :math:`A = R(\\alpha)\\,\\mathrm{diag}(\\lambda_1, \\lambda_2)\\,R(\\alpha)^\\top` with
    :math:`\\lambda_1 \\ge \\lambda_2`, polar factor :math:`O = R(\\theta)R(\\phi)^\\top`.

    ``inner``: :math:`\\langle G, O\\rangle` (simplifies to :math:`s_1 + s_2`), ``curvature``:
    :math:`\\mathrm{tr}(O^\\top A O)` (to :math:`\\lambda_1 + \\lambda_2`), ``threshold``: the
    positive root of the exact one-step change, ``bound``: :math:`2\\bar\\sigma/\\lambda_{\\max}`,
    ``gap``: threshold - bound (non-negative), ``equality_gap``: the gap at
    :math:`\\lambda_1 = \\lambda_2` (0), ``rank_one_curvature``: :math:`u^\\top A u` for the
    rank-one case :math:`s_2 = 0`, ``matches``: the four exact checks.
    """

    inner: sp.Expr
    curvature: sp.Expr
    threshold: sp.Expr
    bound: sp.Expr
    gap: sp.Expr
    equality_gap: sp.Expr
    rank_one_curvature: sp.Expr
    matches: bool


def _rot(angle: sp.Symbol) -> sp.Matrix:
    return sp.Matrix([[sp.cos(angle), -sp.sin(angle)], [sp.sin(angle), sp.cos(angle)]])


@cache
def orthogonal_step_2x2() -> OrthogonalStep:
    th, ph, al = sp.symbols("theta phi alpha", real=True)
    s1, s2, l1 = sp.symbols("s1 s2 lambda1", positive=True)
    t = sp.Symbol("t", positive=True)  # lambda2 = t * lambda1, 0 < t <= 1
    l2 = t * l1
    G = _rot(th) * sp.diag(s1, s2) * _rot(ph).T
    P = _rot(th) * _rot(ph).T
    A = _rot(al) * sp.diag(l1, l2) * _rot(al).T
    inner = sp.simplify(sp.trigsimp((G.T * P).trace()))
    curvature = sp.simplify(sp.trigsimp((P.T * A * P).trace()))
    change = -eta * inner + eta**2 / 2 * curvature
    threshold = [s for s in sp.solve(sp.Eq(change, 0), eta) if s != 0][0]
    bound = DESCENT_BOUND.subs({nuc: s1 + s2, rank: 2, lam_max: l1})
    gap = sp.factor(sp.simplify(threshold - bound))
    equality_gap = sp.simplify(gap.subs(t, 1))
    u = _rot(th)[:, 0]
    rank_one = sp.simplify(sp.trigsimp((u.T * A * u)[0, 0]))
    ok = (sp.simplify(inner - (s1 + s2)) == 0 and sp.simplify(curvature - (l1 + l2)) == 0
          and equality_gap == 0
          and sp.simplify(gap - (s1 + s2) * (1 - t) / (l1 * (1 + t))) == 0
          and sp.simplify(sp.trigsimp(rank_one - l1 + (l1 - l2) * sp.sin(th - al) ** 2))
          == 0)
    return OrthogonalStep(inner, curvature, threshold, bound, gap, equality_gap, rank_one,
                          bool(ok))


_bound_fn = sp.lambdify((nuc, rank, lam_max), DESCENT_BOUND, "math")
_ceiling_fn = sp.lambdify((eta, p_dim, lam_max, lam_min), CEILING, "math")


def descent_step_bound(nuclear_norm: float, r: float, lambda_max: float) -> float:
    """:math:`2\\bar\\sigma/\\lambda_{\\max}` with :math:`\\bar\\sigma` = ``nuclear_norm / r``."""
    return float(_bound_fn(nuclear_norm, r, lambda_max))


def muon_ceiling(step: float, p: int, lambda_max: float, lambda_min: float) -> float:
    """:math:`B(\\eta)`: iterated Muon keeps the excess loss below :math:`\\max(\\Delta_0, B)`."""
    return float(_ceiling_fn(step, p, lambda_max, lambda_min))


def derivation_markdown(ex: ExpansionCheck, orth: OrthogonalStep) -> str:
    """The chapter's display of :func:`one_step_expansion` and :func:`orthogonal_step_2x2`
    (Markdown with display math)."""
    return "\n\n".join([
        r"$L(W - \eta D) - L(W) = -\eta\langle G, D\rangle + \tfrac{\eta^2}{2}\|XD\|_F^2$ "
        f"exactly: {ex.matches}",
        r"$$\langle G, O\rangle = " + sp.latex(orth.inner)
        + r",\quad \mathrm{tr}(O^\top AO) = " + sp.latex(orth.curvature)
        + r",\quad \eta_1 = " + sp.latex(orth.threshold) + "$$",
        r"$$\eta_1 - \frac{2\bar\sigma}{\lambda_{\max}} = " + sp.latex(orth.gap)
        + r"\ \ge 0,\quad \text{at } t = 1:\ " + sp.latex(orth.equality_gap) + "$$",
        r"$$\text{rank one } (s_2 = 0):\ u^\top A u = " + sp.latex(orth.rank_one_curvature)
        + r"\ \le \lambda_1$$",
        f"all four identities exact: {orth.matches}"])


def ceiling_markdown() -> str:
    """:math:`B(\\eta)` (:data:`CEILING`) as display math."""
    return r"$$B(\eta) = " + sp.latex(CEILING) + "$$"
