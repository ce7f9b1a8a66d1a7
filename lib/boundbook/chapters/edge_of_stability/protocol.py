"""Protocol of the chapter edge_of_stability: settings per mode, the measurement contract, the
measurement dictionary each claim reads, the chapter's tables and the numbers the closing prose
quotes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from boundbook.chapters.edge_of_stability.claims import (
    CLAIMS,
    SORM_BAND,
    diverging_run,
    entry_index,
    plateau_ratios,
    sorm_successes,
    sorm_summary,
    up_fraction,
)
from boundbook.core.display import claim_findings, plain

if TYPE_CHECKING:
    from boundbook.chapters.edge_of_stability.experiment import (
        DivergenceSweep,
        SormResult,
        Training,
    )

READS: dict[str, tuple[str, ...]] = {
    "eos-nonmonotone-descent": ("runs",),
    "eos-plateau": ("runs",),
    "eos-progressive-sharpening": ("runs",),
    "eos-self-stabilisation": ("diverging", "runs",),
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
    """Digits training examples of the full-batch regression (the first n of the split)."""
    width: int
    """Width of both hidden layers of the tanh MLP 64 -> width -> width -> 10."""
    etas: tuple[float, ...]
    """Step sizes of the edge-of-stability GD runs (one vmapped run each)."""
    steps: int
    """GD steps per edge-of-stability run."""
    every: int
    """Steps between sharpness measurements (Lanczos) of each run."""
    lanczos_tol: float
    """Lanczos stopping tolerance: estimated relative error of the top Hessian eigenvalue."""
    lanczos_max_iter: int
    """Most Hessian-vector products (Lanczos iterations) per sharpness measurement."""
    sorm_d: int
    """Parameter dimension d of each random second-order regression model (SORM)."""
    sorm_m: int
    """Outputs m of each random SORM (J is m x d, Q is m x d x d)."""
    sorm_draws: int
    """Random SORM draws per Q scale, fitted to standard-normal targets."""
    sorm_q_scales: tuple[float, ...]
    """Scales of the quadratic term Q swept (0 = the linear model, a control)."""
    sorm_eta: float
    """GD step size on the SORM draws."""
    sorm_steps: int
    """GD steps per SORM run, starting from theta = 0."""
    quad_steps: int
    """Steps per run of the quadratic control's eta*lambda sweep (1.50 to 3.00)."""
    div_coarse: tuple[float, ...]
    """Coarse grid of eta*S0/2 of the divergence control (S0: initial sharpness)."""
    div_fine: float
    """Factor between fine-grid points of eta*S0/2 (1.05 = steps of 5%)."""
    div_steps: int
    """GD steps per run of the divergence control."""

    @property
    def sorm_declared(self) -> tuple[float, ...]:
        """The Q scales the SORM claim is decided over: every non-zero scale of the sweep
        (declared before the run; 0 is the linear model, part of the negative control)."""
        return tuple(q for q in self.sorm_q_scales if q != 0.0)


def settings(mode: str, seed: int) -> EoSSettings:
    """Quick: about half a minute on two CPU cores. Full: more step sizes, longer runs, a
    bigger subset and more random model draws.

    The step sizes are chosen from the initial sharpness (about 6.7 for seed 0 in quick mode):
    each EoS step size starts with :math:`2/\\eta` well above it (so the edge can only be reached
    by sharpening). Every EoS step size must reach its edge well before the final third of the
    run (the claims count a run that never gets there against the paper): in a pilot full-mode
    run, :math:`\\eta = 0.06` was still 3.5% below its edge after 6000 steps, so the smallest
    full-mode step size is 0.08 (edge reached near step 1600).

    The SORM claim is decided over every non-zero Q scale of ``sorm_q_scales``
    (:attr:`EoSSettings.sorm_declared`; the same grid the chapter showed before the claim was
    decided over it). The divergence control searches :math:`\\eta S_0/2` on the coarse grid
    ``div_coarse`` (:math:`1.25^k`) and then in steps of 5% (``div_fine``), ``div_steps``
    steps per run.
    """
    coarse = tuple(round(1.25**k, 6) for k in range(1, 8))
    if mode == "quick":
        return EoSSettings(mode, seed, n_train=200, width=32, etas=(0.1, 0.15, 0.2),
                           steps=2000, every=50, lanczos_tol=1e-3,
                           lanczos_max_iter=60, sorm_d=100, sorm_m=10, sorm_draws=16,
                           sorm_q_scales=(0.0, 0.2, 0.4, 0.6, 0.8),
                           sorm_eta=0.5, sorm_steps=800, quad_steps=400, div_coarse=coarse,
                           div_fine=1.05, div_steps=300)
    return EoSSettings(mode, seed, n_train=500, width=48,
                       etas=(0.08, 0.1, 0.13, 0.16, 0.2), steps=6000,
                       every=20, lanczos_tol=1e-4, lanczos_max_iter=100, sorm_d=100, sorm_m=10,
                       sorm_draws=32, sorm_q_scales=(0.0, 0.2, 0.4, 0.5, 0.6, 0.7, 0.8),
                       sorm_eta=0.5, sorm_steps=2000, quad_steps=400, div_coarse=coarse,
                       div_fine=1.05, div_steps=1000)


