"""Claims of "Gradient Descent Monotonically Decreases the Sharpness of Gradient Flow Solutions
in Scalar Networks and Beyond" (Kreisler, Nacson, Soudry, Carmon, arXiv 2305.13064, ICML 2023)
and their checks.

Provenance (see ``NOTES.md``): only the abstract and the opening of the introduction were
readable (v1; the theorem statements and hypotheses were found in no stored copy). The pair
identity, the conservation of balances and
the GFS-sharpness formula are DERIVED here (sympy), not transcribed; the paper's theorem
numbers and hypotheses are not cited because we have not seen them. The run scope of the
monotonicity check (whole runs started just above the edge, every step) and the 2% band of
the edge claim are ours.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from boundbook.core.chapter import Chapter
from boundbook.core.claims import Claim, Mutation, Outcome, Source, Tolerance

PAPER = "2305.13064"

IDENTITY_TOL = Tolerance(1e-10, "float64 rounding of the squared weights is ~1e-15 of their "
                         "size; 1e-10 leaves five orders of margin, while a 10% change of the "
                         "factor shows as >= 1e-3 on the edge-of-stability steps")
INCREASE_TOL = Tolerance(1e-9, "relative increase allowed between consecutive GFS "
                         "sharpnesses: the root-find (bisection + Newton, float64) is exact to "
                         "~1e-15, so anything above 1e-9 is a real increase")
BAND = Tolerance(0.02, "ours (not the paper's): 'just below 2/eta' read as within 2% below, "
                 "fixed before measuring; the final point must also be a minimum "
                 "(|r| <= 1e-8)")


def _sympy_ok(m: Mapping[str, Any]) -> bool:
    return (all(m["sympy"].values()) and m["sympy_generic"] and m["gfs_formula"]
            and all(m["hessian_formula"].values()))


def _identity_errors(m: Mapping[str, Any], coef: float) -> list[float]:
    out = []
    for b, b_next, q, scale in m["rows"]:
        err = abs(float(b_next) - float(b) * (1.0 - coef * float(q))) / float(scale)
        out.append(err if math.isfinite(err) else math.inf)
    return out


def _identity_outcome(m: Mapping[str, Any], coef: float, symbolic: bool, note: str) -> Outcome:
    errs = _identity_errors(m, coef)
    bad = sum(not e <= IDENTITY_TOL.value for e in errs)
    return Outcome(symbolic and bad == 0 and len(errs) > 0, 0.0, float(bad),
                   note=f"{bad} of {len(errs)} sampled steps off by more than "
                        f"{IDENTITY_TOL.value:g} (largest error {max(errs):.1e}){note}")


def check_identity(m: Mapping[str, Any], k: Mapping[str, Any]) -> Outcome:
    """The sympy proofs hold and no sampled GD step departs from the identity (coefficient
    ``coef``, 1 in the derivation) by more than IDENTITY_TOL. Measured: the number of steps
    that do."""
    symbolic = _sympy_ok(m)
    return _identity_outcome(m, k["coef"], symbolic,
                             f"; all steps at coefficient 1: largest error "
                             f"{float(m['max_error_all_steps']):.0e}; sympy: "
                             f"{'all exact' if symbolic else 'FAILED'}")


def control_identity(m: Mapping[str, Any], k: Mapping[str, Any]) -> Outcome:
    """The same comparison with eta -> 1.1 eta in the factor (coefficient x 1.21)."""
    return _identity_outcome(m, 1.21 * k["coef"], True, "; factor with 1.1 eta")


SQRT2 = math.sqrt(2.0)
CONTROL_BAND = 1.1
"""The control's runs: depth 2, started with eta |r_0| in (sqrt 2, 1.1 sqrt 2], just past the
derived edge at which the first step's balance factor 1 - eta^2 r_0^2 drops below -1."""


def _runs_outcome(runs: list[Mapping[str, Any]], factor: float, label: str,
                  m: Mapping[str, Any]) -> Outcome:
    """Every step of every selected run obeys S_{t+1} <= factor S_t (relative tolerance
    INCREASE_TOL). ``measured``: the largest relative change (S_{t+1} - S_t)/S_t. No ``slack``:
    a monotonicity statement has no scale against which a margin could be called small (a run
    that converges changes its sharpness by vanishing amounts, so any margin would read as
    "tight" by construction)."""
    n = len(runs)
    worst = max((float(r["max_change"]) for r in runs), default=math.inf)
    bad = sum(float(r["max_change"]) - (factor - 1.0) > INCREASE_TOL.value for r in runs)
    steps = sum(int(r["steps"]) for r in runs)
    ok = n > 0 and worst - (factor - 1.0) <= INCREASE_TOL.value
    return Outcome(ok, 0.0, worst,
                   note=f"{label}: {bad} of {n} runs ({steps} steps) have a step with "
                        f"S_(t+1) > {factor:g} S_t (largest relative change {worst:.1e}); "
                        f"excluded, outside the GFS formula's domain: {m['saddle_steps']} "
                        f"steps ending at a saddle, {m['nonfinite_steps']} non-finite")


