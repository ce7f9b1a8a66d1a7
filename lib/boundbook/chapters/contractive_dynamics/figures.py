"""Figures of the chapter "Neural contractive dynamical systems" (matplotlib Figure API)."""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure

COLORS = {"ncds": "C1", "hessian": "C0", "flipped": "C3"}
LABELS = {"ncds": "NCDS (integrated)", "hessian": "Hessian (integrable)",
          "flipped": "sign-flipped"}


def plot_rates(res: Any) -> Figure:
    """Left: per pair, the worst average contraction rate against the certified eps. Right: the
    worst pair's distance ratio over time against the certificate e^{-eps t}."""
    fig = Figure(figsize=(9, 3.4))
    ax, bx = fig.subplots(1, 2)
    bins = np.linspace(-1.5, 1.0, 60)
    for fam in ("ncds", "hessian"):
        r = res.families[fam].pair_rate
        ax.hist(np.clip(r, bins[0], bins[-1]), bins=bins, alpha=0.6, color=COLORS[fam],
                label=LABELS[fam])
    ax.axvline(res.eps, color="k", ls="--", label=r"certified rate $\epsilon$")
    ax.set_xlabel(r"worst average rate $\min_t -\log(\|\delta(t)\|/\|\delta(0)\|)/t$ (clipped)")
    ax.set_ylabel("pairs")
    ax.legend(fontsize=8)
    t = res.families["ncds"].times
    bx.semilogy(t, np.exp(-res.eps * t), "k--", label=r"certificate $e^{-\epsilon t}$")
    for fam in ("ncds", "hessian"):
        bx.semilogy(t, res.families[fam].worst_curve, color=COLORS[fam],
                    label=f"worst pair, {LABELS[fam]}")
    bx.set_xlabel("time $t$")
    bx.set_ylabel(r"$\|x(t)-y(t)\|/\|x(0)-y(0)\|$")
    bx.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_lognorms(res: Any) -> Figure:
    """Per sampled point: mu_2 of the parametrised Jhat against mu_2 of the true Jacobian."""
    fig = Figure(figsize=(5, 3.6))
    ax = fig.add_subplot()
    for fam in ("ncds", "hessian"):
        r = res.families[fam]
        ax.plot(r.lognorm_jhat, r.lognorm_true, ".", ms=2, color=COLORS[fam],
                label=LABELS[fam])
    ax.axhline(-res.eps, color="k", ls="--", lw=0.8)
    ax.axvline(-res.eps, color="k", ls="--", lw=0.8)
    ax.set_xlabel(r"$\mu_2(\hat J(x))$ (parametrised)")
    ax.set_ylabel(r"$\mu_2(\partial f/\partial x)$ (true, autograd)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
