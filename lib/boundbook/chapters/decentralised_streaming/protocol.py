"""Protocol of the chapter "Decentralised gradient descent with streaming data": settings per
mode, the measurement contract, the measurement dictionary each claim reads, and the numbers
the closing prose quotes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from boundbook.core.display import claim_findings, plain

if TYPE_CHECKING:
    from boundbook.chapters.decentralised_streaming.experiment import Result

__all__ = ["READS", "Settings", "findings", "measurements", "settings"]

READS: dict[str, tuple[str, ...]] = {
    "dstream-fixed-point-rate": ("control_labels", "control_slopes", "control_slopes_interval",
                                 "graphs", "slopes", "slopes_interval"),
    "dstream-discounted-floor": ("K", "a", "alpha", "eigvals", "floors", "floors_interval",
                                 "gammas", "graphs", "noise", "sympy_matches"),
    "dstream-heterogeneity-bias": ("avg_bias", "control_slopes", "control_slopes_interval",
                                   "graphs", "max_bias", "slopes", "slopes_interval"),
    "dstream-floor-controlled-by-discount": ("control_labels", "control_slopes",
                                             "control_slopes_interval", "floors",
                                             "floors_interval", "gammas", "graphs", "labels",
                                             "slopes", "slopes_interval"),
    "dstream-bias-floor-both-weightings": ("control_slopes", "control_slopes_interval",
                                           "labels", "levels", "slopes", "slopes_interval"),
    "dstream-bias-bound": ("G", "a", "alpha", "bias", "equality", "graph", "lambda2",
                           "sympy_matches"),
}
"""The measurement contract: claim id -> the keys its check and control read."""


@dataclass(frozen=True)
class Settings:
    """What one run computes (fixed before the run): ``n_agents`` agents on each graph of
    ``graphs``, curvature ``a``, DGD step ``alpha``, ``K`` DGD updates per time step, sample
    noise std ``noise``, agent means drawn once with std ``heterogeneity`` (seed
    ``means_seed``), discounts ``gammas``, ``steps`` time steps, ``n_seeds`` seeds (shared by
    every configuration of a graph), the slope fit window ``[fit_t0, steps]``, the discounted
    floor's burn-in, and for the bias bound: steps ``bound_alphas`` and ``bound_draws`` random
    heterogeneity vectors per step and graph."""

    mode: str
    seed: int
    graphs: tuple[str, ...]
    """Communication graphs run (names, e.g. ring, complete)."""
    n_agents: int
    """Number of agents on each graph."""
    a: float
    """Curvature of each agent's quadratic loss."""
    alpha: float
    """DGD step size."""
    K: int
    """DGD updates per time step."""
    noise: float
    """Std of each agent's sample noise."""
    heterogeneity: float
    """Std of the agent means (drawn once)."""
    means_seed: int
    """Seed of the one draw of the agent means."""
    gammas: tuple[float, ...]
    """Discount factors of the discounted weighting."""
    steps: int
    """Time steps per run."""
    n_seeds: int
    """Seeds per run, shared by every configuration of a graph."""
    fit_t0: int
    """First time step of the slope fit window [fit_t0, steps]."""
    burn_in: int
    """Time steps dropped before measuring the discounted floor."""
    bound_alphas: tuple[float, ...]
    """DGD steps at which the bias bound is checked."""
    bound_draws: int
    """Random heterogeneity vectors per step and graph for the bias bound."""


def settings(mode: str, seed: int) -> Settings:
    """Quick: 8 agents, 2000 time steps, 200 seeds. Full: 5000 time steps, 400 seeds, 1000
    bias-bound draws (about 0.6 GB per batched array of a graph: 5 runs x 400 seeds x 5001
    steps x 8 agents). The same model constants in both."""
    common = dict(graphs=("ring", "complete"), n_agents=8, a=1.0, alpha=0.1, K=2, noise=1.0,
                  heterogeneity=1.0, means_seed=0, gammas=(0.9, 0.95, 0.99), fit_t0=100,
                  bound_alphas=(0.05, 0.1, 0.3))
    if mode == "quick":
        return Settings(mode, seed, steps=2000, n_seeds=200, burn_in=1000, bound_draws=200,
                        **common)
    return Settings(mode, seed, steps=5000, n_seeds=400, burn_in=2000, bound_draws=1000,
                    **common)


