"""Claims of the chapter "Exploding and vanishing gradients in RNNs" (Pascanu, Mikolov and
Bengio, arXiv:1211.5063v2) and their checks.

The paper's full text was not reachable here: we read its abstract and the opening of Sec. 1
(an HTML rendering), and the statements of Sec. 2.1 as quoted verbatim in a public Lean
formalisation of the paper (see NOTES.md). Sec. 2.1 states, for eq. (11) with
:math:`\\|\\mathrm{diag}\\,\\sigma'\\| \\le \\gamma`, that :math:`\\lambda_1 < 1/\\gamma` is
sufficient for vanishing and :math:`\\lambda_1 > 1/\\gamma` necessary for exploding gradients, with
:math:`\\lambda_1` "the absolute value of the largest eigenvalue" of :math:`W_{rec}`; the proof
bounds :math:`\\|W_{rec}\\|_2`, the largest singular value. The singular-value statement
passes; the spectral-radius reading fails on a two-unit counterexample, tested as a mutation
(not as an erratum: the wording is second-hand, the paper itself was not read).

Checks read only plain numbers from the measurement dictionary
(:func:`boundbook.chapters.rnn_gradients.protocol.measurements`); log-norms throughout.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from boundbook.core.chapter import Chapter
from boundbook.core.claims import Claim, Mutation, Outcome, Source, Tolerance
from boundbook.core.stats import clopper_pearson

PAPER = "1211.5063"
VERSION = "v2"
ROUNDING = Tolerance(1e-9, "relative excess of a log-accumulated float64 Jacobian product "
                     "over its bound (attained instances sit at 1e-13)")
CONTROL_S = 1.05
"""The control runs the aligned nets at gamma * lambda_1 = 1.05, just past 1/gamma."""


def _gamma(inst: Mapping[str, Any], k: Mapping[str, Any]) -> float:
    return k["gamma_tanh"] if inst["act"] == "tanh" else k["gamma_sigmoid"]


def _log_bound(inst: Mapping[str, Any], T: int, k: Mapping[str, Any]) -> float:
    lam = inst["sigma1"] if k["radius"] == "singular" else inst["rho"]
    base = _gamma(inst, k) * lam * k["scale"]
    return (T + k["offset"]) * math.log(base) if base > 0 else -math.inf


def check_bound(m: Mapping[str, Any], k: Mapping[str, Any]) -> Outcome:
    """||d x_T / d x_0|| <= (gamma lambda_1)^T for every instance and horizon."""
    worst, slack, equality = -math.inf, math.inf, math.inf
    pred = meas = math.nan
    for inst in m["instances"]:
        for T, lp in zip(m["horizons"], inst["log_prod"], strict=True):
            lb = _log_bound(inst, T, k)
            ratio = math.exp(lp - lb) if math.isfinite(lb) else math.inf
            s = 1 - ratio  # (bound - measured)/bound, computed from logs
            worst = max(worst, ratio - 1)
            if inst["family"] == "aligned":
                equality = min(equality, s)
            elif inst["family"] == "random" and s < slack:
                slack, pred, meas = s, lb / T, lp / T
    ok = worst <= ROUNDING.value and bool(m["sympy_matches"])
    return Outcome(ok, pred, meas, slack=slack, equality=equality,
                   note=f"{len(m['instances'])} instances x horizons {m['horizons']}; worst "
                        f"measured/bound - 1 = {worst:.3g}; shown: per-step log-rates of the "
                        f"closest random net (slack {slack:.3g}); aligned nets: margin "
                        f"{equality:.2e}")


def control_bound(m: Mapping[str, Any], k: Mapping[str, Any]) -> Outcome:
    """The bound with its base 5% smaller, (0.95 gamma lambda_1)^T: must fail."""
    return check_bound(m, {**k, "scale": 0.95 * k["scale"]})


# ------------------------------------------------------------------ necessary, not sufficient
def _counts(m: Mapping[str, Any], k: Mapping[str, Any]) -> tuple[int, int, int, int]:
    """(exploding instances with s <= c, all such, non-exploding random nets with s > c,
    random nets with s > c), at the longest horizon."""
    c = k["c"]
    below_ex = below = above_not = above = 0
    for inst in m["instances"]:
        if inst["family"] == "counterexample":
            continue
        exploded = inst["log_prod"][-1] > 0
        if inst["s"] <= c:
            below += 1
            below_ex += exploded
        elif inst["family"] == "random":
            above += 1
            above_not += not exploded
    return below_ex, below, above_not, above


def check_not_sufficient(m: Mapping[str, Any], k: Mapping[str, Any]) -> Outcome:
    """No net with gamma lambda_1 <= 1 explodes (necessity), and a positive fraction of random
    nets with gamma lambda_1 > 1 does not (not sufficient): the 95% Clopper-Pearson interval
    of that fraction excludes 0."""
    below_ex, below, above_not, above = _counts(m, k)
    lo, hi = _cp(above_not, above)
    ok = below_ex == 0 and lo > 0 and bool(m["sympy_matches"])
    return Outcome(ok, 0.0, above_not / max(above, 1), interval=(lo, hi),
                   note=f"{below_ex} of {below} nets with gamma*lambda_1 <= {k['c']:g} "
                        f"exploded; {above_not} of {above} random nets above it did not "
                        f"(95% CP [{lo:.3f}, {hi:.3f}])")


def control_not_sufficient(m: Mapping[str, Any], k: Mapping[str, Any]) -> Outcome:
    """On the aligned nets just past 1/gamma (gamma lambda_1 = 1.05) 'a positive fraction does
    not explode': must fail (they all explode: the bar 1/gamma cannot be raised)."""
    n_not, n = m["control_not_exploding"], m["control_nets"]
    lo, hi = _cp(n_not, n)
    return Outcome(lo > 0, 0.0, n_not / max(n, 1), interval=(lo, hi),
                   note=f"{n_not} of {n} aligned nets at gamma*lambda_1 = {CONTROL_S} did not "
                        f"explode by T = {m['horizons'][-1]} (95% CP [{lo:.3f}, {hi:.3f}])")


def _cp(k: int, n: int) -> tuple[float, float]:
    """95% Clopper-Pearson interval of k of n (cheap: computed in the check so that a mutated
    bar re-counts)."""
    return clopper_pearson(k, n) if n else (0.0, 1.0)


SEC21 = ("Sec. 2.1, 'The mechanics' (quoted verbatim in a public Lean formalisation of the "
         "paper; the full text itself was not reached: we read the abstract and the opening of "
         "Sec. 1): ")

CLAIMS = (
    Claim(
        id="rnn-jacobian-bound",
        title="||dx_T/dx_0|| <= (gamma lambda_1)^T with lambda_1 the largest singular value",
        statement=r"\Big\|\frac{\partial x_T}{\partial x_0}\Big\| \le (\gamma\lambda_1)^T,\ "
                  r"\lambda_1 = \|W_{rec}\|_2",
        heading="Sufficient condition for vanishing gradients (Pascanu et al. 2013, Sec. 2.1)",
        prf="theorem",
        text=r"""
For $x_t = W_{rec}\sigma(x_{t-1}) + W_{in}u_t + b$ with $|\sigma'| \le \gamma$ ($\gamma = 1$
for tanh, $\gamma = 1/4$ for the sigmoid), each factor of
$\partial x_T/\partial x_0 = \prod_t W_{rec}\,\mathrm{diag}(\sigma'(x_{t-1}))$ has norm at most
$\gamma\lambda_1$, so $\|\partial x_T/\partial x_0\| \le (\gamma\lambda_1)^T$, and
$\lambda_1 < 1/\gamma$ is sufficient for the gradients' long-term components to vanish.
This holds with $\lambda_1 = \|W_{rec}\|_2$, the largest **singular value**, which is what the
proof bounds. It is false with $\lambda_1$ the absolute value of the largest **eigenvalue** (a
nilpotent $W_{rec}$ whose Jacobian products grow like $2^T$): a second-hand quote of Sec. 2.1
words $\lambda_1$ that way, but we could not read the paper's text, so the book does not call
it an erratum; the spectral-radius reading is tested as a mutation, and fails.""",
        source=Source(PAPER, SEC21 + "'it is sufficient for lambda_1 < 1/gamma, where "
                      "lambda_1 is the absolute value of the largest eigenvalue of the "
                      "recurrent weight matrix W_rec, for the vanishing gradient problem to "
                      "occur'; the proof bounds ||W_rec^T||", version=VERSION,
                      bibkey="pascanu2013difficulty"),
        family="contraction",
        kind="bound",
        provenance="paper",
        constants={"radius": "singular", "gamma_tanh": 1.0, "gamma_sigmoid": 0.25,
                   "scale": 1.0, "offset": 0},
        check=check_bound, control=control_bound,
        control_label="the bound's base 5% smaller, (0.95 gamma lambda_1)^T",
        tolerance=ROUNDING,
        mutations=(Mutation("gamma_tanh", 0.9, "gamma(tanh) 1 -> 0.9"),
                   Mutation("gamma_sigmoid", 0.2, "gamma(sigmoid) 1/4 -> 1/5"),
                   Mutation("offset", -1, "exponent T -> T - 1"),
                   Mutation("radius", "spectral", "lambda_1 = spectral radius (as quoted)")),
        digits=4,
        paper_reports="lambda_1 < 1/gamma sufficient for vanishing, lambda_1 'the absolute "
                      "value of the largest eigenvalue' (Sec. 2.1, as quoted); no numbers",
    ),
    Claim(
        id="rnn-necessary-not-sufficient",
        builds_on=("rnn-jacobian-bound",),
        title="gamma lambda_1 > 1 is necessary for exploding gradients, not sufficient",
        statement=r"\text{explode} \Rightarrow \gamma\lambda_1 > 1,\quad "
                  r"\gamma\lambda_1 > 1 \not\Rightarrow \text{explode}",
        heading="Necessary condition for exploding gradients (Pascanu et al. 2013, Sec. 2.1; "
                "corrected)",
        prf="corollary",
        text=r"""
By contraposition of the bound, $\gamma\lambda_1 > 1$ ($\lambda_1 = \|W_{rec}\|_2$) is
*necessary* for the Jacobian products to grow. It is not sufficient: a net above the bar may
still have vanishing gradients (its states saturate, or its spectral radius is smaller than
its largest singular value). The bar itself cannot be raised: just past it
($\gamma\lambda_1 = 1.05$) nets held where $\sigma' = \gamma$ do explode. Decided on
random nets over horizons up to 200 ("explodes": $\|\partial x_T/\partial x_0\| > 1$ at the
longest horizon), with a 95% Clopper-Pearson interval over nets.""",
        source=Source(PAPER, SEC21 + "'by inverting this proof we get the necessary condition "
                      "for exploding gradients, namely that the largest eigenvalue lambda_1 "
                      "is larger than 1/gamma'; 'not sufficient' is the book's reading",
                      version=VERSION, bibkey="pascanu2013difficulty"),
        family="contraction",
        kind="phenomenon",
        provenance="paper",
        monte_carlo=True,
        constants={"c": 1.0},
        check=check_not_sufficient, control=control_not_sufficient,
        control_label="aligned nets at gamma lambda_1 = 1.05 do not explode",
        tolerance=Tolerance(0.0, "counts: no net at or below the bar may explode; the "
                            "interval of the fraction above it must exclude 0"),
        mutations=(Mutation("c", 1.1, "bar 1/gamma -> 1.1/gamma"),
                   Mutation("c", 2.0, "bar 1/gamma -> 2/gamma")),
        digits=3,
        paper_reports="lambda_1 > 1/gamma necessary for exploding gradients (Sec. 2.1, as "
                      "quoted, with lambda_1 an eigenvalue); experiments on synthetic tasks "
                      "up to length 200 (numbers not read)",
    ),
)

CHAPTER = Chapter(slug="rnn_gradients", title="Exploding and vanishing gradients in RNNs",
                  paper=PAPER, claims=CLAIMS, memory_gib={"quick": 0.5, "full": 1.0},
                  cpu_only="small float64 recurrent nets, where a GPU gives nothing")
