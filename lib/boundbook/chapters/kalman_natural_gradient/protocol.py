"""Protocol of the chapter "One natural-gradient step is a Kalman update": settings per mode, the
measurement contract, the measurement dictionary each claim reads, and the numbers the closing
prose quotes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from boundbook.core.display import claim_findings, plain

if TYPE_CHECKING:
    from boundbook.chapters.kalman_natural_gradient.experiment import (
        ContractionResult,
        IdentityResult,
    )
    from boundbook.chapters.kalman_natural_gradient.nonlinear import LocalResult, PDResult

READS: dict[str, tuple[str, ...]] = {
    "kng-kalman-step": ("euclidean_max", "mean_cov_max", "n", "natural_max", "steps",
                        "sympy_matches"),
    "kng-step-contraction": ("betas", "iterations", "n", "ratios_nano_code", "ratios_natural",
                             "sympy_matches"),
    "kng-positive-definite": ("iterations", "lost_exact", "lost_gauss-newton", "min_eig_exact",
                              "min_eig_gauss-newton", "n", "sympy_matches"),
    "kng-local-convergence": ("contracting", "converged", "gn_median", "gn_n", "gn_reach",
                              "iterations", "perturbation", "radius", "steps",
                              "sympy_matches"),
}
"""The measurement contract: claim id -> the keys its check and control read."""


@dataclass(frozen=True)
class Settings:
    """What one run computes (fixed before the run)."""

    mode: str
    seed: int
    instances: int
    """Random linear-Gaussian instances for the Kalman-step identity."""
    max_dim: int
    """Largest state dimension d of a random instance."""
    steps: tuple[float, ...]
    """Step sizes at which the identity is checked (1 is the Kalman step)."""
    contraction_instances: int
    """Random instances for the step-contraction check."""
    contraction_betas: tuple[float, ...]
    """Step sizes beta of the contraction check."""
    iterations: int
    """Iterations per instance and beta in the contraction check."""
    nl_instances: int
    """Nonlinear (squared-range) instances."""
    nl_R: float
    """Measurement noise variance of the nonlinear instances."""
    nl_iterations: int
    """Unit NANO steps from the prior (positive definiteness)."""
    nl_steps: tuple[float, ...]
    """Steps whose map is linearised at the minimisers of J."""
    nl_local_iterations: int
    """Unit steps from the perturbed starts."""
    nl_perturbation: float
    """Relative distance of the starts from the minimiser (0.1 = 10%)."""
    nl_warm: int
    """Gauss-Newton steps before Newton's method on the fixed-point equation."""
    nl_newton: int
    """Newton steps on the exact map's fixed-point equation."""


def settings(mode: str, seed: int) -> Settings:
    """Quick: 200 random instances (d <= 8) for the identity, steps 0.5, 0.9, 1, 1.1, 2;
    20 instances x 12 iterations x beta in {0.25, 0.5, 1.5} for the contraction; 400 nonlinear
    (squared-range) instances with R = 0.1: 30 unit steps from the prior, and at each local
    minimiser of J the NANO map's spectral radius at steps 1, 0.5, 0.1 and 60 unit steps from
    starts 10% away (minimisers: 200 Gauss-Newton steps, then 40 Newton steps on the exact
    map's fixed-point equation). Full: 2000 instances (d <= 12), 100, and 2000 nonlinear."""
    quick = mode == "quick"
    return Settings(mode=mode, seed=seed, instances=200 if quick else 2000,
                    max_dim=8 if quick else 12, steps=(0.5, 0.9, 1.0, 1.1, 2.0),
                    contraction_instances=20 if quick else 100,
                    contraction_betas=(0.25, 0.5, 1.5), iterations=12,
                    nl_instances=400 if quick else 2000, nl_R=0.1, nl_iterations=30,
                    nl_steps=(1.0, 0.5, 0.1), nl_local_iterations=60, nl_perturbation=0.1,
                    nl_warm=200, nl_newton=40)


