"""Figures of the chapter "Exploding and vanishing gradients in RNNs" (matplotlib Figure API)."""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure


def plot_bound(result: Any) -> Figure:
    """Per-step log growth (1/T) log ||dx_T/dx_0|| against gamma lambda_1, at the longest
    horizon: the bound log(gamma lambda_1) (line), random and aligned nets (points), and the
    same nets against the printed bound log(gamma rho) (right)."""
    T = max(result.horizons)
    fig = Figure(figsize=(10, 3.6))
    ax, bx = fig.subplots(1, 2)
    grid = np.array(result.grid)
    ax.plot(grid, np.log(grid), "k-", label="bound log(gamma lambda_1)")
    for j, (fam, act, mk) in enumerate([("random", "tanh", "o"), ("random", "sigmoid", "s"),
                                        ("aligned", "tanh", "x"), ("aligned", "sigmoid", "+")]):
        pts = [(i.s, i.log_prod[T] / T) for i in result.instances
               if i.family == fam and i.act == act]
        s, g = np.array(pts).T
        ax.plot(s, g, mk, color=f"C{j}", mfc="none", ms=4, label=f"{fam}, {act}")
        if fam == "random":
            pr = [(i.gamma * i.rho, i.log_prod[T] / T) for i in result.instances
                  if i.family == fam and i.act == act]
            r, g2 = np.array(pr).T
            bx.plot(r, g2 - np.log(r), mk, color=f"C{j}", mfc="none", ms=4,
                    label=f"{fam}, {act}")
    ce = [i for i in result.instances if i.family == "counterexample"][0]
    bx.axhline(0.0, color="k", lw=0.8)
    bx.annotate(f"counterexample: rho = 0, growth {np.exp(ce.log_prod[T] / T):.2f}/step",
                (0.02, 0.92), xycoords="axes fraction", fontsize=7)
    ax.axvline(1.0, color="k", ls=":", lw=0.8)
    ax.set_xscale("log")
    ax.set_xlabel("gamma * largest singular value")
    ax.set_ylabel(f"(1/T) log ||dx_T/dx_0||, T = {T}")
    ax.legend(fontsize=6)
    bx.set_xscale("log")
    bx.set_xlabel("gamma * spectral radius (the printed lambda_1)")
    bx.set_ylabel("measured minus printed bound, per step")
    bx.legend(fontsize=6)
    fig.tight_layout()
    return fig


def plot_explosions(result: Any, fractions: dict[str, np.ndarray]) -> Figure:
    """Fraction of nets whose product exceeds 1 at the longest horizon, per grid value."""
    fig = Figure(figsize=(5, 3.2))
    ax = fig.add_subplot()
    for j, (label, f) in enumerate(fractions.items()):
        ax.plot(result.grid, f, "o-", color=f"C{j}", label=label)
    ax.axvline(1.0, color="k", ls=":", lw=0.8)
    ax.set_xscale("log")
    ax.set_xlabel("gamma * largest singular value")
    ax.set_ylabel("fraction exploding at T = 200")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig
