"""Protocol of the chapter edge_of_stability: settings per mode, the measurement contract, the
measurement dictionary each claim reads, the chapter's tables and the numbers the closing prose
quotes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from boundbook.chapters.edge_of_stability.claims import (
    entry_index,
    plateau_ratios,
    sorm_summary,
    up_fraction,
)
from boundbook.core.display import claim_findings, plain

if TYPE_CHECKING:
    from boundbook.chapters.edge_of_stability.experiment import (
        QuadraticControl,
        SormResult,
        Training,
    )

READS: dict[str, tuple[str, ...]] = {
    "eos-nonmonotone-descent": ("control", "runs",),
    "eos-plateau": ("control", "runs",),
    "eos-progressive-sharpening": ("control", "runs",),
    "eos-self-stabilisation": ("control", "quadratic", "runs",),
    "eos-sorm-sharpening": ("linear", "model",),
}
"""The measurement contract: claim id -> the keys of its measurement dictionary that its
check and control read (:func:`boundbook.core.ledger.report` refuses any other)."""


@dataclass(frozen=True)
class EoSSettings:
    """What one run of the chapter computes (see :func:`settings`)."""

    mode: str
    seed: int
    n_train: int
    width: int
    etas: tuple[float, ...]
    control_eta: float
    steps: int
    every: int
    lanczos_tol: float
    lanczos_max_iter: int
    sorm_d: int
    sorm_m: int
    sorm_draws: int
    sorm_q_scale: float
    sorm_q_scales: tuple[float, ...]
    sorm_eta: float
    sorm_steps: int
    quad_steps: int


def settings(mode: str, seed: int) -> EoSSettings:
    """Quick: about half a minute on two CPU cores. Full: more step sizes, longer runs, a
    bigger subset and more random model draws.

    The step sizes are chosen from the initial sharpness (about 6.7 for seed 0 in quick mode):
    each EoS step size starts with :math:`2/\\eta` well above it (so the edge can only be reached
    by sharpening), and ``control_eta`` puts :math:`2/\\eta` far above anything the run reaches.
    Every EoS step size must reach its edge well before the final third of the run (the claims
    count a run that never gets there against the paper): in a pilot full-mode run,
    :math:`\\eta = 0.06` was still 3.5% below its edge after 6000 steps, so the smallest
    full-mode step size is 0.08 (edge reached near step 1600).
    """
    if mode == "quick":
        return EoSSettings(mode, seed, n_train=200, width=32, etas=(0.1, 0.15, 0.2),
                           control_eta=0.04, steps=2000, every=50, lanczos_tol=1e-3,
                           lanczos_max_iter=60, sorm_d=100, sorm_m=10, sorm_draws=8,
                           sorm_q_scale=0.6, sorm_q_scales=(0.0, 0.2, 0.4, 0.6, 0.8),
                           sorm_eta=0.5, sorm_steps=800, quad_steps=400)
    return EoSSettings(mode, seed, n_train=500, width=48,
                       etas=(0.08, 0.1, 0.13, 0.16, 0.2), control_eta=0.02, steps=6000,
                       every=20, lanczos_tol=1e-4, lanczos_max_iter=100, sorm_d=100, sorm_m=10,
                       sorm_draws=32, sorm_q_scale=0.6,
                       sorm_q_scales=(0.0, 0.2, 0.4, 0.5, 0.6, 0.7, 0.8),
                       sorm_eta=0.5, sorm_steps=2000, quad_steps=400)


def measurements(training: Training, control_eta: float, sorm: SormResult,
                 sorm_linear: SormResult, quad: QuadraticControl) -> dict[str, dict[str, Any]]:
    """The measurement dictionary of every claim, keyed by claim id (what
    :func:`boundbook.core.ledger.report` decides the verdicts from)."""
    eos = [r.record() for r in training.runs if r.eta != control_eta]
    ctrl = training.run(control_eta).record()
    runs = {"runs": eos, "control": ctrl}
    return {
        "eos-progressive-sharpening": runs,
        "eos-plateau": runs,
        "eos-self-stabilisation": {**runs, "quadratic": quad.record()},
        "eos-nonmonotone-descent": runs,
        "eos-sorm-sharpening": {"model": sorm.record(), "linear": sorm_linear.record()},
    }


def training_rows(training: Training, control_eta: float) -> list[tuple[Any, ...]]:
    """One row per step size for the chapter's table: eta, 2/eta, sharpness at step 0, step
    where the sampled sharpness first reached 2/eta, its peak, the median over the final third
    divided by 2/eta, the fraction of steps raising the loss from the edge on, final loss."""
    rows = []
    for run in training.runs:
        rec = run.record()
        k = entry_index(rec, 2.0)
        name = f"{run.eta:g}" + (" (control)" if run.eta == control_eta else "")
        rows.append((name, 2 / run.eta, run.sharpness[0],
                     "never" if k is None else run.steps[k], max(run.sharpness),
                     plateau_ratios([rec], 2.0)[0], up_fraction(rec, 2.0), run.final_loss))
    return rows


TRAINING_HEADER = ("η", "2/η", "S at step 0", "step reaching 2/η", "peak S",
                   "median S·η/2, final third", "share of steps raising L", "final loss")


def sorm_rows(results: Sequence[SormResult]) -> list[tuple[Any, ...]]:
    """One row per Q scale: median over draws of ηλ/2 at step 0 and at the end, how many draws
    crossed the edge during the run, ended above it, diverged, and converged (loss < 1e-12)."""
    rows = []
    for res in results:
        s = sorm_summary(res.record(), 2.0)
        rows.append((res.q_scale, s["median_initial"], s["median_final"], s["crossed"],
                     s["settled_above"], int((res.diverged_at >= 0).sum()),
                     int((res.loss[-1] < 1e-12).sum()), len(res.diverged_at)))
    return rows


SORM_HEADER = ("Q scale", "median ηλ/2 at step 0", "median ηλ/2 at the end", "crossed the edge",
               "ended above it", "diverged", "converged", "draws")


def findings(evaluations: Sequence[Any], measured: dict[str, dict[str, Any]],
             training: Training, sorm: SormResult) -> dict[str, Any]:
    """Numbers quoted in the closing discussion, as quote-free text for MyST-NB ``glue``."""
    out: dict[str, Any] = dict(claim_findings(evaluations))
    runs = measured["eos-plateau"]["runs"]
    ratios = plateau_ratios(runs, 2.0)
    out["eos_etas"] = plain(", ".join(f"{r['eta']:g}" for r in runs))
    out["eos_plateau_min"] = plain(min(ratios), 3)
    out["eos_plateau_max"] = plain(max(ratios), 3)
    ups = [up_fraction(r, 2.0) for r in runs]
    out["eos_up_min"] = plain(f"{100 * min(ups):.0f}%")
    out["eos_up_max"] = plain(f"{100 * max(ups):.0f}%")
    ctrl = measured["eos-plateau"]["control"]
    out["eos_control_eta"] = plain(ctrl["eta"])
    out["eos_control_peak"] = plain(max(ctrl["sharpness"]) * ctrl["eta"] / 2, 2)
    out["eos_control_ups"] = plain(sum(ctrl["ups"]))
    out["eos_n_params"] = plain(training.n_params)
    out["eos_n_train"] = plain(training.n_train)
    s = sorm_summary(measured["eos-sorm-sharpening"]["model"], 2.0)
    out["eos_sorm_offset"] = plain(f"{100 * (s['median_final'] - 1):+.1f}%")
    out["eos_sorm_initial"] = plain(s["median_initial"], 2)
    out["eos_sorm_final"] = plain(s["median_final"], 3)
    out["eos_sorm_above"] = plain(s["settled_above"])
    out["eos_sorm_crossed"] = plain(s["crossed"])
    out["eos_sorm_draws"] = plain(len(sorm.diverged_at))
    out["eos_sorm_diverged"] = plain(int((sorm.diverged_at >= 0).sum()))
    return out