def measurements(ident: IdentityResult, contr: ContractionResult, sympy_matches: bool,
                 pd: PDResult, local: LocalResult) -> dict[str, dict[str, Any]]:
    """The measurement dictionary of every claim, keyed by claim id."""
    import numpy as np

    unit = local.radius[1.0]
    final = local.distance["exact"][:, -1]
    gn_final = local.distance["gauss-newton"][:, -1]
    return {
        "kng-kalman-step": {
            "n": ident.n, "steps": list(ident.steps), "natural_max": list(ident.natural_max),
            "euclidean_max": ident.euclidean_max, "mean_cov_max": ident.mean_cov_max,
            "sympy_matches": bool(sympy_matches),
        },
        "kng-step-contraction": {
            "n": contr.n, "iterations": contr.iterations, "betas": list(contr.betas),
            "ratios_natural": [contr.ratios["natural"][b].tolist() for b in contr.betas],
            "ratios_nano_code": [contr.ratios["nano-code"][b].tolist() for b in contr.betas],
            "sympy_matches": bool(sympy_matches),
        },
        "kng-positive-definite": {
            "n": pd.n, "iterations": pd.iterations, "sympy_matches": bool(sympy_matches),
            **{f"lost_{f}": pd.lost(f) for f in ("exact", "gauss-newton")},
            **{f"min_eig_{f}": float(pd.min_eig[f].min()) for f in ("exact", "gauss-newton")},
        },
        "kng-local-convergence": {
            "steps": list(local.steps), "radius": [local.radius[b].tolist() for b in local.steps],
            "iterations": local.iterations, "perturbation": local.perturbation,
            "contracting": [int((unit < 1).sum()), int((unit >= 1).sum())],
            "converged": [int(((unit < 1) & (final <= 1e-6)).sum()),
                          int(((unit >= 1) & (final <= 1e-6)).sum())],
            "gn_n": int(gn_final.size), "gn_reach": int((gn_final <= 1e-6).sum()),
            "gn_median": float(np.median(gn_final)), "sympy_matches": bool(sympy_matches),
        },
    }


def findings(evaluations: Sequence[Any], ident: IdentityResult, contr: ContractionResult,
             pd: PDResult, local: LocalResult) -> dict[str, Any]:
    """The numbers the chapter's closing prose quotes (glued)."""
    import numpy as np

    out = dict(claim_findings(evaluations))
    out["kng_nl_n"] = plain(pd.n)
    out["kng_pd_lost_exact"] = plain(pd.lost("exact"))
    out["kng_pd_first_loss"] = plain(int(np.median(pd.first_loss["exact"][
        pd.first_loss["exact"] > 0])) if pd.lost("exact") else 0)
    out["kng_pd_min_gn"] = plain(float(pd.min_eig["gauss-newton"].min()), 3)
    out["kng_pd_min_exact"] = plain(float(pd.min_eig["exact"].min()), 3)
    out["kng_minima"] = plain(local.minima)
    out["kng_saddles"] = plain(local.saddles)
    for b in local.steps:
        r = local.radius[b]
        key = f"{b:g}".replace(".", "")
        out[f"kng_rho_frac_{key}"] = plain(f"{int((r < 1).sum())} of {r.size}")
        out[f"kng_rho_max_{key}"] = plain(float(r.max()), 3)
    out["kng_rho_median_1"] = plain(float(np.median(local.radius[1.0])), 3)
    out["kng_gn_median"] = plain(float(np.median(local.distance["gauss-newton"][:, -1])), 3)
    j = {s: i for i, s in enumerate(ident.steps)}
    out["kng_unit_max"] = plain(ident.natural_max[j[1.0]], 3)
    out["kng_half_min"] = plain(ident.natural_min[j[0.5]], 3)
    out["kng_two_min"] = plain(ident.natural_min[j[2.0]], 3)
    out["kng_euclid_min"] = plain(ident.euclidean_min, 3)
    out["kng_meancov_min"] = plain(ident.mean_cov_min, 3)
    out["kng_n"] = plain(ident.n)
    out["kng_code_cov_error"] = plain(max(contr.final_cov_error["nano-code"].values()), 3)
    out["kng_natural_cov_error"] = plain(max(contr.final_cov_error["natural"].values()), 3)
    return out
