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

READS: dict[str, tuple[str, ...]] = {
    "kng-kalman-step": ("euclidean_max", "mean_cov_max", "n", "natural_max", "steps",
                        "sympy_matches"),
    "kng-step-contraction": ("betas", "iterations", "n", "ratios_nano_code", "ratios_natural",
                             "sympy_matches"),
}
"""The measurement contract: claim id -> the keys its check and control read."""


@dataclass(frozen=True)
class Settings:
    """What one run computes (fixed before the run)."""

    mode: str
    seed: int
    instances: int
    max_dim: int
    steps: tuple[float, ...]
    contraction_instances: int
    contraction_betas: tuple[float, ...]
    iterations: int


def settings(mode: str, seed: int) -> Settings:
    """Quick: 200 random instances (d <= 8) for the identity, steps 0.5, 0.9, 1, 1.1, 2;
    20 instances x 12 iterations x beta in {0.25, 0.5, 1.5} for the contraction. Full: 2000
    instances (d <= 12) and 100."""
    quick = mode == "quick"
    return Settings(mode=mode, seed=seed, instances=200 if quick else 2000,
                    max_dim=8 if quick else 12, steps=(0.5, 0.9, 1.0, 1.1, 2.0),
                    contraction_instances=20 if quick else 100,
                    contraction_betas=(0.25, 0.5, 1.5), iterations=12)


def measurements(ident: IdentityResult, contr: ContractionResult,
                 sympy_matches: bool) -> dict[str, dict[str, Any]]:
    """The measurement dictionary of every claim, keyed by claim id."""
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
    }


def findings(evaluations: Sequence[Any], ident: IdentityResult,
             contr: ContractionResult) -> dict[str, Any]:
    """The numbers the chapter's closing prose quotes (glued)."""
    out = dict(claim_findings(evaluations))
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