def check_monotone(m: Mapping[str, Any], k: Mapping[str, Any]) -> Outcome:
    """Along every run of the group ``k["runs"]`` (whole runs, every step: no per-step scope),
    the GFS sharpness never rises: S_{t+1} <= factor S_t, factor = 1."""
    runs = [r for r in m["runs"] if r["group"] == k["runs"]]
    return _runs_outcome(runs, float(k["factor"]), f"{k['runs']} runs", m)


def control_monotone(m: Mapping[str, Any], k: Mapping[str, Any]) -> Outcome:
    """The same check on the same model just past the derived per-step edge: the depth-2 runs
    started with eta |r_0| in (sqrt 2, CONTROL_BAND sqrt 2] (any group)."""
    runs = [r for r in m["runs"] if r["depth"] == 2
            and SQRT2 < float(r["eta_r0"]) <= CONTROL_BAND * SQRT2]
    return _runs_outcome(runs, float(k["factor"]),
                         f"depth-2 runs with eta|r0| in (sqrt2, {CONTROL_BAND:g} sqrt2]", m)


def check_edge(m: Mapping[str, Any], k: Mapping[str, Any]) -> Outcome:
    """Every edge run converged (final |r| <= converged_tol) to a point whose Hessian
    sharpness lies in [(1 - band) two/eta, two/eta]: the criterion, fixed before the runs.
    A threshold claim: ``slack`` is the offset worst/edge - 1 of the final sharpness farthest
    from 2/eta."""
    edge = k["two"] / float(m["eta"])
    final = [float(x) for x in m["final_sharpness"]]
    lo, hi = (1.0 - k["band"]) * edge, edge * (1.0 + 1e-9)
    inside = [lo <= x <= hi for x in final]
    worst = max(final, key=lambda x: abs(x - edge))
    conv = sum(bool(c) for c in m["converged"])
    ok = all(inside) and conv == len(final)
    return Outcome(ok, edge, worst, slack=worst / edge - 1.0,
                   note=f"{conv} of {len(final)} runs converged; {sum(inside)} end in "
                        f"[{lo:.3f}, {edge:.3f}]; final sharpness {min(final):.4f} to "
                        f"{max(final):.4f}")


def control_edge(m: Mapping[str, Any], k: Mapping[str, Any]) -> Outcome:
    """The same band around an edge 5% higher (2.1/eta)."""
    return check_edge(m, {**k, "two": 1.05 * k["two"]})


def _src(where: str) -> Source:
    return Source(PAPER, where, version="v1", bibkey="kreisler2023gfs")


