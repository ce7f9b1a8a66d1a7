"""Protocol of the chapter gd_quadratic: settings per mode, the measurement contract, the
measurement dictionary each claim reads, and the numbers the closing prose quotes.

Light on purpose (standard library, numpy and :mod:`boundbook.core` only): the experiment's
result types are imported for type checking only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from boundbook.core.claims import Evaluation
from boundbook.core.display import claim_findings, plain

if TYPE_CHECKING:
    from boundbook.chapters.gd_quadratic.experiment import (
        ControlResult,
        CriticalStepResult,
        MomentumResult,
        RateResult,
    )

__all__ = ["READS", "SHAPES", "GDQSettings", "findings", "measurements", "settings"]

SHAPES = ("uniform", "log-uniform", "spiked", "clustered-top")
"""The spectrum shapes of the quadratics (:func:`boundbook.chapters.gd_quadratic.quadratics.
spectrum`)."""

READS: dict[str, tuple[str, ...]] = {
    "gdq-critical-step": ("blowup", "bracket", "control_diverged", "control_diverged_at",
        "control_factors", "found", "labels", "lam_max", "steps", "sympy_matches", "threshold"),
    "gdq-heavy-ball-edge": ("beta", "bracket", "control_diverged", "control_diverged_at",
        "control_factors", "derived", "found", "measured", "steps", "sympy_matches"),
    "gdq-nesterov-edge": ("beta", "bracket", "control_diverged", "control_diverged_at",
        "control_factors", "derived", "found", "measured", "steps", "sympy_matches"),
    "gdq-optimal-rate": ("every", "grid_bound_excess", "kappa", "labels", "log_energy_star",
        "rate_at_star", "starts", "steps", "sympy_matches"),
    "gdq-sweep-offset": ("blowup", "bracket", "found", "labels", "lam_max", "steps", "top_share",),
}
"""The measurement contract: claim id -> the keys of its measurement dictionary that its
check and control read (:func:`boundbook.core.ledger.report` refuses any other)."""


# ----------------------------------------------------------------------------- settings

@dataclass(frozen=True)
class GDQSettings:
    """What one run of the chapter computes (see :func:`settings`). The blow-up level of every
    sweep is the book's ``BLOWUP`` (:mod:`boundbook.numeric.divergence`) in both modes."""

    mode: str
    seed: int
    specs: tuple[tuple[str, int, float], ...]
    """Quadratics to measure, one (spectrum shape, dimension d, condition number kappa) each."""
    n: int
    """Step sizes per sweep: each bracketing round, and the contraction-rate grid."""
    rounds: int
    """Bracketing sweeps per threshold, each one inside the previous bracket."""
    steps: int
    """Horizon in steps of the threshold, momentum-edge and control runs."""
    first_steps: int
    """Shorter horizon in steps of the first, bracket-placing sweep round."""
    rate_steps: int
    """Steps per GD run of the contraction-rate measurement."""
    rate_starts: int
    """Extra Gaussian starts per quadratic, each run at the optimal step eta*."""
    betas: tuple[float, ...]
    """Momentum values beta of the heavy-ball and Nesterov edge and control runs."""


def settings(mode: str, seed: int) -> GDQSettings:
    """Quick: four quadratics (one spectrum shape each, d = 10 to 50), two momentum values,
    1000-step horizons. Full: twelve quadratics (every shape at kappa = 10, 100, 1000, random
    dimensions in 10..50), 4000-step horizons, three bracketing rounds, six momentum values."""
    if mode == "quick":
        specs = (("uniform", 10, 10.0), ("log-uniform", 20, 100.0), ("spiked", 35, 50.0),
                 ("clustered-top", 50, 1000.0))
        return GDQSettings(mode, seed, specs, n=64, rounds=2, steps=1000, first_steps=250,
                           rate_steps=400, rate_starts=16, betas=(0.5, 0.9))
    rng = np.random.default_rng([seed, 7])
    specs = tuple((shape, int(rng.integers(10, 51)), float(k))
                  for shape in SHAPES for k in (10.0, 100.0, 1000.0))
    return GDQSettings(mode, seed, specs, n=64, rounds=3, steps=4000, first_steps=1000,
                       rate_steps=1000, rate_starts=32,
                       betas=(0.0, 0.25, 0.5, 0.75, 0.9, 0.99))



# ----------------------------------------------------------------------------- ledger glue

def _control(control: ControlResult, methods: Sequence[str]) -> dict[str, Any]:
    rows = control.rows(methods)
    return {"control_factors": list(control.factors),
            "control_diverged": [[bool(x) for x in control.diverged[i]] for i in rows],
            "control_diverged_at": [[int(x) for x in control.diverged_at[i]] for i in rows]}


def measurements(*, critical: CriticalStepResult, rates: RateResult,
                 momentum: MomentumResult, control: ControlResult,
                 symbolic: Mapping[str, bool]) -> dict[str, dict[str, Any]]:
    """The measurement dictionary of every claim, keyed by claim id (plain JSON types).
    ``symbolic``: :func:`boundbook.chapters.gd_quadratic.derivation.symbolic_flags`, the exact
    comparisons of the derived edges and rate (keys ``gd``, ``rate``, ``heavy_ball``,
    ``nesterov``)."""
    return {
        "gdq-critical-step": {
            "labels": critical.labels, "lam_max": critical.lam_max.tolist(),
            "threshold": [float(x) if f else None
                          for x, f in zip(critical.measured, critical.brackets.found,
                                          strict=True)],
            "bracket": np.stack([critical.brackets.last_stable,
                                 critical.brackets.first_diverged], 1).tolist(),
            "found": critical.brackets.found.tolist(),
            "steps": critical.steps, "blowup": critical.blowup,
            "sympy_matches": bool(symbolic["gd"]), **_control(control, ["gd"])},
        "gdq-sweep-offset": {
            "labels": critical.labels, "lam_max": critical.lam_max.tolist(),
            "bracket": np.stack([critical.brackets.last_stable,
                                 critical.brackets.first_diverged], 1).tolist(),
            "found": critical.brackets.found.tolist(),
            "top_share": critical.top_share.tolist(),
            "steps": critical.steps, "blowup": critical.blowup},
        "gdq-optimal-rate": {
            "labels": rates.labels, "kappa": rates.kappa.tolist(),
            "rate_at_star": rates.rate_at_star.tolist(), "starts": rates.star_rates.shape[1],
            "log_energy_star": rates.log_energy_star.tolist(), "every": rates.every,
            "grid_bound_excess": float(np.nanmax(rates.bound_excess)),
            "steps": rates.steps, "sympy_matches": bool(symbolic["rate"])},
        "gdq-heavy-ball-edge": {**momentum.edges("heavy_ball"), "steps": momentum.steps,
                                "sympy_matches": bool(symbolic["heavy_ball"]),
                                **_control(control, ["heavy_ball"])},
        "gdq-nesterov-edge": {**momentum.edges("nesterov"), "steps": momentum.steps,
                              "sympy_matches": bool(symbolic["nesterov"]),
                              **_control(control, ["nesterov"])},
    }


def findings(evaluations: Sequence[Evaluation], critical: CriticalStepResult,
             rates: RateResult, momentum: MomentumResult,
             control: ControlResult) -> dict[str, Any]:
    """Numbers the closing prose quotes (quote-free text for MyST-NB ``glue``)."""
    out: dict[str, Any] = dict(claim_findings(evaluations))
    slack = {ev.claim.id: ev.main.slack for ev in evaluations}
    for key, cid in (("gdq_critical_slack", "gdq-critical-step"),
                     ("gdq_hb_slack", "gdq-heavy-ball-edge"),
                     ("gdq_nesterov_slack", "gdq-nesterov-edge")):
        s = slack[cid]
        out[key] = plain("n/a" if s is None else f"{100 * s:+.2f}%")
    off = 100 * (critical.ratio / 2 - 1)
    out["gdq_n_quadratics"] = plain(len(critical.labels))
    out["gdq_runs"] = plain(int(critical.brackets.runs))
    out["gdq_offset_range"] = plain(f"{np.nanmin(off):.2f}–{np.nanmax(off):.2f}%")
    hz = 100 * critical.horizon_offset
    out["gdq_horizon_range"] = plain(f"{hz.min():.2f}–{hz.max():.2f}%")
    out["gdq_steps"] = plain(critical.steps)
    gd = control.rows(["gd"])
    up = control.factors.index(max(control.factors))
    out["gdq_control_diverged"] = plain(
        f"{int(control.diverged[gd, up].sum())} of {len(gd)}")
    at = control.diverged_at[gd, up]
    out["gdq_control_latest_step"] = plain(int(at.max()) if (at >= 0).all() else "never")
    out["gdq_rate_excess"] = plain(float(np.nanmax(rates.bound_excess)), 2)
    out["gdq_kappa_max"] = plain(float(np.max(rates.kappa)))
    i = int(np.argmax(rates.kappa))
    below = rates.asymptotic[i, : rates.star_index]
    out["gdq_window_faster"] = plain(int(np.sum(below < rates.asymptotic[i, rates.star_index])))
    out["gdq_window_best"] = plain(float(np.nanmin(rates.asymptotic[i])), 5)
    hb, ne = momentum.edges("heavy_ball"), momentum.edges("nesterov")
    out["gdq_beta_max"] = plain(max(hb["beta"]))
    out["gdq_hb_edge_at_max"] = plain(hb["measured"][-1], 5)
    out["gdq_nesterov_edge_at_max"] = plain(ne["measured"][-1], 5)
    return out
