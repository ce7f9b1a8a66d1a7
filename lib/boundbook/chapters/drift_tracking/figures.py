"""Figures of the chapter "Online gradient descent on a drifting target" (matplotlib Figure API,
no pyplot)."""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure

COLOURS = {"worst-case": "C3", "fixed-random": "C0", "random": "C2"}


def plot_drift(drift: Any) -> Figure:
    """Left: the constructed worst case, error/bound over time, for every (L, step) setting
    (it climbs to 1). Right: each run's largest error over the bound, by family and setting;
    the grey ticks mark delta/bound = 1 - q, the control's bound without 1/(1 - q)."""
    fig = Figure(figsize=(10, 3.6))
    ax1, ax2 = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    settings = sorted({(i.L, i.eta) for i in drift.instances})
    for j, (L, eta) in enumerate(settings):
        inst = {i.family: i for i in drift.instances if (i.L, i.eta) == (L, eta)}
        w = inst["worst-case"]
        ax1.plot(w.curve / w.bound, lw=1.2, label=f"L={L:g}, eta={eta:.3g}, q={w.q:.3f}")
        for k, fam in enumerate(("worst-case", "fixed-random", "random")):
            r = inst[fam].ratio
            x = j + (k - 1) * 0.22 + np.linspace(-0.06, 0.06, r.size)
            ax2.scatter(x, r, s=6, color=COLOURS[fam], alpha=0.6,
                        label=fam if j == 0 else None)
        ax2.plot([j - 0.35, j + 0.35], [1 - w.q] * 2, color="0.5", lw=2,
                 label="delta / bound = 1 - q" if j == 0 else None)
    ax1.axhline(1.0, color="k", lw=0.8, ls="--")
    ax1.set_xlabel("step t")
    ax1.set_ylabel("||x_t - c_t|| / (delta/(1-q))")
    ax1.set_title("worst-case drift reaches the bound")
    ax1.legend(fontsize=6)
    ax2.axhline(1.0, color="k", lw=0.8, ls="--")
    ax2.set_xticks(range(len(settings)))
    ax2.set_xticklabels([f"L={L:g}\neta={e:.3g}" for L, e in settings], fontsize=7)
    ax2.set_ylabel("max_t error / bound")
    ax2.set_yscale("log")
    ax2.set_title(f"{drift.seeds} seeds per family and setting")
    ax2.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    return fig


def plot_random_walk(rw: Any, best: Any, best_step: float) -> Figure:
    """Left: stationary mean square error against eta a, no gradient noise: exact formula, the
    small-step (OU) approximation, measured seed means with 95% seed-bootstrap intervals
    (current and aimed minimiser). Right: the best-step sweep with gradient noise, measured
    against exact, with the derived minimiser, the OU one (sigma/s) and the measured argmin."""
    fig = Figure(figsize=(10, 3.6))
    ax1, ax2 = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    u = np.linspace(0.05, 1.95, 200)
    etas = u / rw.a
    s2, sg2 = rw.grad_noise**2, rw.sigma**2
    exact = (etas**2 * s2 + sg2) / (u * (2 - u))
    ax1.plot(u, exact, "k-", lw=1, label="exact (current)")
    ax1.plot(u, (1 - u) ** 2 * exact + etas**2 * s2, "k:", lw=1, label="exact (aimed)")
    ax1.plot(u, (etas**2 * s2 + sg2) / (2 * u), color="C1", ls="--", lw=1, label="OU approx.")
    ea = rw.eta_a
    err = np.abs(rw.interval.T - rw.measured)
    ax1.errorbar(ea, rw.measured, yerr=err, fmt="o", ms=4, color="C0", label="measured")
    keep = rw.measured_aimed > 0
    erra = np.abs(rw.interval_aimed.T - rw.measured_aimed)[:, keep]
    ax1.errorbar(ea[keep], rw.measured_aimed[keep], yerr=erra, fmt="s", ms=4, color="C2",
                 label="measured (aimed)")
    ax1.set_yscale("log")
    ax1.set_xlabel("eta a")
    ax1.set_ylabel("stationary mean square error")
    ax1.set_title(f"random walk, sigma = {rw.sigma:g}, no gradient noise")
    ax1.legend(fontsize=7)
    errb = np.abs(best.interval_curve.T - best.measured)
    ax2.errorbar(best.etas, best.measured, yerr=errb, fmt="o", ms=3, color="C0",
                 label="measured")
    ax2.plot(best.etas, best.exact, "k-", lw=1, label="exact")
    ax2.axvline(best_step, color="k", ls="--", lw=1, label=f"derived eta* = {best_step:.4f}")
    ax2.axvline(best.sigma / best.grad_noise, color="C1", ls="--", lw=1,
                label=f"OU sigma/s = {best.sigma / best.grad_noise:.3g}")
    ax2.axvspan(*best.interval, color="C0", alpha=0.25,
                label=f"measured argmin {best.argmin:.4f} (95%)")
    ax2.set_xscale("log")
    ax2.set_xlabel("eta")
    ax2.set_ylabel("stationary mean square error")
    ax2.set_title(f"gradient noise s = {best.grad_noise:g}")
    ax2.legend(fontsize=7)
    fig.tight_layout()
    return fig
