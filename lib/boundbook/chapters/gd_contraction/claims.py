"""Claims of the chapter "Gradient descent as a contraction" and their checks.

The classical base of Part II: on a :math:`\\mu`-strongly convex, :math:`L`-smooth loss the
gradient-descent map contracts, :math:`\\|x^+ - y^+\\| \\le q(\\eta)\\|x - y\\|` with
:math:`q(\\eta) = \\max(|1-\\eta\\mu|, |1-\\eta L|)` (textbook: Nesterov 2004, Polyak 1987; not
read here, so both claims are ``derived``: the book's derivation in
:mod:`boundbook.symbolic.contraction`). Both are ``bound`` claims checked on the *per-step*
ratio :math:`\\|x_{t+1}-y_{t+1}\\|/\\|x_t-y_t\\|` that the certificate bounds, with slack the
worst relative margin :math:`(q - \\text{ratio})/q` over random pairs (not constructed), and
``equality`` the margin of pairs built to attain it. The negative control runs the same system
at 1.05 x 2/L, where the certificate no longer promises contraction: some pair must expand.

Checks read only the measurement dictionary (plain numbers), built by
:func:`boundbook.chapters.gd_contraction.protocol.measurements`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from boundbook.core.chapter import Chapter
from boundbook.core.claims import Claim, Mutation, Outcome, Source, Tolerance, relative_slack

PAPER = "textbook"
ROUNDING = Tolerance(1e-9, "float64 rounding of a one-step distance ratio (measured excess "
                     "over the factor is below 1e-14 on quadratics; 1e-9 leaves room for the "
                     "logistic map's summation order)")
CONTROL_UNITS = 1.05


def _factor(mu: float, L: float, eta: float, k: Mapping[str, Any]) -> float:
    """The certified factor, parameterised by the claim's constants: ``ends`` selects which
    ends of [mu, L] enter the max, ``scale`` multiplies it (mutations)."""
    ends = {"both": (mu, L), "mu": (mu,), "L": (L,)}[k["ends"]]
    return k["scale"] * max(abs(1 - eta * c) for c in ends)


def check_bound(m: Mapping[str, Any], k: Mapping[str, Any]) -> Outcome:
    """Every per-step ratio of every pair (random and equality pairs, every system, every step
    of the grid) is at most the certified factor (up to rounding)."""
    worst_excess, slack, equality = -math.inf, math.inf, math.inf
    pred = meas = math.nan
    for sysm in m["systems"]:
        mu, L = sysm["mu"], sysm["L"]
        for eta, worst, eq in zip(sysm["etas"], sysm["worst"], sysm["eq_worst"], strict=True):
            q = _factor(mu, L, eta, k)
            w = max(worst)
            s = relative_slack(q, w)
            if s < slack:
                slack, pred, meas = s, q, w
            equality = min(equality, relative_slack(q, max(eq)))
            worst_excess = max(worst_excess, -s, -relative_slack(q, max(eq)))
    ok = worst_excess <= ROUNDING.value and bool(m["sympy_matches"])
    return Outcome(ok, pred, meas, slack=slack, equality=equality,
                   note=f"{len(m['systems'])} systems x {len(m['systems'][0]['etas'])} steps; "
                        f"worst excess of a one-step ratio over the factor {worst_excess:.2e}; "
                        f"closest random pair: margin {slack:.2e}; equality pairs: margin "
                        f"{equality:.2e}")


def control_contracts(m: Mapping[str, Any], k: Mapping[str, Any]) -> Outcome:
    """'Still a contraction at 1.05 x 2/L' (every pair's per-step ratio below 1): must fail."""
    worst = max(max(s["control_worst"] + s["control_eq_worst"]) for s in m["systems"])
    return Outcome(worst < 1.0, 1.0, worst,
                   note=f"at {CONTROL_UNITS} x 2/L the largest one-step ratio is {worst:.4f}")


TEXTBOOK = Source(PAPER, "not read here: Nesterov 2004, Sec. 2.1.5 (gradient method on "
                  "strongly convex functions, the step 2/(mu+L) and the rate "
                  "((kappa-1)/(kappa+1))^k; theorem number not checked); Polyak 1987, Ch. 1; "
                  "derived here (boundbook.symbolic.contraction)", version="",
                  bibkey="nesterov2004")

_MUTATIONS = (Mutation("scale", 0.95, "factor 5% smaller"),
              Mutation("ends", "mu", "only the mu end: |1 - eta mu|"),
              Mutation("ends", "L", "only the L end: |1 - eta L|"))

CLAIMS = (
    Claim(
        id="gdc-quadratic-factor",
        builds_on=("gdq-optimal-rate",),
        title="GD on a quadratic contracts by max(|1-eta mu|, |1-eta L|) per step, attained",
        statement=r"\|x^+ - y^+\| \le \max(|1-\eta\mu|, |1-\eta L|)\,\|x - y\|",
        heading="Gradient descent contracts (textbook; derived here)",
        prf="theorem",
        text=r"""
Let $f$ be twice differentiable with $\mu I \preceq \nabla^2 f \preceq L I$, $0 < \mu \le L$.
For every $\eta > 0$ and all $x, y$, the gradient step $T(x) = x - \eta\nabla f(x)$ satisfies
$\|T(x) - T(y)\| \le q(\eta)\,\|x - y\|$ with $q(\eta) = \max(|1-\eta\mu|, |1-\eta L|)$. So $T$
is a contraction iff $0 < \eta < 2/L$; the best step is $\eta^\star = 2/(\mu+L)$, with
$q(\eta^\star) = (\kappa-1)/(\kappa+1)$, $\kappa = L/\mu$. On a quadratic the factor is
attained, by pairs whose difference lies along the eigenvector of $\mu$ or of $L$.""",
        source=TEXTBOOK,
        family="contraction",
        kind="bound",
        provenance="derived",
        constants={"scale": 1.0, "ends": "both"},
        check=check_bound, control=control_contracts,
        control_label="still contracting at 1.05 x 2/L",
        tolerance=ROUNDING,
        mutations=_MUTATIONS,
        digits=5,
        paper_reports="(textbook, not read here) ||x_k - x*|| <= ((kappa-1)/(kappa+1))^k "
                      "||x_0 - x*|| for the step 2/(mu+L)",
    ),
    Claim(
        id="gdc-logistic-certificate",
        builds_on=("gdc-quadratic-factor",),
        title="ridge logistic regression: mu = lambda and L = lambda + ||X||^2/(4n) certify "
              "GD's contraction",
        statement=r"\mu = \lambda,\ L = \lambda + \|X\|_2^2/(4n):\ "
                  r"\|x^+ - y^+\| \le \max(|1-\eta\mu|, |1-\eta L|)\,\|x - y\|",
        heading="A contraction certificate for ridge logistic regression (derived here)",
        prf="proposition",
        text=r"""
For $f(w) = \tfrac1n\sum_i \log(1 + e^{-y_i x_i^\top w}) + \tfrac\lambda2\|w\|^2$ the Hessian is
$\tfrac1n X^\top D X + \lambda I$ with $D = \mathrm{diag}(p_i(1-p_i))$ and
$0 \le p(1-p) \le \tfrac14$ (derived with sympy), so everywhere
$\lambda I \preceq \nabla^2 f \preceq (\lambda + \|X\|_2^2/(4n)) I$, and the contraction
theorem applies with $\mu = \lambda$, $L = \lambda + \|X\|_2^2/(4n)$: the certified factor
$q(\eta)$ bounds the per-step ratio of any pair of gradient-descent trajectories.""",
        source=TEXTBOOK,
        family="contraction",
        kind="bound",
        provenance="derived",
        constants={"scale": 1.0, "ends": "both"},
        check=check_bound, control=control_contracts,
        control_label="still contracting at 1.05 x 2/L (pairs near w = 0)",
        tolerance=ROUNDING,
        mutations=_MUTATIONS,
        digits=5,
        paper_reports="(no paper: the standard curvature bounds of logistic regression, "
                      "p(1-p) <= 1/4, with the textbook contraction theorem)",
    ),
)

CHAPTER = Chapter(slug="gd_contraction", title="Gradient descent as a contraction",
                  paper=PAPER, claims=CLAIMS, memory_gib={"quick": 0.5, "full": 1.0},
                  cpu_only="small float64 problems, where a GPU gives nothing")
