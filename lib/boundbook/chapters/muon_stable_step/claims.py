"""Claims of "Spectral Flattening Is All Muon Needs: How Orthogonalization Controls Learning Rate
and Convergence" (Nguyen, Nguyen, Truong, Nguyen, Bailey, Le; arXiv 2605.13079) and their
checks.

Provenance (see ``NOTES.md``): abstract only (the only text of arXiv:2605.13079v1 in the
stored copies searched). The paper's theorem, its definition of "maximal
stable step size" for a fixed-length update, and whether "average singular value" divides the
nuclear norm by the rank or by min(m, n) were not available. The model (matrix least squares),
the notion of stability tested (one-step descent for Muon, linear stability for GD), the
sufficient step :math:`2\\bar\\sigma/\\lambda_{\\max}` and the ceiling on iterated Muon are
DERIVED here (:mod:`boundbook.chapters.muon_stable_step.derivation`); the chapter says so
wherever it states them. Thresholds are compared as dimensionless numbers
(:math:`\\eta_1\\lambda r/\\|G\\|_*`, fitted exponents), so no bound formula is typed twice.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from boundbook.core.chapter import Chapter
from boundbook.core.claims import (
    Claim,
    Mutation,
    Outcome,
    Source,
    Tolerance,
    relative_slack,
)

PAPER = "2605.13079"

DESCENT_TOL = Tolerance(1e-9, "bisection on float64 losses locates the threshold to ~1e-14 "
                        "relative; 1e-9 is rounding, a 10% change of the constant is caught")
EXPONENT_TOL = Tolerance(0.15, "fitted log-log exponents, ±0.15 (our reading notes' recipe, fixed "
                         "before measuring); the alternative (sigma_1-scaling) differs by 1")
BOUNDED = Tolerance(0.0, "GD: the sweep harness's divergence (excess loss > 1e6 x initial "
                    "within the horizon); Muon: the same criterion plus our derived ceiling "
                    "max(Delta_0, c B(eta)), c = 1, compared exactly")


def _normalised(m: Mapping[str, Any], k: Mapping[str, Any]) -> list[float]:
    """eta_1 * lambda * r / ||G||_* per instance, with the claim's conventions (r = rank or
    min(n, m); lambda = largest or mean eigenvalue of X^T X); the bound says >= two."""
    lam = m["lambda_max"] if k["curvature"] == "max" else m["lambda_mean"]
    out = []
    for thr, nu, r, lm in zip(m["threshold"], m["nuclear"], m["rank"], lam, strict=True):
        rr = float(r) if k["average"] == "rank" else float(m["p"])
        out.append(float(thr) * float(lm) * rr / float(nu))
    return out


def check_descent(m: Mapping[str, Any], k: Mapping[str, Any]) -> Outcome:
    """Every measured one-step threshold is at least the sufficient step (normalised: >= two).
    A lower bound on the threshold: ``slack`` is the worst relative margin
    ``(measured - bound)/bound`` over the generic and anisotropic instances (not constructed to
    attain equality), ``equality`` the worst margin on the constructed case X^T X = lambda I."""
    vals = _normalised(m, k)
    two = float(k["two"])
    margins = [relative_slack(two, v, upper=False) for v in vals]
    iso = [x for x, kind in zip(margins, m["kind"], strict=True) if kind == "isotropic"]
    free = [x for x, kind in zip(margins, m["kind"], strict=True) if kind != "isotropic"]
    ok = all(m["sympy"].values()) and min(margins) >= -DESCENT_TOL.value
    slack = min(free) if free else None
    equality = min(iso) if iso else None
    return Outcome(ok, two, min(vals), slack=slack, equality=equality,
                   note=f"{len(vals)} instances ({len(iso)} with X^T X = lambda I); "
                        f"eta_1 lambda r/||G||_* ranges {min(vals):.6f} to {max(vals):.3f}; "
                        f"worst margin {_pct(slack)} on the {len(free)} instances not "
                        f"constructed for equality, {_pct(equality)} on the equality case")


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:+.3g}%"


def control_descent(m: Mapping[str, Any], k: Mapping[str, Any]) -> Outcome:
    """The same check for 1.1 times the sufficient step."""
    return check_descent(m, {**k, "two": 1.1 * float(k["two"])})


def fit_exponents(muon: Sequence[Any], gd: Sequence[Any], sigma_bar: Sequence[Any],
                  sigma1: Sequence[Any], kinds: Sequence[str], kind: str
                  ) -> tuple[float, float, int]:
    """Least squares log(eta*_Muon / eta*_GD) = a log sigma_bar + b log sigma_1 + c over the
    instances whose curvature kind is ``kind``; returns ``(a, b, number of instances)``. The
    one implementation: the check fits the measurement dictionary, the chapter's tables and
    prose the experiment's arrays (:func:`.protocol.scaling_fit`)."""
    rows = [(math.log(float(mu) / float(g)), math.log(float(sb)), math.log(float(s1)))
            for mu, g, sb, s1, kk in zip(muon, gd, sigma_bar, sigma1, kinds, strict=True)
            if kk == kind]
    y = np.array([r[0] for r in rows])
    M = np.array([[r[1], r[2], 1.0] for r in rows])
    coef = np.linalg.lstsq(M, y, rcond=None)[0]
    return float(coef[0]), float(coef[1]), len(rows)


