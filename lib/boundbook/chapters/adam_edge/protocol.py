"""Protocol of the chapter adam_edge: settings per mode, the measurement contract, the
measurement dictionary each claim reads, and the numbers the closing prose quotes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from boundbook.chapters.adam_edge.claims import RISE, THRESHOLD, rises
from boundbook.core.display import claim_findings, plain
from boundbook.core.stats import clopper_pearson

if TYPE_CHECKING:
    from boundbook.chapters.adam_edge.experiment import AdamRun, FrozenEdge

READS: dict[str, tuple[str, ...]] = {
    "adam-frozen-edge": ("cases", "steps",),
    "adam-preconditioned-plateau": ("beta1", "runs",),
    "adam-raw-sharpness-rises": ("beta1", "runs",),
}
"""The measurement contract: claim id -> the keys of its measurement dictionary that its
check and control read (:func:`boundbook.core.ledger.report` refuses any other)."""


@dataclass(frozen=True)
class AdamSettings:
    """What one run of the chapter computes (see :func:`settings`)."""

    mode: str
    seed: int
    quad_dim: int
    """Dimension of the rotated quadratic (eigenvalues evenly spaced in [1/4, 1])."""
    betas: tuple[float, ...]
    """beta1 values of frozen-preconditioner Adam whose critical step is bracketed."""
    quad_steps: int
    """Steps per run of the frozen-preconditioner step-size sweeps."""
    quad_grid: int
    """Step sizes per bracketing sweep (one vmapped run each)."""
    quad_rounds: int
    """Bracketing sweeps per critical step, each one inside the previous bracket."""
    control_factors: tuple[float, float]
    """Control steps as multiples (below, above) of the predicted critical step."""
    control_steps: int
    """Steps per control run at those step sizes (blow-up detection)."""
    n_train: int
    """Digits training examples of the full-batch network problem."""
    width: int
    """Hidden width of the tanh MLP 64 -> width -> 10."""
    etas: tuple[float, ...]
    """Adam step sizes of the network runs."""
    net_seeds: tuple[int, ...]
    """Network seeds (data split and initialisation), one problem each."""
    beta1: float
    """Adam's first-moment decay beta1 on the network."""
    beta2: float
    """Adam's second-moment decay beta2 on the network."""
    eps: float
    """Adam's epsilon (P = diag(sqrt(v_hat) + eps))."""
    train_steps: int
    """Full-batch Adam steps per network run."""
    every: int
    """Steps between sharpness records (preconditioned and raw, by Lanczos)."""


def settings(mode: str, seed: int) -> AdamSettings:
    """Quick: one network, two step sizes, 3000 steps. Full: three step sizes, two seeds."""
    quick = mode == "quick"
    return AdamSettings(
        mode=mode, seed=seed, quad_dim=10, betas=(0.0, 0.5, 0.9), quad_steps=300,
        quad_grid=256, quad_rounds=3, control_factors=(0.95, 1.05), control_steps=1000,
        n_train=256, width=32, etas=(3e-3, 1e-2) if quick else (3e-3, 1e-2, 1e-3),
        net_seeds=(seed,) if quick else (seed, seed + 1), beta1=0.9, beta2=0.999,
        eps=1e-12, train_steps=3000 if quick else 6000, every=100)


def measurements(edges: Sequence[FrozenEdge], runs: Sequence[AdamRun], cfg: AdamSettings
                 ) -> dict[str, dict[str, Any]]:
    """The measurement dictionary of every claim, keyed by claim id."""
    nets = [r.to_dict() for r in runs]
    return {
        "adam-frozen-edge": {"cases": [e.to_dict() for e in edges], "steps": cfg.quad_steps},
        "adam-preconditioned-plateau": {"runs": nets, "beta1": cfg.beta1},
        "adam-raw-sharpness-rises": {"runs": nets, "beta1": cfg.beta1},
    }


def findings(evaluations: Sequence[Any], runs: Sequence[AdamRun], beta1: float
             ) -> dict[str, Any]:
    """Numbers the closing prose quotes (quote-free text for MyST-NB glue)."""
    out: dict[str, Any] = dict(claim_findings(evaluations))
    r = runs[0]
    sl = r.plateau()
    out["adam_eta"] = plain(r.eta)
    out["adam_threshold"] = plain(r.threshold, 4)
    out["adam_pre_lo"] = plain(float(np.min(r.preconditioned[sl] / r.threshold)), 3)
    out["adam_pre_hi"] = plain(float(np.max(r.preconditioned[sl] / r.threshold)), 3)
    out["adam_raw_gd_ratio"] = plain(float(np.max(r.raw) / r.gd_threshold), 2)
    a = r.arrival(0.15)
    out["adam_arrival_step"] = plain(int(r.steps[min(a, len(r.steps) - 1)]))
    out["adam_raw_at_arrival"] = plain(float(r.raw[min(a, len(r.steps) - 1)]), 3)
    out["adam_raw_final"] = plain(float(r.raw[-1]), 3)
    out["adam_final_loss"] = plain(float(r.loss[-1]), 2)
    m = {"runs": [x.to_dict() for x in runs], "beta1": beta1}
    for i, (x, up) in enumerate(zip(runs, rises(m, "raw", THRESHOLD), strict=True)):
        out[f"adam_rise_{i}"] = plain(up, 3)  # run i: the i-th (seed, eta) of the settings
        out[f"adam_eta_{i}"] = plain(x.eta)
    ups = rises(m, "raw", THRESHOLD)
    k = sum(x >= RISE.value for x in ups)
    lo, hi = clopper_pearson(k, len(ups))
    out["adam_rise_count"] = plain(f"{k} of {len(ups)}")
    out["adam_rise_ci"] = plain(f"[{lo:.2f}, {hi:.2f}]")
    out["adam_rise_all"] = plain("; ".join(f"η = {x.eta:g} (seed {x.seed}): {u:.3f}"
                                           for x, u in zip(runs, ups, strict=True)))
    out["adam_runs"] = plain(", ".join(f"{x.eta:g}" for x in runs))
    out["adam_pre_all_lo"] = plain(min(float(np.median(x.preconditioned[x.plateau()]) /
                                             x.threshold) for x in runs), 3)
    out["adam_pre_all_hi"] = plain(max(float(np.median(x.preconditioned[x.plateau()]) /
                                             x.threshold) for x in runs), 3)
    return out

