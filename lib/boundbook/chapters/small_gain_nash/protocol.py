"""Protocol of the chapter "Small-Gain Nash": settings per mode, the measurement contract,
the measurement dictionary each claim reads, and the numbers the closing prose quotes.

Light on purpose (standard library, numpy and :mod:`boundbook.core` only): the experiment's
result types are imported for type checking only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from boundbook.chapters.small_gain_nash.claims import sgn_margin
from boundbook.core.claims import Evaluation
from boundbook.core.display import claim_findings, plain

if TYPE_CHECKING:
    from boundbook.chapters.small_gain_nash.experiment import (
        BandResult,
        CertificateResult,
        EulerResult,
        StepResult,
    )

__all__ = ["READS", "Settings", "findings", "measurements", "settings"]

_GAMES = ("L12", "L21", "equality", "mu1", "mu2")
READS: dict[str, tuple[str, ...]] = {
    "sgn-monotone": tuple(sorted(_GAMES + ("alpha_true", "euclid", "flow_log_norm", "game",
                                           "out_alpha_true", "out_game", "ratio",
                                           "sympy_matches", "times"))),
    "sgn-band": tuple(sorted(_GAMES + ("measured", "past_max_alpha", "scan_hi", "scan_lo",
                                       "scan_size", "sympy_matches"))),
    "sgn-euler-rate": tuple(sorted(_GAMES + ("beta", "factor", "game", "h", "mult",
                                             "pair_rate_max", "pair_worst_step",
                                             "past_interval", "past_median", "ratio",
                                             "sympy_matches"))),
    "sgn-euler-step": ("above", "above_interval", "above_median", "alpha_star", "beta",
                       "closed", "example", "labels", "measured", "sympy_matches"),
}
"""The measurement contract: claim id -> the keys its check and control read."""

EXAMPLE = "scalar λ=1"
"""The label of the paper's Section 5.1 game (a = 10, b = 0.05, mu = 1)."""


@dataclass(frozen=True)
class Settings:
    """What one run computes (fixed before the run; see :func:`settings`)."""

    mode: str
    seed: int
    lams: tuple[float, ...]
    """Coupling scales lambda of the game suite (scalar, clean LQ and random games each)."""
    d: int
    """Block dimension of each player in the clean and random games (game dimension 2d)."""
    n_random: int
    """Random games per coupling scale."""
    n_weights: int
    """Weight ratios r = w2/w1 per game, log-spaced strictly inside the certified band."""
    times: tuple[float, ...]
    """Times t at which the flow's worst-case weighted log-contraction is measured."""
    outside: float
    """Factor placing two ratios just outside the band: r_- / outside and r_+ * outside."""
    excess: float
    """Small-gain product L12 L21 / (mu1 mu2) of the past-bound games (just above 1)."""
    scan: tuple[float, float, int]
    """Ratio scan of the band edges: (lowest r, highest r, points), log-spaced."""
    rounds: int
    """Refinement rounds (16 points each) per band edge after the scan."""
    mults: tuple[float, ...]
    """Euler steps as multiples c of the certified step h_SGN (balanced weights)."""
    past_mults: tuple[float, ...]
    """Euler steps of the past-bound games, as multiples of the example's h_SGN."""
    pairs: int
    """Random trajectory pairs per (game, step) of the Euler and step-bound runs."""
    steps: int
    """Euler steps per pair of the certified-step runs."""
    past_steps: int
    """Euler steps per pair of the past-bound control runs."""
    sweep_n: int
    """Step sizes per sweep (coarse, then fine) of the largest contracting step."""
    sweep_steps: int
    """Euler steps per pair of the step-bound sweeps and the runs just above."""
    step_lams: tuple[float, ...]
    """Coupling scales whose games get the largest-contracting-step sweep."""
    above: float
    """Step of the runs just above the bound, as a multiple of the closed-form step."""


def settings(mode: str, seed: int) -> Settings:
    """Quick: coupling scales 0.5, 1, 1.3 (the code's lambda grid spans 0-2.5; 1 is its
    timescale-band value), per scale the scalar example, the clean LQ game and two random
    games with blocks of dimension 4; Euler at the code's multipliers 0.1-4 x h_SGN. Full:
    the paper's block dimension 32 (d = 64), six random games per scale, more pairs and
    steps."""
    quick = mode == "quick"
    return Settings(
        mode, seed, lams=(0.5, 1.0, 1.3), d=4 if quick else 32,
        n_random=2 if quick else 6, n_weights=5 if quick else 9,
        times=tuple(float(t) for t in np.linspace(0.0, 6.0, 13)), outside=1.05, excess=1.05,
        scan=(1e-3, 1e7, 201 if quick else 401), rounds=12,
        mults=(0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 4.0), past_mults=(0.1, 0.5, 1.0),
        pairs=8 if quick else 32, steps=200 if quick else 800, past_steps=1000,
        sweep_steps=300 if quick else 800,
        sweep_n=24 if quick else 64, step_lams=(1.0,) if quick else (0.5, 1.0, 1.3),
        above=1.05)


