"""Figures of the chapter "One natural-gradient step is a Kalman update" (matplotlib Figure API,
no pyplot)."""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure


def plot_identity(ident: Any) -> Figure:
    """Largest and smallest relative difference from the Kalman update over the instances, per
    step size of the natural step, with the Euclidean and (m, Sigma) unit steps."""
    fig = Figure(figsize=(6, 3.4))
    ax = fig.add_subplot()
    x = np.arange(len(ident.steps))
    lo = np.maximum(np.array(ident.natural_min), 1e-17)
    hi = np.maximum(np.array(ident.natural_max), 1e-17)
    ax.vlines(x, lo, hi, color="C0", lw=3, label="natural step (min..max over instances)")
    n = len(x)
    ax.vlines([n, n + 1], [max(ident.euclidean_min, 1e-17), max(ident.mean_cov_min, 1e-17)],
              [ident.euclidean_max, ident.mean_cov_max], color="C3", lw=3,
              label="unit step: Euclidean / (m, Sigma) coordinates")
    ax.axhline(1e-12, color="k", ls="--", lw=0.8, label="tolerance 1e-12")
    ax.set_xticks(list(x) + [n, n + 1])
    ax.set_xticklabels([f"{s:g}" for s in ident.steps] + ["Eucl.", "(m,S)"])
    ax.set_yscale("log")
    ax.set_xlabel("step size")
    ax.set_ylabel("relative difference from Kalman")
    ax.set_title(f"{ident.n} random linear-Gaussian instances")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def plot_contraction(contr: Any) -> Figure:
    """Natural-parameter distance to the posterior (relative to the start) against the
    iteration, both step-size forms, with |1 - beta|^k."""
    fig = Figure(figsize=(6, 3.4))
    ax = fig.add_subplot()
    k = np.arange(1, contr.iterations + 1)
    for i, beta in enumerate(contr.betas):
        c = f"C{i}"
        ax.plot(k, abs(1 - beta) ** k, color=c, lw=1, label=f"|1 - beta|^k, beta = {beta:g}")
        ax.plot(k, contr.ratios["natural"][beta].max(0), "o", ms=3, color=c)
        ax.plot(k, contr.ratios["nano-code"][beta].max(0), "x", ms=4, color=c)
    ax.set_yscale("log")
    ax.set_xlabel("iteration k")
    ax.set_ylabel("distance to posterior / initial")
    ax.set_title("o: natural-parameter form, x: companion-code form (worst instance)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig
