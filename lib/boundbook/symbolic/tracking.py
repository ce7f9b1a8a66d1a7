"""Gradient descent tracking a moving minimiser, derived with sympy (and lambdified, never typed
twice).

The setting: at time :math:`t` the learner holds :math:`x_t`, sees the loss
:math:`f_t(x) = \\tfrac12 (x - c_t)^\\top A (x - c_t)` (:math:`\\mu I \\preceq A \\preceq L I`),
steps :math:`x_{t+1} = x_t - \\eta(\\nabla f_t(x_t) + n_t)` (:math:`n_t` an optional additive
gradient noise), and then the minimiser moves,
:math:`c_{t+1} = c_t + w_t`. Two errors are measured:

- against the **current** minimiser, :math:`e_{t+1} = x_{t+1} - c_{t+1}
  = (I - \\eta A)\\,e_t - \\eta n_t - w_t`;
- against the minimiser the step **aimed** at,
  :math:`x_{t+1} - c_t = (I - \\eta A)\\,e_t - \\eta n_t`.

Derived here, exactly:

- **deterministic drift** :math:`\\|w_t\\| \\le \\delta`:
  :math:`\\|e_{t+1}\\| \\le q\\|e_t\\| + \\delta`
  with :math:`q = \\max(|1 - \\eta\\mu|, |1 - \\eta L|)` (the factor of
  :mod:`boundbook.symbolic.contraction`), so (solving the comparison recursion with ``rsolve``)
  :math:`\\|e_t\\| \\le q^t\\|e_0\\| + \\delta(1 - q^t)/(1 - q)`: the steady-state bound
  :math:`\\delta/(1 - q)` against the current minimiser and :math:`q\\delta/(1 - q)` against the
  aimed one. Equality: a drift of size :math:`\\delta` along the eigenvector whose multiplier
  :math:`1 - \\eta\\lambda` has modulus :math:`q`, with the sign of the drift alternating when that
  multiplier is negative, starting from :math:`e_0 = 0`. The bound is smallest at the step that
  minimises :math:`q`, :math:`\\eta^\\star = 2/(\\mu + L)`, where it is
  :math:`\\delta(\\kappa + 1)/2` (derived: the bound decreases below :math:`\\eta^\\star` and
  increases above it);
- **random-walk drift** (scalar, curvature :math:`a`, :math:`w_t \\sim N(0, \\sigma^2)`,
  gradient noise :math:`n_t \\sim N(0, s^2)`, independent): the stationary variance solves
  :math:`v = (1 - \\eta a)^2 v + \\eta^2 s^2 + \\sigma^2`, so
  :math:`v(\\eta) = (\\eta^2 s^2 + \\sigma^2)/(\\eta a (2 - \\eta a))` (current) and
  :math:`(1 - \\eta a)^2 v + \\eta^2 s^2` (aimed), finite iff :math:`0 < \\eta < 2/a`. The step that
  minimises the current mean square error is the positive root of
  :math:`s^2\\eta^2 + a\\sigma^2\\eta - \\sigma^2 = 0`; with no gradient noise it is :math:`1/a`
  (error :math:`\\sigma^2`), and the aimed error is then 0 (the step lands on :math:`c_t`).
  In :math:`d` dimensions with :math:`A` diagonalised and i.i.d. coordinates the mean square
  error is the sum of the scalar formula over the eigenvalues.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import sympy as sp

from boundbook.symbolic.contraction import gd_contraction_derivation

__all__ = [
    "DriftBoundDerivation",
    "RandomWalkDerivation",
    "drift_bound_derivation",
    "random_walk_derivation",
]

eta, a, sigma, s, delta, q, e0 = sp.symbols("eta a sigma s delta q e_0", positive=True)
t = sp.Symbol("t", integer=True, nonnegative=True)


def _is_zero(expr: sp.Expr) -> bool:
    return sp.simplify(expr) == 0


@dataclass(frozen=True)
class DriftBoundDerivation:
    """The deterministic-drift tracking bound of GD.

    ``comparison``: the solution :math:`b_t` of :math:`b_{t+1} = q b_t + \\delta`, :math:`b_0 = e_0`
    (``rsolve``), which bounds :math:`\\|e_t\\|`; ``steady``: its limit :math:`\\delta/(1-q)` for
    :math:`0 < q < 1`; ``steady_aimed``: :math:`q\\,\\delta/(1-q)`; ``bound_of_eta``: ``steady``
    with :math:`q` the GD factor (a function of ``mu, L, eta, delta``); ``best_step`` and
    ``best_bound``: the minimising step :math:`2/(\\mu+L)` and the bound there
    (:math:`\\delta(L+\\mu)/(2\\mu)`); ``decreasing_below`` / ``increasing_above``: the sign of the
    bound's derivative on each side of the best step (exact); ``*_matches``: exact comparisons
    with the textbook forms.
    """

    comparison: sp.Expr
    steady: sp.Expr
    steady_aimed: sp.Expr
    bound_of_eta: sp.Expr
    best_step: sp.Expr
    best_bound: sp.Expr
    best_bound_kappa: sp.Expr
    decreasing_below: bool
    increasing_above: bool
    comparison_matches: bool
    steady_matches: bool
    best_bound_matches: bool

    @property
    def symbols(self) -> tuple[sp.Symbol, ...]:
        """``(mu, L, eta, delta)``: the arguments of :attr:`bound_of_eta`."""
        d = gd_contraction_derivation()
        return (*d.symbols, delta)

    @property
    def all_match(self) -> bool:
        return (self.decreasing_below and self.increasing_above and self.comparison_matches
                and self.steady_matches and self.best_bound_matches)


@cache
def drift_bound_derivation() -> DriftBoundDerivation:
    """Derive the drift bound :math:`\\delta/(1-q)`, its transient and its best step."""
    b = sp.Function("b")
    comp = sp.rsolve(b(t + 1) - q * b(t) - delta, b(t), {b(0): e0})
    comp = sp.simplify(comp)
    # 0 < q < 1: q**t -> 0
    qq = sp.Symbol("qq", positive=True)
    steady = sp.limit(comp.subs(q, 1 / (1 + qq)), t, sp.oo).subs(qq, 1 / q - 1)
    steady = sp.simplify(steady)
    d = gd_contraction_derivation()
    mu, L, et = d.symbols
    bound = delta / (1 - d.factor)
    best = d.best_step
    # each branch of the factor near the best step: below it q = 1 - eta mu, above q = eta L - 1
    below = delta / (1 - (1 - et * mu))
    above = delta / (1 - (et * L - 1))
    dec = bool(sp.simplify(sp.diff(below, et)).is_negative)
    # on the branch above, 0 < eta < 2/L: the derivative delta L/(2 - eta L)^2 > 0
    inc = bool(sp.simplify(sp.diff(above, et) * (2 - et * L) ** 2 / (delta * L)) == 1)
    best_bound = sp.simplify(below.subs(et, best))
    kappa = sp.Symbol("kappa", positive=True)
    return DriftBoundDerivation(
        comparison=comp, steady=steady, steady_aimed=sp.simplify(q * steady),
        bound_of_eta=bound, best_step=best, best_bound=best_bound,
        best_bound_kappa=sp.simplify(best_bound.subs(L, kappa * mu)),
        decreasing_below=dec, increasing_above=inc,
        comparison_matches=_is_zero(comp - (q**t * e0 + delta * (1 - q**t) / (1 - q))),
        steady_matches=_is_zero(steady - delta / (1 - q)),
        best_bound_matches=_is_zero(best_bound - delta * (L + mu) / (2 * mu))
        and _is_zero(above.subs(et, best) - best_bound),
    )


@dataclass(frozen=True)
class RandomWalkDerivation:
    """The stationary mean square tracking error of scalar GD under a random-walk drift.

    ``mse``: :math:`(\\eta^2 s^2 + \\sigma^2)/(\\eta a(2 - \\eta a))` (current minimiser);
    ``mse_aimed``: :math:`(1-\\eta a)^2\\,\\mathrm{mse} + \\eta^2 s^2` (the minimiser the step aimed
    at); ``stable_below``: :math:`2/a`; ``best_step``: the minimiser of ``mse`` over
    :math:`(0, 2/a)` (the positive root of :math:`s^2\\eta^2 + a\\sigma^2\\eta - \\sigma^2`);
    ``best_step_noiseless``: its :math:`s \\to 0` value :math:`1/a` and ``best_mse_noiseless``
    (:math:`\\sigma^2`); ``best_step_aimed_noiseless``: the minimiser of ``mse_aimed`` at
    :math:`s = 0` (:math:`1/a`, where it is 0); ``*_matches``: exact comparisons.
    Symbols: :attr:`symbols` ``= (a, eta, sigma, s)``.
    """

    mse: sp.Expr
    mse_aimed: sp.Expr
    stable_below: sp.Expr
    best_step: sp.Expr
    best_step_noiseless: sp.Expr
    best_mse_noiseless: sp.Expr
    best_step_aimed_noiseless: sp.Expr
    best_is_minimum: bool
    mse_matches: bool
    best_step_matches: bool
    noiseless_matches: bool

    @property
    def symbols(self) -> tuple[sp.Symbol, ...]:
        return (a, eta, sigma, s)

    @property
    def all_match(self) -> bool:
        return self.best_is_minimum and self.mse_matches and self.best_step_matches \
            and self.noiseless_matches


@cache
def random_walk_derivation() -> RandomWalkDerivation:
    """Derive the stationary variance of :math:`e_{t+1} = (1-\\eta a)e_t - \\eta n_t - w_t`."""
    v = sp.Symbol("v")
    r = 1 - eta * a
    (mse,) = sp.solve(sp.Eq(v, r**2 * v + eta**2 * s**2 + sigma**2), v)
    mse = sp.factor(mse)
    aimed = sp.simplify(r**2 * mse + eta**2 * s**2)
    (stable,) = [x for x in sp.solve(sp.Eq(r, -1), eta) if x.is_positive]
    crit = sp.solve(sp.numer(sp.together(sp.diff(mse, eta))), eta)
    # the root inside (0, 2/a): positive (the product of the roots of the quadratic is negative)
    # the quadratic's roots have product -sigma^2/s^2 < 0: exactly one is positive
    (best,) = [x for x in crit if bool(x.subs({a: 1, sigma: 1, s: 1}).evalf() > 0)]
    # second derivative positive at the root on a grid of rationals (and the quadratic's form)
    quad = s**2 * eta**2 + a * sigma**2 * eta - sigma**2
    second = sp.diff(mse, eta, 2).subs(eta, best)
    grid = [sp.Rational(p, 3) for p in (1, 2, 3, 5, 8)]
    is_min = all(bool(second.subs({a: x, sigma: y, s: z}).evalf() > 0)
                 for x in grid for y in grid for z in grid)
    noiseless = sp.limit(best, s, 0)
    aimed0 = aimed.subs(s, 0)
    (best_aimed0,) = [x for x in sp.solve(sp.diff(aimed0, eta), eta) if x.is_positive
                      and not _is_zero(x - stable)]
    return RandomWalkDerivation(
        mse=mse, mse_aimed=aimed, stable_below=stable, best_step=best,
        best_step_noiseless=noiseless,
        best_mse_noiseless=sp.simplify(mse.subs(s, 0).subs(eta, noiseless)),
        best_step_aimed_noiseless=best_aimed0,
        best_is_minimum=is_min and _is_zero(quad.subs(eta, best)),
        mse_matches=_is_zero(mse - (eta**2 * s**2 + sigma**2) / (eta * a * (2 - eta * a))),
        best_step_matches=_is_zero(best - (sp.sqrt(a**2 * sigma**4 + 4 * s**2 * sigma**2)
                                           - a * sigma**2) / (2 * s**2)),
        noiseless_matches=_is_zero(noiseless - 1 / a)
        and _is_zero(sp.simplify(mse.subs(s, 0).subs(eta, noiseless)) - sigma**2)
        and _is_zero(aimed0.subs(eta, best_aimed0)),
    )