# ----------------------------------------------------------------------------- ledger glue

def _games(games: Sequence[Any]) -> dict[str, list]:
    return {"mu1": [g.mu1 for g in games], "mu2": [g.mu2 for g in games],
            "L12": [g.L12 for g in games], "L21": [g.L21 for g in games],
            "equality": [bool(g.equality) for g in games]}


def measurements(*, cert: CertificateResult, band: BandResult, past_band: BandResult,
                 euler: EulerResult, past_euler: EulerResult, steps: StepResult,
                 sympy_matches: bool) -> dict[str, dict[str, Any]]:
    """The measurement dictionary of every claim, keyed by claim id (plain JSON types)."""
    games = _games(cert.games)
    ok = bool(sympy_matches)
    return {
        "sgn-monotone": {**games, "game": cert.game.tolist(), "ratio": cert.ratio.tolist(),
                         "alpha_true": cert.alpha_true.tolist(),
                         "flow_log_norm": cert.flow_log_norm.tolist(),
                         "times": cert.times.tolist(), "euclid": cert.euclid.tolist(),
                         "out_game": cert.out_game.tolist(),
                         "out_alpha_true": cert.out_alpha_true.tolist(), "sympy_matches": ok},
        "sgn-band": {**games, "measured": band.measured.tolist(),
                     "past_max_alpha": past_band.max_alpha.tolist(),
                     "scan_lo": float(band.scan_ratio[0]), "scan_hi": float(band.scan_ratio[-1]),
                     "scan_size": int(band.scan_ratio.size), "sympy_matches": ok},
        "sgn-euler-rate": {**games, "ratio": [g.L12 / g.L21 for g in cert.games],
                           "game": euler.game.tolist(), "mult": euler.mult.tolist(),
                           "h": euler.h.tolist(), "beta": euler.beta.tolist(),
                           "factor": euler.factor.tolist(),
                           "pair_rate_max": euler.pair_rate_max.tolist(),
                           "pair_worst_step": euler.pair_worst_step.tolist(),
                           "past_median": past_euler.pair_median.tolist(),
                           "past_interval": past_euler.pair_interval.tolist(),
                           "sympy_matches": ok},
        "sgn-euler-step": {"labels": steps.labels, "alpha_star": steps.alpha_star.tolist(),
                           "beta": steps.beta.tolist(), "measured": steps.measured.tolist(),
                           "closed": steps.closed.tolist(), "example": EXAMPLE,
                           "above": steps.above, "above_median": steps.above_median.tolist(),
                           "above_interval": steps.above_interval.tolist(),
                           "sympy_matches": ok},
    }


def findings(evaluations: Sequence[Evaluation], cert: CertificateResult,
             euler: EulerResult, steps: StepResult) -> dict[str, Any]:
    """Numbers the closing prose quotes (glued)."""
    out: dict[str, Any] = dict(claim_findings(evaluations))
    eq = np.array([g.equality for g in cert.games])
    rand = ~eq[cert.game]
    labels = [g.label for g in cert.games]
    out["sgn_n_games"] = plain(len(cert.games))
    out["sgn_euclid_max"] = plain(float(cert.euclid.max()), 3)
    out["sgn_n_instances"] = plain(int(cert.game.size))
    stills = int(np.sum(cert.out_alpha_true > 0))
    out["sgn_out_still"] = plain(f"{stills} of {cert.out_alpha_true.size}")
    if rand.any():
        astar = np.array([sgn_margin(cert.games[g].mu1, cert.games[g].mu2, cert.games[g].L12,
                                     cert.games[g].L21, 1.0, r)
                          for g, r in zip(cert.game, cert.ratio, strict=True)])
        q = cert.alpha_true[rand] / astar[rand]
        out["sgn_margin_ratio_range"] = plain(f"{q.min():.2f}–{q.max():.2f}")
    ex = labels.index(EXAMPLE)
    si = steps.labels.index(EXAMPLE)
    out["sgn_example_hsgn"] = plain(float(steps.h_sgn[si]), 4)
    out["sgn_example_htrue"] = plain(float(steps.measured[si]), 4)
    out["sgn_example_ratio"] = plain(float(steps.measured[si] / steps.h_sgn[si]), 3)
    ratios = steps.measured / steps.h_sgn
    out["sgn_step_ratio_range"] = plain(f"{ratios.min():.2f}–{ratios.max():.0f}")
    rows = euler.game == ex
    for c in (1.5, 2.0, 4.0):
        i = int(np.flatnonzero(rows & np.isclose(euler.mult, c))[0])
        out[f"sgn_example_factor_{int(10 * c)}"] = plain(float(euler.factor[i]), 4)
    return out
