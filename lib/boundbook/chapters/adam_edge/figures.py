"""Figures of the Adam edge-of-stability chapter (object-oriented matplotlib, no pyplot)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.figure import Figure

if TYPE_CHECKING:
    from boundbook.chapters.adam_edge.experiment import AdamRun, FrozenSweep

__all__ = ["plot_adam_run", "plot_frozen_sweeps"]


def plot_frozen_sweeps(sweeps: Sequence[FrozenSweep]) -> Figure:
    """Loss growth vs step size / predicted critical step, one line per beta1."""
    fig = Figure(figsize=(6.4, 3.6), layout="constrained")
    ax = fig.add_subplot()
    finite = [s.growth[np.isfinite(s.growth)] for s in sweeps]
    cap = 3.0 + max(float(np.max(f)) for f in finite if f.size)
    colours = ["tab:blue", "tab:orange", "tab:red", "tab:green"]
    for i, (s, col) in enumerate(zip(sweeps, colours, strict=False)):
        ok = np.isfinite(s.growth)
        ax.plot(s.ratios[ok], s.growth[ok], "o-", ms=3, color=col,
                label=f"$\\beta_1$ = {s.beta:g}")
        if (~ok).any():
            ax.plot(s.ratios[~ok], np.full((~ok).sum(), cap + 4 * i), "x", color=col)
    ax.axvline(1.0, color="0.3", ls="--", lw=1,
               label=r"predicted: $\lambda_{\max}(P^{-1}H) = \frac{2+2\beta_1}{(1-\beta_1)\eta}$")
    ax.axhline(0.0, color="0.6", lw=0.8)
    ax.set_xlabel(r"step size / predicted critical step")
    ax.set_ylabel(r"$\log_{10}$(final loss / initial loss)  (x: blew up)")
    ax.set_title("frozen-preconditioner Adam on a quadratic")
    ax.legend(fontsize=8, loc="lower left")
    return fig


def plot_adam_run(run: AdamRun, band: float = 0.15) -> Figure:
    """Preconditioned and raw sharpness (log scale) with Adam's and GD's thresholds; loss."""
    fig = Figure(figsize=(7.0, 5.2), layout="constrained")
    ax, ax2 = fig.subplots(2, 1, sharex=True, height_ratios=[2.2, 1])
    ax.plot(run.steps, run.preconditioned, color="tab:red",
            label=r"preconditioned $\lambda_{\max}(P^{-1}H)$")
    ax.axhline(run.threshold, color="tab:red", ls="--", lw=1,
               label=f"$38/\\eta$ = {run.threshold:.4g}")
    ax.axhspan((1 - band) * run.threshold, (1 + band) * run.threshold, color="tab:red",
               alpha=0.08, label=f"$\\pm${band:.0%}")
    ax.plot(run.steps, run.raw, color="tab:blue", label=r"raw $\lambda_{\max}(H)$")
    ax.axhline(run.gd_threshold, color="tab:blue", ls=":", lw=1,
               label=f"GD's $2/\\eta$ = {run.gd_threshold:.4g}")
    ax.set_yscale("log")
    ax.set_ylabel("sharpness")
    ax.set_title(f"full-batch Adam, $\\eta$ = {run.eta:g}, digits MLP (seed {run.seed})")
    ax.legend(fontsize=7, loc="center right")
    ax2.plot(run.steps, run.loss, color="0.2")
    ax2.set_yscale("log")
    ax2.set_xlabel("step")
    ax2.set_ylabel("training loss")
    return fig
