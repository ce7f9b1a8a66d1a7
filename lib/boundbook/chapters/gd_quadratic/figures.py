"""Figures of the chapter "Gradient descent on a quadratic" (object API, no pyplot).

Every function builds a fresh :class:`matplotlib.figure.Figure` and returns it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FormatStrFormatter, LogLocator, NullFormatter

from boundbook.chapters.gd_quadratic.derivation import nesterov_edge
from boundbook.symbolic.quadratic import ema_momentum_edge, gd_edge, heavy_ball_edge

if TYPE_CHECKING:
    from boundbook.chapters.gd_quadratic.experiment import (
        ControlResult,
        CriticalStepResult,
        MomentumResult,
        RateResult,
    )

__all__ = ["plot_edge_losses", "plot_momentum_edges", "plot_rates", "plot_thresholds"]


def plot_thresholds(result: CriticalStepResult, tolerance: float = 0.01) -> Figure:
    """Left: measured divergence threshold against :math:`2/\\lambda_{\\max}` (log-log, the
    diagonal is the bound). Right: its relative offset per quadratic with the bracket as error
    bar, the offset the finite horizon alone predicts, and the tolerance band."""
    fig = Figure(figsize=(11, 4.2), layout="constrained")
    ax, ax2 = fig.subplots(1, 2, width_ratios=[1, 1.3])
    pred, meas = result.predicted, result.measured
    lim = np.array([pred.min() / 1.5, pred.max() * 1.5])
    ax.plot(lim, lim, color="k", lw=1, label=r"$\eta_c = 2/\lambda_{\max}$")
    ax.scatter(pred, meas, s=36, color="tab:blue", zorder=3, label="measured (sweep)")
    ax.set(xscale="log", yscale="log", xlim=lim, ylim=lim,
           xlabel=r"derived critical step $2/\lambda_{\max}$",
           ylabel=r"measured divergence threshold $\eta_c$",
           title=f"{len(pred)} random quadratics")
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        axis.set_major_formatter(FormatStrFormatter("%g"))
        axis.set_minor_formatter(NullFormatter())
    ax.legend(fontsize=8, loc="upper left")
    ax.grid(True, which="both", alpha=0.3)

    y = np.arange(len(pred))
    lo = 100 * (result.brackets.last_stable / pred - 1)
    hi = 100 * (result.brackets.first_diverged / pred - 1)
    mid = 100 * (meas / pred - 1)
    ax2.axvspan(-100 * tolerance, 100 * tolerance, color="tab:green", alpha=0.12,
                label=f"tolerance ±{100 * tolerance:g}%")
    ax2.axvline(0, color="k", lw=1)
    ax2.errorbar(mid, y, xerr=[mid - lo, hi - mid], fmt="o", color="tab:blue", capsize=4,
                 label="measured (bracket)")
    ax2.scatter(100 * result.horizon_offset, y, marker="x", s=50, color="tab:red", zorder=3,
                label=f"finite-horizon offset ({result.steps} steps, blow-up "
                      f"{result.blowup:.0e})")
    ax2.set_yticks(y, result.labels, fontsize=8)
    ax2.set_ylim(-0.6, len(pred) - 0.4)
    ax2.set(xlabel=r"$\eta_c\,\lambda_{\max}/2 - 1$  (%)",
            title="Offset of the measured threshold from the bound")
    ax2.legend(fontsize=8, loc="center left")
    ax2.grid(True, axis="x", alpha=0.3)
    return fig


def plot_edge_losses(control: ControlResult, methods: tuple[str, ...] = ("gd",)) -> Figure:
    """Loss curves at 0.98 and 1.02 times each run's derived critical step (log y), for the
    settings of ``methods``; a diverged run stops where it crossed the blow-up line."""
    rows = control.rows(methods)
    fig = Figure(figsize=(11, 4.0), layout="constrained")
    axes = fig.subplots(1, len(control.factors), sharey=True)
    colors = [f"C{i}" for i in range(len(rows))]
    steps = np.arange(control.losses.shape[0])
    for k, ax in enumerate(np.atleast_1d(axes)):
        for c, i in zip(colors, rows, strict=True):
            loss = control.losses[:, i, k] / control.losses[0, i, k]
            at = control.diverged_at[i, k]
            end = at if at >= 0 else len(steps)
            ax.plot(steps[:end], loss[:end], color=c, lw=1.2, label=control.labels[i])
            if at >= 0:
                ax.plot([steps[end - 1]], [loss[end - 1]], "x", color=c, ms=7)
        ax.set(yscale="log", xlabel="step",
               title=rf"$\eta = {control.factors[k]:g}\times$ derived critical step")
        ax.grid(True, which="both", alpha=0.3)
    ax0 = np.atleast_1d(axes)[0]
    ax0.set_ylabel(r"loss / initial loss")
    ax0.legend(fontsize=8, loc="lower left")
    fig.suptitle("Just below and just above the edge (× marks the step a run diverged: "
                 f"loss above 1e6 × initial; horizon {control.steps} steps)", fontsize=10)
    return fig


def plot_rates(rates: RateResult) -> Figure:
    """Per quadratic: the worst-case factor :math:`\\rho(\\eta) = \\max_i|1-\\eta\\lambda_i|`
    (line), the factor measured over the second half of the run from a Gaussian start
    (dots), and the optimum :math:`(\\eta^*, (\\kappa-1)/(\\kappa+1))` (star)."""
    n = len(rates.labels)
    fig = Figure(figsize=(3.2 * n, 3.6), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, n))
    for i, ax in enumerate(axes):
        x = rates.etas[i] / rates.eta_star[i]
        ax.plot(x, rates.worst_case[i], color="k", lw=1.2,
                label=r"$\max_i|1-\eta\lambda_i|$")
        ax.plot(x, rates.asymptotic[i], "o", ms=3, color="tab:blue",
                label="measured (steps T/2..T)")
        ax.plot([1.0], [rates.rho_star[i]], "*", ms=13, color="tab:red",
                label=r"$(\kappa-1)/(\kappa+1)$ at $\eta^*$")
        gap = 1.0 - rates.rho_star[i]
        low = min(rates.rho_star[i] - 0.6 * gap, np.nanmin(rates.asymptotic[i]) - 0.1 * gap)
        ax.set(xlabel=r"$\eta/\eta^*$", ylim=(low, 1.0 + 0.5 * gap), title=rates.labels[i])
        ax.axhline(1.0, color="0.5", lw=0.8, ls=":")
        ax.grid(True, alpha=0.3)
    axes[0].set_ylabel("per-step contraction factor")
    axes[0].legend(fontsize=7, loc="lower left")
    return fig


def plot_momentum_edges(result: MomentumResult) -> Figure:
    """Measured edges :math:`\\eta_c\\lambda_{\\max}` against :math:`\\beta`, on the derived
    curves: gradient descent 2, heavy ball :math:`2+2\\beta`, Nesterov
    :math:`(2+2\\beta)/(1+2\\beta)`, and (dashed, for contrast) the EMA form
    :math:`(2+2\\beta)/(1-\\beta)` that Adam's first moment has."""
    fig = Figure(figsize=(6.4, 4.2), layout="constrained")
    ax = fig.add_subplot()
    b = np.linspace(0.0, 0.99, 200)
    ax.plot(b, [gd_edge(1.0)] * b.size, color="0.4", lw=1, ls=":", label="GD: 2")
    ax.plot(b, [heavy_ball_edge(1.0, x) for x in b], color="tab:blue",
            label=r"heavy ball: $2+2\beta$")
    ax.plot(b, [nesterov_edge(1.0, x) for x in b], color="tab:orange",
            label=r"Nesterov: $(2+2\beta)/(1+2\beta)$")
    ax.plot(b, [ema_momentum_edge(1.0, x) for x in b], color="tab:green", ls="--", lw=1,
            label=r"EMA momentum: $(2+2\beta)/(1-\beta)$")
    for method, color in (("heavy_ball", "tab:blue"), ("nesterov", "tab:orange")):
        e = result.edges(method)
        ax.plot(e["beta"], e["measured"], "o", ms=8, mfc="none", mew=1.8, color=color)
    ax.plot([], [], "o", ms=8, mfc="none", mew=1.8, color="k", label="measured (sweep)")
    ax.set(xlabel=r"momentum $\beta$", ylabel=r"edge $\eta_c\,\lambda_{\max}$", ylim=(0, 6),
           title=f"Momentum edges on a rotated 2-D quadratic ({result.steps}-step horizon)")
    ax.legend(fontsize=8, loc="upper left")
    ax.grid(True, alpha=0.3)
    return fig
