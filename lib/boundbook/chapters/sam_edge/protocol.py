"""Protocol of the chapter sam_edge: settings per mode, the measurement contract, the
measurement dictionary each claim reads, the chapter's tables and the numbers the closing
prose quotes."""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from boundbook.chapters.sam_edge.claims import (
    CHAPTER,
    constants_key,
    normalised_ratios,
    plateau_ratios,
    sam_edge,
)
from boundbook.core.display import claim_findings, plain
from boundbook.core.stats import bootstrap_interval

if TYPE_CHECKING:
    from boundbook.chapters.sam_edge.experiment import EdgeMeasurement, MLPResult, TrainingResult

READS: dict[str, tuple[str, ...]] = {
    "sam-normalised-edge": ("intervals", "runs"),
    "sam-quadratic-edge": ("cases", "rounds", "steps"),
    "sam-self-stabilisation-large-radius": ("fraction", "intervals", "model", "runs"),
    "sam-self-stabilisation-large-radius-mlp": ("fraction", "intervals", "model", "runs"),
    "sam-self-stabilisation": ("fraction", "intervals", "model", "runs"),
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
    """Dimension of the rotated quadratic (eigenvalues evenly spaced in [1/4, 1])."""
    quad_pairs: tuple[tuple[float, float], ...]
    """(eta, rho) pairs of unnormalised SAM whose critical curvature is bracketed."""
    quad_steps: int
    """SAM steps per run of the curvature sweeps on the quadratic."""
    quad_grid: int
    """Curvatures per bracketing sweep (one vmapped run each)."""
    quad_rounds: int
    """Bracketing sweeps per edge, each one inside the previous bracket."""
    control_factor: float
    """Control curvature as a multiple of the predicted SAM edge (SAM and GD run)."""
    # the second-order regression model
    model_dim: int
    """Parameters d of each second-order regression model."""
    model_outputs: int
    """Outputs m of each second-order regression model."""
    q_scale: float
    """Scale of the quadratic term Q of the regression models (baked into Q)."""
    z_scale: float
    """Standard deviation of the initial outputs z0 of the regression models."""
    model_seeds: tuple[int, ...]
    """Seeds of the regression models, one model each."""
    flow_eta: float
    """Step size of the small-step GD (gradient-flow proxy) that sets each eta = 2/S_flow."""
    flow_steps: int
    """Steps of the small-step GD that measures the sharpness S_flow."""
    train_steps: int
    """Full-batch steps of GD, SAM and normalised SAM on each regression model."""
    every: int
    """Steps between sharpness records (dense Hessian) of the regression-model runs."""
    fractions: tuple[float, ...]
    """SAM radii, as the fraction of 2/eta their edge sits at (larger first)."""
    normalised_rho_over_eta: float
    """Radius of normalised SAM, as a multiple rho/eta of the step size."""
    # the digits MLP (the second model)
    mlp_seeds: tuple[int, ...]
    """Seeds of the digits MLPs (split and initialisation), one problem each."""
    mlp_n_train: int
    """Digits training examples of each MLP problem."""
    mlp_width: int
    """Width of both hidden layers of the tanh MLP 64 -> width -> width -> 10."""
    mlp_eta: float
    """Step size of GD and SAM on the digits MLPs."""
    mlp_fractions: tuple[float, ...]
    """SAM radii on the MLP, as the fraction of 2/eta their edge sits at."""
    mlp_steps: int
    """Full-batch steps per MLP run."""
    mlp_every: int
    """Steps between sharpness measurements (Lanczos) of the MLP runs."""
    lanczos_tol: float
    """Lanczos stopping tolerance: estimated relative error of the top eigenvalue."""
    lanczos_max_iter: int
    """Most Hessian-vector products (Lanczos iterations) per MLP sharpness value."""


def settings(mode: str, seed: int) -> SamSettings:
    """Quick: 4 regression models, 1000 steps; 4 digits MLPs (n = 200, width 32, GD and SAM
    at the larger radius), 1500 steps (CPU, about a minute). Full: 8 models, 4000 steps; 8
    MLPs (n = 500, width 48, GD and both radii), 4000 steps."""
    quick = mode == "quick"
    n_models = 4 if quick else 8
    return SamSettings(
        mode=mode, seed=seed, quad_dim=10,
        quad_pairs=((0.1, 0.05), (0.05, 0.01), (0.2, 0.01)),
        quad_steps=200, quad_grid=256, quad_rounds=3, control_factor=1.02,
        model_dim=50, model_outputs=50, q_scale=10.0, z_scale=1.5,
        model_seeds=tuple(seed + i for i in range(n_models)),
        flow_eta=0.5, flow_steps=2000, train_steps=1000 if quick else 4000, every=10,
        fractions=(0.8, 0.65), normalised_rho_over_eta=0.06,
        mlp_seeds=tuple(seed + i for i in range(n_models)),
        mlp_n_train=200 if quick else 500, mlp_width=32 if quick else 48, mlp_eta=0.1,
        mlp_fractions=(0.65,) if quick else (0.8, 0.65),
        mlp_steps=1500 if quick else 4000, mlp_every=25, lanczos_tol=1e-3,
        lanczos_max_iter=60)


def _finite(x: float) -> float | None:
    """A finite float, or None (a diverged run has no plateau; records never hold NaN)."""
    return float(x) if np.isfinite(x) else None


def _plateau_row(seed: Any, eta: Any, rho: float, x: np.ndarray, done: bool, diverged_at: int,
                 gd: np.ndarray) -> dict[str, Any]:
    """One model's plateau row: the method's median / min / max sharpness ``x`` over the
    plateau window (None unless the run finished, ``done``) and GD's median ``gd``."""
    return {"seed": int(seed), "eta": eta, "rho": rho,
            "plateau_median": _finite(np.median(x)) if done else None,
            "plateau_min": _finite(np.min(x)) if done else None,
            "plateau_max": _finite(np.max(x)) if done else None,
            "diverged_at": diverged_at, "gd_plateau_median": _finite(np.median(gd))}


def plateau_table(res: TrainingResult, name: str) -> list[dict[str, Any]]:
    """One row per model: the method's median / min / max sharpness over the second half of
    training (None if the run diverged), its radius and step size, and GD's median on the
    same model."""
    r, g = res.index(name), res.index("GD")
    sl = res.plateau()
    return [_plateau_row(seed, float(res.etas[s]), float(res.rhos[s, r]),
                         res.sharpness[sl, s, r], bool(np.isfinite(res.sharpness[sl, s, r]).all()),
                         int(res.diverged_at[s, r]), res.sharpness[sl, s, g])
            for s, seed in enumerate(res.seeds)]


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


def mlp_plateau_table(res: MLPResult, name: str) -> list[dict[str, Any]]:
    """:func:`plateau_table` for the digits MLP: per seed, the method's median / min / max
    Lanczos sharpness over the second half of training and GD's median from the same
    initialisation."""
    r, g = res.index(name), res.index("GD")
    sl = res.plateau()
    return [_plateau_row(seed, res.eta, float(res.rhos[r]), res.sharpness[sl, s, r],
                         bool(np.isfinite(res.sharpness[sl, s, r]).all())
                         and res.diverged_at[s, r] < 0,
                         int(res.diverged_at[s, r]), res.sharpness[sl, s, g])
            for s, seed in enumerate(res.seeds)]


def _mean_interval(ratios: Sequence[float]) -> list[float] | None:
    """The 95% percentile bootstrap interval of the mean over draws (draws resampled;
    :func:`boundbook.core.stats.bootstrap_interval`, fixed generator); None if a run
    diverged."""
    if not all(math.isfinite(x) for x in ratios):
        return None
    lo, hi = bootstrap_interval([range(len(ratios))],
                                lambda idx: statistics.fmean(ratios[i] for i in idx))
    return [lo, hi]


def _constant_sets(claim_id: str) -> list[Mapping[str, Any]]:
    """The claim's constants and each of its mutations' (the sets the ledger decides at)."""
    claim = CHAPTER.claim(claim_id)
    return [claim.constants, *(mu.apply(claim.constants) for mu in claim.mutations)]


def plateau_intervals(claim_id: str, runs: list[dict[str, Any]],
                      ratios: Callable[[list[dict[str, Any]], Mapping[str, Any], bool],
                                       list[float]]) -> dict[str, dict[str, Any]]:
    """For the check (``ratios(runs, k, True)``) and the control (``..., False``): the 95%
    bootstrap interval of the mean ratio for every constant set the ledger decides the claim
    at, keyed by :func:`~boundbook.chapters.sam_edge.claims.constants_key`. Computed once
    here so that checks, controls and mutations only read it."""
    return {which: {constants_key(k): _mean_interval(ratios(runs, k, flag))
                    for k in _constant_sets(claim_id)}
            for which, flag in (("check", True), ("control", False))}


def _unnormalised(runs: list[dict[str, Any]], k: Mapping[str, Any], sam: bool
                  ) -> list[float]:
    return plateau_ratios(runs, "plateau_median" if sam else "gd_plateau_median", k)


def _plateau_claim(cid: str, runs: list[dict[str, Any]], fraction: float, model: str
                   ) -> dict[str, Any]:
    return {"runs": runs, "fraction": fraction, "model": model,
            "intervals": plateau_intervals(cid, runs, _unnormalised)}


def measurements(edges: Sequence[EdgeMeasurement], res: TrainingResult, mlp: MLPResult,
                 cfg: SamSettings) -> dict[str, dict[str, Any]]:
    """The measurement dictionary of every claim, keyed by claim id."""
    big, small = [f"SAM f={f:g}" for f in cfg.fractions]
    nsam = normalised_table(res)
    sorm_model = (f"second-order regression model, d = m = {cfg.model_dim}, "
                  f"{len(res.seeds)} draws")
    mlp_model = (f"digits MLP 64-{mlp.width}-{mlp.width}-10, n = {mlp.n_train}, "
                 f"{len(mlp.seeds)} seeds")
    return {
        "sam-quadratic-edge": {"cases": [e.to_dict() for e in edges],
                               "steps": cfg.quad_steps, "rounds": cfg.quad_rounds},
        "sam-self-stabilisation": _plateau_claim(
            "sam-self-stabilisation", plateau_table(res, big), cfg.fractions[0], sorm_model),
        "sam-self-stabilisation-large-radius": _plateau_claim(
            "sam-self-stabilisation-large-radius", plateau_table(res, small),
            cfg.fractions[1], sorm_model),
        "sam-self-stabilisation-large-radius-mlp": _plateau_claim(
            "sam-self-stabilisation-large-radius-mlp", mlp_plateau_table(mlp, small),
            cfg.fractions[1], mlp_model),
        "sam-normalised-edge": {"runs": nsam, "intervals": plateau_intervals(
            "sam-normalised-edge", nsam,
            lambda runs, k, flag: normalised_ratios(runs, k, use_norm=flag))},
    }


def mlp_rows(res: MLPResult) -> list[tuple[Any, ...]]:
    """The notebook's table for the digits MLP: per seed and SAM radius, the median, min and
    max plateau sharpness over the SAM edge, and GD's median over 2/eta."""
    rows = []
    for m in res.methods:
        if m.fraction is None:
            continue
        for r in mlp_plateau_table(res, m.name):
            edge = sam_edge(r["eta"], r["rho"])
            rows.append((m.name, r["seed"], r["plateau_median"] / edge,
                         r["plateau_min"] / edge, r["plateau_max"] / edge,
                         r["gd_plateau_median"] * r["eta"] / 2))
    return rows


MLP_HEADER = ("method", "seed", "median / λ_SAM", "min", "max", "GD median / (2/η)")


def findings(evaluations: Sequence[Any], res: TrainingResult, mlp: MLPResult
             ) -> dict[str, Any]:
    """Numbers the closing prose quotes (quote-free text for MyST-NB glue)."""
    out: dict[str, Any] = dict(claim_findings(evaluations))
    for ev in evaluations:
        tag = ev.claim.id.replace("-", "_")
        lo, hi = ev.main.interval if ev.main.interval is not None else (math.nan, math.nan)
        out[f"{tag}_lo"] = plain(lo, 3)
        out[f"{tag}_hi"] = plain(hi, 3)
        if ev.control.interval is not None:
            out[f"{tag}_control_lo"] = plain(ev.control.interval[0], 3)
            out[f"{tag}_control_hi"] = plain(ev.control.interval[1], 3)
    msl = mlp.plateau()
    for m in mlp.methods:
        r = mlp.index(m.name)
        edge = sam_edge(mlp.eta, float(mlp.rhos[r]))
        rat = np.nanmedian(mlp.sharpness[msl, :, r], axis=0) / edge
        tag = "gd" if m.fraction is None else m.name.split("=")[1].replace(".", "")
        out[f"mlp_ratio_lo_{tag}"] = plain(float(np.nanmin(rat)), 3)
        out[f"mlp_ratio_hi_{tag}"] = plain(float(np.nanmax(rat)), 3)
    out["mlp_seeds"] = plain(len(mlp.seeds))
    out["mlp_steps"] = plain(int(mlp.steps[-1]))
    out["mlp_width"] = plain(mlp.width)
    out["mlp_n_train"] = plain(mlp.n_train)
    out["mlp_params"] = plain(mlp.n_params)
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