CLAIMS = (
    Claim(
        id="gfs-identity",
        title="one GD step multiplies every balance w_i^2 - w_k^2 by 1 - eta^2 r^2 pi^2/"
              "(w_i^2 w_k^2)",
        statement=r"(w_i^+)^2 - (w_k^+)^2 = (w_i^2 - w_k^2)\left(1 - "
                  r"\frac{\eta^2 r^2 \pi^2}{w_i^2 w_k^2}\right),\quad "
                  r"D = 2:\ c^+ = c\,(1 - \eta^2 r^2)",
        source=_src("abstract only (scalar networks, GFS sharpness); identity derived here, "
                    "its location in the paper not found in v1"),
        family="stable-step",
        kind="identity",
        provenance="derived",
        constants={"coef": 1.0},
        check=check_identity, control=control_identity,
        control_label="factor with eta -> 1.1 eta",
        tolerance=IDENTITY_TOL,
        mutations=(Mutation("coef", 1.1, "eta^2 r^2 -> 1.1 eta^2 r^2"),
                   Mutation("coef", 0.9, "eta^2 r^2 -> 0.9 eta^2 r^2")),
        paper_reports="not transcribed; the abstract's monotonicity result for scalar "
                      "networks rests on how GD changes the balances (our derivation)",
        heading="One GD step rescales every balance (derived here)",
        prf="proposition",
        text=r"""
For every pair $i \ne k$, one GD step gives
$(w_i^+)^2 - (w_k^+)^2 = (w_i^2 - w_k^2)\bigl(1 - \eta^2 r^2 \pi^2/(w_i^2 w_k^2)\bigr)$;
for $D = 2$, with $c = w_1^2 - w_2^2$: $c^+ = c\,(1 - \eta^2 r^2)$. Gradient flow keeps every
balance $w_i^2 - w_k^2$ fixed, so the GFS is the point of $\pi = 1$ with the current balances,
and its sharpness is $\sum_i 1/w_i^2$ there ($\sqrt{c^2 + 4}$ for $D = 2$). Not transcribed
from the paper (arXiv:2305.13064); consistent with its abstract.
""",
    ),
    Claim(
        id="gfs-monotone",
        title="GD never increases the GFS sharpness along a run started just above the edge "
              "(whole runs, every step)",
        statement=r"S_{\mathrm{GFS}}(w_{t+1}) \le S_{\mathrm{GFS}}(w_t)\ \forall t,\ "
                  r"\text{every run with } S_{\mathrm{GFS}}(w_0) \in (2/\eta,\ 1.01\cdot "
                  r"2/\eta],\ |r_0| \le 0.01",
        source=_src("abstract only ('we prove that the GFS sharpness decreases "
                    "monotonically'); theorem number and hypotheses not found in v1; run "
                    "scope ours"),
        family="stable-step",
        kind="bound",
        provenance="paper",
        constants={"factor": 1.0, "runs": "edge"},
        check=check_monotone, control=control_monotone,
        control_label="same check, depth-2 runs started with eta|r0| just past sqrt 2",
        tolerance=INCREASE_TOL,
        mutations=(Mutation("factor", 0.999, "S_(t+1) <= S_t -> S_(t+1) <= 0.999 S_t"),
                   Mutation("runs", "main", "runs: edge starts -> the whole main grid")),
        paper_reports="theorem for scalar networks with the squared loss (abstract only: "
                      "hypotheses and theorem number not read); observed also in a squared "
                      "regression model and practical architectures",
        digits=3,
        heading="GD monotonically decreases the GFS sharpness (abstract; run scope ours)",
        prf="theorem",
        text=r"""
For scalar networks with the squared loss, the GFS sharpness decreases monotonically along GD
(arXiv:2305.13064, abstract only: "we prove that the GFS sharpness decreases monotonically").
The theorem's hypotheses (initialisation, step size, depth) were not found in any stored copy
of the paper. The abstract uses the result to show that GD "provably converges to the EoS", so
the starts it is built for include starts just above the edge near the minimum manifold: we test
the statement on *every step* of every such run (GFS sharpness in $(2/\eta, 1.01\cdot 2/\eta]$,
$|r_0| \le 0.01$; the run scope is ours, fixed before the runs), with no condition on the steps.
Runs outside that scope whose GFS sharpness rose are reported as data, not as a verdict on the
theorem. Negative control: the same check on depth-2 runs started with $\eta|r_0|$ just past
$\sqrt 2$, where the first step's balance factor is below $-1$.
""",
    ),
    Claim(
        id="gfs-converges-to-edge",
        builds_on=("gdq-critical-step",),
        title="started just above 2/eta, GD converges to a minimum with sharpness just below "
              "2/eta",
        statement=r"S_{\mathrm{GFS}}(w_0) \in (2/\eta,\ 1.01\cdot 2/\eta],\ |r_0| = 0.01"
                  r"\ \Rightarrow\ \lambda_{\max}(\nabla^2 L(w_\infty)) \in "
                  r"[0.98\cdot 2/\eta,\ 2/\eta]",
        source=_src("abstract only ('we characterize settings where GD provably converges "
                    "to the EoS'); conditions not found in v1; band and setting ours"),
        family="stable-step",
        kind="threshold",
        provenance="paper",
        constants={"two": 2.0, "band": 0.02},
        check=check_edge, control=control_edge,
        control_label="band around 2.1/eta",
        tolerance=BAND,
        mutations=(Mutation("two", 2.2, "2/eta -> 2.2/eta"),
                   Mutation("two", 1.8, "2/eta -> 1.8/eta")),
        paper_reports="GD provably converges to the edge of stability in some settings of "
                      "scalar networks (abstract only; conditions not read)",
        digits=4,
        heading="Convergence to the edge of stability (abstract; setting and band ours)",
        prf="theorem",
        text=r"""
The abstract states that the result "characterize[s] settings where GD provably converges to
the EoS in scalar networks" (arXiv:2305.13064). We test one such setting of our choosing: GFS
sharpness at most 1% above $2/\eta$ and initial residual $|r_0| = 0.01$; GD must converge to a
minimum whose sharpness lies within 2% below $2/\eta$ (the band is ours, fixed before the
runs). A threshold claim: the check's criterion is convergence ($|r| \le 10^{-8}$) of every
run into that band; its slack is the offset of the final sharpness farthest from $2/\eta$.
""",
    ),
)

CHAPTER = Chapter(
    slug="gfs_sharpness",
    title="GD decreases the sharpness of the gradient-flow solution",
    paper=PAPER,
    claims=CLAIMS,
    memory_gib={"quick": 1.0, "full": 4.0},
    cpu_only="scalar networks of 2-4 parameters in float64, where a GPU gives nothing",
)
