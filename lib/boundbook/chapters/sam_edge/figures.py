"""Figures of the SAM edge-of-stability chapter (object-oriented matplotlib, no pyplot)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from matplotlib.figure import Figure

if TYPE_CHECKING:
    from boundbook.chapters.sam_edge.experiment import EdgeSweep, MLPResult, TrainingResult

__all__ = ["plot_edge_sweep", "plot_mlp_sharpness", "plot_plateaus", "plot_sharpness"]

_COLOURS = {"GD": "tab:blue", "normalised SAM": "tab:green"}


def _colour(name: str, i: int) -> str:
    return _COLOURS.get(name, ["tab:red", "tab:orange", "tab:purple"][i % 3])


def plot_edge_sweep(sweep: EdgeSweep) -> Figure:
    """Loss growth after the run vs curvature (in units of the SAM edge), SAM and GD."""
    fig = Figure(figsize=(6.4, 3.6), layout="constrained")
    ax = fig.add_subplot()
    cap = 3.0 + np.nanmax(np.where(np.isfinite(sweep.sam_growth), sweep.sam_growth, np.nan))
    for label, y, col in (("SAM", sweep.sam_growth, "tab:red"), ("GD", sweep.gd_growth,
                                                                  "tab:blue")):
        finite = np.isfinite(y)
        ax.plot(sweep.ratios[finite], y[finite], "o-", ms=3, color=col,
                label=f"{label} ($\\rho$ = {sweep.rho:g})" if label == "SAM" else label)
        if (~finite).any():
            ax.plot(sweep.ratios[~finite], np.full((~finite).sum(), cap), "x", color=col,
                    label=f"{label}: blew up")
    ax.axvline(1.0, color="tab:red", ls="--", lw=1, label=r"SAM edge $\lambda_{SAM}$")
    ax.axvline(sweep.gd_edge / sweep.predicted, color="tab:blue", ls=":", lw=1,
               label=r"GD edge $2/\eta$")
    ax.axhline(0.0, color="0.6", lw=0.8)
    ax.set_xlabel(r"curvature $\lambda / \lambda_{SAM}(\eta, \rho)$")
    ax.set_ylabel(r"$\log_{10}$(final loss / initial loss)")
    ax.set_title(f"quadratic, $\\eta$ = {sweep.eta:g}: SAM's edge sits below GD's")
    ax.legend(fontsize=8, loc="lower left")
    return fig


def plot_sharpness(res: TrainingResult, model: int = 0) -> Figure:
    """Sharpness along training for every method on one model, with each method's edge."""
    fig = Figure(figsize=(7.0, 4.0), layout="constrained")
    ax = fig.add_subplot()
    eta = float(res.etas[model])
    for r, m in enumerate(res.methods):
        col = _colour(m.name, r)
        ax.plot(res.steps, res.sharpness[:, model, r], color=col, lw=1.2, label=m.name)
        edge = res.edge(model, r)
        ax.plot(res.steps, edge, color=col, ls="--", lw=1,
                label=f"edge of {m.name}" + (" (current $\\|g\\|$)" if m.normalised else ""))
    ax.set_xlabel("step")
    ax.set_ylabel(r"sharpness $\lambda_{\max}(\nabla^2 L)$")
    ax.set_title(f"second-order regression model (seed {res.seeds[model]}), $\\eta$ = {eta:.3f}")
    top = 1.3 * 2.0 / eta
    ax.set_ylim(0, top)
    ax.legend(fontsize=7, ncol=2, loc="lower right")
    return fig


def plot_plateaus(res: TrainingResult, band: float = 0.1) -> Figure:
    """Median plateau sharpness against the predicted edge, every model and method."""
    fig = Figure(figsize=(5.2, 4.4), layout="constrained")
    ax = fig.add_subplot()
    sl = res.plateau()
    lo, hi = np.inf, 0.0
    for r, m in enumerate(res.methods):
        xs, ys = [], []
        for s in range(len(res.seeds)):
            edge = res.edge(s, r)[sl]
            sharp = res.sharpness[sl, s, r]
            xs.append(float(np.nanmedian(edge)))
            ys.append(float(np.nanmedian(sharp)))
        ax.plot(xs, ys, "o", color=_colour(m.name, r), label=m.name)
        lo, hi = min(lo, *xs, *ys), max(hi, *xs, *ys)
    grid = np.linspace(0.9 * lo, 1.1 * hi, 2)
    ax.plot(grid, grid, color="0.3", lw=1, label="plateau = edge")
    ax.fill_between(grid, (1 - band) * grid, (1 + band) * grid, color="0.85",
                    label=f"$\\pm${band:.0%}")
    ax.set_xlabel("predicted edge (median over the plateau)")
    ax.set_ylabel("measured sharpness (median over the plateau)")
    ax.set_title("every model, every method")
    ax.legend(fontsize=8)
    return fig



def plot_mlp_sharpness(res: MLPResult, seed_index: int = 0) -> Figure:
    """Lanczos sharpness along training on the digits MLP (one seed), every method, with
    each method's edge (GD: 2/eta; SAM: lambda_SAM) and the plateau window shaded."""
    from boundbook.chapters.sam_edge.claims import sam_edge

    fig = Figure(figsize=(7.0, 4.0), layout="constrained")
    ax = fig.add_subplot()
    for r, m in enumerate(res.methods):
        col = _colour(m.name, r)
        ax.plot(res.steps, res.sharpness[:, seed_index, r], color=col, lw=1.2, label=m.name)
        ax.axhline(sam_edge(res.eta, float(res.rhos[r])), color=col, ls="--", lw=1,
                   label=f"edge of {m.name}")
    ax.axvspan(res.steps[res.plateau()][0], res.steps[-1], color="0.93", zorder=0,
               label="plateau window")
    ax.set_xlabel("step")
    ax.set_ylabel(r"sharpness $\lambda_{\max}(\nabla^2 L)$ (Lanczos)")
    ax.set_title(f"digits MLP 64-{res.width}-{res.width}-10 (seed {res.seeds[seed_index]}), "
                 f"$\\eta$ = {res.eta:g}")
    ax.set_ylim(0, 1.3 * 2.0 / res.eta)
    ax.legend(fontsize=7, ncol=2, loc="lower right")
    return fig
