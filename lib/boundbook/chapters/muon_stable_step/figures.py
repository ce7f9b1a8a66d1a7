"""Figures of the chapter "Muon's stable step" (matplotlib object API, no pyplot)."""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure

__all__ = ["plot_bounded", "plot_descent", "plot_scaling"]

_KIND = {"generic": ("C2", "generic $X, W, Y$"),
         "anisotropic": ("C0", r"anisotropic $X^\top X$"),
         "isotropic": ("C3", r"$X^\top X = \lambda I$ (equality case)")}


def plot_descent(table: Any) -> Figure:
    """Measured one-step descent threshold against the sufficient step 2 sigma_bar/lambda_max
    (log-log); on the diagonal the bound is exact. Hollow: Newton–Schulz instead of the exact
    polar factor (equality case only)."""
    fig = Figure(figsize=(5.6, 4.4), layout="constrained")
    ax = fig.subplots()
    bound = table.bound()
    kinds = np.array(table.kind)
    for kind, (colour, label) in _KIND.items():
        sel = kinds == kind
        ax.plot(bound[sel], table.muon[sel], "o", ms=4, color=colour, label=label)
    iso = kinds == "isotropic"
    ax.plot(bound[iso], table.muon_ns[iso], "o", ms=7, mfc="none", color="C3",
            label="same, Newton–Schulz (5 steps)")
    lo, hi = bound.min() / 1.5, max(bound.max(), table.muon.max()) * 1.5
    ax.plot([lo, hi], [lo, hi], "k--", lw=1, label=r"$\eta_1 = 2\bar\sigma/\lambda_{\max}$")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(r"sufficient step $2\bar\sigma/\lambda_{\max}$")
    ax.set_ylabel(r"measured one-step threshold $\eta_1$")
    ax.legend(fontsize=7)
    return fig


def plot_scaling(res: Any) -> Figure:
    """Threshold ratio eta*_Muon/(sigma_1 eta*_GD) against sigma_bar/sigma_1 (log-log), with
    the predicted slope-1 line and the GD-style (sigma_1) prediction. Filled: Newton–Schulz
    update (the tested quantity); small grey: exact polar factor (slope 1 by construction)."""
    fig = Figure(figsize=(5.8, 4.4), layout="constrained")
    ax = fig.subplots()
    kinds, fams = np.array(res.kind), np.array(res.family)
    x = res.sigma_bar / res.sigma1
    for kind in ("anisotropic", "isotropic"):
        colour, label = _KIND[kind]
        for fam, marker in (("spike", "o"), ("geometric", "^")):
            sel = (kinds == kind) & (fams == fam)
            ax.plot(x[sel], res.ratio[sel], marker, ms=5, color=colour,
                    label=f"{label}, {fam}, Newton–Schulz")
            ax.plot(x[sel], res.muon_polar[sel] / (res.sigma1[sel] * res.gd[sel]), marker,
                    ms=3, color="0.6", mfc="none",
                    label="exact polar factor (by construction)"
                    if kind == "anisotropic" and fam == "spike" else None)
    xs = np.array([x.min() / 1.2, 1.2])
    ax.plot(xs, xs, "k--", lw=1, label=r"slope 1: $\bar\sigma/\sigma_1$ (bound)")
    ax.axhline(1.0, color="0.5", ls=":", lw=1, label=r"GD-style: $\sigma_1/\sigma_1$")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(r"$\bar\sigma/\sigma_1$ (flat spectrum = 1)")
    ax.set_ylabel(r"$\eta^*_{\mathrm{Muon}}/(\sigma_1\,\eta^*_{\mathrm{GD}})$")
    ax.legend(fontsize=7)
    return fig


def plot_bounded(res: Any, problem: int = 0) -> Figure:
    """Excess loss (relative to the initial one) of GD and Muon on one problem, at every
    multiple of GD's critical step; GD's curves stop where it diverged."""
    fig = Figure(figsize=(10, 3.8), layout="constrained")
    ax, bx = fig.subplots(1, 2, sharey=True)
    for k, mu in enumerate(res.multiples):
        g = res.gd_curves[k, problem]
        at = res.gd_diverged_at[k, problem]
        end = len(g) if at < 0 else at
        label = fr"$\eta$ = {mu:g} x $2/\lambda_{{\max}}$"
        ax.plot(np.arange(end) + 1, g[:end], color=f"C{k}", label=label)
        mu_curve = res.muon_curves[k, problem]
        bx.plot(np.arange(len(mu_curve)) + 1, mu_curve, color=f"C{k}", label=label)
    ax.axhline(res.blowup, color="k", ls="--", lw=1, label="divergence level")
    ax.set_yscale("log")
    ax.set_title("GD")
    bx.set_title("Muon (exact polar factor)")
    for a in (ax, bx):
        a.set_xlabel("step + 1")
        a.set_xscale("log")
    ax.set_ylabel(r"excess loss / initial excess loss")
    ax.legend(fontsize=7)
    bx.legend(fontsize=7)
    return fig
