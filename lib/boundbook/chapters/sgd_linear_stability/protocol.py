"""Protocol of the chapter sgd_linear_stability: settings per mode, the measurement contract,
the measurement dictionary each claim reads, and the numbers the closing prose quotes.

Light on purpose (standard library and :mod:`boundbook.core` only): the experiment's result
types are imported for type checking only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from boundbook.core.claims import Evaluation
from boundbook.core.display import claim_findings, plain

if TYPE_CHECKING:
    from boundbook.chapters.sgd_linear_stability.monte_carlo import MonteCarlo
    from boundbook.chapters.sgd_linear_stability.operators import ThresholdTable

__all__ = ["READS", "SGDSettings", "findings", "measurements", "settings"]

READS: dict[str, tuple[str, ...]] = {
    "sgd-bernoulli-limits": ("fixed_size_coherent", "rows", "sympy_operator",
        "sympy_orthogonal_linear"),
    "sgd-exact-threshold": ("non_decreasing_in_B", "rows",),
    "sgd-monte-carlo": ("configs",),
    "sgd-trace-bound": ("rows", "sympy_edge_is_2B_over_trH", "sympy_orthogonal_identity",),
}
"""The measurement contract: claim id -> the keys of its measurement dictionary that its
check and control read (:func:`boundbook.core.ledger.report` refuses any other)."""


# --------------------------------------------------------------------------- settings
@dataclass(frozen=True)
class SGDSettings:
    """What one run of the chapter computes (see :func:`settings`).

    ``mc_configs``: (instance, batch size) of the Monte-Carlo runs the verdict uses (batch
    size one, the setting of Wu & Su's statement); ``mc_runs`` runs per step size, drawn from
    ``mc_seeds`` independent generators (the unit of the 95% interval);
    ``mc_illustrations``: (instance, batch, sampling, steps) of runs shown but not used for a
    verdict (see the chapter)."""

    mode: str
    seed: int
    n: int
    """Training examples n of each interpolating regression instance (n < d)."""
    d: int
    """Parameters d of each regression instance."""
    batch_sizes: tuple[int, ...]
    """Batch sizes B of the exact thresholds (plus the full batch B = n in some comparisons)."""
    bisect_iters: int
    """Bisection iterations of each exact threshold on [0, 2/lambda_max]."""
    mc_runs: int
    """Monte-Carlo SGD runs per step size (a multiple of mc_seeds)."""
    mc_seeds: int
    """Independent generators the Monte-Carlo runs come from (the unit of the 95% interval)."""
    mc_steps: int
    """SGD steps per Monte-Carlo run of the verdict."""
    mc_factors: tuple[float, ...]
    """Step sizes of the Monte-Carlo runs, as multiples of the bisected threshold."""
    mc_configs: tuple[tuple[str, int], ...]
    """Monte-Carlo runs the verdict uses: (instance, batch size), with replacement."""
    mc_illustrations: tuple[tuple[str, int, str, int], ...]
    """Runs shown, not judged: (instance, batch size, sampling, steps)."""


def settings(mode: str, seed: int) -> SGDSettings:
    """Quick: n = 16 examples in d = 32 parameters (operators on 16 x 16 symmetric matrices),
    2048 runs per step size from 32 seeds. Full: n = 28, d = 56, more batch sizes, step sizes
    and runs (16384 per step size, 32 seeds)."""
    if mode == "quick":
        return SGDSettings(mode, seed, n=16, d=32, batch_sizes=(1, 2, 4, 8), bisect_iters=40,
                           mc_runs=2048, mc_seeds=32, mc_steps=320,
                           mc_factors=(0.95, 1.05),
                           mc_configs=(("orthogonal", 1), ("gaussian", 1)),
                           mc_illustrations=(("gaussian", 4, "with", 120),))
    return SGDSettings(mode, seed, n=28, d=56, batch_sizes=(1, 2, 3, 4, 6, 8, 12, 16),
                       bisect_iters=44, mc_runs=16384, mc_seeds=32, mc_steps=560,
                       mc_factors=(0.9, 0.95, 1.05, 1.1),
                       mc_configs=(("orthogonal", 1), ("gaussian", 1), ("spread", 1)),
                       mc_illustrations=(("gaussian", 4, "with", 160),
                                         ("coherent", 1, "bernoulli", 160)))



# --------------------------------------------------------------------------- ledger glue
def _monotone(rows: Sequence[Mapping[str, Any]]) -> bool:
    etas = [r["eta_bisect"] for r in sorted(rows, key=lambda r: r["B"])]
    return all(b >= a * (1 - 1e-9) for a, b in zip(etas, etas[1:], strict=False))


def measurements(*, table: ThresholdTable, monte_carlo: Sequence[MonteCarlo],
                 symbolic: Mapping[str, bool]) -> dict[str, dict[str, Any]]:
    """The measurement dictionary of every claim, keyed by claim id (what
    :func:`boundbook.core.ledger.report` decides the verdicts from). ``symbolic``:
    :func:`boundbook.chapters.sgd_linear_stability.derivation.symbolic_flags`."""
    trace_rows = [{"instance": r["instance"], "B": r["B"], "n": r["n"], "eta": r["eta_bisect"],
                   "trace_h": r["trace_h"]}
                  for r in table.select(sampling="with")]
    exact_rows = []
    for r in table.select(sampling="without"):
        alt = table.get(instance=r["instance"], sampling="with", B=r["B"])
        exact_rows.append({
            "instance": r["instance"], "B": r["B"], "n": r["n"], "eta_bisect": r["eta_bisect"],
            "lam_cd": {"without": 2 / r["eta_closed"], "with": 2 / alt["eta_closed"]},
            "rho_below": r["rho_below"], "rho_above": r["rho_above"], "eq16": r["eq16"]})
    mono = {name: _monotone(table.select(instance=name, sampling="without"))
            for name in sorted({r["instance"] for r in exact_rows})}
    configs = [{"instance": mc.instance, "B": mc.batch, "eta_star": mc.eta_star,
                "trace_b1": 2 / table.get(instance=mc.instance, sampling="with",
                                          B=mc.batch)["trace_h"],
                "gd": table.get(instance=mc.instance, sampling="with", B=mc.batch)["gd"],
                "steps": mc.steps[-1], "runs_per_step_size": mc.runs, "seeds": mc.seeds,
                "runs": [mc.final(f) for f in range(len(mc.factors))]} for mc in monte_carlo]
    bern = [{"instance": r["instance"], "B": r["B"], "n": r["n"], "eta": r["eta_bisect"],
             "lam_max": r["lam_max"], "sq_norm": r["trace_h"]}
            for r in table.select(sampling="bernoulli")]
    fixed = [{"B": r["B"], "eta": r["eta_bisect"], "lam_max": r["lam_max"]}
             for r in table.select(instance="coherent", sampling="with")]
    return {
        "sgd-trace-bound": {"rows": trace_rows,
                            "sympy_edge_is_2B_over_trH": symbolic["trace_edge_is_2B_over_trH"],
                            "sympy_orthogonal_identity": symbolic["orthogonal_identity"]},
        "sgd-exact-threshold": {"rows": exact_rows, "non_decreasing_in_B": mono},
        "sgd-monte-carlo": {"configs": configs},
        "sgd-bernoulli-limits": {"rows": bern, "fixed_size_coherent": fixed,
                                 "sympy_operator": symbolic["bernoulli_operator"],
                                 "sympy_orthogonal_linear":
                                     symbolic["orthogonal_bernoulli_linear"]},
    }


def findings(evaluations: Sequence[Evaluation], table: ThresholdTable,
             monte_carlo: Sequence[MonteCarlo],
             illustrations: Sequence[MonteCarlo]) -> dict[str, Any]:
    """Numbers the chapter's closing prose quotes (quote-free text for MyST-NB ``glue``)."""
    out: dict[str, Any] = dict(claim_findings(evaluations))
    for ev in evaluations:
        out[f"{ev.claim.id.replace('-', '_')}_control"] = plain(ev.control.measured, 3)

    def ratio(name: str, b: int) -> float:
        r = table.get(instance=name, sampling="with", B=b)
        return r["eta_bisect"] * r["trace_h"] / (2 * b)

    bmax = max(r["B"] for r in table.select(instance="gaussian", sampling="with")
               if r["B"] < r["n"])
    trace = next(ev for ev in evaluations if ev.claim.id == "sgd-trace-bound")
    out["sgd_trace_bound_slack"] = plain(f"{100 * trace.main.slack:.1f}%")
    # the abstract's batch-size-one form read literally at the largest batch below n
    out["sgd_trace_literal_bmax"] = plain(max(r["eta_bisect"] * r["trace_h"] / 2 for r in
                                              table.select(sampling="with", B=bmax)), 3)
    for name in ("gaussian", "spread", "aligned", "orthogonal"):
        out[f"sgd_{name}_ratio_b1"] = plain(ratio(name, 1), 3)
        out[f"sgd_{name}_ratio_bmax"] = plain(ratio(name, bmax), 3)
    out["sgd_bmax"] = plain(bmax)
    g1 = table.get(instance="gaussian", sampling="with", B=1)
    out["sgd_gd_over_sgd"] = plain(g1["gd"] / g1["eta_bisect"], 3)
    cb = table.get(instance="coherent", sampling="bernoulli", B=1)
    out["sgd_coherent_bernoulli_b1"] = plain(cb["eta_bisect"] / cb["gd"], 3)
    out["sgd_n"] = plain(g1["n"])
    for mc in monte_carlo:
        top = mc.final(len(mc.factors) - 1)
        out[f"sgd_mc_{mc.instance}_exact"] = plain(top["exact"], 3)
        out[f"sgd_mc_{mc.instance}_mean"] = plain(top["mean"], 3)
        out[f"sgd_mc_{mc.instance}_median"] = plain(top["median"], 2)
        out[f"sgd_mc_{mc.instance}_factor"] = plain(top["factor"])
    out["sgd_mc_runs"] = plain(monte_carlo[0].runs)
    out["sgd_mc_seeds"] = plain(monte_carlo[0].seeds)
    for k, mc in enumerate(illustrations):
        top = mc.final(len(mc.factors) - 1)
        out[f"sgd_illus{k}_b"] = plain(mc.batch)
        out[f"sgd_illus{k}_steps"] = plain(mc.steps[-1])
        out[f"sgd_illus{k}_exact"] = plain(top["exact"], 2)
        out[f"sgd_illus{k}_mean"] = plain(top["mean"], 2)
        out[f"sgd_illus{k}_median"] = plain(top["median"], 2)
        out[f"sgd_illus{k}_shrunk"] = plain(f"{100 * top['shrunk']:.0f}%")
        out[f"sgd_illus{k}_factor"] = plain(top["factor"])
    return out