def measurements(training: Training, diverging: DivergenceSweep,
                 sweep: Sequence[SormResult], declared: Sequence[float]
                 ) -> dict[str, dict[str, Any]]:
    """The measurement dictionary of every claim, keyed by claim id (what
    :func:`boundbook.core.ledger.report` decides the verdicts from): the EoS runs, the
    divergence sweep on the same network, and the SORM sweep split into the declared Q scales
    and the linear model (Q = 0)."""
    runs = {"runs": [r.record() for r in training.runs]}
    model = [r.record() for r in sweep if r.q_scale in declared]
    if [r["q_scale"] for r in model] != list(declared):
        raise ValueError(f"the SORM sweep lacks declared Q scales {declared}")
    linear = next(r.record() for r in sweep if r.q_scale == 0.0)
    return {
        "eos-progressive-sharpening": runs,
        "eos-plateau": runs,
        "eos-self-stabilisation": {**runs, "diverging": diverging.record()},
        "eos-nonmonotone-descent": runs,
        "eos-sorm-sharpening": {"model": model, "linear": linear},
    }


def training_rows(training: Training) -> list[tuple[Any, ...]]:
    """One row per step size for the chapter's table: eta, 2/eta, sharpness at step 0, step
    where the sampled sharpness first reached 2/eta, its peak, the median over the final third
    divided by 2/eta, the fraction of steps raising the loss from the edge on, final loss."""
    rows = []
    for run in training.runs:
        rec = run.record()
        k = entry_index(rec, 2.0)
        rows.append((f"{run.eta:g}", 2 / run.eta, run.sharpness[0],
                     "never" if k is None else run.steps[k], max(run.sharpness),
                     plateau_ratios([rec], 2.0)[0], up_fraction(rec, 2.0), run.final_loss))
    return rows


TRAINING_HEADER = ("η", "2/η", "S at step 0", "step reaching 2/η", "peak S",
                   "median S·η/2, final third", "share of steps raising L", "final loss")


def sorm_rows(results: Sequence[SormResult]) -> list[tuple[Any, ...]]:
    """One row per Q scale: median over draws of ηλ/2 at step 0 and at the end, how many draws
    crossed the edge during the run, ended above it, diverged, converged (loss < 1e-12), and
    counted for the claim (risen x1.2 and within +-10% of the edge at the end)."""
    rows = []
    rise = _sorm_claim().constants["min_rise"]
    for res in results:
        rec = res.record()
        s = sorm_summary(rec, 2.0)
        rows.append((res.q_scale, s["median_initial"], s["median_final"], s["crossed"],
                     s["settled_above"], int((res.diverged_at >= 0).sum()),
                     int((res.loss[-1] < 1e-12).sum()), sum(sorm_successes(rec, 2.0, rise)),
                     len(res.diverged_at)))
    return rows


def _sorm_claim() -> Any:
    return next(c for c in CLAIMS if c.id == "eos-sorm-sharpening")


SORM_HEADER = ("Q scale", "median ηλ/2 at step 0", "median ηλ/2 at the end", "crossed the edge",
               "ended above it", "diverged", "converged",
               f"within ±{SORM_BAND.value:.0%} of the edge (counted)", "draws")


def findings(evaluations: Sequence[Any], measured: dict[str, dict[str, Any]],
             training: Training, diverging: DivergenceSweep) -> dict[str, Any]:
    """Numbers quoted in the closing discussion, as quote-free text for MyST-NB ``glue``."""
    out: dict[str, Any] = dict(claim_findings(evaluations))
    runs = measured["eos-plateau"]["runs"]
    ratios = plateau_ratios(runs, 2.0)
    out["eos_etas"] = plain(", ".join(f"{r['eta']:g}" for r in runs))
    out["eos_plateau_min"] = plain(min(ratios), 3)
    out["eos_plateau_max"] = plain(max(ratios), 3)
    peaks = [max(s * r["eta"] / 2 for s in r["sharpness"]) for r in runs]
    out["eos_peak_min"] = plain(min(peaks), 3)
    out["eos_peak_max"] = plain(max(peaks), 3)
    ups = [up_fraction(r, 2.0) for r in runs]
    out["eos_up_min"] = plain(f"{100 * min(ups):.0f}%")
    out["eos_up_max"] = plain(f"{100 * max(ups):.0f}%")
    pre = [sum(r["ups"][: entry_index(r, 2.0) - 1]) for r in runs
           if (entry_index(r, 2.0) or 0) >= 2]
    out["eos_pre_edge_ups"] = plain(sum(pre))
    out["eos_n_params"] = plain(training.n_params)
    out["eos_n_train"] = plain(training.n_train)
    ctl = diverging_run(diverging.record())
    alive = [float(r) for r, a in zip(diverging.rel, diverging.diverged_at, strict=True)
             if a < 0]
    out["eos_div_rel"] = plain(ctl["rel"], 3)
    out["eos_div_step"] = plain(ctl["diverged_at"])
    out["eos_div_survive"] = plain(max(alive) if alive else 0.0, 3)
    out["eos_div_steps"] = plain(diverging.steps)
    m = measured["eos-sorm-sharpening"]
    main = next(e for e in evaluations if e.claim.id == "eos-sorm-sharpening").main
    out["eos_sorm_share"] = plain(f"{main.measured:.2f}")
    out["eos_sorm_ci"] = plain(f"[{main.interval[0]:.2f}, {main.interval[1]:.2f}]")
    out["eos_sorm_pairs"] = plain(sum(len(r["lam_final"]) for r in m["model"]))
    out["eos_sorm_scales"] = plain(", ".join(f"{r['q_scale']:g}" for r in m["model"]))
    rise = _sorm_claim().constants["min_rise"]
    out["eos_sorm_per_q"] = plain("; ".join(
        f"{r['q_scale']:g}: {sum(sorm_successes(r, 2.0, rise))} of {len(r['lam_final'])}"
        for r in m["model"]))
    out["eos_sorm_draws"] = plain(len(m["linear"]["lam_final"]))
    out["eos_sorm_bar"] = plain(_sorm_claim().constants["bar"])
    lin = sorm_summary(m["linear"], 2.0)
    out["eos_sorm_linear"] = plain(lin["median_final"], 2)
    return out
