"""Protocol of the chapter muon_stable_step: settings per mode, the measurement contract, the
measurement dictionary each claim reads, and the numbers the chapter's tables and closing prose
quote."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from boundbook.chapters.muon_stable_step.claims import fit_exponents
from boundbook.core.display import claim_findings, markdown_table, plain
from boundbook.core.stats import bootstrap_interval

if TYPE_CHECKING:
    from boundbook.chapters.muon_stable_step.experiment import (
        BoundedResult,
        DescentTable,
        ScalingResult,
    )
    from boundbook.core.claims import Evaluation


@dataclass(frozen=True)
class MuonSettings:
    mode: str
    seed: int
    n: int
    """Rows n of the weight matrix W (n x m); X has n columns."""
    m: int
    """Columns m of the weight matrix W (outputs of the least-squares problem)."""
    samples: int
    """Samples N of each least-squares problem (rows of X and Y)."""
    lambda_max: float
    """Top curvature eigenvalue of the controlled instances (pinned; the isotropic value)."""
    lambda_min: float
    """Lowest curvature eigenvalue of the anisotropic controlled instances."""
    descent_instances: int
    """Generic and anisotropic problems of the one-step descent test (isotropic: a third)."""
    scaling_rank: int
    """Gradient rank r of every problem of the spectrum sweep."""
    scaling_points: int
    """Spectra per family (spike, geometric) of the spectrum sweep."""
    gd_steps: int
    """GD steps per run when bracketing GD's iterated threshold."""
    gd_rounds: int
    """Bracketing rounds of GD's iterated threshold (one vmapped sweep each)."""
    gd_grid: int
    """Step sizes per bracketing round of GD's iterated threshold."""
    bounded_instances: int
    """Generic problems of the iterated Muon-versus-GD test."""
    bounded_multiples: tuple[float, ...]
    """Step sizes of the iterated Muon-versus-GD runs, as multiples of 2/lambda_max."""
    bounded_steps: int
    """Iterations of GD and Muon per run of the iterated Muon-versus-GD test."""


def settings(mode: str, seed: int) -> MuonSettings:
    """Quick: 16x12 weights, a few dozen instances per test. Full: more of everything."""
    if mode == "quick":
        return MuonSettings(mode, seed, n=16, m=12, samples=32, lambda_max=4.0,
                            lambda_min=0.25, descent_instances=30, scaling_rank=6,
                            scaling_points=12, gd_steps=300, gd_rounds=4, gd_grid=8,
                            bounded_instances=4, bounded_multiples=(0.9, 1.1, 2.0, 10.0),
                            bounded_steps=200)
    return MuonSettings(mode, seed, n=32, m=24, samples=64, lambda_max=4.0, lambda_min=0.25,
                        descent_instances=200, scaling_rank=12, scaling_points=24,
                        gd_steps=400, gd_rounds=4, gd_grid=8, bounded_instances=16,
                        bounded_multiples=(0.9, 1.1, 2.0, 10.0, 100.0), bounded_steps=1000)


READS: dict[str, tuple[str, ...]] = {
    "muon-bounded": ("blowup", "ceiling_over_d0", "gd_diverged", "gd_diverged_at", "gd_max_ratio",
        "multiples", "muon_ceiling_ratio", "muon_max_ratio"),
    "muon-descent-step": ("kind", "lambda_max", "lambda_mean", "nuclear", "p", "rank", "sympy",
        "threshold"),
    "muon-spectrum-scaling": ("exponent_interval", "family", "gd", "gd_bracket_width", "kind",
        "muon", "muon_polar", "sigma1", "sigma_bar"),
}
"""The measurement contract: claim id -> the keys of its measurement dictionary that its
check and control read (:func:`boundbook.core.ledger.report` refuses any other)."""


RECORD_DIGITS = 10
"""Significant digits kept for the bounded-run ratios: GD's runs behind them grow to ~1e6
before they are stopped, and the last bit of a BLAS reduction on them depends on memory
alignment, so two runs on one machine differed at 1e-15 relative; 10 digits keep records
byte-identical across reruns and are far finer than any check's tolerance."""


def _reproducible(rows: Any) -> list[Any]:
    """``rows`` (nested lists of floats) rounded to RECORD_DIGITS significant digits."""
    if isinstance(rows, (list, tuple)) or hasattr(rows, "tolist"):
        rows = rows.tolist() if hasattr(rows, "tolist") else rows
        return [_reproducible(r) for r in rows]
    x = float(rows)
    return float(f"{x:.{RECORD_DIGITS}g}") if math.isfinite(x) else x


def measurements(*, expansion_ok: bool, step2x2_ok: bool, descent: DescentTable,
                 scaling: ScalingResult, bounded: BoundedResult) -> dict[str, dict[str, Any]]:
    """The measurement dictionary of every claim, keyed by claim id."""
    return {
        "muon-descent-step": {
            "sympy": {"expansion": bool(expansion_ok), "orthogonal_2x2": bool(step2x2_ok)},
            "kind": list(descent.kind), "rank": descent.rank, "p": descent.p,
            "nuclear": descent.nuclear, "lambda_max": descent.lambda_max,
            "lambda_mean": descent.lambda_mean, "threshold": descent.muon},
        "muon-spectrum-scaling": {
            "kind": list(scaling.kind), "family": list(scaling.family),
            "sigma_bar": scaling.sigma_bar, "sigma1": scaling.sigma1,
            "muon": scaling.muon, "muon_polar": scaling.muon_polar, "gd": scaling.gd,
            "gd_bracket_width": scaling.gd_width,
            "exponent_interval": {k: exponent_interval(scaling, k)
                                  for k in ("anisotropic", "isotropic")}},
        "muon-bounded": {
            "multiples": list(bounded.multiples), "gd_diverged": bounded.gd_diverged,
            "gd_diverged_at": bounded.gd_diverged_at,
            "muon_max_ratio": _reproducible(bounded.muon_max_ratio),
            "muon_ceiling_ratio": _reproducible(bounded.muon_ceiling_ratio),
            "ceiling_over_d0": _reproducible(bounded.ceiling_over_d0),
            "gd_max_ratio": _reproducible(bounded.gd_max_ratio), "blowup": bounded.blowup},
    }


def scaling_fit(scaling: ScalingResult, kind: str, polar: bool = False) -> tuple[float, float]:
    """Fitted exponents (of sigma_bar, of sigma_1) of the spectrum sweep for one curvature
    kind, with Muon's Newton–Schulz threshold (default, the tested one) or its exact-polar one
    (``polar``; (1, 0) by construction): :func:`claims.fit_exponents`, the check's own fit."""
    muon = scaling.muon_polar if polar else scaling.muon
    a, b, _ = fit_exponents(muon, scaling.gd, scaling.sigma_bar, scaling.sigma1, scaling.kind,
                            kind)
    return a, b


def exponent_interval(scaling: ScalingResult, kind: str) -> dict[str, list[float]]:
    """95% percentile bootstrap of the fitted exponents (of sigma_bar ``a``, of sigma_1 ``b``)
    over the problems of one curvature kind (each an independent draw of the seed's
    generator), with the book's fixed bootstrap generator
    (:func:`boundbook.core.stats.bootstrap_interval`): computed once here, read by the check."""
    idx = [i for i, k in enumerate(scaling.kind) if k == kind]

    def fit(rows: list[int], which: int) -> float:
        sel = np.array(rows)
        kinds = [kind] * len(sel)
        return fit_exponents(scaling.muon[sel], scaling.gd[sel], scaling.sigma_bar[sel],
                             scaling.sigma1[sel], kinds, kind)[which]

    return {name: list(bootstrap_interval([idx], lambda rows, w=w: fit(rows, w)))
            for name, w in (("a", 0), ("b", 1))}


def descent_summary(descent: DescentTable) -> str:
    """Table: per kind of problem, the measured one-step threshold over the sufficient step
    (exact polar factor, smallest and largest; Newton–Schulz, smallest)."""
    ratio, kinds = descent.muon / descent.bound(), np.array(descent.kind)
    ns = descent.muon_ns / descent.bound()
    rows = [(k, int((kinds == k).sum()), ratio[kinds == k].min(), ratio[kinds == k].max(),
             ns[kinds == k].min()) for k in dict.fromkeys(kinds)]
    return markdown_table(rows, ["problems", "count", "min η₁ / bound", "max η₁ / bound",
                                 "min, Newton–Schulz"], digits=6)


def exponent_table(scaling: ScalingResult) -> str:
    """Table: fitted exponents per curvature kind and update, next to the abstract's
    prediction and the GD-style alternative."""
    fits = [(f"{k}, Newton–Schulz (tested)", *scaling_fit(scaling, k))
            for k in ("anisotropic", "isotropic")]
    fits += [(f"{k}, exact polar factor (by construction)", *scaling_fit(scaling, k, polar=True))
             for k in ("anisotropic", "isotropic")]
    fits.append(("predicted (abstract)", 1.0, 0.0))
    fits.append(("negative control (σ̄ exponent perturbed)", "0.7 or 1.3", 0.0))
    fits.append(("GD-style, for comparison", 0.0, 1.0))
    return markdown_table(fits, ["curvature, update", "exponent of σ̄", "exponent of σ₁"])