def _straddles(interval: Sequence[float], lo: float, hi: float) -> bool:
    """The interval crosses an edge of the acceptance band [lo, hi]."""
    i_lo, i_hi = float(interval[0]), float(interval[1])
    return (i_lo < lo <= i_hi) or (i_lo <= hi < i_hi)


def _scaling_outcome(m: Mapping[str, Any], a0: float, b0: float, kind: str,
                     label: str) -> Outcome:
    a, b, n = fit_exponents(m["muon"], m["gd"], m["sigma_bar"], m["sigma1"], m["kind"], kind)
    tol = EXPONENT_TOL.value
    ok = abs(a - a0) <= tol and abs(b - b0) <= tol
    iv = m["exponent_interval"][kind]
    undecided = (_straddles(iv["a"], a0 - tol, a0 + tol)
                 or _straddles(iv["b"], b0 - tol, b0 + tol))
    return Outcome(ok, a0, a, interval=(float(iv["a"][0]), float(iv["a"][1])),
                   undecided=undecided, slack=a / a0 - 1.0 if a0 else None,
                   note=f"{n} {kind} instances, rank fixed, Muon = Newton-Schulz (5 quintic "
                        f"steps); exponents (sigma_bar, sigma_1) = ({a:.3f}, {b:.3f}), 95% "
                        f"bootstrap over problems a in [{iv['a'][0]:.3f}, {iv['a'][1]:.3f}], "
                        f"b in [{iv['b'][0]:.3f}, {iv['b'][1]:.3f}]; {label} ({a0:g}, {b0:g}) "
                        f"+- {tol:g}")


def check_scaling(m: Mapping[str, Any], k: Mapping[str, Any]) -> Outcome:
    """Fitted exponents of sigma_bar and sigma_1 within EXPONENT_TOL of (a, b); ``muon`` is the
    one-step threshold of the Newton–Schulz update (not linear in ||G||_* by construction).
    ``undecided`` when the seeded bootstrap interval of either exponent crosses its band."""
    return _scaling_outcome(m, float(k["a"]), float(k["b"]), k["kind"], "predicted")


CONTROL_OFFSET = 2 * EXPONENT_TOL.value
"""The control's exponents of sigma_bar: a -+ 0.3, the nearest values the +-0.15 check must
reject with a margin of one tolerance."""


def control_scaling(m: Mapping[str, Any], k: Mapping[str, Any]) -> Outcome:
    """The same fit against the exponent of sigma_bar perturbed to a -+ CONTROL_OFFSET (b kept):
    passes (no power) if either perturbed pair is accepted."""
    outs = [_scaling_outcome(m, float(k["a"]) + s * CONTROL_OFFSET, float(k["b"]), k["kind"],
                             "perturbed") for s in (-1.0, 1.0)]
    hit = [o for o in outs if o.ok]
    pick = hit[0] if hit else min(outs, key=lambda o: abs(o.measured - o.predicted))
    return Outcome(bool(hit), pick.predicted, pick.measured, interval=pick.interval,
                   undecided=any(o.undecided for o in outs), note=pick.note)


def _rows(m: Mapping[str, Any], multiples: Any) -> list[int]:
    have = [float(x) for x in m["multiples"]]
    return [have.index(float(x)) for x in multiples]


