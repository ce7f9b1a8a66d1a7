"""The sympy derivations of the chapter "Learning-rate schedules under distribution shift"
(exact; no floats).

**The scalar model (ours, a reconstruction consistent with the paper's abstract; the paper's
own SDE statement was not read).** Online linear regression with one weight: at step
:math:`t` the learner holds :math:`\\theta_t`, sees :math:`y_t = a_t\\theta^\\star_t +
\\varepsilon_t` (:math:`E a^2 = 1`, :math:`E a^4 = m_4`, :math:`\\operatorname{Var}\\varepsilon
= \\sigma^2`), takes the SGD step :math:`\\theta_{t+1} = \\theta_t - \\eta_t a_t(a_t\\theta_t -
y_t)`, and the target drifts, :math:`\\theta^\\star_{t+1} = \\theta^\\star_t + \\xi_t`,
:math:`\\operatorname{Var}\\xi = \\delta^2`. The error :math:`e_t = \\theta_t - \\theta^\\star_t`
has the mean square

.. math:: v_{t+1} = (1 - 2\\eta_t + m_4\\eta_t^2)\\,v_t + \\eta_t^2\\sigma^2 + \\delta^2,

and the expected instantaneous dynamic regret is :math:`E[\\ell_t(\\theta_t) -
\\ell_t(\\theta^\\star_t)] = v_t/2` (:math:`\\ell_t(\\theta) = \\tfrac12(y_t - a_t\\theta)^2`).

Derived here: the step minimising :math:`v_{t+1}` is :math:`\\eta^\\star = v/(m_4 v +
\\sigma^2)` (a Kalman gain); the minimised map is increasing in :math:`v` and every step's map
is increasing in :math:`v`, so this greedy schedule minimises every :math:`v_t` at once, hence
the dynamic regret over any horizon (induction; the chapter states it). Its fixed point solves
:math:`v^2 = \\delta^2(m_4 v + \\sigma^2)`, where :math:`\\eta_\\infty = \\delta^2/v_\\infty`
(:math:`\\approx \\delta/\\sigma` for small :math:`\\delta/\\sigma`); at :math:`m_4 = 1`
(Rademacher features) :math:`\\eta_\\infty` equals the best *constant* step of
:func:`boundbook.symbolic.tracking.random_walk_derivation` (curvature 1, gradient noise
:math:`\\sigma`, drift :math:`\\delta`). In continuous time (dropping :math:`m_4\\eta^2`) the
optimum solves the Riccati equation :math:`\\dot v = \\delta^2 - v^2/\\sigma^2`, whose solutions
are :math:`v = \\sigma\\delta\\coth(\\delta(t + c)/\\sigma)` and the schedule :math:`\\eta =
v/\\sigma^2` (:math:`1/(t + c)` as :math:`\\delta \\to 0`). Without drift the optimum is the
:math:`1/t` schedule (:math:`1/(t+2)` for :math:`v_0 = \\sigma^2 = m_4 = 1`); with drift that
schedule's error grows like :math:`\\delta^2 t/3`, so its regret grows like
:math:`\\delta^2T^2/12`: quadratically in :math:`T`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import sympy as sp

from boundbook.symbolic.tracking import random_walk_derivation

v, eta, sigma, delta, m4, c = sp.symbols("v eta sigma delta m_4 c", positive=True)
tt = sp.Symbol("t", positive=True)


def _zero(expr: sp.Expr) -> bool:
    return sp.simplify(expr) == 0


@dataclass(frozen=True)
class ScheduleDerivation:
    """Exact results of the scalar model (see the module docstring); each ``*_ok`` an exact
    comparison. ``greedy``: :math:`\\eta^\\star(v)`; ``v_inf``, ``eta_inf``: the fixed point and
    the limiting step; ``eta_inf_rademacher``: ``eta_inf`` at :math:`m_4 = 1`;
    ``riccati_solution``: :math:`\\sigma\\delta\\coth(\\delta(t+c)/\\sigma)`."""

    recursion: sp.Expr
    greedy: sp.Expr
    minimised: sp.Expr
    v_inf: sp.Expr
    eta_inf: sp.Expr
    eta_inf_rademacher: sp.Expr
    riccati_solution: sp.Expr
    greedy_ok: bool
    monotone_ok: bool
    fixed_point_ok: bool
    toolkit_ok: bool
    riccati_ok: bool
    no_drift_ok: bool
    one_over_t_ok: bool
    increasing_in_delta: bool

    @property
    def all_match(self) -> bool:
        return all((self.greedy_ok, self.monotone_ok, self.fixed_point_ok, self.toolkit_ok,
                    self.riccati_ok, self.no_drift_ok, self.one_over_t_ok,
                    self.increasing_in_delta))

    def flags(self) -> dict[str, bool]:
        return {k: getattr(self, k) for k in (
            "greedy_ok", "monotone_ok", "fixed_point_ok", "toolkit_ok", "riccati_ok",
            "no_drift_ok", "one_over_t_ok", "increasing_in_delta")}


@cache
def schedule_derivation() -> ScheduleDerivation:
    """Derive the greedy (optimal) schedule of the scalar model and its limits."""
    rec = (1 - 2 * eta + m4 * eta**2) * v + eta**2 * sigma**2 + delta**2
    (greedy,) = sp.solve(sp.diff(rec, eta), eta)
    greedy_ok = _zero(greedy - v / (m4 * v + sigma**2)) and bool(
        sp.simplify(sp.diff(rec, eta, 2)).is_positive)
    g = sp.simplify(rec.subs(eta, greedy) - delta**2)  # the minimised map without the drift
    # monotone: d g/dv > 0 (m4 >= 1 written m4 = 1 + k, k >= 0) and d rec/dv = (1-eta)^2 +
    # (m4-1) eta^2 > 0 for every step
    k = sp.Symbol("k", nonnegative=True)
    dg = sp.factor(sp.simplify(sp.diff(g, v).subs(m4, 1 + k)))
    monotone_ok = bool(sp.simplify(dg).is_positive) and _zero(
        sp.diff(rec, v) - ((1 - eta)**2 + (m4 - 1) * eta**2))
    sols = sp.solve(sp.Eq(v, g + delta**2), v)
    (v_inf,) = [s_ for s_ in sols if bool(s_.subs({m4: 1, sigma: 1, delta: 1}) > 0)]
    eta_inf = sp.simplify(greedy.subs(v, v_inf))
    fixed_point_ok = _zero(v_inf**2 - delta**2 * (m4 * v_inf + sigma**2)) and _zero(
        eta_inf - delta**2 / v_inf)
    # m4 = 1: the best constant step of the toolkit (curvature 1, gradient noise sigma, drift
    # delta): the positive root of sigma^2 eta^2 + delta^2 eta - delta^2
    rw = random_walk_derivation()
    a_, et_, sw_, s_ = rw.symbols
    best_const = rw.best_step.subs({a_: 1, sw_: delta, s_: sigma}, simultaneous=True)
    eta_rad = sp.simplify(eta_inf.subs(m4, 1))
    # both are the positive root of sigma^2 eta^2 + delta^2 eta - delta^2 (a quadratic with one
    # positive root): compared through it, exactly
    quad = sigma**2 * eta**2 + delta**2 * eta - delta**2
    toolkit_ok = all(_zero(sp.radsimp(sp.expand(quad.subs(eta, x)))) for x in (eta_rad, best_const))
    # the quadratic's roots have product -delta^2/sigma^2 < 0, so none is ever 0 and each keeps
    # its sign: positivity at one point decides it
    one = {delta: 1, sigma: 1}
    toolkit_ok = toolkit_ok and all(bool(x.subs(one) > 0) for x in (eta_rad, best_const))
    # continuous time: v' = delta^2 - v^2/sigma^2 solved by sigma delta coth(delta (t+c)/sigma)
    ric = sigma * delta * sp.coth(delta * (tt + c) / sigma)
    riccati_ok = _zero(sp.diff(ric, tt) - (delta**2 - ric**2 / sigma**2)) and _zero(
        sp.limit(ric / sigma**2, delta, 0) - 1 / (tt + c))
    # no drift, v0 = sigma = m4 = 1: v_t = 1/(t+1), eta_t = 1/(t+2) (check the map exactly)
    n = sp.Symbol("n", positive=True, integer=True)
    v_n, e_n = 1 / (n + 1), 1 / (n + 2)
    no_drift_ok = _zero(greedy.subs({m4: 1, sigma: 1, v: v_n}) - e_n) and _zero(
        rec.subs({m4: 1, sigma: 1, delta: 0, v: v_n, eta: e_n}) - 1 / (n + 2))
    # with drift the 1/(t+2) schedule: v_t = delta^2 t/3 + O(1) solves the map to leading order
    lin = delta**2 * n / 3
    resid = rec.subs({m4: 1, sigma: 1, v: lin, eta: 1 / (n + 2)}) - delta**2 * (n + 1) / 3
    one_over_t_ok = _zero(sp.limit(resid / n, n, sp.oo))  # the residual is o(t), the slope exact
    # eta_inf (m4 = 1) = 2 delta/(delta + sqrt(delta^2 + 4 sigma^2)): its delta-derivative is
    # 8 sigma^2/(S (delta + S)^2) > 0, S = sqrt(delta^2 + 4 sigma^2)
    S = sp.sqrt(delta**2 + 4 * sigma**2)
    eta_form = 2 * delta / (delta + S)
    increasing_in_delta = _zero(sp.radsimp(sp.expand(quad.subs(eta, eta_form)))) and _zero(
        sp.diff(eta_form, delta) - 8 * sigma**2 / (S * (delta + S)**2))
    return ScheduleDerivation(
        recursion=rec, greedy=greedy, minimised=g, v_inf=v_inf, eta_inf=eta_inf,
        eta_inf_rademacher=eta_rad, riccati_solution=ric, greedy_ok=greedy_ok,
        monotone_ok=monotone_ok, fixed_point_ok=fixed_point_ok, toolkit_ok=toolkit_ok,
        riccati_ok=riccati_ok, no_drift_ok=no_drift_ok, one_over_t_ok=one_over_t_ok,
        increasing_in_delta=increasing_in_delta)
