"""Figures of the chapter "GD decreases the sharpness of the gradient-flow solution"
(matplotlib object API, no pyplot)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

__all__ = ["plot_breakdown", "plot_edge", "plot_gfs_paths"]


def plot_gfs_paths(runs: Sequence[Any], edge: float, residual0: float = 0.01) -> Figure:
    """GFS sharpness along GD (main grid, one initial residual), one panel per depth, with the
    2/eta line; steps on a log axis (step + 1). Diverged runs end with a cross."""
    fig = Figure(figsize=(10, 3.8), layout="constrained")
    axes = fig.subplots(1, len(runs), sharey=True)
    for ax, rs in zip(np.atleast_1d(axes), runs, strict=True):
        main = rs.select("main")
        pick = np.flatnonzero(np.isclose(main.residual0, residual0))
        colours = [f"C{i % 10}" for i in range(len(pick))]
        for c, j in zip(colours, pick, strict=True):
            end = main.steps if main.diverged_at[j] < 0 else main.diverged_at[j] - 1
            y = main.sharp[: end + 1, j]
            ax.plot(np.arange(end + 1) + 1, y, color=c, lw=1.3,
                    label=f"$S_0$ = {main.sharpness0[j]:.0f}")
            if main.diverged_at[j] >= 0:
                ax.plot([end + 1], [min(y[-1], 23.5)], "x", color=c, ms=8)
        ax.axhline(edge, color="k", ls="--", lw=1, label=r"$2/\eta$")
        ax.set_ylim(0, 24)
        ax.set_xscale("log")
        ax.set_xlabel("GD step + 1")
        ax.set_title(f"depth {rs.depth}, $r_0$ = {residual0:g}")
    np.atleast_1d(axes)[0].set_ylabel("GFS sharpness")
    np.atleast_1d(axes)[-1].legend(fontsize=7, ncol=2, loc="upper right")
    return fig


def plot_edge(runs: Sequence[Any], outcomes: Sequence[dict[str, Any]], edge: float,
              band: float) -> Figure:
    """Left: GFS sharpness of the runs started just above 2/eta (the claim's band shaded).
    Middle: their limit against the start, with the mirror line 2(2/eta) - S_0. Right: the
    limit of every converged run of the main grid."""
    fig = Figure(figsize=(12, 3.8), layout="constrained")
    ax, bx, cx = fig.subplots(1, 3)
    colour = {2: "C0", 4: "C1"}
    for rs in runs:
        e = rs.select("edge")
        for j in range(e.sharp.shape[1]):
            ax.plot(e.sharp[:, j], lw=1, color=colour.get(rs.depth, "C2"),
                    label=f"depth {rs.depth}" if j == 0 else None)
        bx.plot(e.sharpness0, e.sharp[-1], "o", ms=5, color=colour.get(rs.depth, "C2"),
                label=f"depth {rs.depth}")
    for a in (ax, bx):
        a.axhline(edge, color="k", ls="--", lw=1, label=r"$2/\eta$")
        a.axhspan((1 - band) * edge, edge, color="0.88", label=f"band ({band:.0%} below)")
    ax.set_xlabel("GD step")
    ax.set_ylabel("GFS sharpness")
    ax.set_title(r"started at most 1% above $2/\eta$, $|r_0|$ = 0.01", fontsize=10)
    ax.legend(fontsize=7)
    xs = np.linspace(edge, edge * 1.012, 20)
    bx.plot(xs, 2 * edge - xs, ":", color="0.3", label=r"mirror $2\cdot 2/\eta - S_0$")
    bx.set_xlabel("initial GFS sharpness $S_0$")
    bx.set_ylabel("sharpness of the limit")
    bx.set_title("edge runs: limit vs start", fontsize=10)
    bx.legend(fontsize=7)
    markers = "s^vDo"
    for i, depth in enumerate(sorted({o["depth"] for o in outcomes})):
        pts = [(o["sharpness0"], o["final_sharpness"]) for o in outcomes
               if o["depth"] == depth and not o["diverged"]]
        if pts:
            x, y = zip(*pts, strict=True)
            cx.plot(x, y, markers[i % 5], ms=5, mfc="none", color=colour.get(depth, "C2"),
                    label=f"depth {depth}")
    cx.axhline(edge, color="k", ls="--", lw=1)
    cx.axvline(edge, color="k", ls="--", lw=1)
    cx.set_xlabel("initial GFS sharpness $S_0$")
    cx.set_ylabel("sharpness of the limit")
    cx.set_title("main grid: converged runs", fontsize=10)
    cx.legend(fontsize=7)
    return fig


def plot_breakdown(table: Any, sqrt2: float = math.sqrt(2.0)) -> Figure:
    """Relative change of the GFS sharpness in one step against eta|r| (depth 2, with the
    sqrt(2) line) and against the smallest balance factor (every depth, with the -1 line)."""
    fig = Figure(figsize=(10, 3.6), layout="constrained")
    ax, bx = fig.subplots(1, 2)
    inc = table.rel_increase
    ok = np.isfinite(inc) & (table.eta_r > 1e-6)
    d2 = ok & (table.depth == 2)
    ax.scatter(table.eta_r[d2], inc[d2], s=4, color="C0")
    ax.axvline(sqrt2, color="k", ls="--", lw=1, label=r"$\eta|r| = \sqrt{2}$")
    ax.axhline(0, color="0.5", lw=0.8)
    ax.set_xscale("log")
    ax.set_xlabel(r"$\eta |r_t|$ (depth 2)")
    ax.set_ylabel("relative change of GFS sharpness")
    ax.set_yscale("symlog", linthresh=1e-9)
    bx.set_yscale("symlog", linthresh=1e-9)
    ax.set_title("depth 2: increase iff $\\eta|r| > \\sqrt{2}$")
    ax.legend(fontsize=8)
    for i, depth in enumerate(sorted(set(table.depth.tolist()))):
        colour = {2: "C0", 4: "C1"}.get(depth, f"C{i + 2}")
        sel = ok & (table.depth == depth) & (table.factor_min < 0.999)
        bx.scatter(table.factor_min[sel], inc[sel], s=4, color=colour, label=f"depth {depth}")
    bx.axvline(-1, color="k", ls="--", lw=1, label="factor = -1")
    bx.axhline(0, color="0.5", lw=0.8)
    bx.set_xscale("symlog", linthresh=1)
    bx.set_xlabel(r"smallest balance factor $1 - \eta^2 r^2 \pi^2/(w_i^2 w_k^2)$")
    bx.set_title("every depth")
    bx.legend(fontsize=8)
    return fig