def check_bounded(m: Mapping[str, Any], k: Mapping[str, Any]) -> Outcome:
    """At every multiple of GD's critical step: GD diverged on every problem, Muon did not
    (same criterion) and stayed under the ceiling max(Delta_0, c B(eta)), c = ``k["ceiling"]``.
    Measured: Muon's largest sup_t Delta_t / max(Delta_0, c B(eta)) (the ceiling ratio; <= 1)."""
    rows = _rows(m, k["multiples"])
    c = float(k["ceiling"])
    gd_div = all(all(bool(x) for x in m["gd_diverged"][i]) for i in rows)
    mu_max = max(float(x) for i in rows for x in m["muon_max_ratio"][i])
    ratio = max(float(peak) / max(1.0, c * float(b))
                for i in rows
                for peak, b in zip(m["muon_max_ratio"][i], m["ceiling_over_d0"][i],
                                   strict=True))
    ok = gd_div and mu_max <= float(m["blowup"]) and ratio <= 1.0 + 1e-12
    at = [max(int(x) for x in m["gd_diverged_at"][i]) for i in rows]
    return Outcome(ok, 1.0, ratio, slack=relative_slack(1.0, ratio, upper=True),
                   note=f"multiples {list(k['multiples'])} of 2/lambda_max: GD diverged on "
                        f"every problem: {gd_div} (by step {at}); Muon's largest "
                        f"sup_t Delta_t / max(Delta_0, {c:g} B(eta)): {ratio:.3g} (must be "
                        f"<= 1); largest sup_t Delta_t / Delta_0: {mu_max:.3g}")


def control_bounded(m: Mapping[str, Any], k: Mapping[str, Any]) -> Outcome:
    """The same test with the tighter ceiling Delta_0 alone (c = 0: 'Muon never raises the
    excess loss above its start'); fails iff Muon's excess loss ever exceeded Delta_0."""
    return check_bounded(m, {**k, "ceiling": 0.0})


MUTATION_EXEMPT_BOUNDED = (
    "c = 1 -> 0.9 changes the verdict only if Muon's peak excess loss comes within 10% of the "
    "ceiling max(Delta_0, B(eta)), i.e. only if the measured slack is below 0.10; B is a "
    "worst-case bound from ||G||_* >= sqrt(2 lambda_min Delta), loose by design, and the "
    "recorded slack (1 - the largest ceiling ratio) is far above 0.10, so this mutation "
    "survives; the ceiling's power is carried by the control (c = 0, Delta_0 alone), which "
    "Muon's data must fail")


def _src(where: str) -> Source:
    return Source(PAPER, where, version="v1", bibkey="nguyen2026muon")


