"""Figures of the chapter "Small-Gain Nash" (matplotlib Figure API, no pyplot)."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from boundbook.chapters.small_gain_nash.claims import sgn_margin
from boundbook.chapters.small_gain_nash.experiment import (
    BandResult,
    CertificateResult,
    EulerResult,
    StepResult,
    certified_factor,
)


def plot_band(band: BandResult, cert: CertificateResult, which: tuple[int, ...]) -> Figure:
    """(a) the measured true margin over the weight ratio against the certified margin, for
    the games ``which``, band edges marked; (b) certified against measured margin at every
    in-band weight, with the ratio."""
    fig = Figure(figsize=(10, 3.6))
    ax, bx = fig.subplots(1, 2)
    for i, c in zip(which, ("C0", "C1", "C2", "C3"), strict=False):
        g = cert.games[i]
        ast = [sgn_margin(g.mu1, g.mu2, g.L12, g.L21, 1.0, r) for r in band.scan_ratio]
        ax.semilogx(band.scan_ratio, band.scan_alpha[i], c, label=f"{g.label}: measured")
        ax.semilogx(band.scan_ratio, ast, c + "--", label="certified α*")
        for e in band.certified[i]:
            ax.axvline(e, color=c, lw=0.6, ls=":")
    ax.axhline(0, color="k", lw=0.6)
    ax.set_ylim(-1.0, 1.5)
    ax.set_xlabel("weight ratio r = w2/w1")
    ax.set_ylabel("margin in ||·||_w")
    ax.set_title("(a) timescale band: measured vs certified", fontsize=9)
    ax.legend(fontsize=6)
    astar = np.array([sgn_margin(cert.games[g].mu1, cert.games[g].mu2, cert.games[g].L12,
                                 cert.games[g].L21, 1.0, r)
                      for g, r in zip(cert.game, cert.ratio, strict=True)])
    eq = np.array([cert.games[g].equality for g in cert.game])
    bx.loglog(astar[eq], cert.alpha_true[eq], "o", ms=4, label="scalar / clean games")
    bx.loglog(astar[~eq], cert.alpha_true[~eq], "s", ms=4, mfc="none", label="random games")
    lim = [astar.min() * 0.8, max(cert.alpha_true.max(), astar.max()) * 1.2]
    bx.loglog(lim, lim, "k-", lw=0.8, label="measured = certified")
    if (~eq).any():
        q = cert.alpha_true[~eq] / astar[~eq]
        bx.text(0.05, 0.9, f"random: measured/certified {q.min():.2f}–{q.max():.1f}",
                transform=bx.transAxes, fontsize=7)
    bx.set_xlabel("certified α*(w)")
    bx.set_ylabel("measured α_true(w)")
    bx.set_title("(b) inside the band", fontsize=9)
    bx.legend(fontsize=6, loc="lower right")
    fig.tight_layout()
    return fig


def plot_euler(euler: EulerResult, which: tuple[int, ...]) -> Figure:
    """Per-step factor in ||·||_w against h/h_SGN: exact (line), pairs' worst one-step ratio
    (dots), and the certified sqrt(1 - 2h alpha* + h^2 beta^2) (dashed)."""
    fig = Figure(figsize=(6, 3.6))
    ax = fig.add_subplot()
    q = certified_factor(euler)
    for i, c in zip(which, ("C0", "C1", "C2", "C3"), strict=False):
        rows = euler.game == i
        ax.plot(euler.mult[rows], euler.factor[rows], c + "-o", ms=3,
                label=f"{euler.labels[i]}: exact")
        ax.plot(euler.mult[rows], euler.pair_worst_step[rows], c + "x", ms=5)
        ax.plot(euler.mult[rows], q[rows], c + "--", lw=0.9)
    ax.axhline(1, color="k", lw=0.6)
    ax.axvline(1, color="grey", lw=0.6, ls=":")
    ax.set_xscale("log")
    ax.set_xlabel("h / h_SGN")
    ax.set_ylabel("per-step factor in ||·||_w")
    ax.set_title("Euler: measured (x: pairs' worst step) vs certified (dashed)", fontsize=9)
    ax.legend(fontsize=6)
    fig.tight_layout()
    return fig


def plot_steps(steps: StepResult) -> Figure:
    """Certified step 2 alpha*/beta^2 against the measured largest contracting step, with
    their ratio."""
    fig = Figure(figsize=(6, 3.6))
    ax = fig.add_subplot()
    ax.loglog(steps.h_sgn, steps.measured, "o")
    for x, y, lab in zip(steps.h_sgn, steps.measured, steps.labels, strict=True):
        ax.annotate(f"{lab}: ×{y / x:.1f}", (x, y), fontsize=6, xytext=(4, -8),
                    textcoords="offset points")
    lim = [min(steps.h_sgn.min(), steps.measured.min()) * 0.7, steps.measured.max() * 1.5]
    ax.loglog(lim, lim, "k-", lw=0.8, label="measured = certified")
    ax.set_xlabel("certified h_SGN = 2α*/β²")
    ax.set_ylabel("measured largest contracting step")
    ax.set_title("Euler step: how conservative the certificate is", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig
