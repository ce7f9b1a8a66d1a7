"""Claims on the linear (mean-square) stability of SGD at an interpolating minimum.

Papers: Wu & Su, arXiv 2305.17490 v1 (the trace bound; abstract only), Mulayoff & Michaeli,
arXiv 2306.07850 (the exact threshold; theorem numbers from the ICLR 2024 OpenReview submission
text, not compared with any arXiv version), Dexter et al., arXiv 2401.12332 v1 (Bernoulli
batches; its Theorem 1 inequality was not retrieved, so only the sampling model is used, and
the Bernoulli claim is the book's own derivation). Provenance: the chapter's ``NOTES.md``.

Kinds: the trace bound is a ``bound`` (slack over the instances not constructed to attain it;
the orthogonal instance at B = 1 is its equality case), the closed form and the Bernoulli
limits are ``identity`` checks (closed form against bisection, to rounding), the real SGD runs
a Monte-Carlo ``phenomenon`` (the side of 1 on which a mean square falls at fixed factors of
the threshold, decided on 95% intervals over seeds; it brackets the threshold, it does not
measure it, so it reports no slack).

Every check is a pure function of the measurement dictionary built by
:func:`boundbook.chapters.sgd_linear_stability.protocol.measurements` and of the claim's
constants, so verdicts and mutations re-decide from the cached records. The module imports only
the standard library and :mod:`boundbook.core`: the closed forms the Bernoulli check needs
(:func:`bernoulli_coefficients`, :func:`orthogonal_threshold_ab`, :func:`coherent_threshold_ab`,
:func:`gd_threshold`) are written out here in plain Python, in the operation order of their
sympy derivations (:mod:`boundbook.chapters.sgd_linear_stability.derivation`), and tested equal
to them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from boundbook.core.chapter import Chapter
from boundbook.core.claims import (
    Claim,
    Mutation,
    Outcome,
    Source,
    Tolerance,
    relative_slack,
)

BISECTION = Tolerance(1e-7, "bisection to 2^-40 of [0, 2/lambda_max] leaves a relative error "
                      "below 1e-9 in eta*; the closed forms are exact to ~1e-13; 1e-7 is "
                      "rounding, a 2% shift of a threshold is not")
MONTE_CARLO = Tolerance(1.0, "mean-square ratio E|delta_T|^2/|delta_0|^2 against 1, decided on "
                        "its 95% percentile-bootstrap interval with the seed as the unit (32 "
                        "seeds of 64 runs per step size in quick mode; an interval straddling "
                        "1 makes the verdict inconclusive)")

EQUALITY_CASES = ("orthogonal", "coherent")
"""Instances constructed so that the trace bound is attained at B = 1: n orthogonal equal-norm
gradients (the identity below), and identical directions (rank-one H, so Tr H = lambda_max, and
with one example per step SGD is GD). The bound's slack is measured over the other instances."""


ROUNDING = 1e-10
"""Differences below this are float64 rounding; notes print them as "< 1e-10" so that the
records do not depend on the machine's last bits."""


def _err(x: float) -> str:
    return f"< {ROUNDING:.0e}" if x < ROUNDING else f"{x:.1e}"


# --------------------------------------------------------------------------- closed forms
def gd_threshold(lam_max: float) -> float:
    """Gradient descent's critical step :math:`2/\\lambda_{\\max}`
    (:func:`boundbook.symbolic.quadratic.critical_step`)."""
    return 2 / lam_max


def bernoulli_coefficients(n: int, batch: float) -> tuple[float, float]:
    """Bernoulli(B/n) batches' noise coefficients :math:`(\\alpha, \\beta) =
    (1, \\tfrac1B(1 - \\tfrac Bn))` (``derivation.noise_coefficients("bernoulli", n, B)``)."""
    return 1.0, (1 - batch / n) / batch


def orthogonal_threshold_ab(sq_norm: float, n: int, alpha: float, beta: float) -> float:
    """Threshold for ``n`` orthogonal per-example gradients of squared norm ``a`` and noise
    coefficients :math:`(\\alpha, \\beta)`: :math:`2n/(a(\\alpha + n\\beta))`
    (``derivation.orthogonal_threshold_ab``)."""
    return 2 * n / (sq_norm * (alpha + beta * n))


def coherent_threshold_ab(curvature: float, alpha: float, beta: float) -> float:
    """Threshold when every per-example Hessian equals :math:`H` (top eigenvalue ``curvature``):
    :math:`2/(\\lambda(\\alpha + \\beta))` (``derivation.coherent_threshold_ab``)."""
    return 2 / (curvature * (alpha + beta))


# --------------------------------------------------------------------------- trace bound
def _trace_ratios(rows: Sequence[Mapping[str, Any]], k: Mapping[str, Any]) -> list[float]:
    """eta* Tr H / (two * B) for each row (B -> 1 when the bound is taken without B)."""
    return [float(r["eta"]) * float(r["trace_h"])
            / (k["two"] * (int(r["B"]) if k["batch_in_bound"] else 1)) for r in rows]


def _orthogonal_identity_error(rows: Sequence[Mapping[str, Any]], k: Mapping[str, Any]
                               ) -> float:
    """max |eta* Tr H ((1 - 1/n)/B + 1/n) - two| / two over the orthogonal rows."""
    errs = []
    for r in rows:
        if r["instance"] != "orthogonal":
            continue
        b = int(r["B"]) if k["batch_in_bound"] else 1
        n = int(r["n"])
        lhs = float(r["eta"]) * float(r["trace_h"]) * ((1 - 1 / n) / b + 1 / n)
        errs.append(abs(lhs - k["two"]) / k["two"])
    return max(errs)


def check_trace(m: Mapping[str, Any], k: Mapping[str, Any]) -> Outcome:
    """eta*_SGD <= two B/Tr H on every (instance, B), and the orthogonal identity. ``slack``:
    the smallest margin 1 - eta* Tr H/(two B) over the instances not constructed to attain
    the bound; ``equality``: the margin of the orthogonal instance at B = 1."""
    rows = m["rows"]
    ratios = _trace_ratios(rows, k)
    ident = _orthogonal_identity_error(rows, k)
    tol = BISECTION.value
    symbolic = bool(m["sympy_edge_is_2B_over_trH"]) and bool(m["sympy_orthogonal_identity"])
    ok = max(ratios) <= 1 + tol and ident <= tol and symbolic
    free = [(relative_slack(1.0, x), r) for x, r in zip(ratios, rows, strict=True)
            if r["instance"] not in EQUALITY_CASES]
    slack, worst = min(free, key=lambda t: t[0])
    eq = {r["instance"]: relative_slack(1.0, x) for x, r in zip(ratios, rows, strict=True)
          if r["instance"] in EQUALITY_CASES and int(r["B"]) == 1}
    return Outcome(ok, 1.0, 1.0 - slack, slack=slack, equality=eq.get("orthogonal"),
                   note=f"eta* Tr H/(two B) <= 1 on all {len(ratios)} (instance, B): "
                        f"{max(ratios) <= 1 + tol} (largest {max(ratios):.6f}); worst slack "
                        f"{slack:.1%} at {worst['instance']} B = {worst['B']} (over "
                        f"{len(free)} rows not constructed to attain it); margin at the "
                        "equality cases B = 1: "
                        + ", ".join(f"{name} {_err(abs(v))}" for name, v in eq.items())
                        + f"; orthogonal identity off by {_err(ident)}")


def control_trace(m: Mapping[str, Any], k: Mapping[str, Any]) -> Outcome:
    """The same check on the same rows with the bound 5% tighter,
    eta* <= control_factor * two B/Tr H: must fail."""
    cf = k["control_factor"]
    tighter = {**k, "two": k["two"] * cf}
    worst = max(_trace_ratios(m["rows"], tighter))
    return Outcome(check_trace(m, tighter).ok, 1.0, worst,
                   note=f"bound {cf:g} x two B/Tr H on the same {len(m['rows'])} rows: largest "
                        f"eta* Tr H/({cf:g} two B) = {worst:.4f}")


# --------------------------------------------------------------------------- exact threshold
def _predicted_threshold(row: Mapping[str, Any], k: Mapping[str, Any]) -> float:
    return k["edge"] * k["two"] / float(row["lam_cd"][k["p_form"]])


def check_exact(m: Mapping[str, Any], k: Mapping[str, Any]) -> Outcome:
    """Bisection on the spectral radius of Eq. 10 agrees with 2/lambda_max(C^+ D) (Thm 3);
    the radius is < 1 just below and > 1 just above; non-decreasing in B (Prop. 1); below
    the Eq. 16 necessary bound (Prop. 3)."""
    rows = m["rows"]
    errs = [abs(float(r["eta_bisect"]) - _predicted_threshold(r, k)) / _predicted_threshold(r, k)
            for r in rows]
    worst = max(errs)
    sides = all(float(r["rho_below"]) < 1 < float(r["rho_above"]) for r in rows)
    mono = all(bool(v) for v in m["non_decreasing_in_B"].values())
    eq16 = all(float(r["eta_bisect"]) <= float(r["eq16"]) * (1 + BISECTION.value) for r in rows)
    ok = worst <= BISECTION.value and sides and mono and eq16
    ref = rows[0]  # shown: the first row (first instance, B = 1)
    pred, meas = _predicted_threshold(ref, k), float(ref["eta_bisect"])
    return Outcome(ok, pred, meas,
                   note=f"{ref['instance']} B = {ref['B']} shown; worst relative difference "
                        f"{_err(worst)} over {len(rows)} (instance, B); radius below/above 1 "
                        f"on both sides: {sides}; monotone in B: {mono}; Eq. 16 holds: {eq16}")


def control_exact(m: Mapping[str, Any], k: Mapping[str, Any]) -> Outcome:
    return check_exact(m, {**k, "edge": k["control_edge"]})


# --------------------------------------------------------------------------- Monte Carlo
def _edge(cfg: Mapping[str, Any], k: Mapping[str, Any]) -> float:
    return k["edge_factor"] * float(cfg[{"sgd": "eta_star", "trace": "trace_b1",
                                         "gd": "gd"}[k["edge"]]])


def check_monte_carlo(m: Mapping[str, Any], k: Mapping[str, Any]) -> Outcome:
    """Every run set below the predicted edge shrinks in mean square (95% interval over seeds
    below 1), every one above grows (interval above 1). Reported: the growing run set with the
    smallest mean (for the control, that is a run set on the wrong side of its edge)."""
    wrong, straddle = [], []
    decisive = None
    for cfg in m["configs"]:
        edge = _edge(cfg, k)
        stable_f, unstable_f = [], []
        for run in cfg["runs"]:
            lo, hi = float(run["lo"]), float(run["hi"])
            grows, shrinks = lo > 1, hi < 1
            if not (grows or shrinks):
                straddle.append(f"{cfg['instance']} x{run['factor']}")
                continue
            (unstable_f if grows else stable_f).append(float(run["eta"]))
            if grows == (float(run["eta"]) < edge):
                wrong.append(f"{cfg['instance']} B={cfg['B']} x{run['factor']}")
            if grows and (decisive is None or float(run["mean"]) < float(decisive["mean"])):
                decisive = run
    if decisive is None:
        decisive = {"mean": math.nan, "lo": math.nan, "hi": math.nan}
    seeds = sorted({int(c["seeds"]) for c in m["configs"]})
    return Outcome(not wrong, 1.0, float(decisive["mean"]),
                   interval=(float(decisive["lo"]), float(decisive["hi"])),
                   undecided=bool(straddle),
                   note=(f"wrong side: {', '.join(wrong)}; " if wrong else "")
                   + (f"undecided: {', '.join(straddle)}; " if straddle else "")
                   + "measured = smallest mean-square growth, 95% interval over "
                   + f"{'/'.join(map(str, seeds))} seeds; "
                   + "; ".join(f"{c['instance']} B={c['B']}: "
                               + ", ".join(f"x{r['factor']} -> {float(r['mean']):.3g}"
                                           for r in c["runs"]) for c in m["configs"]))


def control_monte_carlo(m: Mapping[str, Any], k: Mapping[str, Any]) -> Outcome:
    return check_monte_carlo(m, {**k, "edge_factor": k["control_factor"]})


# --------------------------------------------------------------------------- Bernoulli
def _bernoulli_prediction(row: Mapping[str, Any], k: Mapping[str, Any]) -> float:
    return k["edge"] * _bernoulli_limit(row, k)


def _bernoulli_limit(row: Mapping[str, Any], k: Mapping[str, Any]) -> float:
    n, b = int(row["n"]), (int(row["B"]) if k["batch_in_formula"] else 1)
    if k["finite_n"]:
        alpha, beta = bernoulli_coefficients(n, b)
    else:  # the (1 - B/n) factor dropped: with-replacement-like noise 1/B
        alpha, beta = 1.0, 1.0 / b
    if row["instance"] == "orthogonal":
        return orthogonal_threshold_ab(float(row["sq_norm"]), n, alpha, beta)
    if row["instance"] == "coherent":
        if k["coherent_form"] == "gd":  # fixed-size batches' answer: GD for every B
            return gd_threshold(float(row["lam_max"]))
        return coherent_threshold_ab(float(row["lam_max"]), alpha, beta)
    return gd_threshold(float(row["lam_max"]))  # other instances: only B = n is predicted


def check_bernoulli(m: Mapping[str, Any], k: Mapping[str, Any]) -> Outcome:
    """Bisected Bernoulli thresholds equal the derived limits: orthogonal 2B/a, coherent
    2/(lambda(1 + 1/B - 1/n)), every instance GD's 2/lambda_max at B = n; fixed-size batches
    give GD's threshold for coherent data at every B."""
    rows = [r for r in m["rows"] if r["instance"] in ("orthogonal", "coherent")
            or int(r["B"]) == int(r["n"])]
    errs = []
    for r in rows:
        pred = _bernoulli_prediction(r, k)
        errs.append((abs(float(r["eta"]) - pred) / pred, r, pred))
    fixed = [abs(float(r["eta"]) - gd_threshold(float(r["lam_max"])))
             / gd_threshold(float(r["lam_max"])) for r in m["fixed_size_coherent"]]
    worst = max(e[0] for e in errs)
    symbolic = bool(m["sympy_operator"]) and bool(m["sympy_orthogonal_linear"])
    ok = worst <= BISECTION.value and max(fixed) <= BISECTION.value and symbolic
    ref = next(r for r in m["rows"] if r["instance"] == "coherent" and int(r["B"]) == 1)
    ref_pred = _bernoulli_prediction(ref, k)
    return Outcome(ok, ref_pred, float(ref["eta"]),
                   note=f"coherent B = 1 shown; worst relative difference {_err(worst)} over "
                        f"{len(rows)} (instance, B); fixed-size coherent = GD to "
                        f"{_err(max(fixed))}")


def control_bernoulli(m: Mapping[str, Any], k: Mapping[str, Any]) -> Outcome:
    """The derived limits moved up 2% on the same rows: must fail."""
    return check_bernoulli(m, {**k, "edge": k["control_edge"]})


# --------------------------------------------------------------------------- claims
_MM_WHERE = ("as numbered in the ICLR 2024 OpenReview submission text (read in full in an "
             "earlier session; the paper appeared at COLT 2024); location not found in v1 "
             "(its numbering was not compared)")
MM_EXACT = Source("2306.07850", f"Thm 3, Eqs. 10, 12-13; Prop. 1; Prop. 3, Eq. 16, {_MM_WHERE}",
                  version="v1", bibkey="mulayoff2023exact")
MM_MONTE_CARLO = Source("2306.07850", f"Thm 3 (mean-square sense), {_MM_WHERE}; tested at "
                        "B = 1 with real SGD runs, simulated here", version="v1",
                        bibkey="mulayoff2023exact")

CLAIMS = (
    Claim(
        id="sgd-trace-bound",
        title="mean-square stable SGD with batch size B needs Tr H <= 2B/eta "
              "(Wu & Su's 2/eta at B = 1), attained for orthogonal equal-norm gradients",
        statement=r"\eta^*_{\rm SGD}(B) \le \frac{2B}{\mathrm{Tr}\,H},\qquad "
                  r"\eta^*\,\mathrm{Tr}H\Big(\frac{1 - 1/n}{B} + \frac1n\Big) = 2 "
                  r"\text{ for orthogonal equal-norm } g_i",
        printed_statement=r"\mathrm{Tr}\,H \le 2/\eta \text{ (abstract; batch size not stated)}",
        heading="Trace bound (Wu & Su, abstract; batch size $B$ derived here)",
        prf="theorem",
        text=r"""
If SGD with batches of size $B$ drawn with replacement is stable in mean square at an
interpolating minimum, then $\mathrm{Tr}\,H \le 2B/\eta$; equivalently its threshold satisfies
$\eta^* \le 2B/\mathrm{Tr}\,H$. For $B = 1$ this is the abstract's $\mathrm{Tr}\,H \le 2/\eta$.
When the $g_i$ are $n$ orthogonal vectors of equal norm,
$\eta^*\,\mathrm{Tr}H\,\big(\tfrac{1 - 1/n}{B} + \tfrac1n\big) = 2$ exactly, so the bound is
attained at $B = 1$ (derived here); so it is when every $g_i$ has the same direction (then
$\mathrm{Tr}H = \lambda_{\max}$ and with one example per step SGD is GD). The abstract says
the trace and the Frobenius norm of $H$ belong to *different* notions of stability, and which
one its trace statement uses could not be read; we test it in the mean-square sense, the one
the derivation below uses. Its slack is measured on the instances not built to attain it.""",
        source=Source("2305.17490", "abstract only (batch size not stated; tested at B = 1, "
                      "where the B-form is the abstract's); the batch-size-B form and the "
                      "orthogonal identity derived here", version="v1",
                      bibkey="wu2023implicit"),
        family="stable-step",
        kind="bound",
        provenance="paper",
        constants={"two": 2.0, "batch_in_bound": True, "control_factor": 0.95},
        check=check_trace, control=control_trace,
        control_label="the bound 5% tighter, eta* <= 0.95 x 2B/Tr H, on the same rows",
        tolerance=BISECTION,
        mutations=(Mutation("two", 2.2, "2 -> 2.2"),
                   Mutation("batch_in_bound", False, "B -> 1 in the bound")),
        digits=4,
        paper_reports="abstract: a minimum linearly stable for SGD has Tr H <= 2/eta "
                      "(batch size and stability notion not stated there; no instance or "
                      "slack reported); GD's stability constrains only lambda_max",
    ),
    Claim(
        id="sgd-exact-threshold",
        builds_on=("gdq-critical-step",),
        title="the exact mean-square threshold is 2/lambda_max(C^+ D), non-decreasing in B",
        statement=r"\eta^*_{\rm var} = \frac{2}{\lambda_{\max}(C^\dagger D)},\ "
                  r"C = \tfrac12 H\oplus H,\ D = (1-p)H\otimes H + \tfrac pn\sum_i "
                  r"H_i\otimes H_i,\ p = \frac{n-B}{B(n-1)}",
        heading="Exact mean-square threshold (Mulayoff & Michaeli, Thm 3, Eqs. 12-13; Props. 1 "
                "and 3)",
        prf="theorem",
        text=r"""
For uniform $B$-batches at an interpolating minimum, with $C = \tfrac12 H\oplus H$,
$D = (1-p)\,H\otimes H + \tfrac pn\sum_i H_i\otimes H_i$ and $p = \tfrac{n-B}{B(n-1)}$, SGD is
stable in mean square iff $\eta \le \eta^*_{\rm var} = 2/\lambda_{\max}(C^\dagger D)$. The
threshold is non-decreasing in $B$ (Prop. 1) and satisfies the necessary condition
$\eta^*_{\rm var} \le 2\,\mathrm{Tr}H/\big((1-p)\|H\|_F^2 + \tfrac pn\sum_i\|H_i\|_F^2\big)$
(Prop. 3, Eq. 16).""",
        source=MM_EXACT,
        family="stable-step",
        kind="identity",
        provenance="paper",
        constants={"two": 2.0, "p_form": "without", "edge": 1.0, "control_edge": 1.02},
        check=check_exact, control=control_exact,
        control_label="threshold claimed 2% higher (radius <= 1 at 1.02 eta*)",
        tolerance=BISECTION,
        mutations=(Mutation("two", 2.2, "2 -> 2.2"),
                   Mutation("p_form", "with", "p -> 1/B (with-replacement noise)")),
        digits=6,
        paper_reports="Thm 3: stable in mean square iff eta <= 2/lambda_max(C^+ D) "
                      "(uniform B-batches); Prop. 1: non-decreasing in B; Prop. 3: Eq. 16",
    ),
    Claim(
        id="sgd-monte-carlo",
        builds_on=("sgd-exact-threshold",),
        title="real SGD runs (batch size 1) shrink in mean square at 0.95 eta* and grow at "
              "1.05 eta*",
        statement=r"\mathbb E\|\theta_T - \theta^*\|^2 < \|\theta_0 - \theta^*\|^2 "
                  r"\text{ at } 0.95\,\eta^*,\quad > \text{ at } 1.05\,\eta^*",
        heading="Real SGD runs (Mulayoff & Michaeli's Thm 3, simulated here)",
        prf="proposition",
        text=r"""
Started at distance 1 from the minimum, SGD with one example per step (with replacement) has
mean-square distance below 1 after $T$ steps at $0.95\,\eta^*$ and above 1 at $1.05\,\eta^*$
(a consequence of Thm 3 at a finite horizon, decided on 95% intervals with the seed as the
unit).""",
        source=MM_MONTE_CARLO,
        family="stable-step",
        kind="phenomenon",
        provenance="paper",
        monte_carlo=True,
        constants={"edge": "sgd", "edge_factor": 1.0, "control_factor": 1.1},
        check=check_monte_carlo, control=control_monte_carlo,
        control_label="edge claimed 10% higher (so 1.05 eta* should shrink), same runs",
        tolerance=MONTE_CARLO,
        mutations=(Mutation("edge_factor", 0.9, "edge -> 0.9 eta*"),
                   Mutation("edge", "gd", "edge -> GD's 2/lambda_max"),
                   Mutation("edge", "trace", "edge -> 2/Tr H")),
        paper_reports="Thm 3: the threshold is necessary and sufficient for mean-square "
                      "stability; MNIST experiments agree (numbers not transcribed). No "
                      "simulation of the linear dynamics at fixed factors",
    ),
    Claim(
        id="sgd-bernoulli-limits",
        title="Bernoulli batches: B = n gives GD, orthogonal data 2B/a (linear in B), coherent "
              "data 2/(lambda(1 + 1/B - 1/n)), not GD's 2/lambda",
        statement=r"\mathbb E[H_S\Sigma H_S] = H\Sigma H + \frac1B\Big(1 - \frac Bn\Big)"
                  r"\frac1n\sum_i H_i\Sigma H_i",
        heading="Bernoulli batches (model of Dexter et al.; operator and limits derived here)",
        prf="proposition",
        text=r"""
With each example kept independently with probability $B/n$ and the sum divided by $B$,
$\mathbb E[H_S\Sigma H_S] = H\Sigma H + \tfrac1B\big(1 - \tfrac Bn\big)\tfrac1n\sum_iH_i\Sigma H_i$.
Hence: $B = n$ is gradient descent ($\eta^* = 2/\lambda_{\max}$); $n$ orthogonal equal-norm
$g_i$ give $\eta^* = 2B/a$, linear in $B$; identical $H_i = H$ give
$\eta^* = 2/\big(\lambda(1 + 1/B - 1/n)\big)$, which is *not* GD's $2/\lambda$ for $B < n$ because
the batch size itself is random. Fixed-size batches give $2/\lambda$ there for every $B$.""",
        source=Source("2401.12332", "not a claim of the paper: its sampling model only "
                      "(Bernoulli, B/n, as the OpenReview reviews restate it; abstract read, "
                      "location not found in v1); operator and limits derived here; Thm 1 not "
                      "retrieved", version="v1", bibkey="dexter2024precise"),
        family="stable-step",
        kind="identity",
        provenance="derived",
        constants={"finite_n": True, "batch_in_formula": True, "coherent_form": "derived",
                   "edge": 1.0, "control_edge": 1.02},
        check=check_bernoulli, control=control_bernoulli,
        control_label="the derived limits moved up 2% (same rows)",
        tolerance=BISECTION,
        mutations=(Mutation("finite_n", False, "(1 - B/n) -> 1"),
                   Mutation("batch_in_formula", False, "B -> 1"),
                   Mutation("coherent_form", "gd", "coherent data at GD's 2/lambda for every B "
                            "(the fixed-size answer)")),
        digits=5,
        paper_reports="Bernoulli sampling; Thm 1: a sufficient condition for divergence via the "
                      "coherence measure sigma (inequality not retrieved); synthetic quadratics",
    ),
)

CHAPTER = Chapter(
    slug="sgd_linear_stability",
    title="SGD linear stability: the trace bound and the exact mean-square threshold",
    paper="2305.17490",
    claims=CLAIMS,
    memory_gib={"quick": 1.0, "full": 3.0},
    cpu_only="float64 eigenproblems of a few hundred rows, where a GPU gives nothing",
)
