"""Figures of the chapter "Gradient descent as a contraction" (matplotlib Figure API)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure


def plot_certified_vs_measured(systems: Sequence[Any]) -> Figure:
    """Left: certified factor against the measured per-step worst ratio and median fitted
    rate, over the step grid, per system. Right: how conservative the certificate is,
    (1 - measured rate) / (1 - certified factor)."""
    fig = Figure(figsize=(10, 3.6))
    ax, bx = fig.subplots(1, 2)
    for i, r in enumerate(systems):
        c = f"C{i}"
        ax.plot(r.eta_units, r.certified, "-", color=c, label=f"{r.name}: certified")
        ax.plot(r.eta_units, r.worst.max(axis=1), "o", color=c, mfc="none",
                label="worst one-step ratio")
        ax.plot(r.eta_units, np.median(r.rates, axis=1), "x", color=c, label="median rate")
        ratio = (1 - np.median(r.rates, axis=1)) / (1 - r.certified)
        bx.plot(r.eta_units, ratio, "o-", color=c, label=r.name)
    ax.axvline(1.0, color="k", lw=0.8, ls=":")
    ax.set_xlabel("step eta in units of 2/L")
    ax.set_ylabel("contraction factor")
    ax.legend(fontsize=6)
    bx.axhline(1.0, color="k", lw=0.8)
    bx.set_xlabel("step eta in units of 2/L")
    bx.set_ylabel("(1 - measured) / (1 - certified)")
    bx.legend(fontsize=6)
    fig.tight_layout()
    return fig


def plot_control(systems: Sequence[Any], control_units: float) -> Figure:
    """Largest one-step ratio at control_units x 2/L, per system, against 1."""
    fig = Figure(figsize=(5, 3))
    ax = fig.add_subplot()
    vals = [max(np.max(r.control_worst), np.max(r.control_eq_worst)) for r in systems]
    ax.bar(range(len(vals)), vals, color="C3")
    ax.axhline(1.0, color="k", lw=0.8)
    ax.set_xticks(range(len(vals)), [r.name for r in systems], rotation=20, fontsize=6,
                  ha="right")
    ax.set_ylabel(f"largest ratio at {control_units} x 2/L")
    fig.tight_layout()
    return fig
