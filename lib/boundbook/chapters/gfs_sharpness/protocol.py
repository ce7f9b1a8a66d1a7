"""Protocol of the chapter gfs_sharpness: settings per mode, the measurement contract, the
measurement dictionary each claim reads, and the numbers the chapter's tables and closing prose
quote."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from boundbook.chapters.gfs_sharpness.claims import INCREASE_TOL
from boundbook.core.display import claim_findings, markdown_table, plain

if TYPE_CHECKING:
    from boundbook.chapters.gfs_sharpness.experiment import StepTable
    from boundbook.core.claims import Evaluation


@dataclass(frozen=True)
class GFSSettings:
    mode: str
    seed: int
    eta: float
    """Constant GD step size of every run (the edge is 2/eta)."""
    depths: tuple[int, ...]
    """Depths D of the scalar networks f(w) = w_1 ... w_D (one batch each)."""
    sharpness0: tuple[float, ...]
    """Initial sharpnesses S_0 of the gradient-flow solution (GFS), main grid of starts."""
    residual0: tuple[float, ...]
    """Initial residuals r_0 = prod(w) - 1 of the main grid of starts."""
    edge_multiples: tuple[float, ...]
    """GFS sharpnesses of the edge runs, as multiples of 2/eta."""
    edge_residual0: tuple[float, ...]
    """Initial residuals r_0 of the edge runs (small, near the minimum manifold)."""
    breakdown_sharpness0: tuple[float, ...]
    """Initial GFS sharpnesses S_0 of the breakdown runs."""
    breakdown_eta_r0: tuple[float, ...]
    """Initial eta*r_0 of the breakdown runs (starts far from the manifold)."""
    steps: int
    """GD steps per run."""


def settings(mode: str, seed: int) -> GFSSettings:
    """Quick: the brief's grid (GFS sharpness 4..20, depth 2 and 4, eta = 0.25). Full: a denser
    grid and longer runs. The model is deterministic; ``seed`` only enters the record."""
    if mode == "quick":
        return GFSSettings(mode, seed, eta=0.25, depths=(2, 4),
                           sharpness0=(4.0, 6.0, 8.0, 10.0, 12.0, 14.0, 16.0, 20.0),
                           residual0=(-0.5, -0.01, 0.01, 0.5),
                           edge_multiples=(1.0025, 1.005, 1.0075, 1.01),
                           edge_residual0=(-0.01, 0.01),
                           breakdown_sharpness0=(4.0, 8.0, 12.0),
                           breakdown_eta_r0=(0.3, 0.6, 0.9, 1.2, 1.45, 1.5, 1.75, 2.0),
                           steps=3000)
    return GFSSettings(mode, seed, eta=0.25, depths=(2, 3, 4),
                       sharpness0=tuple(float(x) for x in np.linspace(4.0, 20.0, 33)),
                       residual0=(-0.5, -0.1, -0.01, 0.01, 0.1, 0.5),
                       edge_multiples=(1.001, 1.0025, 1.005, 1.0075, 1.01),
                       edge_residual0=(-0.01, -0.001, 0.001, 0.01),
                       breakdown_sharpness0=(4.0, 6.0, 8.0, 10.0, 12.0),
                       breakdown_eta_r0=tuple(float(x) for x in np.linspace(0.15, 2.55, 25)),
                       steps=12000)


READS: dict[str, tuple[str, ...]] = {
    "gfs-converges-to-edge": ("converged", "converged_tol", "depth", "edge", "eta",
        "final_sharpness", "sharpness0"),
    "gfs-identity": ("gfs_formula", "hessian_formula", "max_error_all_steps", "rows", "sympy",
        "sympy_generic"),
    "gfs-monotone": ("nonfinite_steps", "runs", "saddle_steps"),
}
"""The measurement contract: claim id -> the keys of its measurement dictionary that its
check and control read (:func:`boundbook.core.ledger.report` refuses any other)."""


def measurements(*, identity_sympy: dict[int, bool], identity_generic: bool,
                 gfs_formula: bool, hessian_formula: dict[int, bool],
                 identity: list[list[float]], identity_max_error: float,
                 runs_monotone: dict[str, Any], edge: dict[str, Any]
                 ) -> dict[str, dict[str, Any]]:
    """The measurement dictionary of every claim, keyed by claim id."""
    return {
        "gfs-identity": {"sympy": {str(k): bool(v) for k, v in identity_sympy.items()},
                         "sympy_generic": bool(identity_generic),
                         "gfs_formula": bool(gfs_formula),
                         "hessian_formula": {str(k): bool(v) for k, v in hessian_formula.items()},
                         "rows": identity, "max_error_all_steps": float(identity_max_error)},
        "gfs-monotone": runs_monotone,
        "gfs-converges-to-edge": edge,
    }


def outcome_markdown(outcomes: Sequence[dict[str, Any]]) -> str:
    """Table: one row per main-grid run (:func:`.experiment.outcome_table`)."""
    rows = [(o["depth"], o["sharpness0"], o["residual0"],
             "diverged" if o["diverged"] else "converged", o["monotone"], o["max_eta_r"],
             o["final_sharpness"] if not o["diverged"] else "-") for o in outcomes]
    return markdown_table(rows, ["depth", "S_0", "r_0", "GD", "GFS sharpness monotone",
                                 "max η\\|r\\|", "final sharpness"], digits=4)


def scope_markdown(monotone: dict[str, Any], bounds: Sequence[str] = ("1.0", "1.1", "1.25", "1.5")
                   ) -> str:
    """Table: steps and GFS-sharpness rises per scope of the pair factors, and outside [-1, 1]."""
    scopes = [(f"[-{b}, {b}]", monotone["steps"][b], monotone["increasing_steps"][b],
               monotone["max_increase"][b]) for b in bounds]
    scopes.append(("outside [-1, 1]", monotone["outside"]["steps"],
                   monotone["outside"]["increasing_steps"], monotone["outside"]["max_increase"]))
    return markdown_table(scopes, ["steps whose factors lie in", "steps",
                                   "raise the GFS sharpness", "largest relative rise"])


def rising_runs_markdown(runs_monotone: dict[str, Any], scope: str = "edge") -> str:
    """Table: every run outside the claim's run scope whose GFS sharpness rose at some step
    (data on where the abstract's statement stops holding; the theorem's hypotheses were not
    read, so these are not a verdict on it)."""
    rows = [(r["group"], r["depth"], r["sharpness0"], r["residual0"], r["eta_r0"],
             "diverged" if r["diverged"] else "converged", r["rising_steps"], r["first_rise"],
             r["max_change"])
            for r in runs_monotone["runs"] if r["group"] != scope and r["rising_steps"] > 0]
    return markdown_table(rows, ["group", "depth", "S_0", "r_0", "η\\|r_0\\|", "GD",
                                 "rising steps", "first", "largest relative rise"])


def edge_markdown(edge: dict[str, Any]) -> str:
    """Table: the edge runs (:func:`.experiment.edge_summary`), final Hessian sharpness."""
    rows = [(d, s, c, f) for d, s, c, f in zip(edge["depth"], edge["sharpness0"],
                                                edge["converged"], edge["final_sharpness"],
                                                strict=True)]
    return markdown_table(rows, ["depth", "S_0", "converged", "final sharpness"], digits=5)


def steepest_rises(table: StepTable, count: int = 6) -> str:
    """Table: the ``count`` steps with a pair factor below -1 that raised the GFS sharpness
    most (the monotonicity control's data)."""
    out = np.flatnonzero((table.factor_min < -1) & np.isfinite(table.rel_increase))
    top = out[np.argsort(-table.rel_increase[out])][:count]
    rows = [(table.depth[i], table.step[i], table.eta_r[i], table.factor_min[i],
             table.rel_increase[i]) for i in top]
    return markdown_table(rows, ["depth", "step", "η\\|r\\|", "smallest factor",
                                 "relative rise of GFS sharpness"])


def findings(evaluations: Sequence[Evaluation], outcomes: Sequence[dict[str, Any]],
             edge: dict[str, Any], monotone: dict[str, Any], table: StepTable,
             runs_monotone: dict[str, Any]) -> dict[str, Any]:
    """Numbers quoted in the chapter's closing prose (quote-free text for ``glue``)."""
    out: dict[str, Any] = dict(claim_findings(evaluations))
    by_id = {ev.claim.id: ev for ev in evaluations}
    rr = runs_monotone["runs"]
    scoped = [r for r in rr if r["group"] == "edge"]
    out["gfs_scope_runs"] = plain(len(scoped))
    out["gfs_scope_steps"] = plain(sum(r["steps"] for r in scoped))
    out["gfs_monotone_largest_change"] = plain(f"{by_id['gfs-monotone'].main.measured:.1e}")
    outside = [r for r in rr if r["group"] != "edge"]
    rising = [r for r in outside if r["rising_steps"] > 0]
    out["gfs_outside_runs"] = plain(len(outside))
    out["gfs_outside_rising_runs"] = plain(len(rising))
    out["gfs_outside_rising_diverged"] = plain(sum(r["diverged"] for r in rising))
    out["gfs_outside_rising_converged"] = plain(sum(not r["diverged"] for r in rising))
    ctrl = [r for r in rr if r["depth"] == 2 and math.sqrt(2) < r["eta_r0"] <= 1.1 * math.sqrt(2)]
    out["gfs_control_runs"] = plain(len(ctrl))
    out["gfs_control_rising"] = plain(sum(r["rising_steps"] > 0 for r in ctrl))
    out["gfs_edge_slack"] = plain(f"{100 * by_id['gfs-converges-to-edge'].main.slack:+.2f}%")
    edge_val = edge["edge"]
    out["gfs_edge"] = plain(edge_val)
    above = [o for o in outcomes if o["sharpness0"] > edge_val]
    conv = [o for o in above if not o["diverged"]]
    out["gfs_above_runs"] = plain(len(above))
    out["gfs_above_diverged"] = plain(len(above) - len(conv))
    out["gfs_above_converged"] = plain(len(conv))
    gaps = [edge_val - o["final_sharpness"] for o in conv]
    out["gfs_above_max_gap"] = plain(max(gaps) if gaps else math.nan)
    out["gfs_above_min_final"] = plain(min(o["final_sharpness"] for o in conv) if conv
                                       else math.nan)
    nonmono = [o for o in outcomes if not o["diverged"] and not o["monotone"]]
    out["gfs_converged_nonmonotone"] = plain(len(nonmono))
    out["gfs_nonmonotone_example"] = plain(
        ", ".join(f"depth {o['depth']}, S0 = {o['sharpness0']:g}, r0 = {o['residual0']:g}"
                  for o in nonmono) or "none")
    div = sorted({(o["depth"], o["sharpness0"]) for o in outcomes if o["diverged"]})
    out["gfs_diverged_inits"] = plain("; ".join(f"depth {d}, S0 = {s:g}" for d, s in div)
                                      or "none")
    mirror = [(s0 - edge_val) / (edge_val - f)
              for s0, f in zip(edge["sharpness0"], edge["final_sharpness"], strict=True)]
    out["gfs_mirror_ratio_min"] = plain(min(mirror), 2)
    out["gfs_mirror_ratio_max"] = plain(max(mirror), 2)
    out["gfs_outside_steps"] = plain(monotone["outside"]["steps"])
    out["gfs_outside_increasing"] = plain(monotone["outside"]["increasing_steps"])
    out["gfs_inside_steps"] = plain(monotone["steps"]["1.0"])
    out4 = (table.depth == 4) & ((table.factor_min < -1.0) | (table.factor_max > 1.0)) \
        & np.isfinite(table.rel_increase)
    out["gfs_outside_d4_steps"] = plain(int(out4.sum()))
    out["gfs_outside_d4_nonincreasing"] = plain(int((table.rel_increase[out4]
                                                     <= INCREASE_TOL.value).sum()))
    out["gfs_inside_max_change"] = plain(f"{monotone['max_increase']['1.0']:.0e}")
    out["gfs_identity_max_error"] = plain(f"{float(np.max(table.identity_error)):.0e}")
    return out
