"""SAM's edge of stability: the facts the chapter derives beyond the edge itself.

The edge is :func:`boundbook.symbolic.quadratic.sam_derivation` (unnormalised SAM on
:math:`\\tfrac12\\lambda\\theta^2`: multiplier :math:`1 - \\eta\\lambda(1 + \\rho\\lambda)`, edge
the positive root of :math:`\\eta\\lambda(1 + \\rho\\lambda) = 2`). This module adds, all exact:

- the limit :math:`\\rho \\to 0` (gradient descent's :math:`2/\\eta`) and the series
  :math:`2/\\eta - 4\\rho/\\eta^2 + O(\\rho^2)`: a small radius lowers the edge linearly;
- that the multiplier is below 1 for every :math:`\\lambda > 0`, so the edge can only be
  crossed at :math:`-1` (it is unique) and SAM is stable iff :math:`\\lambda < \\lambda_{SAM}`;
- that normalised SAM's edge (Long & Bartlett's form
  :math:`\\tfrac{\\|g\\|}{2\\rho}(\\sqrt{1 + 8\\rho/(\\eta\\|g\\|)} - 1)`) is the unnormalised edge
  with :math:`\\rho \\to \\rho/\\|g\\|`;
- the radius that puts the edge at a chosen fraction :math:`f` of GD's, used to set up the
  experiments: :math:`\\rho = \\eta(1 - f)/(2f^2)`.

None of these formulas is quoted from the papers (whose bodies we could not read); they are
derived here from the update rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import sympy as sp

from boundbook.symbolic.quadratic import EdgeDerivation, eta, g_norm, lam, rho, sam_derivation

__all__ = ["SamFacts", "edge_derivation", "radius_for_fraction", "sam_facts"]

f = sp.Symbol("f", positive=True)


def edge_derivation(normalised: bool = False) -> EdgeDerivation:
    """SAM's one-step map on :math:`\\tfrac12\\lambda\\theta^2` and its edge, derived from the
    update rule (:func:`boundbook.symbolic.quadratic.sam_derivation`)."""
    return sam_derivation(normalised)


@dataclass(frozen=True)
class SamFacts:
    """Exact facts about the SAM edge (sympy objects and booleans)."""

    edge: sp.Expr
    limit_rho0: sp.Expr
    limit_is_gd: bool
    series: sp.Expr
    series_expected: sp.Expr
    series_matches: bool
    multiplier: sp.Expr
    multiplier_below_one: bool
    normalised_edge: sp.Expr
    long_bartlett: sp.Expr
    normalised_matches: bool
    radius_for_fraction: sp.Expr
    radius_check: bool


@cache
def sam_facts() -> SamFacts:
    d = sam_derivation()
    edge = d.edge
    limit = sp.limit(edge, rho, 0)
    series = sp.series(edge, rho, 0, 2).removeO()
    expected = 2 / eta - 4 * rho / eta**2
    multiplier = sp.expand(d.update[0, 0])
    # 1 - multiplier = eta*lam*(1 + rho*lam) > 0 for positive symbols
    below_one = bool(sp.simplify(1 - multiplier).is_positive)
    n = sam_derivation(normalised=True)
    lb = g_norm / (2 * rho) * (sp.sqrt(1 + 8 * rho / (eta * g_norm)) - 1)
    radius = sp.solve(sp.Eq(eta * lam * (1 + rho * lam), 2).subs(lam, f * 2 / eta), rho)[0]
    # the edge is the unique positive root of eta*lam*(1 + rho*lam) = 2 (see multiplier), so
    # it suffices that lam = 2f/eta solves that equation at this radius
    at = (eta * lam * (1 + rho * lam) - 2).subs({lam: f * 2 / eta, rho: radius})
    radius_check = sp.simplify(at) == 0
    return SamFacts(
        edge=edge, limit_rho0=limit, limit_is_gd=sp.simplify(limit - 2 / eta) == 0,
        series=series, series_expected=expected,
        series_matches=sp.simplify(series - expected) == 0,
        multiplier=multiplier, multiplier_below_one=below_one,
        normalised_edge=n.edge, long_bartlett=lb,
        normalised_matches=sp.simplify(n.edge - lb) == 0,
        radius_for_fraction=sp.factor(radius), radius_check=bool(radius_check))


@cache
def _radius_numeric():
    return sp.lambdify((eta, f), sam_facts().radius_for_fraction, "math")


def radius_for_fraction(step: float, fraction: float) -> float:
    """The SAM radius :math:`\\rho` whose edge is ``fraction`` times GD's :math:`2/\\eta`."""
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    return float(_radius_numeric()(step, fraction))
