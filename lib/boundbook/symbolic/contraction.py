"""Gradient descent as a contraction, derived with sympy (and lambdified, never typed twice).

For a twice-differentiable loss with :math:`\\mu I \\preceq \\nabla^2 f \\preceq L I`
(:math:`0 < \\mu \\le L`), the gradient-descent map :math:`T(x) = x - \\eta\\nabla f(x)` satisfies,
by the mean-value theorem in integral form,

.. math:: T(x) - T(y) = \\Big(I - \\eta \\int_0^1 \\nabla^2 f(y + s(x - y))\\,ds\\Big)(x - y),

and the averaged Hessian :math:`\\bar H` is symmetric with spectrum in :math:`[\\mu, L]`. So
:math:`\\|T(x) - T(y)\\| \\le \\max_{\\lambda \\in [\\mu, L]} |1 - \\eta\\lambda|\\,\\|x - y\\|`.
The derivation below does the rest exactly:

- :math:`|1 - \\eta\\lambda|` is convex in :math:`\\lambda`, so its maximum over the interval is
  attained at an end: the factor is :math:`q(\\eta) = \\max(|1 - \\eta\\mu|, |1 - \\eta L|)`
  (checked: the second derivative of :math:`(1 - \\eta\\lambda)^2` in :math:`\\lambda` is
  :math:`2\\eta^2 \\ge 0`);
- :math:`q < 1` iff :math:`0 < \\eta < 2/L` (solved from :math:`|1 - \\eta L| = 1`);
- the best step equalises the two ends, :math:`1 - \\eta\\mu = \\eta L - 1`, so
  :math:`\\eta^\\star = 2/(\\mu + L)`, and the rate there is
  :math:`q(\\eta^\\star) = (L - \\mu)/(L + \\mu) = (\\kappa - 1)/(\\kappa + 1)` with
  :math:`\\kappa = L/\\mu`.

On a quadratic the factor is attained: :math:`x - y` along the eigenvector of :math:`\\mu` (or
of :math:`L`) is multiplied by exactly :math:`1 - \\eta\\mu` (or :math:`1 - \\eta L`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import sympy as sp

__all__ = [
    "ContractionDerivation",
    "activation_slope_bounds",
    "gd_contraction_derivation",
]

eta, mu, L, lam, kappa = sp.symbols("eta mu L lambda kappa", positive=True)


@dataclass(frozen=True)
class ContractionDerivation:
    """The contraction factor of gradient descent on a mu-strongly convex, L-smooth loss.

    ``multiplier``: :math:`1 - \\eta\\lambda`, the GD map's Jacobian on the eigendirection of
    curvature :math:`\\lambda` (derived from the update); ``convex_in_lambda``: the second
    derivative of its square in :math:`\\lambda` is nonnegative (so the max over
    :math:`[\\mu, L]` is at an end); ``factor``: :math:`\\max(|1-\\eta\\mu|, |1-\\eta L|)`;
    ``critical_step``: the largest step with ``factor < 1`` (:math:`2/L`); ``best_step``:
    :math:`2/(\\mu+L)`; ``best_rate``: the factor at ``best_step`` simplified;
    ``rate_kappa``: the same in :math:`\\kappa = L/\\mu`; the ``*_matches`` flags compare each
    with the textbook form exactly (``simplify(a - b) == 0``).
    """

    multiplier: sp.Expr
    convex_in_lambda: bool
    factor: sp.Expr
    critical_step: sp.Expr
    best_step: sp.Expr
    best_rate: sp.Expr
    rate_kappa: sp.Expr
    critical_step_matches: bool
    best_step_matches: bool
    best_rate_matches: bool
    rate_kappa_matches: bool

    @property
    def symbols(self) -> tuple[sp.Symbol, sp.Symbol, sp.Symbol]:
        """``(mu, L, eta)``, the arguments of :attr:`factor`."""
        return (mu, L, eta)

    @property
    def all_match(self) -> bool:
        return (self.convex_in_lambda and self.critical_step_matches and self.best_step_matches
                and self.best_rate_matches and self.rate_kappa_matches)


def _is_zero(expr: sp.Expr) -> bool:
    return sp.simplify(expr) == 0


@cache
def gd_contraction_derivation() -> ContractionDerivation:
    """Derive the GD contraction factor, its critical and best steps and the best rate."""
    x = sp.Symbol("x", real=True)
    update = x - eta * lam * x  # GD on the eigendirection f = lam x^2 / 2
    multiplier = sp.diff(update, x)
    convex = bool(sp.simplify(sp.diff(multiplier**2, lam, 2)) >= 0)
    at_mu, at_L = multiplier.subs(lam, mu), multiplier.subs(lam, L)
    factor = sp.Max(sp.Abs(at_mu), sp.Abs(at_L))
    # |1 - eta L| = 1 with eta > 0: the root 1 - eta L = -1
    (critical,) = [s for s in sp.solve(sp.Eq(at_L, -1), eta) if s.is_positive]
    # equalise the ends: 1 - eta mu = -(1 - eta L)
    (best,) = sp.solve(sp.Eq(at_mu, -at_L), eta)
    best_rate = sp.simplify(at_mu.subs(eta, best))
    rate_k = sp.simplify(best_rate.subs(L, kappa * mu))
    return ContractionDerivation(
        multiplier=multiplier, convex_in_lambda=convex, factor=factor,
        critical_step=critical, best_step=best, best_rate=best_rate, rate_kappa=rate_k,
        critical_step_matches=_is_zero(critical - 2 / L),
        best_step_matches=_is_zero(best - 2 / (mu + L)),
        best_rate_matches=_is_zero(best_rate - (L - mu) / (L + mu)),
        rate_kappa_matches=_is_zero(rate_k - (kappa - 1) / (kappa + 1)),
    )


@cache
def activation_slope_bounds() -> dict[str, sp.Expr]:
    """:math:`\\gamma = \\sup_z |\\sigma'(z)|` for tanh (1) and the logistic sigmoid (1/4),
    derived: the derivative's critical points (solved) and its limits at infinity. The sigmoid
    bound is also logistic regression's curvature bound, :math:`p(1-p) \\le 1/4`."""
    z = sp.Symbol("z", real=True)
    out = {}
    for name, f in (("tanh", sp.tanh(z)), ("sigmoid", 1 / (1 + sp.exp(-z)))):
        d1 = sp.simplify(sp.diff(f, z))
        crit = sp.solve(sp.diff(d1, z), z)
        cands = [sp.simplify(d1.subs(z, c)) for c in crit]
        cands += [sp.limit(d1, z, sp.oo), sp.limit(d1, z, -sp.oo)]
        out[name] = sp.Max(*[sp.Abs(c) for c in cands])
    return out
