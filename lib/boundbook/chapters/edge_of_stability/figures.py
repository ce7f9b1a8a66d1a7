"""Figures of the chapter "Edge of stability" (matplotlib ``Figure`` API, no pyplot).

Every function builds a fresh :class:`matplotlib.figure.Figure` and returns it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.figure import Figure

if TYPE_CHECKING:
    from boundbook.chapters.edge_of_stability.experiment import (
        QuadraticControl,
        SormResult,
        Training,
    )

__all__ = ["plot_quadratic", "plot_sorm", "plot_sorm_sweep", "plot_training"]

_CONTROL = "0.45"


def _colours(n: int) -> list:
    from matplotlib import colormaps

    cmap = colormaps["viridis"]
    return [cmap(x) for x in np.linspace(0.1, 0.85, n)]


def plot_training(training: Training, control_eta: float, zoom: int = 120) -> Figure:
    """Three panels: sharpness vs step with the edge 2/eta of each step size (dashed, same
    colour; the control run in grey), the training loss (log scale), and a ``zoom``-step window
    of each EoS run's loss just after it first reaches its edge."""
    fig = Figure(figsize=(13, 4.0), layout="constrained")
    ax_s, ax_l, ax_z = fig.subplots(1, 3)
    eos = [r for r in training.runs if r.eta != control_eta]
    colours = dict(zip([r.eta for r in eos], _colours(len(eos)), strict=True))
    top = 0.0
    for run in training.runs:
        c = colours.get(run.eta, _CONTROL)
        label = f"η = {run.eta:g}" + (f" (control, 2/η = {2 / run.eta:g})"
                                      if run.eta == control_eta else "")
        ax_s.plot(run.steps, run.sharpness, color=c, lw=1.6, label=label)
        ax_s.axhline(2 / run.eta, color=c, ls="--", lw=1)
        ax_l.plot(np.arange(len(run.losses)), run.losses, color=c, lw=1, label=label)
        if run.eta != control_eta:
            top = max(top, 2 / run.eta)
            hit = np.flatnonzero(np.asarray(run.sharpness) >= 2 / run.eta)
            if hit.size:
                t0 = run.steps[int(hit[0])]
                seg = run.losses[t0: t0 + zoom]
                ax_z.plot(np.arange(len(seg)), seg / seg[0], color=c, lw=1.2, label=label)
    ax_s.set_ylim(0, 1.45 * top)
    ax_s.set_xlabel("step")
    ax_s.set_ylabel(r"sharpness $\lambda_{\max}(\nabla^2 L)$")
    ax_s.set_title("sharpness; dashed: 2/η")
    ax_s.legend(fontsize=8, loc="upper left")
    ax_l.set_yscale("log")
    ax_l.set_xlabel("step")
    ax_l.set_ylabel("training loss")
    ax_l.set_title("loss (log scale)")
    ax_z.set_xlabel("steps after the sharpness first reaches 2/η")
    ax_z.set_ylabel("loss / loss at that step")
    ax_z.set_title(f"the first {zoom} steps at the edge")
    ax_z.axhline(1.0, color="0.7", lw=0.8)
    return fig


def plot_sorm(model: SormResult, linear: SormResult) -> Figure:
    """NTK eigenvalue over the edge (ηλ/2) vs step for every draw: the quadratic model
    (solid) and the same draws with Q = 0 (dashed, flat)."""
    fig = Figure(figsize=(6.5, 4.0), layout="constrained")
    ax = fig.subplots()
    steps = np.arange(model.lam.shape[0])
    colours = _colours(model.lam.shape[1])
    for i, c in enumerate(colours):
        ax.plot(steps, model.lam[:, i] * model.eta / 2, color=c, lw=1)
        ax.plot(steps, linear.lam[:, i] * linear.eta / 2, color=c, lw=0.8, ls="--")
    ax.axhline(1.0, color="k", lw=1, ls=":")
    ax.set_xscale("symlog", linthresh=10)
    ax.set_xlim(0, steps[-1])
    ax.set_xlabel("step (linear up to 10, then logarithmic)")
    ax.set_ylabel(r"$\eta\,\lambda_{\max}(JJ^\top)/2$")
    ax.set_title(f"SORM, Q scale {model.q_scale:g} (solid) vs Q = 0 (dashed)")
    return fig


def plot_sorm_sweep(results: Sequence[SormResult]) -> Figure:
    """Final ηλ/2 of every draw against the strength of Q (diverged draws marked at the top),
    with the median over draws."""
    fig = Figure(figsize=(6.5, 4.0), layout="constrained")
    ax = fig.subplots()
    cap = 1.6
    rng = np.random.default_rng(0)  # horizontal jitter only
    meds = []
    for res in results:
        final = res.lam[-1] * res.eta / 2
        div = res.diverged_at >= 0
        x = res.q_scale + rng.uniform(-0.015, 0.015, size=final.size)
        ax.scatter(x[~div], np.minimum(final[~div], cap), s=14, color="tab:blue", alpha=0.7)
        ax.scatter(x[div], np.full(div.sum(), cap), s=22, marker="x", color="tab:red")
        meds.append(np.median(np.where(div, np.inf, final)))
    qs = [r.q_scale for r in results]
    ax.plot(qs, np.minimum(meds, cap), color="k", lw=1.5, marker="o", label="median over draws")
    ax.axhline(1.0, color="k", lw=1, ls=":")
    ax.set_ylim(0, cap + 0.1)
    ax.set_xlabel("Q scale (strength of the second-order term)")
    ax.set_ylabel(r"final $\eta\,\lambda_{\max}(JJ^\top)/2$")
    ax.set_title("where the NTK eigenvalue ends (x: diverged)")
    ax.legend(fontsize=8, loc="lower right")
    return fig


def plot_quadratic(quad: QuadraticControl, points: Sequence[float] = (1.95, 2.05)) -> Figure:
    """Loss of GD on ½λθ² at the given ηλ (log scale): no higher-order term to push back."""
    fig = Figure(figsize=(6.5, 3.6), layout="constrained")
    ax = fig.subplots()
    for p, c in zip(points, ("tab:blue", "tab:red"), strict=True):
        i = int(np.argmin(np.abs(quad.eta_lambda - p)))
        end = quad.diverged_at[i] if quad.diverged[i] else quad.losses.shape[0] - 1
        ax.plot(np.arange(end + 1), quad.losses[: end + 1, i], color=c,
                label=f"ηλ = {quad.eta_lambda[i]:g}"
                      + (f" (diverged at step {end})" if quad.diverged[i] else ""))
        if quad.diverged[i]:
            ax.plot([end], [quad.losses[end, i]], marker="x", color=c, ms=9)
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_title("a quadratic cannot self-stabilise")
    ax.legend(fontsize=8)
    return fig
