"""Protocol of the chapter "Exploding and vanishing gradients in RNNs": settings per mode, the
measurement contract, the measurement dictionary each claim reads, and the numbers the closing
prose quotes. Standard library, numpy and :mod:`boundbook.core` only."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from boundbook.chapters.rnn_gradients.claims import CONTROL_S
from boundbook.core.display import claim_findings, plain

if TYPE_CHECKING:
    from boundbook.chapters.rnn_gradients.experiment import RNNResult

READS: dict[str, tuple[str, ...]] = {
    "rnn-jacobian-bound": ("horizons", "instances", "sympy_matches"),
    "rnn-necessary-not-sufficient": ("control_nets", "control_not_exploding", "horizons",
                                     "instances", "sympy_matches"),
}
"""The measurement contract: claim id -> the keys its check and control read."""

GRID = (0.5, 0.9, 0.99, CONTROL_S, 1.5, 2.0, 3.0, 4.0)
"""gamma * lambda_1 for every net, fixed before the run (the control value 1.05 included)."""


@dataclass(frozen=True)
class Settings:
    """Quick: 32 units, 8 random and 4 aligned nets per (activation, grid value), horizons
    50/100/200. Full: 64 units, 32 random and 8 aligned nets."""

    mode: str
    seed: int
    n: int
    """Hidden units n of every random and aligned net (W is n x n)."""
    nets: int
    """Random nets per (activation, grid value)."""
    aligned: int
    """Aligned nets, built to attain the bound, per (activation, grid value)."""
    grid: tuple[float, ...]
    """Grid of s = gamma * lambda_1 (activation's max slope times W's top singular value)."""
    horizons: tuple[int, ...]
    """Horizons T at which the norm of the Jacobian product dx_T/dx_0 is measured."""


def settings(mode: str, seed: int) -> Settings:
    if mode == "quick":
        return Settings(mode, seed, 32, 8, 4, GRID, (50, 100, 200))
    return Settings(mode, seed, 64, 32, 8, GRID, (50, 100, 200))


def _inst(i: Any, horizons: Sequence[int]) -> dict[str, Any]:
    return {"family": i.family, "act": i.act, "s": float(i.s), "sigma1": float(i.sigma1),
            "rho": float(i.rho), "log_prod": [float(i.log_prod[T]) for T in horizons]}


def measurements(result: RNNResult, sympy_matches: bool) -> dict[str, dict[str, Any]]:
    """The measurement dictionary of every claim, keyed by claim id."""
    hz = list(result.horizons)
    inst = [_inst(i, hz) for i in result.instances]
    T = max(hz)
    ctrl = [i for i in result.instances if i.family == "aligned" and i.s == CONTROL_S]
    n_not = sum(i.log_prod[T] <= 0 for i in ctrl)
    return {"rnn-jacobian-bound": {"horizons": hz, "instances": inst,
                                   "sympy_matches": bool(sympy_matches)},
            "rnn-necessary-not-sufficient": {"horizons": hz, "instances": inst,
                                             "control_nets": len(ctrl),
                                             "control_not_exploding": int(n_not),
                                             "sympy_matches": bool(sympy_matches)}}


def findings(evaluations: Sequence[Any], result: RNNResult) -> dict[str, Any]:
    """The numbers the chapter's closing prose quotes (glued)."""
    from boundbook.chapters.rnn_gradients.claims import _counts

    out: dict[str, Any] = dict(claim_findings(evaluations))
    ev = {e.claim.id: e for e in evaluations}
    b = ev["rnn-jacobian-bound"]
    out["rnn_bound_slack"] = plain(f"{b.main.slack:.3g}")
    out["rnn_bound_equality"] = plain(f"{b.main.equality:.2e}")
    out["rnn_printed_note"] = plain(b.printed.note if b.printed else "n/a")
    T = max(result.horizons)
    ce = [i for i in result.instances if i.family == "counterexample"][0]
    out["rnn_ce_growth"] = plain(float(np.exp(ce.log_prod[T] / T)), 4)
    out["rnn_ce_log10"] = plain(float(ce.log_prod[T] / np.log(10)), 4)
    m = measurements(result, True)["rnn-necessary-not-sufficient"]
    below_ex, below, above_not, above = _counts(m, {"c": 1.0})
    out["rnn_below"] = plain(f"{below_ex} of {below}")
    out["rnn_above_not"] = plain(f"{above_not} of {above}")
    lo, hi = ev["rnn-necessary-not-sufficient"].main.interval
    out["rnn_above_ci"] = plain(f"[{lo:.3f}, {hi:.3f}]")
    rnd = [i for i in result.instances if i.family == "random"]
    first = {a: min([i.s for i in rnd if i.act == a and i.log_prod[T] > 0], default=None)
             for a in ("tanh", "sigmoid")}
    out["rnn_first_explode_tanh"] = plain("none" if first["tanh"] is None else first["tanh"])
    out["rnn_first_explode_sigmoid"] = plain("none" if first["sigmoid"] is None
                                             else first["sigmoid"])
    ratio = [i.rho / i.sigma1 for i in rnd]
    out["rnn_rho_over_sigma"] = plain(f"{np.median(ratio):.2f}")
    return out
