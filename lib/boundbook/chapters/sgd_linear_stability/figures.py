"""Figures of the SGD linear-stability chapter (matplotlib object API, no pyplot).

- :func:`plot_thresholds`: the exact mean-square threshold against the batch size, next to the
  trace bound :math:`2B/\\mathrm{Tr}H` and GD's :math:`2/\\lambda_{\\max}`;
- :func:`plot_sampling`: one instance under the three batch-sampling models, up to B = n;
- :func:`plot_bernoulli`: Bernoulli thresholds as a fraction of GD's, against the derived limits;
- :func:`plot_mean_square`: Monte-Carlo mean square of real SGD runs below and above the
  threshold, with its bootstrap band, the median run and the operator's exact prediction.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.figure import Figure

if TYPE_CHECKING:
    from boundbook.chapters.sgd_linear_stability.monte_carlo import MonteCarlo
    from boundbook.chapters.sgd_linear_stability.operators import ThresholdTable

__all__ = ["plot_bernoulli", "plot_mean_square", "plot_sampling", "plot_thresholds"]

_COLORS = {"orthogonal": "tab:red", "gaussian": "tab:blue", "spread": "tab:green",
           "aligned": "tab:purple", "coherent": "tab:brown"}
_SAMPLING = {"with": "with replacement", "without": "uniform B-subsets (M&M)",
             "bernoulli": "Bernoulli B/n (Dexter et al.)"}


def plot_thresholds(table: ThresholdTable, labels: dict[str, str]) -> Figure:
    """Exact thresholds (with replacement) vs B, each instance with its GD line, and the trace
    bound 2B/Tr H (one line: every instance has Tr H = 1)."""
    fig = Figure(figsize=(7.2, 4.2))
    ax = fig.add_subplot()
    rows = table.select(sampling="with")
    bmax = max(r["B"] for r in rows if r["B"] < r["n"])
    bs = np.array(sorted({r["B"] for r in rows if r["B"] <= bmax}), dtype=float)
    tr = rows[0]["trace_h"]
    ax.plot(bs, 2 * bs / tr, "k--", lw=1.5, label=r"trace bound $2B/\mathrm{Tr}H$")
    for name in labels:
        sel = sorted((r for r in rows if r["instance"] == name and r["B"] <= bmax),
                     key=lambda r: r["B"])
        if not sel:
            continue
        c = _COLORS.get(name)
        ax.plot([r["B"] for r in sel], [r["eta_bisect"] for r in sel], "o-", color=c,
                label=labels[name])
        ax.axhline(sel[0]["gd"], color=c, ls=":", lw=1)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("batch size B (drawn with replacement)")
    ax.set_ylabel(r"mean-square threshold $\eta^*$")
    ax.set_title(r"exact $\eta^*$ (bisection) vs $2B/\mathrm{Tr}H$; "
                 r"dotted: GD's $2/\lambda_{\max}$")
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    return fig


def plot_sampling(table: ThresholdTable, instance: str) -> Figure:
    """One instance's threshold under each sampling model, up to the full batch B = n."""
    fig = Figure(figsize=(6.4, 3.8))
    ax = fig.add_subplot()
    gd = None
    for sampling, marker in (("with", "o"), ("without", "s"), ("bernoulli", "^")):
        sel = sorted(table.select(instance=instance, sampling=sampling), key=lambda r: r["B"])
        if not sel:
            continue
        gd = sel[0]["gd"]
        ax.plot([r["B"] for r in sel], [r["eta_bisect"] for r in sel], marker + "-",
                label=_SAMPLING[sampling])
    if gd is not None:
        ax.axhline(gd, color="k", ls=":", label=r"GD $2/\lambda_{\max}$")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("batch size B")
    ax.set_ylabel(r"$\eta^*$")
    ax.set_title(f"{instance} instance: the sampling model matters")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_bernoulli(table: ThresholdTable, predictions: dict[str, Sequence[float]],
                   labels: dict[str, str]) -> Figure:
    """Bernoulli thresholds divided by GD's for the instances of ``labels``, with the derived
    limits where there is one (``predictions``: closed-form thresholds per instance, in the
    order of increasing B)."""
    fig = Figure(figsize=(6.4, 3.8))
    ax = fig.add_subplot()
    for name, label in labels.items():
        sel = sorted(table.select(instance=name, sampling="bernoulli"), key=lambda r: r["B"])
        b = [r["B"] for r in sel]
        c = _COLORS.get(name)
        ax.plot(b, [r["eta_bisect"] / r["gd"] for r in sel], "o", color=c, label=label)
        if name in predictions:
            ax.plot(b, [p / r["gd"] for p, r in zip(predictions[name], sel, strict=True)], "-",
                    color=c, lw=1, alpha=0.7)
    fixed = sorted(table.select(instance="coherent", sampling="with"), key=lambda r: r["B"])
    if fixed:
        ax.plot([r["B"] for r in fixed], [r["eta_bisect"] / r["gd"] for r in fixed], "x",
                color=_COLORS["coherent"], ms=9, label="coherent, fixed-size batches")
    ax.axhline(1.0, color="k", ls=":", lw=1)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("batch size B")
    ax.set_ylabel(r"$\eta^* \,/\, (2/\lambda_{\max})$")
    ax.set_title("Bernoulli batches: bisection (dots) vs derived limits (lines)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_mean_square(runs: Sequence[MonteCarlo], titles: Sequence[str]) -> Figure:
    """Mean-square distance over steps: Monte-Carlo mean with its 95% band, the median run
    (dotted) and the exact operator prediction (dashed), for each step size."""
    fig = Figure(figsize=(4.2 * len(runs), 3.8))
    axes = fig.subplots(1, len(runs), squeeze=False)[0]
    factors = sorted({f for mc in runs for f in mc.factors})
    below = [f for f in factors if f < 1][::-1]
    above = [f for f in factors if f >= 1]
    colors = {**dict(zip(below, ("tab:blue", "tab:cyan"), strict=False)),
              **dict(zip(above, ("tab:red", "tab:orange"), strict=False))}
    for ax, mc, title in zip(axes, runs, titles, strict=True):
        t = np.array(mc.steps)
        for f, factor in enumerate(mc.factors):
            c = colors[factor]
            ax.plot(t, mc.ratio[f], color=c, lw=1.8, label=rf"{factor:g}$\eta^*$ mean")
            ax.fill_between(t, mc.lo[f], mc.hi[f], color=c, alpha=0.2, lw=0)
            ax.plot(t, mc.exact[f], color=c, ls="--", lw=1.2)
            ax.plot(t, mc.median[f], color=c, ls=":", lw=1.2)
        ax.axhline(1.0, color="k", lw=0.8)
        ax.set_yscale("log")
        ax.set_xlabel("SGD step t")
        ax.set_title(title, fontsize=10)
    axes[0].set_ylabel(r"$\|\theta_t - \theta^*\|^2$ (start: 1)")
    axes[0].plot([], [], "k--", lw=1.2, label="exact (operator)")
    axes[0].plot([], [], "k:", lw=1.2, label="median run")
    axes[0].legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    return fig
