"""Matplotlib figures for the book's experiments (safe under the Agg backend).

Every function builds a fresh :class:`matplotlib.figure.Figure` (through the object-oriented
API, without ``pyplot``, so no global figure state and no display is needed) and returns it;
notebooks show it, scripts call ``fig.savefig(...)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from boundbook.chapters.ghosts_of_softmax.experiment import (
        ArchgridResult,
        CheckpointSweepResult,
        SpikeResult,
        SweepResult,
        TemperatureResult,
    )

__all__ = [
    "plot_archgrid",
    "plot_bound_ratios",
    "plot_checkpoint_sweep",
    "plot_partial_sums",
    "plot_spike",
    "plot_sweep",
    "plot_temperature",
]

_METHOD_LABELS = {
    "adam": "Adam",
    "clip": "Adam + grad-norm clip (1.0)",
    "radius": r"Adam + $\rho_a$ controller",
}


def _draw_sweep(ax: Axes, result: SweepResult, random_style: str = "dashed") -> None:
    """Loss-ratio curves of a :class:`SweepResult` on ``ax`` (log x), ``r = 1``, the threshold.

    The gradient direction is a thick solid line with its onset dotted.  ``random_style``:
    ``"dashed"`` gives every random direction its own colour (dashed, onsets dotted, labelled);
    ``"thin"`` draws them as thin grey lines under one legend entry.
    """
    first_random = True
    for i, label in enumerate(result.labels):
        is_grad = label == "gradient"
        if is_grad:
            kw = {"lw": 2.2, "color": "tab:red" if random_style == "thin" else None,
                  "zorder": 3, "label": "gradient"}
        elif random_style == "thin":
            kw = {"lw": 0.7, "color": "0.55", "alpha": 0.8,
                  "label": f"random ({len(result.labels) - 1})" if first_random else None}
            first_random = False
        else:
            kw = {"lw": 1.2, "ls": "--", "label": label}
        line, = ax.plot(result.r_grid, result.loss_ratio[i], **kw)
        onset = result.onset[i]
        if np.isfinite(onset) and (is_grad or random_style != "thin"):
            j = int(np.flatnonzero(result.r_grid == onset)[0])
            ax.plot([onset], [result.loss_ratio[i, j]], "o", color=line.get_color(), ms=5,
                    zorder=4)
    ax.axvline(1.0, color="k", lw=1, ls=":", label=r"$r = 1$ ($\tau = \rho_a$)")
    ax.axhline(result.threshold, color="tab:blue" if random_style == "thin" else "tab:red",
               lw=1, ls="-.", label=f"threshold {result.threshold:g}")
    ax.set_xscale("log")
    finite = result.loss_ratio[np.isfinite(result.loss_ratio)]
    if finite.size and finite.max() > 20 * max(result.threshold, 1.0):
        ax.set_yscale("log")
    ax.set_xlabel(r"normalised step size $r = \tau / \rho_a$")
    ax.grid(True, which="both", alpha=0.3)


def plot_sweep(result: SweepResult, title: str | None = None) -> Figure:
    """One-step loss ratio ``L(theta + r rho_a v) / L(theta)`` against ``r`` (log x-axis).

    One curve per direction (gradient solid, random directions dashed), the radius ``r = 1``
    as a vertical line, the onset threshold as a horizontal line, onsets as dots.
    """
    fig = Figure(figsize=(6.4, 4.2), layout="constrained")
    ax = fig.add_subplot()
    _draw_sweep(ax, result, "dashed")
    ax.set_ylabel(r"one-step loss ratio $L(\theta+\tau v)\,/\,L(\theta)$")
    ax.set_title(title or "One step along unit directions (training split)")
    ax.legend(fontsize=8, loc="upper left")
    return fig


def plot_checkpoint_sweep(result: CheckpointSweepResult, title: str | None = None) -> Figure:
    """Random-direction validation (paper Fig. 8): one panel per training stage.

    Each panel: one-step loss ratio on the evaluation subset against ``r`` (log x), the
    gradient direction highlighted (thick, onset dotted), the random directions thin grey,
    ``r = 1`` and the threshold marked; the title gives the step, the test accuracy and the
    onsets.  A stage that was never reached gets an empty panel saying so.
    """
    n = len(result.stages)
    fig = Figure(figsize=(4.2 * n, 4.0), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, n, sharey=False))
    for s, ax in enumerate(axes):
        sweep = result.sweeps[s]
        stage = f"stage {100 * result.stages[s]:g}%"
        if sweep is None:
            ax.text(0.5, 0.5, f"{stage}\nnot reached in {result.steps_trained} steps",
                    ha="center", va="center", transform=ax.transAxes)
            ax.set_xticks([])
            ax.set_yticks([])
            continue
        _draw_sweep(ax, sweep, "thin")
        rand = sweep.onset[1:]
        med = f"{np.median(rand):.2g}" if rand.size else "-"
        ax.set_title(f"{stage}: step {result.step[s]}, test acc {result.test_accuracy[s]:.1%}\n"
                     f"onset r: gradient {sweep.onset[0]:.2g}, random median {med}",
                     fontsize=9)
        if s == 0:
            ax.set_ylabel(r"loss ratio $L_S(\theta+\tau v)\,/\,L_S(\theta)$")
            ax.legend(fontsize=7, loc="upper left")
    fig.suptitle(title or f"One step along the gradient and random directions "
                 f"(seed {result.seed}, {len(result.eval_indices)} evaluation samples)")
    return fig


def plot_spike(result: SpikeResult, title: str | None = None) -> Figure:
    """LR-spike test: final test accuracy per method and base LR, and the ``r`` trace.

    Left: median final test accuracy over seeds (bars) with the inter-quartile range (error
    bars) and the number of divergent seeds written on top.  Right: ``r = tau / rho_a`` of
    the applied update along the run for the first seed (log y), one colour per method, one
    line style per base LR, with ``r = 1`` and the spike step marked.
    """
    fig = Figure(figsize=(12, 4.4), layout="constrained")
    ax_acc, ax_r = fig.subplots(1, 2, width_ratios=[1, 1.4])
    methods, lrs = result.methods, result.base_lrs
    med, iqr, cnt = result.median_test_acc(), result.iqr_test_acc(), result.divergence_counts()
    width = 0.8 / len(methods)
    xs = np.arange(len(lrs))
    colors = {}
    for i, m in enumerate(methods):
        pos = xs + (i - (len(methods) - 1) / 2) * width
        err = np.abs(np.stack([med[i] - iqr[i, :, 0], iqr[i, :, 1] - med[i]])) * 100
        bars = ax_acc.bar(pos, med[i] * 100, width, yerr=err, capsize=3,
                          label=_METHOD_LABELS.get(m, m))
        colors[m] = bars.patches[0].get_facecolor()
        for p, c, h in zip(pos, cnt[i], med[i] * 100, strict=True):
            if c:
                ax_acc.text(p, h + 2, f"{c} div.", ha="center", va="bottom", fontsize=7)
    ax_acc.axhline(10, color="grey", lw=0.8, ls=":", label="chance (10%)")
    ax_acc.set_xticks(xs, [f"{lr:g}\n(spike {lr * result.multiplier:g})" for lr in lrs])
    ax_acc.set_xlabel("base learning rate")
    ax_acc.set_ylabel(f"median final test accuracy (%), {len(result.seeds)} seeds")
    ax_acc.set_ylim(0, 135)
    ax_acc.set_yticks(np.arange(0, 101, 20))
    ax_acc.set_title(f"LR x{result.multiplier:g} from step {result.spike_step}")
    ax_acc.legend(fontsize=7, loc="upper center", ncols=2)

    styles = ["-", "--", ":", "-."]
    steps = np.arange(result.steps)
    for i, m in enumerate(methods):
        for j in range(len(lrs)):
            r = result.trace_r[i, j]
            ok = np.isfinite(r) & (r > 0)
            if ok.any():
                ax_r.plot(steps[ok], r[ok], ls=styles[j % len(styles)], lw=1.1, color=colors[m])
    # two compact legends: colour = method, line style = base LR
    method_handles = [Line2D([], [], color=colors[m], lw=2) for m in methods]
    lr_handles = [Line2D([], [], color="k", lw=1.1, ls=styles[j % len(styles)])
                  for j in range(len(lrs))]
    leg = ax_r.legend(method_handles, [_METHOD_LABELS.get(m, m) for m in methods],
                      fontsize=7, loc="upper left")
    ax_r.add_artist(leg)
    ax_r.legend(lr_handles, [f"base LR {lr:g}" for lr in lrs], fontsize=7, loc="upper right")
    ax_r.axhline(1.0, color="tab:red", lw=1)
    ax_r.annotate(r"$r = 1$", (0.99, 1.0), xycoords=("axes fraction", "data"), ha="right",
                  va="bottom", color="tab:red", fontsize=8)
    ax_r.axvline(result.spike_step, color="grey", lw=0.8, ls=":")
    ax_r.set_yscale("log")
    ax_r.set_xlabel("step")
    ax_r.set_ylabel(r"$r = \tau / \rho_a$ of the applied update")
    ax_r.set_title(f"Normalised step size along the run (seed {result.seeds[0]})")
    ax_r.grid(True, which="both", alpha=0.3)
    if title:
        fig.suptitle(title)
    return fig


def plot_temperature(result: TemperatureResult, title: str | None = None) -> Figure:
    r"""Onsets against temperature in raw :math:`\tau` and in normalised :math:`r_T`.

    Both panels use log axes and the same number of decades on the y-axis, so the spread of
    the two clouds can be compared by eye; the pooled std of ``log10`` onsets is in the titles.
    """
    fig = Figure(figsize=(10, 4.2), layout="constrained")
    ax_t, ax_r = fig.subplots(1, 2)
    temps = result.temperatures
    for ax, vals, name in (
        (ax_t, result.tau_onset, r"onset step length $\tau^*$"),
        (ax_r, result.r_onset, r"onset $r_T^* = \tau^* \Delta_a / (\pi T)$"),
    ):
        for j, seed in enumerate(result.seeds):
            ax.plot(temps, vals[:, j], "o", alpha=0.6, label=f"seed {seed}")
        with np.errstate(all="ignore"):
            med = np.nanmedian(np.where(np.isfinite(vals), vals, np.nan), axis=1)
        ax.plot(temps, med, "k-", lw=1.5, label="median over seeds")
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("temperature $T$")
        ax.set_ylabel(name)
        ax.grid(True, which="both", alpha=0.3)
    ax_r.axhline(1.0, color="tab:red", lw=1, ls="--", label=r"$r_T = 1$")
    ax_t.set_title(rf"raw coordinates: std(log$_{{10}}\tau^*$) = {result.std_log10_tau:.3f}")
    ax_r.set_title(rf"normalised: std(log$_{{10}} r_T^*$) = {result.std_log10_r:.3f}")
    # same span in decades on both panels
    spans = []
    for vals in (result.tau_onset, result.r_onset):
        v = vals[np.isfinite(vals) & (vals > 0)]
        spans.append((np.log10(v.min()), np.log10(v.max())) if v.size else (0.0, 0.0))
    width = max(hi - lo for lo, hi in spans) + 0.4
    for ax, (lo, hi) in zip((ax_t, ax_r), spans, strict=True):
        mid = (lo + hi) / 2
        ax.set_ylim(10 ** (mid - width / 2), 10 ** (mid + width / 2))
    ax_r.legend(fontsize=8)
    fig.suptitle(title or f"Temperature fingerprint: onset of loss ratio >= {result.threshold:g}")
    return fig


def plot_archgrid(result: ArchgridResult, title: str | None = None) -> Figure:
    """Single-step LR spike (paper Table 1 protocol): median final test accuracy vs multiplier.

    One line per method (log x), every seed as a faint dot, divergent runs (final training
    loss > threshold or non-finite) as crosses with their count written next to the median;
    the paper's Table-1 medians at 10 000x as open stars where the grid contains 10 000.
    """
    from boundbook.chapters.ghosts_of_softmax.experiment import PAPER_TABLE1_MLP_LN

    fig = Figure(figsize=(6.8, 4.4), layout="constrained")
    ax = fig.add_subplot()
    mults = np.asarray(result.multipliers, dtype=float)
    med, cnt = result.median_test_acc(), result.divergence_counts()
    n_seeds = len(result.seeds)
    for i, m in enumerate(result.methods):
        line, = ax.plot(mults, med[i] * 100, "o-", lw=1.8, label=_METHOD_LABELS.get(m, m))
        color = line.get_color()
        # spread the seeds a little in x so that coincident dots stay visible
        jitter = 1.0 + 0.06 * (np.arange(n_seeds) - (n_seeds - 1) / 2) / max(n_seeds, 1)
        for j, mult in enumerate(mults):
            acc = result.final_test_acc[i, j] * 100
            div = result.divergent[i, j]
            ax.plot(mult * jitter[~div], acc[~div], ".", color=color, alpha=0.35, ms=5)
            ax.plot(mult * jitter[div], acc[div], "x", color=color, ms=7, mew=1.6)
            if cnt[i, j]:
                ax.annotate(f"{cnt[i, j]}/{n_seeds} div.", (mult, med[i, j] * 100),
                            textcoords="offset points", xytext=(6, -12), fontsize=7,
                            color=color)
        paper = PAPER_TABLE1_MLP_LN.get(m)
        if paper is not None and np.any(mults == 10000):
            ax.plot([10000], [paper * 100], "*", color=color, ms=13, mfc="none", mew=1.4)
    ax.plot([], [], "x", color="k", label="divergent run (loss > "
            f"{result.divergence_loss:g} or non-finite)")
    if np.any(mults == 10000):
        ax.plot([], [], "*", ms=11, mfc="none", mec="k", label="paper, Table 1 (MLP+LN)")
    ax.axhline(10, color="grey", lw=0.8, ls=":", label="chance (10%)")
    ax.set_xscale("log")
    ax.set_xlim(mults.min() / 2, mults.max() * 3)
    ax.set_ylim(0, 105)
    ax.set_xlabel(f"LR multiplier at step {result.spike_step} (single step, base LR "
                  f"{result.base_lr:g})")
    ax.set_ylabel(f"final test accuracy (%), median of {n_seeds} seeds")
    ax.set_title(title or "Single-step LR spike, MLP+LayerNorm, full-batch Adam")
    ax.legend(fontsize=7, loc="lower left")
    ax.grid(True, which="both", alpha=0.3)
    return fig


def plot_partial_sums(orders: Sequence[int], errors: np.ndarray, scales: Sequence[float],
                      title: str | None = None) -> Figure:
    """Error of the order-N Taylor partial sum at tau = s rho*, one line per s (log-y)."""
    fig = Figure(figsize=(6.0, 3.6), layout="constrained")
    ax = fig.add_subplot()
    for s, err in zip(scales, np.asarray(errors), strict=True):
        style = "-o" if s < 1 else "--s"
        ax.semilogy(orders, err, style, label=f"τ = {s:g} ρ*" + (" (inside)" if s < 1
                                                                 else " (outside)"))
    ax.set_xlabel("order N of the Taylor partial sum")
    ax.set_ylabel("|partial sum − loss|")
    ax.set_title(title or "Binary CE along a line: convergence inside ρ*, divergence outside")
    ax.legend()
    ax.grid(True, which="both", alpha=0.3)
    return fig


def plot_bound_ratios(ratios: Sequence[float], title: str | None = None) -> Figure:
    """Histogram of rho*/rho_a over the random instances (Thm 4.6 says all are >= 1)."""
    r = np.asarray(ratios, dtype=float)
    fig = Figure(figsize=(6.0, 3.6), layout="constrained")
    ax = fig.add_subplot()
    bins = np.geomspace(min(r.min(), 1.0) * 0.98, r.max() * 1.02, 40)
    ax.hist(r, bins=bins, color="tab:blue", alpha=0.8)
    ax.set_xscale("log")
    ax.axvline(1.0, color="k", ls="--", lw=1, label="ρ* = ρ_a (the bound)")
    ax.axvline(1 / 1.1, color="tab:red", ls=":", lw=1.5,
               label="negative control: 1.1 π/Δ_a")
    ax.set_xlabel("true radius / bound  (ρ* / ρ_a)")
    ax.set_ylabel("instances")
    ax.set_title(title or f"Multiclass bound on {r.size} instances: min ratio {r.min():.4f}")
    ax.legend(fontsize=8)
    return fig
