"""Figures of the chapter "Why target networks stabilise temporal-difference learning"
(matplotlib Figure API, no pyplot)."""

from __future__ import annotations

from typing import Any

from matplotlib.figure import Figure


def plot_periods(res: Any, k_star: int) -> Figure:
    """Exact :math:`\\rho(A_k)` and :math:`\\|A_k\\|_2` against the measured rate, per period."""
    fig = Figure(figsize=(6, 3.4))
    ax = fig.add_subplot()
    ax.plot(res.periods, res.rho, "-", color="C0", label=r"exact $\rho(A_k)$")
    ax.plot(res.periods, res.rate, "o", color="C1", mfc="none", label="measured rate")
    ax.plot(res.periods, res.norm, "--", color="C2", label=r"$\|A_k\|_2$ (a norm test)")
    ax.axhline(1.0, color="k", lw=0.8)
    ax.axvline(k_star - 0.5, color="C3", ls=":", label=f"$k^\\star = {k_star}$")
    ax.set_xlabel("target-update period $k$ (inner steps per copy)")
    ax.set_ylabel("rate per outer step")
    ax.set_title(f"step $\\alpha = {res.alpha:.4g}$; $k = 1$ is TD")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_window(res: Any, predicted: tuple[float, float]) -> Figure:
    """Measured rate and exact :math:`\\rho(A_k)` over the step size, with the exact edges."""
    fig = Figure(figsize=(6, 3.4))
    ax = fig.add_subplot()
    ax.plot(res.grid, res.grid_rho, "-", color="C0", label=r"exact $\rho(A_k)$")
    ax.plot(res.grid, res.grid_rate, "o", color="C1", mfc="none", label="measured rate")
    for x in predicted:
        ax.axvline(x, color="C3", ls=":")
    ax.plot([res.lo, res.hi], [1, 1], "v", color="C3", label="measured edges")
    ax.axhline(1.0, color="k", lw=0.8)
    ax.set_ylim(0.5, 1.5)
    ax.set_xlabel(r"inner step size $\alpha$")
    ax.set_ylabel("rate per outer step")
    ax.set_title(f"period $k = {res.k}$: exact edges dotted")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
