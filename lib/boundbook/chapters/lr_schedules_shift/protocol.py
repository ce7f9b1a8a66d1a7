"""Protocol of the chapter "Learning-rate schedules under distribution shift": settings per
mode, the measurement contract, the measurement dictionary each claim reads, and the numbers
the closing prose quotes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from boundbook.core.display import claim_findings, plain

if TYPE_CHECKING:
    from boundbook.chapters.lr_schedules_shift.experiment import LRResult

__all__ = ["READS", "Settings", "findings", "measurements", "settings"]

READS: dict[str, tuple[str, ...]] = {
    "lrs-optimal-wins": ("deltas", "margin_nos", "margin_nos_interval", "margin_opt",
                         "margin_opt_interval", "sympy_matches"),
    "lrs-increase-with-shift": ("best_const", "best_const_interval", "deltas",
                                "eta_T", "noise_best_const", "noise_best_const_interval",
                                "noise_eta_T", "sigmas", "sympy_matches"),
    "lrs-one-over-t-quadratic": ("deltas", "slope_nos", "slope_nos_interval", "slope_opt",
                                 "slope_opt_interval", "sympy_matches"),
}
"""The measurement contract: claim id -> the keys its check and control read."""


@dataclass(frozen=True)
class Settings:
    """What one run computes: drift levels ``deltas`` (noise ``sigma``), the control's noise
    levels ``sigmas`` (at the middle drift level), ``n_const`` constant steps geometrically
    spaced on ``const_range``, ``steps`` per run, ``n_seeds`` seeds (shared by every schedule of
    a drift level)."""

    mode: str
    seed: int
    deltas: tuple[float, ...]
    """Drift levels: std of the target's random-walk increment per step."""
    sigmas: tuple[float, ...]
    """Label noise stds of the noise control (at the middle drift level)."""
    sigma: float
    """Label noise std of the drift-level runs."""
    const_range: tuple[float, float]
    """Range (low, high) of the geometric grid of constant steps."""
    n_const: int
    """Number of constant steps on the grid."""
    steps: int
    """Time steps per run."""
    n_seeds: int
    """Seeds per drift level, shared by every schedule."""
    slope_seeds: int
    """Seeds per drift level for the error-slope runs."""


def settings(mode: str, seed: int) -> Settings:
    """Quick: three drift levels, 2000 steps, 200 seeds per schedule (1500 for the slopes).
    Full: four levels, 5000 steps, 2000 seeds (8000 for the slopes), a finer grid of constants."""
    if mode == "quick":
        return Settings(mode, seed, deltas=(0.01, 0.03, 0.1), sigmas=(0.5, 1.0, 2.0),
                        sigma=1.0, const_range=(0.003, 0.3), n_const=9, steps=2000,
                        n_seeds=200, slope_seeds=1500)
    return Settings(mode, seed, deltas=(0.003, 0.01, 0.03, 0.1), sigmas=(0.5, 1.0, 2.0),
                    sigma=1.0, const_range=(0.001, 0.3), n_const=17, steps=5000,
                    n_seeds=2000, slope_seeds=8000)


def measurements(result: LRResult, derived: Any) -> dict[str, dict[str, Any]]:
    """The measurement dictionary of every claim (plain JSON types)."""
    from boundbook.chapters.lr_schedules_shift.experiment import best_constant, paired_margin

    deltas = [r.delta for r in result.shifts]
    opt, nos = [], []
    for r in result.shifts:
        const = [i for i, nm in enumerate(r.names) if nm.startswith("const")]
        opt.append(paired_margin(r.regret, r.names.index("optimal"),
                                 const + [r.names.index("1/t")]))
        nos.append(paired_margin(r.regret, r.names.index("1/t"), const))
    best = [best_constant(r) for r in result.shifts]
    nbest = [best_constant(r) for r in result.noise_sweep]
    ok = bool(derived.all_match)
    return {
        "lrs-optimal-wins": {
            "deltas": deltas, "sympy_matches": ok,
            "margin_opt": [m for m, _ in opt], "margin_opt_interval": [list(i) for _, i in opt],
            "margin_nos": [m for m, _ in nos], "margin_nos_interval": [list(i) for _, i in nos]},
        "lrs-increase-with-shift": {
            "deltas": deltas, "sympy_matches": ok,
            "eta_T": [float(r.etas[0, -1]) for r in result.shifts],
            "best_const": [b for b, _ in best], "best_const_interval": [list(i) for _, i in best],
            "sigmas": [r.sigma for r in result.noise_sweep],
            "noise_eta_T": [float(r.etas[0, -1]) for r in result.noise_sweep],
            "noise_best_const": [b for b, _ in nbest],
            "noise_best_const_interval": [list(i) for _, i in nbest]},
        "lrs-one-over-t-quadratic": {
            "deltas": [s.delta for s in result.slopes], "sympy_matches": ok,
            "slope_nos": [s.slope["1/t"] for s in result.slopes],
            "slope_nos_interval": [list(s.interval["1/t"]) for s in result.slopes],
            "slope_opt": [s.slope["optimal"] for s in result.slopes],
            "slope_opt_interval": [list(s.interval["optimal"]) for s in result.slopes]},
    }


def findings(evaluations: Sequence[Any], result: LRResult,
             measured: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The numbers the chapter's closing prose quotes (glued)."""
    out: dict[str, Any] = dict(claim_findings(evaluations))
    m = measured["lrs-optimal-wins"]
    out["lrs_margin_opt"] = plain(", ".join(f"{100 * x:.1f}%" for x in m["margin_opt"]))
    s = measured["lrs-one-over-t-quadratic"]
    out["lrs_slope_nos"] = plain(", ".join(f"{x:.3f}" for x in s["slope_nos"]))
    out["lrs_slope_opt"] = plain(", ".join(f"{x:.3f}" for x in s["slope_opt"]))
    b = measured["lrs-increase-with-shift"]
    out["lrs_best_const"] = plain(", ".join(f"{x:.3g}" for x in b["best_const"]))
    out["lrs_eta_T"] = plain(", ".join(f"{x:.3g}" for x in b["eta_T"]))
    r0 = result.shifts[-1]
    ratio = r0.regret[r0.names.index("1/t")].mean() / r0.regret[0].mean()
    out["lrs_nos_ratio"] = plain(f"{ratio:.1f}")
    out["lrs_n_seeds"] = plain(result.n_seeds)
    out["lrs_steps"] = plain(result.steps)
    calib = [abs(float(np.mean(r.regret[i])) / r.expected[i] - 1)
             for r in result.shifts for i in range(len(r.names))]
    out["lrs_model_err"] = plain(f"{100 * max(calib):.1f}%")
    return out
