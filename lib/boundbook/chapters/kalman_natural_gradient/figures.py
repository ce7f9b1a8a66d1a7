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


def plot_positive_definite(pd: Any) -> Figure:
    """Per nonlinear instance, the smallest eigenvalue of the precision relative to the
    prior's over the unit steps from the prior (up to the first loss), both forms of the
    expected Hessian, sorted; zero marked."""
    fig = Figure(figsize=(6, 3.4))
    ax = fig.add_subplot()
    for form, c in (("gauss-newton", "C0"), ("exact", "C3")):
        v = np.sort(pd.min_eig[form])
        ax.plot(np.arange(v.size), v, ".", ms=2, color=c,
                label=f"{form}: {pd.lost(form)} of {pd.n} lose positive definiteness")
    ax.axhline(0, color="k", lw=0.8)
    ax.set_yscale("symlog", linthresh=1)
    ax.set_xlabel("instance (sorted)")
    ax.set_ylabel("min eig of prior-scaled precision")
    ax.set_title(f"{pd.iterations} unit NANO steps from the prior, squared-range measurement",
                 fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def plot_local(local: Any) -> Figure:
    """Left: the spectral radius of the exact NANO map's Jacobian at each local minimiser of
    J, per step size (1: local convergence below the line). Right: distance to the minimiser
    along unit steps from starts 10% away, exact form (split by radius) and Gauss-Newton."""
    fig = Figure(figsize=(10, 3.6))
    ax, bx = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    for i, b in enumerate(local.steps):
        r = np.sort(local.radius[b])
        ax.plot(np.arange(r.size), r, ".", ms=3, color=f"C{i}", label=f"step {b:g}")
    ax.axhline(1, color="k", lw=0.8)
    ax.set_xlabel("local minimiser (sorted)")
    ax.set_ylabel("spectral radius of the NANO map")
    ax.legend(fontsize=7)
    k = np.arange(local.iterations + 1)
    unit = local.radius[1.0]
    d = np.minimum(local.distance["exact"], 1e6)
    for sel, c, lab in ((unit < 1, "C0", "exact, radius < 1"), (unit >= 1, "C3",
                                                                 "exact, radius >= 1")):
        for j, row in enumerate(d[sel][:30]):
            bx.semilogy(k, np.maximum(row, 1e-16), color=c, lw=0.5, alpha=0.6,
                        label=lab if j == 0 else None)
    for j, row in enumerate(local.distance["gauss-newton"][:30]):
        bx.semilogy(k, np.maximum(row, 1e-16), color="C2", lw=0.5, alpha=0.6,
                    label="Gauss-Newton" if j == 0 else None)
    bx.set_xlabel("unit step k")
    bx.set_ylabel("distance to q* / initial")
    bx.set_title("first 30 minimisers of each group", fontsize=9)
    bx.legend(fontsize=7)
    fig.tight_layout()
    return fig