def measurements(result: Result, derived: Any) -> dict[str, dict[str, Any]]:
    """The measurement dictionary of every claim (plain JSON types; intervals computed here
    once, by seed bootstrap)."""
    from boundbook.chapters.decentralised_streaming.experiment import (
        fit_times,
        floor,
        slope_with_interval,
        stationary_start,
    )

    times = fit_times(result.fit_t0, result.steps)
    graphs = [g.graph for g in result.graphs]

    def slopes(runs: list[Any], key: str, own: bool = False
               ) -> tuple[list[float], list[list[float]]]:
        """Fits on ``[fit_t0, T]``, or (``own``) on each run's stationary window
        :func:`stationary_start`."""
        fits = [slope_with_interval(getattr(r, key), fit_times(
            stationary_start(result.fit_t0, r.gamma), result.steps) if own else times)
            for r in runs]
        return [s for s, _ in fits], [list(iv) for _, iv in fits]

    e_s, e_iv = slopes([g.uniform for g in result.graphs], "e2")
    ce_s, ce_iv = slopes([d for g in result.graphs for d in g.discounted], "e2")
    b_s, b_iv = slopes([g.uniform for g in result.graphs], "b2")
    cb_s, cb_iv = slopes([g.homogeneous for g in result.graphs], "b2")
    floors = [[floor(d, result.burn_in) for d in g.discounted] for g in result.graphs]
    ok = bool(derived.all_match)
    inst = result.bound
    disc = [d for g in result.graphs for d in g.discounted]  # every discount, as planned
    de_s, de_iv = slopes(disc, "e2", own=True)
    both = [r for g in result.graphs for r in (g.uniform, *g.discounted)]
    bb_s, bb_iv = slopes(both, "b2", own=True)
    bd_s, bd_iv = slopes(both, "b2_decay", own=True)
    label = lambda r: f"{r.graph}, " + ("uniform" if r.gamma is None  # noqa: E731
                                        else f"gamma={r.gamma:g}")
    return {
        "dstream-fixed-point-rate": {
            "graphs": graphs, "slopes": e_s, "slopes_interval": e_iv,
            "control_labels": [f"{g.graph}, gamma={d.gamma:g}" for g in result.graphs
                               for d in g.discounted],
            "control_slopes": ce_s, "control_slopes_interval": ce_iv},
        "dstream-discounted-floor": {
            "graphs": graphs, "gammas": list(result.gammas),
            "eigvals": [list(g.eigvals) for g in result.graphs],
            "alpha": result.alpha, "a": result.a, "K": result.K, "noise": result.noise,
            "floors": [[f for f, _ in row] for row in floors],
            "floors_interval": [[list(iv) for _, iv in row] for row in floors],
            "sympy_matches": ok},
        "dstream-heterogeneity-bias": {
            "graphs": graphs, "slopes": b_s, "slopes_interval": b_iv,
            "control_slopes": cb_s, "control_slopes_interval": cb_iv,
            "avg_bias": [g.uniform.avg_bias for g in result.graphs]
            + [g.homogeneous.avg_bias for g in result.graphs],
            "max_bias": [float(g.uniform.b2.max() ** 0.5) for g in result.graphs]
            + [float(g.homogeneous.b2.max() ** 0.5) for g in result.graphs]},
        "dstream-floor-controlled-by-discount": {
            "graphs": graphs, "gammas": list(result.gammas),
            "labels": [label(d) for d in disc], "slopes": de_s, "slopes_interval": de_iv,
            "control_labels": [label(g.uniform) for g in result.graphs],
            "control_slopes": e_s, "control_slopes_interval": e_iv,
            "floors": [[f for f, _ in row] for row in floors],
            "floors_interval": [[list(iv) for _, iv in row] for row in floors]},
        "dstream-bias-floor-both-weightings": {
            "labels": [label(r) for r in both], "slopes": bb_s, "slopes_interval": bb_iv,
            "control_slopes": bd_s, "control_slopes_interval": bd_iv,
            "levels": [float(r.b2[:, -1].mean() ** 0.5) for r in both]},
        "dstream-bias-bound": {
            "graph": [b.graph for b in inst], "alpha": [b.alpha for b in inst],
            "a": result.a, "bias": [b.bias for b in inst], "G": [b.G for b in inst],
            "lambda2": [b.lambda2 for b in inst], "equality": [b.equality for b in inst],
            "sympy_matches": ok},
    }


