"""Protocol of the chapter "Online gradient descent on a drifting target": settings per mode,
the measurement contract, the measurement dictionary each claim reads, and the numbers the
closing prose quotes.

Light on purpose (standard library, numpy and :mod:`boundbook.core` only): the experiment's
result types are imported for type checking only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from boundbook.chapters.drift_tracking.claims import rw_best_step
from boundbook.core.display import claim_findings, plain

if TYPE_CHECKING:
    from boundbook.chapters.drift_tracking.experiment import (
        BestStepResult,
        DriftResult,
        RandomWalkResult,
    )

READS: dict[str, tuple[str, ...]] = {
    "drift-bound": ("delta", "family", "labels", "max_error", "max_error_aimed", "q",
                    "sympy_matches"),
    "drift-rw-mse": ("a", "eta", "grad_noise", "interval", "interval_aimed", "measured",
                     "measured_aimed", "sigma", "sympy_matches"),
    "drift-rw-best-step": ("a", "argmin", "grad_noise", "interval", "sigma", "sympy_matches"),
}
"""The measurement contract: claim id -> the keys its check and control read."""


@dataclass(frozen=True)
class Settings:
    """What one run computes (fixed before the run; see :func:`settings`)."""

    mode: str
    seed: int
    # deterministic drift
    mu: float
    """Smallest curvature (strong convexity) of the drift quadratics."""
    delta: float
    """Distance the minimiser moves per step in the deterministic drift runs."""
    dim: int
    """Dimension of the deterministic drift quadratics."""
    Ls: tuple[float, ...]
    """Largest curvatures L (condition numbers L/mu) of the drift quadratics."""
    step_fractions: tuple[float, ...]
    """GD steps as fractions of 2/L (eta = fraction * 2/L)."""
    drift_steps: int
    """Time steps per deterministic drift run."""
    drift_seeds: int
    """Seeds per random drift family (the worst case uses one)."""
    # random walk, scalar curvature a
    a: float
    """Curvature of the scalar random-walk quadratic."""
    sigma: float
    """Std of the minimiser's Gaussian random-walk increment per step."""
    rw_grad_noise: float
    """Gradient noise std in the random-walk step sweep."""
    rw_eta_a: tuple[float, ...]
    """Random-walk step sizes as multiples of 1/a (eta = value / a)."""
    rw_steps: int
    """Time steps per random-walk run."""
    rw_burn_in: int
    """Steps dropped before averaging the random-walk squared error."""
    rw_seeds: int
    """Seeds of the random-walk step sweep."""
    # best step (with gradient noise)
    best_grad_noise: float
    """Gradient noise std in the best-step runs."""
    best_span: tuple[float, float, int]
    """Geometric step grid: (low, high) factors of the derived best step, points."""
    best_steps: int
    """Time steps per best-step run."""
    best_burn_in: int
    """Steps dropped before averaging the best-step squared error."""
    best_seeds: int
    """Seeds of the best-step grid."""


def settings(mode: str, seed: int) -> Settings:
    """Quick: d = 4, two condition numbers (4, 16) x three steps (0.25, 0.5, 0.9 of 2/L, on both
    sides of 2/(mu+L)), 64 seeds x 300 steps per drift family; random walk: 6 steps x 100 seeds
    x 2000 steps; best step: 15-point grid x 100 seeds x 2000 steps. Full: 4x the seeds,
    2x the steps."""
    quick = mode == "quick"
    k = 1 if quick else 4
    return Settings(
        mode=mode, seed=seed, mu=1.0, delta=0.1, dim=4, Ls=(4.0, 16.0),
        step_fractions=(0.25, 0.5, 0.9), drift_steps=300 if quick else 600,
        drift_seeds=64 * k,
        a=1.0, sigma=0.1, rw_grad_noise=0.0, rw_eta_a=(0.1, 0.25, 0.5, 1.0, 1.5, 1.8),
        rw_steps=2000 if quick else 4000, rw_burn_in=200, rw_seeds=100 * k,
        best_grad_noise=0.5, best_span=(0.4, 2.5, 15), best_steps=2000 if quick else 4000,
        best_burn_in=200, best_seeds=100 * k,
    )


def best_step(cfg: Settings) -> float:
    """The derived minimiser of the stationary mean square error at the best-step settings."""
    return rw_best_step(cfg.a, cfg.sigma, cfg.best_grad_noise)


def measurements(drift: DriftResult, rw: RandomWalkResult, best: BestStepResult,
                 sympy_matches: bool) -> dict[str, dict[str, Any]]:
    """The measurement dictionary of every claim, keyed by claim id."""
    inst = drift.instances
    labels = [f"{i.family}, L={i.L:g}, eta={i.eta:.4g}" for i in inst]
    eta = [float(e) for e in rw.etas] + [float(e) for e in best.etas]
    noise = [rw.grad_noise] * len(rw.etas) + [best.grad_noise] * len(best.etas)
    return {
        "drift-bound": {
            "delta": drift.delta, "q": [i.q for i in inst], "family": [i.family for i in inst],
            "labels": labels,
            "max_error": [[float(x) for x in i.max_error] for i in inst],
            "max_error_aimed": [[float(x) for x in i.max_error_aimed] for i in inst],
            "sympy_matches": bool(sympy_matches),
        },
        "drift-rw-mse": {
            "a": rw.a, "sigma": rw.sigma, "eta": eta, "grad_noise": noise,
            "measured": [float(x) for x in rw.measured] + [float(x) for x in best.measured],
            "interval": [[float(lo), float(hi)] for lo, hi in rw.interval]
            + [[float(lo), float(hi)] for lo, hi in best.interval_curve],
            "measured_aimed": [float(x) for x in rw.measured_aimed],
            "interval_aimed": [[float(lo), float(hi)] for lo, hi in rw.interval_aimed],
            "sympy_matches": bool(sympy_matches),
        },
        "drift-rw-best-step": {
            "a": best.a, "sigma": best.sigma, "grad_noise": best.grad_noise,
            "argmin": best.argmin, "interval": [float(best.interval[0]),
                                                float(best.interval[1])],
            "sympy_matches": bool(sympy_matches),
        },
    }


def findings(evaluations: Sequence[Any], drift: DriftResult, rw: RandomWalkResult,
             best: BestStepResult, cfg: Settings) -> dict[str, Any]:
    """The numbers the chapter's closing prose quotes (glued)."""
    out = dict(claim_findings(evaluations))
    ev = {e.claim.id: e for e in evaluations}
    b = ev["drift-bound"]
    out["drift_bound_slack"] = plain(b.main.slack, 3)
    out["drift_bound_equality"] = plain(b.main.equality, 3)
    fixed = max(float(i.ratio.max()) for i in drift.family("fixed-random"))
    fresh = max(float(i.ratio.max()) for i in drift.family("random"))
    out["drift_fixed_ratio"] = plain(fixed, 3)
    out["drift_fresh_ratio"] = plain(fresh, 3)
    out["drift_control_worst"] = plain(max(float(i.over_delta.max()) for i in drift.instances),
                                       3)
    out["drift_seeds"] = plain(drift.seeds)
    out["rw_worst_offset"] = plain(ev["drift-rw-mse"].main.slack, 3)
    out["rw_ou_worst"] = plain(float(min(rw.ou / rw.exact)), 3)
    out["best_predicted"] = plain(best_step(cfg), 4)
    out["best_measured"] = plain(best.argmin, 4)
    out["best_lo"] = plain(best.interval[0], 4)
    out["best_hi"] = plain(best.interval[1], 4)
    out["best_ou"] = plain(cfg.sigma / cfg.best_grad_noise, 4)
    return out
