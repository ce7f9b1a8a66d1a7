"""Claims of "Gradient Descent Monotonically Decreases the Sharpness of Gradient Flow Solutions
in Scalar Networks and Beyond" (Kreisler, Nacson, Soudry, Carmon, arXiv 2305.13064, ICML 2023)
and their checks.

Provenance (see ``NOTES.md``): only the abstract and the opening of the introduction were
readable. The pair identity, the conservation of balances and
the GFS-sharpness formula are DERIVED here (sympy), not transcribed; the paper's theorem
numbers and hypotheses are not cited because we have not seen them. The scope of the
monotonicity check (steps whose balance factors lie in [-1, 1]) and the 2% band of the
edge claim are ours.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from boundbook.core.chapter import Chapter
from boundbook.core.claims import Claim, Mutation, Outcome, Source, Tolerance, is_tight

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


def _increase(m: Mapping[str, Any], k: Mapping[str, Any]) -> tuple[float, int, int]:
    if k["scope"] == "outside":
        o = m["outside"]
        return float(o["max_increase"]), int(o["steps"]), int(o["increasing_steps"])
    key = str(float(k["factor_bound"]))
    return (float(m["max_increase"][key]), int(m["steps"][key]),
            int(m["increasing_steps"][key]))


def check_monotone(m: Mapping[str, Any], k: Mapping[str, Any]) -> Outcome:
    """No step in scope raises the GFS sharpness by more than INCREASE_TOL (relative).
    Measured: the number of steps that do."""
    worst, n, bad = _increase(m, k)
    scope = ("steps with a pair factor outside [-1, 1]" if k["scope"] == "outside"
             else f"steps with all pair factors in [-{k['factor_bound']:g}, "
                  f"{k['factor_bound']:g}]")
    return Outcome(n > 0 and worst <= INCREASE_TOL.value, 0.0, float(bad),
                   note=f"{bad} of {n} {scope} raise the GFS sharpness (largest relative "
                        f"change {worst:.0e}); excluded from the count, outside the GFS "
                        f"formula's domain: {m.get('saddle_steps', 0)} steps ending at a "
                        f"saddle, {m.get('nonfinite_steps', 0)} non-finite")


def control_monotone(m: Mapping[str, Any], k: Mapping[str, Any]) -> Outcome:
    return check_monotone(m, {**k, "scope": "outside"})


def check_edge(m: Mapping[str, Any], k: Mapping[str, Any]) -> Outcome:
    """Every edge run converged to a point whose Hessian sharpness lies in
    [(1 - band) two/eta, two/eta]."""
    edge = k["two"] / float(m["eta"])
    final = [float(x) for x in m["final_sharpness"]]
    lo, hi = (1.0 - k["band"]) * edge, edge * (1.0 + 1e-9)
    inside = [lo <= x <= hi for x in final]
    worst = max(final, key=lambda x: abs(x - edge))
    conv = sum(bool(c) for c in m["converged"])
    ok = all(inside) and conv == len(final)
    return Outcome(ok, edge, worst, tight=ok and is_tight(worst, edge),
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
        source=_src("abstract (scalar networks, GFS sharpness); identity derived here"),
        family="stable-step",
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
        title="GD never increases the GFS sharpness (steps with every balance factor in "
              "[-1, 1])",
        statement=r"S_{\mathrm{GFS}}(w_{t+1}) \le S_{\mathrm{GFS}}(w_t)\ \text{whenever}\ "
                  r"\left|1 - \eta^2 r_t^2 \pi_t^2/(w_{t,i}^2 w_{t,k}^2)\right| \le 1"
                  r"\ \forall i<k",
        source=_src("abstract ('we prove that the GFS sharpness decreases monotonically'); "
                    "scope derived here"),
        family="stable-step",
        constants={"factor_bound": 1.0, "scope": "inside"},
        check=check_monotone, control=control_monotone,
        control_label="same check on the steps with a factor outside [-1, 1]",
        tolerance=INCREASE_TOL,
        mutations=(Mutation("factor_bound", 1.1, "scope [-1, 1] -> [-1.1, 1.1]"),
                   Mutation("factor_bound", 1.25, "scope [-1, 1] -> [-1.25, 1.25]")),
        paper_reports="theorem for scalar networks with the squared loss (hypotheses not "
                      "transcribed); observed also in a squared regression model and "
                      "practical architectures",
        digits=3,
        heading="GD monotonically decreases the GFS sharpness (abstract)",
        prf="theorem",
        text=r"""
For scalar networks with the squared loss, the GFS sharpness decreases monotonically along GD
(arXiv:2305.13064, abstract: "we prove that the GFS sharpness decreases monotonically"). The
theorem's hypotheses are not transcribed. We test the statement on every GD step at which no
balance grows in magnitude, i.e. every factor $1 - \eta^2 r^2 \pi^2/(w_i^2 w_k^2)$ lies in
$[-1, 1]$ (our scope; for $D = 2$ it reads $\eta |r| \le \sqrt 2$), and measure separately
what happens outside it.
""",
    ),
    Claim(
        id="gfs-converges-to-edge",
        title="started just above 2/eta, GD converges to a minimum with sharpness just below "
              "2/eta",
        statement=r"S_{\mathrm{GFS}}(w_0) \in (2/\eta,\ 1.01\cdot 2/\eta],\ |r_0| = 0.01"
                  r"\ \Rightarrow\ \lambda_{\max}(\nabla^2 L(w_\infty)) \in "
                  r"[0.98\cdot 2/\eta,\ 2/\eta]",
        source=_src("abstract ('we characterize settings where GD provably converges to the "
                    "EoS'); band and setting ours"),
        family="stable-step",
        constants={"two": 2.0, "band": 0.02},
        check=check_edge, control=control_edge,
        control_label="band around 2.1/eta",
        tolerance=BAND,
        mutations=(Mutation("two", 2.2, "2/eta -> 2.2/eta"),
                   Mutation("two", 1.8, "2/eta -> 1.8/eta")),
        paper_reports="GD provably converges to the edge of stability in some settings of "
                      "scalar networks (conditions not transcribed)",
        digits=4,
        heading="Convergence to the edge of stability (abstract; setting and band ours)",
        prf="theorem",
        text=r"""
The abstract states that the result "characterize[s] settings where GD provably converges to
the EoS in scalar networks" (arXiv:2305.13064). We test one such setting of our choosing: GFS
sharpness at most 1% above $2/\eta$ and initial residual $|r_0| = 0.01$; GD must converge to a
minimum whose sharpness lies within 2% below $2/\eta$ (the band is ours, fixed before the
runs).
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
