"""Figures of the chapter "Decentralised gradient descent with streaming data" (matplotlib
Figure API, no pyplot)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from boundbook.chapters.decentralised_streaming.claims import bias_bound, predicted_floor


def plot_tracking(result: Any) -> Figure:
    """Left, uniform weights: seed-RMS of the fixed-point error :math:`\\|x - Pz\\|` (solid)
    with the model's exact expectation (dotted) and the per-agent bias :math:`\\|Pz -
    \\mathbf 1x^\\star\\|` with (dash-dot) and without (dashed) heterogeneity, per graph.
    Right, discounted weights: seed-RMS of :math:`\\|x - Pz\\|` per discount, with the exact
    predicted floor (dashed)."""
    fig = Figure(figsize=(10, 3.8))
    ax, bx = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    t = np.arange(1, result.steps + 1)
    for i, g in enumerate(result.graphs):
        c = f"C{i}"
        ax.loglog(t, np.sqrt(g.uniform.e2.mean(0)), color=c, lw=1, label=f"{g.graph}: ||x - Pz||")
        ax.loglog(t, np.sqrt(g.uniform.expected_e2), color="k", ls=":", lw=1)
        ax.loglog(t, np.sqrt(g.uniform.b2.mean(0)), color=c, ls="-.",
                  label=f"{g.graph}: bias, heterogeneous")
        ax.loglog(t, np.sqrt(g.homogeneous.b2.mean(0)), color=c, ls="--",
                  label=f"{g.graph}: bias, identical means")
        for j, d in enumerate(g.discounted):
            pred = predicted_floor(g.eigvals, result.alpha, result.a, result.K, result.noise,
                                   d.gamma)
            bx.loglog(t, np.sqrt(d.e2.mean(0)), color=f"C{2 + j}", lw=1, alpha=0.8 if i else 1,
                      label=f"gamma={d.gamma:g}" if i == 0 else None)
            bx.axhline(pred, color=f"C{2 + j}", ls="--", lw=1)
    ax.axvline(result.fit_t0, color="grey", lw=0.5)
    ax.set_xlabel("time t")
    ax.set_ylabel("seed RMS")
    ax.set_title("uniform weights (dotted: exact expectation)", fontsize=9)
    ax.legend(fontsize=6)
    bx.axvline(result.burn_in, color="grey", lw=0.5)
    bx.set_xlabel("time t")
    bx.set_ylabel("seed RMS of ||x - Pz||")
    bx.set_title("discounted weights, both graphs (dashed: predicted floor)", fontsize=9)
    bx.legend(fontsize=7)
    fig.tight_layout()
    return fig


def plot_floor(measured: Mapping[str, Any]) -> Figure:
    """Measured steady-state floor (95% seed interval) against :math:`1 - \\gamma`, the exact
    prediction (solid) and the control's prediction with :math:`1 - \\gamma` 20% larger
    (dashed), per graph."""
    m = measured
    fig = Figure(figsize=(5.5, 3.6))
    ax = fig.add_subplot()
    cs = np.array([1 - g for g in m["gammas"]])
    grid = np.geomspace(cs.min() * 0.8, cs.max() * 1.2, 50)
    for i, graph in enumerate(m["graphs"]):
        lams = m["eigvals"][i]
        for scale, ls in ((1.0, "-"), (1.2, "--")):
            ax.loglog(grid, [predicted_floor(lams, m["alpha"], m["a"], m["K"], m["noise"],
                                             1 - c, scale) for c in grid], color=f"C{i}",
                      ls=ls, lw=1, label=f"{graph}: prediction" + (" (c x 1.2)" if scale > 1
                                                                    else ""))
        fl = np.array(m["floors"][i])
        iv = np.array(m["floors_interval"][i])
        ax.errorbar(cs, fl, yerr=[fl - iv[:, 0], iv[:, 1] - fl], fmt="o", color=f"C{i}",
                    ms=3, capsize=2)
    ax.set_xlabel("1 - gamma")
    ax.set_ylabel("steady-state RMS ||x - Pz||")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def plot_bound(measured: Mapping[str, Any]) -> Figure:
    """The exact bias :math:`\\|x^{fp} - \\mathbf 1x^\\star\\|` against the bound
    :math:`\\alpha G/(1 - \\lambda_2 + \\alpha a)`: random ring instances and the equality cases
    (ring Fiedler vectors, complete graph), with the diagonal (equality)."""
    m = measured
    bound = np.array([bias_bound(al, G, l2, m["a"]) for al, G, l2 in
                      zip(m["alpha"], m["G"], m["lambda2"], strict=True)])
    bias = np.array(m["bias"])
    eq = np.array(m["equality"], dtype=bool)
    ring = np.array([g == "ring" for g in m["graph"]])
    fig = Figure(figsize=(5.5, 3.6))
    ax = fig.add_subplot()
    ax.loglog(bound[~eq], bias[~eq], ".", ms=2, color="C0", label="ring, random z")
    ax.loglog(bound[eq & ring], bias[eq & ring], "s", ms=4, mfc="none", color="C3",
              label="ring, Fiedler z (equality)")
    ax.loglog(bound[eq & ~ring], bias[eq & ~ring], ".", ms=2, color="C1",
              label="complete graph (equality)")
    lim = [bound.min() * 0.8, bound.max() * 1.2]
    ax.loglog(lim, lim, "k--", lw=1, label="bias = bound")
    ax.set_xlabel("bound alpha G/(1 - lambda_2 + alpha a)")
    ax.set_ylabel("exact bias ||x_fp - 1 x*||")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def plot_bias_steps(result: Any) -> Figure:
    """Seed-RMS of the per-agent bias :math:`\\|Pz - \\mathbf 1x^\\star\\|` of the fixed point,
    uniform weights and every discount, per graph: constant step (solid) against the
    diminishing step :math:`\\alpha/\\sqrt t` on the same weighted means (dashed)."""
    fig = Figure(figsize=(10, 3.6))
    t = np.arange(1, result.steps + 1)
    for i, g in enumerate(result.graphs):
        ax = fig.add_subplot(1, len(result.graphs), i + 1)
        for j, r in enumerate((g.uniform, *g.discounted)):
            lab = "uniform" if r.gamma is None else f"gamma={r.gamma:g}"
            ax.loglog(t, np.sqrt(r.b2.mean(0)), color=f"C{j}", lw=1, label=lab)
            ax.loglog(t, np.sqrt(r.b2_decay.mean(0)), color=f"C{j}", ls="--", lw=1)
        ax.axvline(result.fit_t0, color="grey", lw=0.5)
        ax.set_xlabel("time t")
        ax.set_ylabel("seed RMS of the bias")
        ax.set_title(f"{g.graph}: constant step (solid), alpha/sqrt(t) (dashed)", fontsize=9)
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig
