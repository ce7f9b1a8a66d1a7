"""Claims of "Adaptive Gradient Methods at the Edge of Stability" (Cohen et al., arXiv
2207.14484); the rod-flow model of Regis & Chewi (arXiv 2605.06821) is discussed, not tested.

Provenance (see ``NOTES.md`` in this package): the abstract states
that during full-batch training the largest eigenvalue of the *preconditioned* Hessian
typically equilibrates at the stability threshold of the algorithm, 38/eta for Adam with
beta1 = 0.9, and that adaptive methods at this "Adaptive Edge of Stability" keep moving into
higher-curvature regions while the preconditioner compensates. The threshold
(2 + 2 beta1)/((1 - beta1) eta) is *derived here* (EMA momentum with a frozen preconditioner);
the equilibration is empirical, not a theorem. Constants of the checks: ``formula`` (which
threshold: ``ema`` = Adam's, ``heavy_ball``, ``gd``) and ``scale`` (a factor on it), so a
mutation changes the bound, never the measurement.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from typing import Any

from boundbook.core.chapter import Chapter
from boundbook.core.claims import (
    Claim,
    Mutation,
    Outcome,
    Source,
    Tolerance,
    band_outcome,
)
from boundbook.core.stats import clopper_pearson

PAPER = "2207.14484"

STEP_RTOL = Tolerance(1e-6, "three rounds of 256-point sweeps bracket the critical step to "
                      "~2e-7 relative; the growth test is exact in float64 once the stable "
                      "modes (|z| <= sqrt(beta1) or beta1) have decayed")
PLATEAU_BAND = Tolerance(0.15, "the band our reading notes proposed before any run: the "
                         "preconditioned sharpness oscillates around the threshold at the "
                         "AEoS, and the preconditioner itself moves")
RISE = Tolerance(1.1, "'keeps rising' = the median over the last third of the AEoS window "
                 "is at least 10% above the median over its first third (a chapter choice)")


def ema_edge(eta: float, beta: float) -> float:
    """Adam's edge with a frozen preconditioner (EMA momentum),
    :math:`(2 + 2\\beta_1)/((1 - \\beta_1)\\eta)`: 38/eta at beta1 = 0.9."""
    return 2 * (-beta - 1) / (eta * (beta - 1))


def heavy_ball_edge(eta: float, beta: float) -> float:
    """Heavy-ball momentum's edge :math:`(2 + 2\\beta)/\\eta`."""
    return 2 * (beta + 1) / eta


def gd_edge(eta: float) -> float:
    """Gradient descent's edge :math:`2/\\eta`."""
    return 2 / eta


def _threshold(eta: float, beta: float, k: Mapping[str, Any]) -> float:
    """The stability threshold of the named formula, times ``scale``. The formulas are plain
    Python, written as :mod:`boundbook.symbolic.quadratic` evaluates the edges it derives from
    the update rules (the tests check that they agree exactly)."""
    f = {"ema": lambda: ema_edge(eta, beta), "heavy_ball":
         lambda: heavy_ball_edge(eta, beta), "gd": lambda: gd_edge(eta)}[k["formula"]]
    return k["scale"] * f()


def check_frozen(m: Mapping[str, Any], k: Mapping[str, Any]) -> Outcome:
    """For every beta1: the measured critical step equals the one the threshold predicts for
    this lambda_max(P^-1 H), and 0.95 x the predicted step converges."""
    worst, case, pred = -1.0, None, 0.0
    for c in m["cases"]:
        step = _threshold(1.0, c["beta"], k) / c["top"]  # thresholds scale as 1/eta
        err = abs(c["measured_step"] / step - 1)
        if err > worst:
            worst, case, pred = err, c, step
    below = all(c["converged_below"] for c in m["cases"])
    return Outcome(worst <= STEP_RTOL.value and below, pred, case["measured_step"],
                   slack=case["measured_step"] / pred - 1,
                   note=f"worst relative error {worst:.1e} over beta1 in "
                        f"{[c['beta'] for c in m['cases']]}; 0.95x converges: {below}")


def control_frozen(m: Mapping[str, Any], k: Mapping[str, Any]) -> Outcome:
    """At 1.05 x the predicted step the run must diverge; the control 'passes' if none does."""
    stable = sum(not c["diverged_above"] for c in m["cases"])
    return Outcome(stable == len(m["cases"]), float(len(m["cases"])), float(stable),
                   note=f"converged at 1.05 x the predicted step in {stable} of "
                        f"{len(m['cases'])} cases")


def _plateau(values: Sequence[float]) -> list[float]:
    return list(values)[len(values) // 2:]


def _plateau_ratios(m: Mapping[str, Any], key: str, k: Mapping[str, Any]) -> list[float]:
    return [statistics.median(_plateau(r[key])) / _threshold(r["eta"], m["beta1"], k)
            for r in m["runs"]]


def check_plateau(m: Mapping[str, Any], k: Mapping[str, Any]) -> Outcome:
    """Median of lambda_max(P^-1 H) over the second half of training is within 15% of the
    threshold, on every run."""
    ratios = _plateau_ratios(m, "preconditioned", k)
    label = "threshold" if k["scale"] == 1.0 else f"({k['scale']:g} x threshold)"
    return band_outcome(ratios, PLATEAU_BAND.value,
                        f"median preconditioned sharpness / {label} per run: "
                        + ", ".join(f"{x:.3f}" for x in ratios))


def control_plateau(m: Mapping[str, Any], k: Mapping[str, Any]) -> Outcome:
    """The same band, on the same runs, around the threshold perturbed by the band's
    resolution on either side: (1 - 2 band) x (an edge every run passes on its way up) and
    (1 + 2 band) x (2+2b)/((1-b) eta). Must fail on both. (Adam cannot be run just past its
    own edge: at the edge it self-stabilises, which is the claim.)"""
    outs = [check_plateau(m, {**k, "scale": k["scale"] * f})
            for f in (1 - 2 * PLATEAU_BAND.value, 1 + 2 * PLATEAU_BAND.value)]
    hit = next((o for o in outs if o.ok), None)
    best = hit or min(outs, key=lambda o: abs(o.measured - 1))
    return Outcome(hit is not None, 1.0, best.measured, note="; ".join(o.note for o in outs))


def rises(m: Mapping[str, Any], key: str, k: Mapping[str, Any]) -> list[float]:
    """Per run: median over the last third / median over the first third of the AEoS window
    (from the first record with preconditioned sharpness >= 0.85 x threshold to the end)."""
    out = []
    for r in m["runs"]:
        thr = _threshold(r["eta"], m["beta1"], k)
        pre = r["preconditioned"]
        start = next((i for i, x in enumerate(pre) if x >= (1 - PLATEAU_BAND.value) * thr),
                     len(pre))
        window = r[key][start:]
        third = len(window) // 3
        if third < 2:
            out.append(0.0)  # the threshold was never reached: no AEoS window
            continue
        out.append(statistics.median(window[-third:]) / statistics.median(window[:third]))
    return out


def _rise_count(m: Mapping[str, Any], key: str, k: Mapping[str, Any], label: str) -> Outcome:
    """k of n runs whose ``key`` sharpness rises by at least ``min_rise`` over the AEoS window,
    with the exact 95% interval of the rate (``measured`` = k/n against the bar 0: "at least
    one run"). The claim is existential ("can"): it holds when
    k >= 1 (the interval then excludes 0); with k = 0, n runs cannot refute "can", so the
    outcome is undecided, not violated."""
    r = rises(m, key, k)
    hits = sum(x >= k["min_rise"] for x in r)
    lo, hi = clopper_pearson(hits, len(r))
    runs = ", ".join(f"eta {run['eta']:g} seed {run['seed']}: {x:.3f}"
                     for run, x in zip(m["runs"], r, strict=True))
    return Outcome(hits >= 1, 0.0, hits / len(r), interval=(lo, hi), undecided=hits == 0,
                   note=f"{label}, last third / first third of the AEoS window, per run: {runs};"
                        f" {hits} of {len(r)} runs rise by >= x{k['min_rise']:g} (rate 95% CP "
                        f"[{lo:.3f}, {hi:.3f}])")


def check_rises(m: Mapping[str, Any], k: Mapping[str, Any]) -> Outcome:
    """The abstract's "can keep advancing", as a count: k of n runs whose raw sharpness rises by
    at least ``min_rise`` while Adam is at its edge; holds when k >= 1."""
    return _rise_count(m, "raw", k, "raw sharpness")


def control_rises(m: Mapping[str, Any], k: Mapping[str, Any]) -> Outcome:
    """The same count on the preconditioned sharpness of the same runs (held at the edge): must
    be 0 of n. Here k = 0 is a decided failure, not undecided."""
    out = _rise_count(m, "preconditioned", k, "preconditioned sharpness")
    return Outcome(out.ok, out.predicted, out.measured, interval=out.interval, note=out.note)


def _src(where: str) -> Source:
    return Source(PAPER, where, version="", bibkey="cohen2022adaptive")


THRESHOLD = {"formula": "ema", "scale": 1.0}
THRESHOLD_MUTATIONS = (Mutation("scale", 1.2, "38/eta -> 45.6/eta (x 1.2)"),
                       Mutation("formula", "heavy_ball", "(2+2b)/((1-b)eta) -> (2+2b)/eta "
                                "(heavy-ball convention)"),
                       Mutation("formula", "gd", "-> 2/eta (no momentum)"))

CLAIMS = (
    Claim(
        id="adam-frozen-edge",
        builds_on=("gdq-critical-step",),
        heading="Adam's edge with a frozen preconditioner (derived here)",
        text=r"""
Adam with its preconditioner $P$ held fixed, $m^+ = \beta_1 m + (1-\beta_1)\nabla L$,
$\theta^+ = \theta - \eta P^{-1}m^+$, on a quadratic with Hessian $H$ is stable iff
$\lambda_{\max}(P^{-1}H) < (2 + 2\beta_1)/((1-\beta_1)\eta)$, which is $38/\eta$ at
$\beta_1 = 0.9$. Source: {cite}`cohen2022adaptive`, arXiv 2207.14484, abstract (38/η);
general formula derived here.""",
        prf="proposition",
        title="with a frozen preconditioner Adam's edge is (2+2b1)/((1-b1) eta) for "
              "lambda_max(P^-1 H)",
        statement=r"m^+ = \beta_1 m + (1-\beta_1)\nabla L,\ \theta^+ = \theta - \eta P^{-1}m^+"
                  r" \text{ is stable iff } \lambda_{\max}(P^{-1}H) < "
                  r"\frac{2 + 2\beta_1}{(1-\beta_1)\eta}",
        source=_src("abstract of the arXiv listing, version not recorded "
                    "('for Adam with step size eta and beta1 = 0.9, this stability "
                    "threshold is 38/eta', the value at beta1 = 0.9 only); the general formula "
                    "is derived here (location in the paper not found)"),
        family="stable-step",
        constants={**THRESHOLD},
        check=check_frozen, control=control_frozen,
        control_label="1.05 x the predicted critical step",
        tolerance=STEP_RTOL,
        kind="threshold", provenance="derived",
        mutations=THRESHOLD_MUTATIONS,
        digits=7,
        paper_reports="threshold 38/eta at beta1 = 0.9 (abstract); the general formula "
                      "(2+2b1)/((1-b1) eta) in a third-party summary, derived here",
    ),
    Claim(
        id="adam-preconditioned-plateau",
        builds_on=("adam-frozen-edge", "eos-plateau",),
        heading="The preconditioned sharpness equilibrates at the threshold",
        text=r"""
During full-batch Adam training, $\lambda_{\max}(P_t^{-1}H_t)$ rises to
$(2 + 2\beta_1)/((1-\beta_1)\eta)$ and stays there (we test: its median over the second half
of training within 15%, on every run; control: the same band around $0.7\times$ and
$1.3\times$ the threshold must fail). Source: {cite}`cohen2022adaptive`, arXiv 2207.14484,
abstract; an empirical finding of the paper, not a theorem.""",
        prf="proposition",
        title="full-batch Adam: lambda_max(P^-1 H) equilibrates at 38/eta",
        statement=r"\operatorname{median}_{t > T/2}\lambda_{\max}(P_t^{-1}H_t) = "
                  r"\frac{38}{\eta}\,(1 \pm 0.15),\quad P_t = \operatorname{diag}"
                  r"(\sqrt{\hat v_t} + \epsilon)",
        source=_src("abstract of the arXiv listing, version not recorded "
                    "('the maximum eigenvalue of the preconditioned Hessian "
                    "typically equilibrates at ... 38/eta'); empirical, network ours"),
        family="stable-step",
        constants={**THRESHOLD},
        check=check_plateau, control=control_plateau,
        control_label="the same band on the same runs around 0.7 x and 1.3 x "
                      "(2+2b)/((1-b) eta) (Adam cannot be run just past an edge at which it "
                      "self-stabilises)",
        tolerance=PLATEAU_BAND,
        kind="phenomenon", provenance="paper",
        mutations=THRESHOLD_MUTATIONS,
        paper_reports="equilibrates at 38/eta in full-batch training, similar effects in "
                      "large-batch training (abstract; figures and numbers not retrieved)",
    ),
    Claim(
        id="adam-raw-sharpness-rises",
        heading="The raw sharpness can keep rising",
        text=r"""
At this adaptive edge the raw sharpness $\lambda_{\max}(H_t)$ is not held: it can keep
growing while the preconditioner compensates. The abstract's claim is existential ("can keep
advancing"), so we decide it as a count: $k$ of $n$ runs (every run of the chapter, each
reported) whose raw sharpness grows by at least 10% from the first to the last third of the time
spent at the edge, with a Clopper-Pearson interval for the rate; it holds when $k \ge 1$.
Source: {cite}`cohen2022adaptive`, arXiv 2207.14484, abstract; empirical.""",
        prf="proposition",
        title="at the adaptive edge the raw sharpness can keep rising",
        statement=r"\#\Big\{\text{runs}:\ \frac{\operatorname{median}_{\text{last third}}"
                  r"\lambda_{\max}(H_t)}{\operatorname{median}_{\text{first third}}"
                  r"\lambda_{\max}(H_t)} \ge 1.1\ \text{over the AEoS window}\Big\} \ge 1"
                  r"\ \text{(the raw sharpness *can* keep rising)}",
        source=_src("abstract of the arXiv listing, version not recorded "
                    "('adaptive gradient methods at the AEoS can keep advancing "
                    "into high-curvature regions, while adapting the preconditioner to "
                    "compensate'); empirical"),
        family="stable-step",
        constants={**THRESHOLD, "min_rise": RISE.value},
        check=check_rises, control=control_rises,
        control_label="the same count on lambda_max(P^-1 H) of the same runs",
        tolerance=RISE,
        kind="phenomenon", provenance="paper", monte_carlo=True,
        mutations=(Mutation("min_rise", 1.5, "rise >= 1.5"),),
        paper_reports="non-adaptive methods at the EoS are blocked from high-curvature "
                      "regions; adaptive ones can keep advancing (abstract; existential)",
    ),
)

CHAPTER = Chapter(
    slug="adam_edge",
    title="Adam's edge of stability",
    paper=PAPER,
    claims=CLAIMS,
    memory_gib={"quick": 0.5, "full": 1.0},
    cpu_only="a float64 MLP of a few thousand parameters, where a GPU gives nothing",
)