def findings(evaluations: Sequence[Any], result: Result,
             measured: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The numbers the chapter's closing prose quotes (glued)."""
    from boundbook.chapters.decentralised_streaming.claims import (
        bias_bound_margins,
        floor_ratios,
        floor_slope,
    )

    out: dict[str, Any] = dict(claim_findings(evaluations))
    r = measured["dstream-fixed-point-rate"]
    out["ds_slopes"] = plain(", ".join(f"{g} {s:.3f}" for g, s in zip(r["graphs"], r["slopes"],
                                                                        strict=True)))
    from boundbook.chapters.decentralised_streaming.experiment import fit_times, loglog_slope

    times = fit_times(result.fit_t0, result.steps)
    out["ds_model_slope"] = plain(", ".join(
        f"{loglog_slope(g.uniform.expected_e2, times):.3f}" for g in result.graphs))
    out["ds_control_slopes"] = plain(", ".join(f"{s:.2f}" for s in r["control_slopes"]))
    f = measured["dstream-discounted-floor"]
    ratios = floor_ratios(f, 1.0, f["K"])
    out["ds_floor_ratios"] = plain(", ".join(f"{x:.3f}" for x, _ in ratios))
    out["ds_floors"] = plain(", ".join(f"{x:.3g}" for row in f["floors"] for x in row))
    out["ds_floor_slope"] = plain(f"{floor_slope(f, 0):.2f}")
    b = measured["dstream-heterogeneity-bias"]
    out["ds_bias_slopes"] = plain(", ".join(f"{s:.3f}" for s in b["slopes"]))
    out["ds_bias_control"] = plain(", ".join(f"{s:.3f}" for s in b["control_slopes"]))
    out["ds_avg_bias"] = plain(f"{max(b['avg_bias']):.1e}")
    margins, eq = bias_bound_margins(measured["dstream-bias-bound"], 1.0, 1.0)
    out["ds_bound_slack"] = plain(f"{100 * min(margins):.1f}%")
    out["ds_bound_equality"] = plain(f"{max(abs(x) for x in eq):.1e}")
    fe = measured["dstream-floor-controlled-by-discount"]
    out["ds_floor_exist_slopes"] = plain(", ".join(
        f"{lab} {x:.3f}" for lab, x in zip(fe["labels"], fe["slopes"], strict=True)))
    bb = measured["dstream-bias-floor-both-weightings"]
    out["ds_bias_both_slopes"] = plain(", ".join(f"{x:.3f}" for x in bb["slopes"]))
    out["ds_bias_decay_slopes"] = plain(", ".join(f"{x:.2f}" for x in bb["control_slopes"]))
    out["ds_bias_levels"] = plain(", ".join(f"{x:.2f}" for x in bb["levels"]))
    out["ds_n_seeds"] = plain(result.n_seeds)
    out["ds_steps"] = plain(result.steps)
    return out