CLAIMS = (
    Claim(
        id="muon-descent-step",
        builds_on=("gdq-critical-step",),
        title="eta < 2 sigma_bar/lambda_max guarantees that one Muon step decreases the loss "
              "(exact when X^T X = lambda I)",
        statement=r"\eta < \frac{2\bar\sigma}{\lambda_{\max}(X^\top X)},\ "
                  r"\bar\sigma = \frac{\|G\|_*}{\operatorname{rank} G}\ \Rightarrow\ "
                  r"L(W - \eta UV^\top) < L(W)",
        source=_src("abstract only ('maximal stable step size scales with the average "
                    "singular value'); the bound is derived here, not the paper's theorem"),
        family="stable-step",
        kind="bound",
        provenance="derived",
        constants={"two": 2.0, "average": "rank", "curvature": "max"},
        check=check_descent, control=control_descent,
        control_label="1.1 x the sufficient step",
        tolerance=DESCENT_TOL,
        mutations=(Mutation("two", 2.2, "2 -> 2.2"),
                   Mutation("average", "min", "sigma_bar = ||G||_*/min(n, m)"),
                   Mutation("curvature", "mean", "lambda_max -> mean eigenvalue")),
        paper_reports="Muon's maximal stable step scales with the average singular value of "
                      "the gradient (abstract only; theorem, constants and notion of "
                      "stability not read)",
        digits=6,
        heading="Sufficient step for Muon descent (derived here)",
        prf="proposition",
        text=r"""
For $L(W) = \tfrac12\|XW - Y\|_F^2$ with gradient $G = U\Sigma V^\top$ of rank $r$,
$\eta < 2\bar\sigma/\lambda_{\max}(X^\top X)$, $\bar\sigma = \|G\|_*/r$, implies
$L(W - \eta UV^\top) < L(W)$. The bound is attained when $X^\top X = \lambda_{\max} I$ (on the
column space of $U$). Our reconstruction of the abstract's first result (arXiv:2605.13079,
abstract only), not the paper's theorem. A one-sided sufficient condition: its slack is the
worst margin of the measured threshold over instances *not* constructed for equality.
""",
    ),
    Claim(
        id="muon-spectrum-scaling",
        title="Muon's (Newton-Schulz) threshold scales with the mean singular value, not the "
              "largest (rank fixed)",
        statement=r"\eta^*_{\mathrm{Muon}}/\eta^*_{\mathrm{GD}} \propto "
                  r"\bar\sigma^{\,a}\sigma_1^{\,b},\ (a, b) = (1, 0)",
        source=_src("abstract only ('scales with the average singular value of the gradient "
                    "rather than the largest, which bottlenecks standard gradient "
                    "descent'); test ours, on the 5-step Newton-Schulz update"),
        family="stable-step",
        kind="threshold",
        provenance="paper",
        monte_carlo=True,
        constants={"a": 1.0, "b": 0.0, "kind": "anisotropic"},
        check=check_scaling, control=control_scaling,
        control_label="same fit, exponent of sigma_bar perturbed to a -+ 0.3",
        tolerance=EXPONENT_TOL,
        mutations=(Mutation("a", 1.2, "exponent of sigma_bar 1 -> 1.2"),
                   Mutation("b", 0.2, "exponent of sigma_1 0 -> 0.2")),
        mutation_exempt="while the 95% bootstrap interval of a fitted exponent crosses the "
                        "+-0.15 band the check abstains (inconclusive) at the mutated "
                        "exponents too, so a mutation can change the verdict only once the "
                        "design pins the exponents to within the band; the recorded intervals "
                        "say whether it does",
        paper_reports="Muon's stable step ∝ mean singular value of the gradient; GD's "
                      "bottlenecked by the largest (abstract only; no numbers read)",
        digits=3,
        heading="Muon's stable step follows the mean singular value (abstract)",
        prf="theorem",
        text=r"""
"Muon's maximal stable step size scales with the average singular value of the gradient rather
than the largest, which bottlenecks standard gradient descent" (arXiv:2605.13079, abstract).
Test (ours): at fixed rank, with the gradient spectrum varied from flat to spiky and its top
singular value varied independently, the fitted exponents of
$\eta^*_{\mathrm{Muon}}/\eta^*_{\mathrm{GD}} \propto \bar\sigma^{a}\sigma_1^{b}$ are
$(a, b) = (1, 0)$ within $\pm 0.15$, where $\eta^*_{\mathrm{Muon}}$ is the one-step descent
threshold of the Newton–Schulz update $\mathrm{NS}_5(G)$ (anisotropic curvature), with a 95%
bootstrap interval over the problems. Negative control: the same fit against the exponent of
$\bar\sigma$ perturbed to $a \mp 0.3$ (twice the tolerance), which must be rejected.
""",
    ),
    Claim(
        id="muon-bounded",
        title="Muon stays bounded at step sizes where GD diverges within a few iterations",
        statement=r"\eta \in \{1.1, 2, 10\}\cdot\frac{2}{\lambda_{\max}}:\ "
                  r"\text{GD diverges},\ \sup_t \Delta^{\mathrm{Muon}}_t \le "
                  r"\max(\Delta_0, B(\eta))",
        source=_src("abstract only ('Muon remains stable at learning rates that cause SGD "
                    "to diverge within the first few iterations'); ceiling derived here"),
        family="stable-step",
        kind="bound",
        provenance="paper",
        constants={"multiples": (1.1, 2.0, 10.0), "ceiling": 1.0},
        check=check_bounded, control=control_bounded,
        control_label="same test, ceiling Delta_0 alone (c = 0)",
        tolerance=BOUNDED,
        mutations=(Mutation("multiples", (0.9, 2.0, 10.0), "lowest multiple 1.1 -> 0.9"),
                   Mutation("ceiling", 0.9, "ceiling constant c = 1 -> 0.9")),
        mutation_exempt=MUTATION_EXEMPT_BOUNDED,
        paper_reports="Muon remains stable at learning rates at which SGD diverges within "
                      "the first few iterations (abstract only; models and numbers not read)",
        digits=3,
        heading="Muon stays bounded where GD diverges (abstract; ceiling derived here)",
        prf="proposition",
        text=r"""
"Muon remains stable at learning rates that cause SGD to diverge within the first few
iterations" (arXiv:2605.13079, abstract). Test (ours): at $\eta = 1.1, 2, 10$ times GD's
critical step $2/\lambda_{\max}$, GD diverges while Muon's excess loss never exceeds
$\max(\Delta_0, c\,B(\eta))$, $c = 1$, $B(\eta) = \eta^2 p^2\lambda_{\max}^2/(8\lambda_{\min}) +
\eta^2 p\lambda_{\max}/2$, $p = \min(n, m)$ (derived in the chapter). Negative control: the
same test with the tighter ceiling $\Delta_0$ alone ($c = 0$), which must fail.
""",
    ),
)

CHAPTER = Chapter(
    slug="muon_stable_step",
    title="Muon's stable step",
    paper=PAPER,
    claims=CLAIMS,
    memory_gib={"quick": 1.0, "full": 2.0},
    cpu_only="16 x 12 float64 least-squares problems, where a GPU gives nothing",
)
