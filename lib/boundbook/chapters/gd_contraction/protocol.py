"""Protocol of the chapter "Gradient descent as a contraction": settings per mode, the
measurement contract, the measurement dictionary each claim reads, and the numbers the closing
prose quotes. Standard library, numpy and :mod:`boundbook.core` only."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from boundbook.chapters.gd_contraction.claims import CONTROL_UNITS
from boundbook.core.display import claim_findings, plain

if TYPE_CHECKING:
    from boundbook.chapters.gd_contraction.experiment import SystemResult

_KEYS = ("sympy_matches", "systems")
READS: dict[str, tuple[str, ...]] = {
    "gdc-quadratic-factor": _KEYS,
    "gdc-logistic-certificate": _KEYS,
}
"""The measurement contract: claim id -> the keys its check and control read."""

UNITS = (0.125, 0.25, 0.5, "best", 0.75, 0.95, 0.99)
"""Step sizes in units of 2/L ("best": 2/(mu+L), i.e. L/(mu+L) units), fixed before the run."""


@dataclass(frozen=True)
class Settings:
    """Quick: two quadratics (d = 20, kappa 10 and 100) and ridge 0.1 logistic regression,
    8 random pairs, 200 steps. Full: kappa up to 1000, two ridges, 32 pairs, 400 steps."""

    mode: str
    seed: int
    quadratics: tuple[tuple[int, float], ...]
    """Quadratics as (dimension d, condition number kappa); spectrum log-uniform 1..kappa."""
    ridges: tuple[float, ...]
    """Ridge strengths lambda of the digits logistic regressions (mu = lambda)."""
    pairs: int
    """Random trajectory pairs per system (and as many equality pairs)."""
    steps: int
    """GD steps per trajectory pair."""
    control_units: float
    """Step size of the negative control, in units of 2/L (past the certificate)."""
    threshold_grid: tuple[float, ...]
    """Step sizes (units of 2/L) scanned for the first at which GD stops contracting."""


def settings(mode: str, seed: int) -> Settings:
    grid = tuple(float(x) for x in np.round(np.arange(0.9, 2.01, 0.1), 2))
    if mode == "quick":
        return Settings(mode, seed, ((20, 10.0), (20, 100.0)), (0.1,), 8, 200,
                        CONTROL_UNITS, grid)
    return Settings(mode, seed, ((20, 10.0), (50, 100.0), (50, 1000.0)), (0.1, 0.01), 32, 400,
                    CONTROL_UNITS, tuple(float(x) for x in np.round(np.arange(0.9, 2.001,
                                                                             0.05), 3)))


def units(mu: float, L: float) -> np.ndarray:
    """The step grid of :data:`UNITS` for one system (units of 2/L)."""
    return np.array([L / (mu + L) if u == "best" else u for u in UNITS], dtype=float)


def _system(r: SystemResult) -> dict[str, Any]:
    return {"name": r.name, "mu": float(r.mu), "L": float(r.L),
            "etas": [float(u) * 2 / r.L for u in r.eta_units],
            "worst": [[float(x) for x in row] for row in r.worst],
            "eq_worst": [[float(x) for x in row] for row in r.eq_worst],
            "control_worst": [float(x) for x in r.control_worst],
            "control_eq_worst": [float(x) for x in r.control_eq_worst]}


def measurements(quadratics: Sequence[SystemResult], logistic: Sequence[SystemResult],
                 sympy_matches: bool) -> dict[str, dict[str, Any]]:
    """The measurement dictionary of every claim, keyed by claim id."""
    return {"gdc-quadratic-factor": {"systems": [_system(r) for r in quadratics],
                                     "sympy_matches": bool(sympy_matches)},
            "gdc-logistic-certificate": {"systems": [_system(r) for r in logistic],
                                         "sympy_matches": bool(sympy_matches)}}


def conservativeness(r: SystemResult) -> np.ndarray:
    """Per step: (1 - median measured rate) / (1 - certified factor), how many times faster
    the pairs contract than certified (1: the certificate is exact)."""
    return (1 - np.median(r.rates, axis=1)) / (1 - r.certified)


def findings(evaluations: Sequence[Any], quadratics: Sequence[SystemResult],
             logistic: Sequence[SystemResult]) -> dict[str, Any]:
    """The numbers the chapter's closing prose quotes (glued)."""
    out: dict[str, Any] = dict(claim_findings(evaluations))
    ev = {e.claim.id: e for e in evaluations}
    for key, cid in (("gdc_quad", "gdc-quadratic-factor"),
                     ("gdc_logit", "gdc-logistic-certificate")):
        out[f"{key}_slack"] = plain(f"{ev[cid].main.slack:.2e}")
        out[f"{key}_equality"] = plain(f"{ev[cid].main.equality:.2e}")
        out[f"{key}_control"] = plain(ev[cid].control.measured, 4)
    lg = logistic[0]
    out["gdc_logit_mu"] = plain(lg.mu, 3)
    out["gdc_logit_L"] = plain(lg.L, 4)
    out["gdc_logit_kappa"] = plain(lg.L / lg.mu, 4)
    out["gdc_logit_curv_lo"] = plain(lg.curvature_range[0], 6)
    out["gdc_logit_curv_hi"] = plain(lg.curvature_range[1], 4)
    c = conservativeness(lg)
    out["gdc_logit_speedup"] = plain(f"{c.min():.3f}–{c.max():.3f}")
    th = lg.threshold_units
    out["gdc_logit_threshold"] = plain("beyond the sweep (2 x 2/L)" if not np.isfinite(th)
                                       else f"{th:.2f} x 2/L")
    out["gdc_quad_thresholds"] = plain(", ".join(f"{r.threshold_units:.2f}" for r in quadratics))
    return out
