"""Protocol of the chapter "Neural contractive dynamical systems": settings per mode, the
measurement contract, the measurement dictionary each claim reads (with its 95% intervals,
computed here once), and the numbers the closing prose quotes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from boundbook.core.display import claim_findings, plain
from boundbook.core.stats import clopper_pearson

FACTORS = (1.0, 2.0)
"""Rate multiples of epsilon at which violations are counted (1: the claim; 2: a mutation)."""

RATE_ATOL = 1e-3
"""A trajectory (pair) violates rate c when its worst average rate is below c - RATE_ATOL (1%
of epsilon = 0.1; RK4 at dt = 0.05 moves these rates by < 1e-5)."""

READS: dict[str, tuple[str, ...]] = {
    "ncds-symmetric-part": ("eps", "max_lognorm_jhat", "sympy_symmetric"),
    "ncds-equilibrium": ("eps", "eq_interval", "eq_ratio_max", "eq_violations", "sympy_equilibrium",
                         "trajectories"),
    "ncds-pairwise": ("eps", "max_lognorm_true", "max_separation", "pair_interval",
                      "pair_rate_min", "pair_violations", "pairs"),
    "ncds-true-jacobian": ("jac_gap_max", "sympy_counterexample", "sympy_integrable"),
}
"""The measurement contract: claim id -> the keys its check and control read."""


@dataclass(frozen=True)
class Settings:
    """What one run computes; instance seeds ``seed*100 + (0..instances-1)``, starts from
    ``seed``. Fixed before any run."""

    mode: str
    seed: int
    eps: float
    """Contraction rate epsilon the fields are built with; pair rates are checked against it."""
    instances: int
    """Random networks (instance seeds) per field family."""
    box: float
    """Half-width L of the box [-L, L]^2 that points and pair starts are drawn from."""
    points: int
    """Uniform points per instance where the log norms of the Jacobians are measured."""
    pairs: int
    """Trajectory pairs per instance, integrated by RK4."""
    radius: float
    """Initial separation r of the two starts of a pair."""
    dt: float
    """RK4 time step of the trajectories."""
    steps: int
    """RK4 steps per trajectory (horizon T = steps * dt)."""

    @property
    def seeds(self) -> list[int]:
        return [self.seed * 100 + i for i in range(self.instances)]


def settings(mode: str, seed: int) -> Settings:
    """Quick: 4 random networks per family, 500 points and 100 pairs each (400 pairs), RK4
    dt = 0.05 to T = 4. Full: 16 networks, 2000 points and 250 pairs each, dt = 0.02 to T = 5."""
    if mode == "quick":
        return Settings(mode, seed, eps=0.1, instances=4, box=3.0, points=500, pairs=100,
                        radius=0.05, dt=0.05, steps=80)
    return Settings(mode, seed, eps=0.1, instances=16, box=3.0, points=2000, pairs=250,
                    radius=0.05, dt=0.02, steps=250)


def _counts(rates: np.ndarray, eps: float) -> tuple[dict[str, int], dict[str, list[float]]]:
    counts, intervals = {}, {}
    for f in FACTORS:
        k = int(np.sum(~(rates >= f * eps - RATE_ATOL)))  # nan (overflow) counts as violating
        counts[str(f)] = k
        intervals[str(f)] = list(clopper_pearson(k, int(rates.size)))
    return counts, intervals


def measurements(result: Any, exact: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The measurement dictionary of every claim (plain JSON types). ``exact``:
    :func:`boundbook.chapters.contractive_dynamics.derivation.symbolic_flags`."""
    fams = result.families
    eq = {f: _counts(r.eq_rate, result.eps) for f, r in fams.items()}
    pr = {f: _counts(r.pair_rate, result.eps) for f, r in fams.items()}

    def per(fn: Any) -> dict[str, float]:
        return {f: float(fn(r)) for f, r in fams.items()}

    return {
        "ncds-symmetric-part": {"eps": result.eps,
                                "max_lognorm_jhat": per(lambda r: r.lognorm_jhat.max()),
                                "sympy_symmetric": bool(exact["symmetric_part"])},
        "ncds-equilibrium": {"eps": result.eps, "eq_ratio_max": per(lambda r: r.eq_ratio.max()),
                             "eq_violations": {f: c for f, (c, _) in eq.items()},
                             "eq_interval": {f: i for f, (_, i) in eq.items()},
                             "trajectories": int(fams["ncds"].eq_rate.size),
                             "sympy_equilibrium": bool(exact["equilibrium"])},
        "ncds-pairwise": {"eps": result.eps, "pairs": int(fams["ncds"].pair_rate.size),
                          "pair_violations": {f: c for f, (c, _) in pr.items()},
                          "pair_interval": {f: i for f, (_, i) in pr.items()},
                          "pair_rate_min": per(lambda r: np.nan_to_num(r.pair_rate.min(),
                                                                       nan=-np.inf)),
                          "max_lognorm_true": per(lambda r: r.lognorm_true.max()),
                          "max_separation": per(lambda r: np.nan_to_num(r.pair_sep.max(),
                                                                        nan=np.inf))},
        "ncds-true-jacobian": {"jac_gap_max": per(lambda r: r.jac_gap.max()),
                               "sympy_integrable": bool(exact["integrable"]),
                               "sympy_counterexample": bool(exact["counterexample"])},
    }


def findings(evaluations: Sequence[Any], result: Any, exact: Mapping[str, Any],
             cfg: Settings) -> dict[str, Any]:
    """The numbers the chapter's closing prose quotes (glued)."""
    out: dict[str, Any] = dict(claim_findings(evaluations))
    fams = result.families
    n = fams["ncds"].pair_rate.size
    for f, r in fams.items():
        bad = int(np.sum(~(r.pair_rate >= result.eps - RATE_ATOL)))
        lo, hi = clopper_pearson(bad, int(r.pair_rate.size))
        out[f"cd_{f}_pairs_bad"] = plain(f"{bad} of {r.pair_rate.size}")
        out[f"cd_{f}_pairs_ci"] = plain(f"[{100 * lo:.1f}%, {100 * hi:.1f}%]")
        out[f"cd_{f}_lognorm_true"] = plain(float(r.lognorm_true.max()), 3)
        out[f"cd_{f}_positive_share"] = plain(f"{100 * np.mean(r.lognorm_true > 0):.0f}%")
        out[f"cd_{f}_min_rate"] = plain(float(np.nan_to_num(r.pair_rate.min(), nan=-np.inf)), 3)
        out[f"cd_{f}_sep"] = plain(float(np.nan_to_num(r.pair_sep.max(), nan=np.inf)), 3)
        gap = float(r.jac_gap.max())  # a round-off residual (~1e-13) keeps only its order
        out[f"cd_{f}_gap"] = plain(gap, 1 if gap < 1e-6 else 3)
        out[f"cd_{f}_eq_ratio"] = plain(float(r.eq_ratio.max()), 3)
    out["cd_pairs"] = plain(int(n))
    out["cd_instances"] = plain(cfg.instances)
    out["cd_eps"] = plain(result.eps)
    out["cd_counter_eig"] = plain(exact["counter_eig"])
    out["cd_trajectories"] = plain(int(fams["ncds"].eq_rate.size))
    return out
