"""Protocol of the chapter "Why target networks stabilise temporal-difference learning":
settings per mode, the measurement contract, the measurement dictionary each claim reads, and
the numbers the closing prose quotes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from boundbook.core.display import claim_findings, plain

READS: dict[str, tuple[str, ...]] = {
    "tn-composite-map": ("errors", "periods", "points", "sympy_matches"),
    "tn-rescue": ("K", "alpha", "exact_stable_after", "k_star_exact", "periods", "rate", "rho",
                  "td_unstable"),
    "tn-step-window": ("inside", "k", "measured_hi", "measured_lo", "outside", "predicted"),
    "tn-classic-no-rescue": ("gamma_above", "gamma_c", "periods", "rate_above",
                             "sympy_coincide"),
}
"""The measurement contract: claim id -> the keys its check and control read."""


@dataclass(frozen=True)
class Settings:
    """What one run computes. ``seed`` picks the instance (the first seeded draw meeting the
    rule of :mod:`.instance`) and the random starts; everything else is fixed here."""

    mode: str
    seed: int
    kmax: int
    """Target-update periods 1..kmax simulated (inner steps per target copy)."""
    K: int
    """Periods 1..K whose stability is decided exactly (sympy)."""
    steps: int
    """Outer steps (target copies) per measured rate, period sweep and step window."""
    pairs: int
    """Trajectory pairs per measured rate, period sweep and step window."""
    composite_periods: tuple[int, ...]
    """Periods at which the simulated Jacobian is checked against the closed form A_k."""
    window_k: int
    """Period k at which the step-size window (both edges) is measured."""
    window_n: int
    """Step sizes per edge sweep of the step-size window."""
    classic_periods: tuple[int, ...]
    """Periods of the one-feature classic example's discount sweep."""
    classic_n: int
    """Discount values gamma on [0.75, 0.95] of the classic example's sweep."""


def settings(mode: str, seed: int) -> Settings:
    """Quick: periods 1..12 simulated (300 outer steps, 8 pairs), 1..100 exact. Full: 1..40
    simulated (1000 steps, 32 pairs), 1..300 exact, finer grids, period 100 on the classic
    example."""
    if mode == "quick":
        return Settings(mode, seed, kmax=12, K=100, steps=300, pairs=8,
                        composite_periods=(1, 2, 3, 5, 10), window_k=5, window_n=48,
                        classic_periods=(1, 2, 5, 20), classic_n=41)
    return Settings(mode, seed, kmax=40, K=300, steps=1000, pairs=32,
                    composite_periods=(1, 2, 3, 5, 10, 20, 40), window_k=5, window_n=128,
                    classic_periods=(1, 2, 5, 20, 100), classic_n=81)


def measurements(*, composite: Any, periods: Any, window: Any, classic: Any,
                 exact: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The measurement dictionary of every claim (plain JSON types). ``exact``:
    :func:`boundbook.chapters.target_networks.derivation.symbolic_flags`."""
    k_star = int(exact["k_star"])
    stable = list(exact["stable"])
    return {
        "tn-composite-map": {"errors": {k: float(v) for k, v in composite.errors.items()},
                             "periods": list(composite.periods), "points": composite.points,
                             "sympy_matches": bool(exact["composite"])},
        "tn-rescue": {"periods": [int(k) for k in periods.periods],
                      "rate": [float(r) for r in periods.rate],
                      "rho": [float(r) for r in periods.rho], "alpha": exact["step"],
                      "k_star_exact": k_star, "K": len(stable),
                      "exact_stable_after": bool(k_star <= len(stable)
                                                 and all(stable[k_star - 1:])),
                      "td_unstable": bool(exact["td_unstable"])},
        "tn-step-window": {"k": int(window.k), "predicted": [float(x) for x in exact["window"]],
                           "measured_lo": float(window.lo), "measured_hi": float(window.hi),
                           "outside": {k: float(v) for k, v in window.outside.items()},
                           "inside": bool(exact["window_inside"])},
        "tn-classic-no-rescue": {"periods": list(classic.periods),
                                 "gamma_c": [float(x) for x in classic.gamma_c],
                                 "rate_above": [float(x) for x in classic.above],
                                 "gamma_above": float(classic.gammas[0]),
                                 "sympy_coincide": bool(exact["classic_coincide"])},
    }


def findings(evaluations: Sequence[Any], periods: Any, window: Any, classic: Any,
             exact: Mapping[str, Any], instance_label: str) -> dict[str, Any]:
    """The numbers the chapter's closing prose quotes (glued)."""
    out: dict[str, Any] = dict(claim_findings(evaluations))
    k_star = int(exact["k_star"])
    out["tn_instance"] = plain(instance_label)
    out["tn_k_star"] = plain(k_star)
    out["tn_alpha"] = plain(exact["step"])
    out["tn_td_rate"] = plain(float(periods.rate[0]), 4)
    out["tn_below_rate"] = plain(float(periods.rate[k_star - 2]), 4)
    out["tn_at_rate"] = plain(float(periods.rate[k_star - 1]), 4)
    out["tn_min_norm"] = plain(float(np.min(periods.norm)), 3)
    out["tn_min_rho"] = plain(float(np.min(periods.rho)), 3)
    out["tn_K"] = plain(len(exact["stable"]))
    lo, hi = exact["window"]
    out["tn_window"] = plain(f"({lo:.4f}, {hi:.4f})")
    out["tn_window_measured"] = plain(f"({window.lo:.4f}, {window.hi:.4f})")
    out["tn_window_k"] = plain(int(window.k))
    out["tn_window_outside"] = plain(", ".join(f"{v:.4f}" for v in window.outside.values()))
    out["tn_classic_gamma"] = plain(", ".join(f"{x:.3f}" for x in classic.gamma_c))
    out["tn_classic_above"] = plain(float(np.min(classic.above)), 4)
    return out