def bounded_table(bounded: BoundedResult) -> str:
    """Table: per multiple of GD's critical step, GD's divergence and Muon's excess loss
    relative to its start and to the ceiling."""
    rows = [(mu, int(bounded.gd_diverged[k].sum()),
             bounded.gd_diverged_at[k].max() if bounded.gd_diverged[k].any() else "never",
             bounded.muon_max_ratio[k].max(), int((bounded.muon_max_ratio[k] > 1).sum()),
             bounded.ceiling_over_d0[k].min(), bounded.muon_ceiling_ratio[k].max())
            for k, mu in enumerate(bounded.multiples)]
    return markdown_table(rows, ["η / (2/λ_max)", "GD diverged", "by step",
                                 "Muon: max Δ_t/Δ_0", "Muon above Δ_0",
                                 "min B(η)/Δ_0", "Muon: max Δ_t / max(Δ_0, B)"])


def findings(evaluations: Sequence[Evaluation], descent: DescentTable, scaling: ScalingResult,
             bounded: BoundedResult) -> dict[str, Any]:
    """Numbers quoted in the closing prose (quote-free text for ``glue``)."""
    out: dict[str, Any] = dict(claim_findings(evaluations))
    ratio = descent.muon / descent.bound()
    out["muon_instances"] = plain(len(ratio))
    out["muon_max_slack"] = plain(float(ratio.max()), 3)
    iso = np.array([k == "isotropic" for k in descent.kind])
    margin = ratio - 1.0  # (eta_1 - bound)/bound: the lower bound's relative margin
    free = np.flatnonzero(~iso)
    worst = free[np.argmin(margin[free])]
    out["muon_descent_slack"] = plain(f"{100 * margin[worst]:.3g}%")
    out["muon_descent_slack_kind"] = plain(descent.kind[worst])
    for kind in ("generic", "anisotropic"):
        sel = np.array([k == kind for k in descent.kind])
        out[f"muon_descent_slack_{kind}"] = plain(f"{100 * margin[sel].min():.3g}%")
    out["muon_descent_equality"] = plain(f"{abs(margin[iso]).max():.1e}")
    ns = descent.muon_ns[iso] / descent.bound()[iso]
    out["muon_ns_min"] = plain(float(ns.min()), 3)
    out["muon_ns_max"] = plain(float(ns.max()), 3)
    out["muon_ns_below"] = plain(int((ns < 1).sum()))
    out["muon_iso_count"] = plain(int(iso.sum()))
    for kind in ("anisotropic", "isotropic"):
        a, b = scaling_fit(scaling, kind)
        out[f"muon_fit_{kind}_a"] = plain(a, 3)
        out[f"muon_fit_{kind}_b"] = plain(b, 3)
        iv = exponent_interval(scaling, kind)
        out[f"muon_fit_{kind}_a_ci"] = plain(f"[{iv['a'][0]:.3f}, {iv['a'][1]:.3f}]")
        out[f"muon_fit_{kind}_b_ci"] = plain(f"[{iv['b'][0]:.3f}, {iv['b'][1]:.3f}]")
        a, b = scaling_fit(scaling, kind, polar=True)
        out[f"muon_polar_fit_{kind}_a"] = plain(a, 3)
        out[f"muon_polar_fit_{kind}_b"] = plain(b, 3)
    ns_over_polar = scaling.muon / scaling.muon_polar
    out["muon_ns_polar_min"] = plain(float(ns_over_polar.min()), 3)
    out["muon_ns_polar_max"] = plain(float(ns_over_polar.max()), 3)
    out["muon_gd_spread"] = plain(float(scaling.gd.max() / scaling.gd.min() - 1), 2)
    lr = scaling.muon / scaling.gd
    out["muon_lr_ratio_min"] = plain(float(lr.min()), 2)
    out["muon_lr_ratio_max"] = plain(float(lr.max()), 2)
    by_id = {ev.claim.id: ev for ev in evaluations}
    out["muon_bounded_slack"] = plain(f"{100 * by_id['muon-bounded'].main.slack:.3g}%")
    at = bounded.gd_diverged_at
    above = bounded.muon_max_ratio > 1.0
    out["muon_above_d0"] = plain(int(above.sum()))
    out["muon_above_d0_cases"] = plain(int(above.size))
    for k, mu in enumerate(bounded.multiples):
        key = str(mu).replace(".", "_")
        out[f"muon_gd_div_at_{key}"] = plain(int(at[k][at[k] >= 0].max()) if (at[k] >= 0).any()
                                             else "never")
        out[f"muon_max_ratio_{key}"] = plain(float(bounded.muon_max_ratio[k].max()), 3)
    return out
