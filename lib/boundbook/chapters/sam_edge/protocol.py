"""Protocol of the chapter sam_edge: settings per mode, the measurement contract, the
measurement dictionary each claim reads, the chapter's tables and the numbers the closing
prose quotes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from boundbook.chapters.sam_edge.claims import sam_edge
from boundbook.core.display import claim_findings, plain

if TYPE_CHECKING:
    from boundbook.chapters.sam_edge.experiment import EdgeMeasurement, TrainingResult

READS: dict[str, tuple[str, ...]] = {
    "sam-normalised-edge": ("runs",),
    "sam-quadratic-edge": ("cases", "rounds", "steps",),
    "sam-self-stabilisation-large-radius": ("fraction", "runs",),
    "sam-self-stabilisation": ("fraction", "runs",),
}
"""The measurement contract: claim id -> the keys of its measurement dictionary that its
check and control read (:func:`boundbook.core.ledger.report` refuses any other)."""


@dataclass(frozen=True)
class SamSettings:
    """What one run of the chapter computes (see :func:`settings`)."""

    mode: str
    seed: int
    # the quadratic edge
    quad_dim: int
    quad_pairs: tuple[tuple[float, float], ...]  # (eta, rho)
    quad_steps: int
    quad_grid: int
    quad_rounds: int
    control_factor: float
    # the second-order regression model
    model_dim: int
    model_outputs: int
    q_scale: float
    z_scale: float
    model_seeds: tuple[int, ...]
    flow_eta: float
    flow_steps: int
    train_steps: int
    every: int
    fractions: tuple[float, ...]
    normalised_rho_over_eta: float


def settings(mode: str, seed: int) -> SamSettings:
    """Quick: 4 regression models, 1000 steps (CPU, seconds). Full: 8 models, 4000 steps."""
    quick = mode == "quick"
    n_models = 4 if quick else 8
    return SamSettings(
        mode=mode, seed=seed, quad_dim=10,
        quad_pairs=((0.1, 0.05), (0.05, 0.01), (0.2, 0.01)),
        quad_steps=200, quad_grid=256, quad_rounds=3, control_factor=1.02,
        model_dim=50, model_outputs=50, q_scale=10.0, z_scale=1.5,
        model_seeds=tuple(seed + i for i in range(n_models)),
        flow_eta=0.5, flow_steps=2000, train_steps=1000 if quick else 4000, every=10,
        fractions=(0.8, 0.65), normalised_rho_over_eta=0.06)


def _finite(x: float) -> float | None:
    """A finite float, or None (a diverged run has no plateau; records never hold NaN)."""
    return float(x) if np.isfinite(x) else None


def plateau_table(res: TrainingResult, name: str) -> list[dict[str, Any]]:
    """One row per model: the method's median / min / max sharpness over the second half of
    training (None if the run diverged), its radius and step size, and GD's median on the
    same model."""
    r, g = res.index(name), res.index("GD")
    sl = res.plateau()
    rows = []
    for s, seed in enumerate(res.seeds):
        x = res.sharpness[sl, s, r]
        done = bool(np.isfinite(x).all())
        rows.append({"seed": int(seed), "eta": float(res.etas[s]), "rho": float(res.rhos[s, r]),
                     "plateau_median": _finite(np.median(x)) if done else None,
                     "plateau_min": _finite(np.min(x)) if done else None,
                     "plateau_max": _finite(np.max(x)) if done else None,
                     "diverged_at": int(res.diverged_at[s, r]),
                     "gd_plateau_median": _finite(np.median(res.sharpness[sl, s, g]))})
    return rows


def normalised_table(res: TrainingResult, name: str = "normalised SAM") -> list[dict[str, Any]]:
    """Per model: the plateau's sharpness and gradient norms, step by step (recorded steps),
    so the check can evaluate the gradient-norm-dependent edge itself (empty if the run
    diverged)."""
    r = res.index(name)
    sl = res.plateau()
    out = []
    for s, seed in enumerate(res.seeds):
        sh, gn = res.sharpness[sl, s, r], res.grad_norm[sl, s, r]
        keep = np.isfinite(sh) & np.isfinite(gn)
        out.append({"seed": int(seed), "eta": float(res.etas[s]), "rho": float(res.rhos[s, r]),
                    "sharpness": [float(x) for x in sh[keep]],
                    "grad_norm": [float(x) for x in gn[keep]],
                    "diverged_at": int(res.diverged_at[s, r])})
    return out


def plateau_rows(res: TrainingResult, name: str) -> list[tuple[Any, ...]]:
    """The notebook's table for one unnormalised SAM method: per model, the median, min and
    max plateau sharpness over the SAM edge, and GD's median over GD's edge 2/eta."""
    rows = []
    for r in plateau_table(res, name):
        edge = sam_edge(r["eta"], r["rho"])
        rows.append((r["seed"], r["plateau_median"] / edge, r["plateau_min"] / edge,
                     r["plateau_max"] / edge, r["gd_plateau_median"] * r["eta"] / 2))
    return rows


PLATEAU_HEADER = ("model seed", "median", "min", "max", "GD median / (2/η)")


def measurements(edges: Sequence[EdgeMeasurement], res: TrainingResult,
                 cfg: SamSettings) -> dict[str, dict[str, Any]]:
    """The measurement dictionary of every claim, keyed by claim id."""
    big, small = [f"SAM f={f:g}" for f in cfg.fractions]
    return {
        "sam-quadratic-edge": {"cases": [e.to_dict() for e in edges],
                               "steps": cfg.quad_steps, "rounds": cfg.quad_rounds},
        "sam-self-stabilisation": {"runs": plateau_table(res, big), "fraction": cfg.fractions[0]},
        "sam-self-stabilisation-large-radius": {"runs": plateau_table(res, small),
                                                "fraction": cfg.fractions[1]},
        "sam-normalised-edge": {"runs": normalised_table(res)},
    }


def findings(evaluations: Sequence[Any], res: TrainingResult) -> dict[str, Any]:
    """Numbers the closing prose quotes (quote-free text for MyST-NB glue)."""
    out: dict[str, Any] = dict(claim_findings(evaluations))
    sl = res.plateau()
    g = res.index("GD")
    ratio = res.sharpness[sl, :, g] / (2.0 / res.etas)[None, :]
    out["sam_gd_ratio_lo"] = plain(float(np.nanmin(np.nanmedian(ratio, axis=0))), 3)
    out["sam_gd_ratio_hi"] = plain(float(np.nanmax(np.nanmedian(ratio, axis=0))), 3)
    for name in [m.name for m in res.methods if m.fraction is not None]:
        r = res.index(name)
        rat = np.nanmedian(res.sharpness[sl, :, r], axis=0) / np.array(
            [sam_edge(float(res.etas[s]), float(res.rhos[s, r])) for s in range(len(res.seeds))])
        tag = name.split("=")[1].replace(".", "")
        out[f"sam_ratio_lo_{tag}"] = plain(float(np.nanmin(rat)), 3)
        out[f"sam_ratio_hi_{tag}"] = plain(float(np.nanmax(rat)), 3)
    n = res.index("normalised SAM")
    eff = [float(np.nanmedian(res.edge(s, n)[sl]) * res.etas[s] / 2) for s in range(len(res.seeds))]
    out["nsam_fraction_lo"] = plain(min(eff), 2)
    out["nsam_fraction_hi"] = plain(max(eff), 2)
    out["sam_models"] = plain(len(res.seeds))
    last = res.loss[-1]
    out["sam_gd_final_loss"] = plain(float(np.nanmedian(last[:, g])), 2)
    sams = [r for r, m in enumerate(res.methods) if m.name != "GD"]
    out["sam_final_loss_lo"] = plain(float(np.nanmin(last[:, sams])), 2)
    out["sam_final_loss_hi"] = plain(float(np.nanmax(last[:, sams])), 2)
    return out
