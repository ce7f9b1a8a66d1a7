"""Figures of the chapter "Learning-rate schedules under distribution shift" (matplotlib
Figure API, no pyplot)."""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure


def plot_schedules(result: Any) -> Figure:
    """Left: the optimal schedules (one per drift level) and the no-shift 1/t schedule, with
    the simulated best constant steps (dotted). Right: seed-mean dynamic regret against the
    constant step, with the optimal (solid) and 1/t (dashed) schedules' regret."""
    fig = Figure(figsize=(10, 3.6))
    ax, bx = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    t = np.arange(1, result.steps + 1)
    for i, r in enumerate(result.shifts):
        c = f"C{i}"
        ax.loglog(t, r.etas[0], color=c, label=f"optimal, delta={r.delta:g}")
        const = [j for j, nm in enumerate(r.names) if nm.startswith("const")]
        best = const[int(np.argmin(r.regret[const].mean(1)))]
        ax.axhline(r.etas[best, 0], color=c, ls=":", lw=1)
        bx.loglog(r.etas[const, 0], r.regret[const].mean(1), "o-", color=c, ms=3,
                  label=f"constant, delta={r.delta:g}")
        bx.axhline(r.regret[0].mean(), color=c, lw=1)
        bx.axhline(r.regret[1].mean(), color=c, lw=1, ls="--")
    ax.loglog(t, result.shifts[0].etas[1], color="k", ls="--", label="1/(t+2) (no shift)")
    ax.set_xlabel("step t")
    ax.set_ylabel("learning rate")
    ax.legend(fontsize=7)
    bx.set_xlabel("constant learning rate")
    bx.set_ylabel("dynamic regret (seed mean)")
    bx.legend(fontsize=7)
    fig.tight_layout()
    return fig


def plot_growth(result: Any) -> Figure:
    """Seed-mean instantaneous regret of the 1/t schedule and the optimal one, per drift level
    (log-log), with the derived asymptote delta^2 t/6 for 1/t."""
    fig = Figure(figsize=(5.5, 3.6))
    ax = fig.add_subplot()
    t = np.arange(1, result.steps + 1)
    for i, r in enumerate(result.shifts):
        c = f"C{i}"
        ax.loglog(t, 0.5 * r.mse_t[1], color=c, lw=1, label=f"1/t, delta={r.delta:g}")
        ax.loglog(t, 0.5 * r.mse_t[0], color=c, lw=1, ls=":")
        ax.loglog(t, r.delta**2 * t / 6, color=c, ls="--", lw=0.8)
    ax.set_xlabel("step t")
    ax.set_ylabel("instantaneous dynamic regret")
    ax.set_title("dotted: optimal; dashed: delta^2 t/6", fontsize=8)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig
