"""Claims on the linear (mean-square) stability of SGD at an interpolating minimum.

Papers: Wu & Su, arXiv 2305.17490 (the trace bound; abstract only), Mulayoff & Michaeli,
arXiv 2306.07850 (the exact threshold; theorem numbers from the ICLR 2024 submission text),
Dexter et al., arXiv 2401.12332 (Bernoulli batches; its Theorem 1 inequality was not
retrieved, so only the sampling model is checked). Provenance: the chapter's ``NOTES.md``.

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
from boundbook.core.claims import Claim, Mutation, Outcome, Source, Tolerance, is_tight

BISECTION = Tolerance(1e-7, "bisection to 2^-40 of [0, 2/lambda_max] leaves a relative error "
                      "below 1e-9 in eta*; the closed forms are exact to ~1e-13; 1e-7 is "
                      "rounding, a 2% shift of a threshold is not")
MONTE_CARLO = Tolerance(1.0, "mean-square ratio E|delta_T|^2/|delta_0|^2 against 1, decided on "
                        "the 95% percentile-bootstrap interval over runs (an interval "
                        "straddling 1 makes the verdict inconclusive)")


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
    """eta*_SGD <= 2B/Tr H on every (instance, B), and the orthogonal identity."""
    ratios = _trace_ratios(m["rows"], k)
    worst = max(ratios)
    ident = _orthogonal_identity_error(m["rows"], k)
    tol = BISECTION.value
    symbolic = bool(m["sympy_edge_is_2B_over_trH"]) and bool(m["sympy_orthogonal_identity"])
    ok = worst <= 1 + tol and ident <= tol and symbolic
    return Outcome(ok, 1.0, worst, tight=is_tight(worst, 1.0),
                   note=f"max eta* Tr H/(2B) over {len(ratios)} (instance, B); orthogonal "
                        f"identity off by {_err(ident)}")


def control_trace(m: Mapping[str, Any], k: Mapping[str, Any]) -> Outcome:
    """Wu & Su's batch-size-one form Tr H <= 2/eta tested at B = control_batch."""
    rows = [r for r in m["rows"] if int(r["B"]) == k["control_batch"]]
    worst = max(_trace_ratios(rows, {**k, "batch_in_bound": False}))
    return Outcome(worst <= 1 + BISECTION.value, 1.0, worst,
                   note=f"max eta* Tr H/2 at B = {k['control_batch']}")


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
    return Outcome(ok, pred, meas, tight=ok and is_tight(meas, pred),
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
    """Every run set below the predicted edge shrinks in mean square (95% interval below 1),
    every one above grows (interval above 1)."""
    wrong, straddle, tight = [], [], True
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
        # measured threshold bracketed within 10% of the edge
        tight &= bool(stable_f and unstable_f and max(stable_f) >= 0.9 * edge
                      and min(unstable_f) <= 1.1 * edge)
    if decisive is None:
        decisive = {"mean": math.nan, "lo": math.nan, "hi": math.nan}
    return Outcome(not wrong, 1.0, float(decisive["mean"]), tight=tight and not wrong,
                   interval=(float(decisive["lo"]), float(decisive["hi"])),
                   undecided=bool(straddle),
                   note=(f"wrong side: {', '.join(wrong)}; " if wrong else "")
                   + (f"undecided: {', '.join(straddle)}; " if straddle else "")
                   + "measured = smallest mean-square growth above the edge, "
                   + "; ".join(f"{c['instance']} B={c['B']}: "
                               + ", ".join(f"x{r['factor']} -> {float(r['mean']):.3g}"
                                           for r in c["runs"]) for c in m["configs"]))


def control_monte_carlo(m: Mapping[str, Any], k: Mapping[str, Any]) -> Outcome:
    return check_monte_carlo(m, {**k, "edge_factor": k["control_factor"]})


# --------------------------------------------------------------------------- Bernoulli
def _bernoulli_prediction(row: Mapping[str, Any], k: Mapping[str, Any]) -> float:
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
    return Outcome(ok, ref_pred, float(ref["eta"]), tight=ok and is_tight(float(ref["eta"]),
                                                                            ref_pred),
                   note=f"coherent B = 1 shown; worst relative difference {_err(worst)} over "
                        f"{len(rows)} (instance, B); fixed-size coherent = GD to "
                        f"{_err(max(fixed))}")


def control_bernoulli(m: Mapping[str, Any], k: Mapping[str, Any]) -> Outcome:
    return check_bernoulli(m, {**k, "coherent_form": "gd"})


# --------------------------------------------------------------------------- claims
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
attained at $B = 1$ (derived here). The abstract says the trace and the Frobenius norm of $H$
belong to *different* notions of stability, and which one its trace statement uses could not be
read; we test it in the mean-square sense, the one the derivation below uses.""",
        source=Source("2305.17490", "abstract (batch size 1); batch-size-B form and the "
                      "orthogonal identity derived here", version="v1",
                      bibkey="wu2023implicit"),
        family="stable-step",
        constants={"two": 2.0, "batch_in_bound": True, "control_batch": 8},
        check=check_trace, control=control_trace,
        control_label="Tr H <= 2/eta (the B = 1 form) tested at B = 8",
        tolerance=BISECTION,
        mutations=(Mutation("two", 2.2, "2 -> 2.2"),
                   Mutation("batch_in_bound", False, "B -> 1 in the bound")),
        digits=4,
        paper_reports="abstract: a minimum linearly stable for SGD has Tr H <= 2/eta "
                      "(batch size not stated); GD's stability constrains only lambda_max",
    ),
    Claim(
        id="sgd-exact-threshold",
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
        source=Source("2306.07850", "Thm 3, Eqs. 10, 12-13; Prop. 1; Prop. 3, Eq. 16 "
                      "(numbering of the ICLR 2024 submission text)", version="",
                      bibkey="mulayoff2023exact"),
        family="stable-step",
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
        title="real SGD runs (batch size 1) shrink in mean square at 0.95 eta* and grow at "
              "1.05 eta*",
        statement=r"\mathbb E\|\theta_T - \theta^*\|^2 < \|\theta_0 - \theta^*\|^2 "
                  r"\text{ at } 0.95\,\eta^*,\quad > \text{ at } 1.05\,\eta^*",
        heading="Real SGD runs (simulated here)",
        prf="proposition",
        text=r"""
Started at distance 1 from the minimum, SGD with one example per step (with replacement) has
mean-square distance below 1 after $T$ steps at $0.95\,\eta^*$ and above 1 at $1.05\,\eta^*$.""",
        source=Source("2306.07850", "Thm 3 (mean-square sense), B = 1; simulated here",
                      version="", bibkey="mulayoff2023exact"),
        family="stable-step",
        constants={"edge": "sgd", "edge_factor": 1.0, "control_factor": 1.1},
        check=check_monte_carlo, control=control_monte_carlo,
        control_label="edge claimed 10% higher (1.05 eta* should shrink)",
        tolerance=MONTE_CARLO,
        mutations=(Mutation("edge_factor", 0.9, "edge -> 0.9 eta*"),
                   Mutation("edge", "gd", "edge -> GD's 2/lambda_max"),
                   Mutation("edge", "trace", "edge -> 2/Tr H")),
        paper_reports="the threshold is necessary and sufficient for mean-square stability; "
                      "MNIST experiments agree (numbers not transcribed)",
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
        source=Source("2401.12332", "sampling model (Bernoulli, B/n, as the OpenReview reviews "
                      "restate it); operator and limits derived here; Thm 1 not retrieved",
                      version="v1", bibkey="dexter2024precise"),
        family="stable-step",
        constants={"finite_n": True, "batch_in_formula": True, "coherent_form": "derived"},
        check=check_bernoulli, control=control_bernoulli,
        control_label="coherent data at GD's 2/lambda for every B (true for fixed-size "
                      "batches)",
        tolerance=BISECTION,
        mutations=(Mutation("finite_n", False, "(1 - B/n) -> 1"),
                   Mutation("batch_in_formula", False, "B -> 1")),
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
