"""Claims of the chapter "Why target networks stabilise temporal-difference learning"
(Fellows, Smith and Whiteson, arXiv:2302.12537v3) and their checks.

The paper's theorems were not readable in any copy we could reach (abstract only; see
NOTES.md). The chapter therefore checks the abstract's claim, that a well-tuned target-update
period makes partially fitted evaluation converge where semi-gradient TD diverges (the deadly
triad), on the linear case, where the book derives everything exactly: the composite map
:math:`A_k` of :math:`k` inner steps and a target copy (an ``identity``), the range of periods
that converge at a fixed step (a ``threshold``, credited to the paper's abstract), the window
of step sizes at a fixed period (a ``threshold``, derived), and why the classic one-feature
"w, 2w" example cannot show any of it (a ``threshold``, derived: TD and fitted evaluation lose
stability at the same discount, 5/6).

The exact test is the spectral radius :math:`\\rho(A_k) < 1` (decided on rational data by the
2x2 Jury conditions in the derivation), not a norm: on the chapter's instance
:math:`\\|A_k\\|_2 > 1` for every period, converging or not. Checks read plain numbers only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from boundbook.core.chapter import Chapter
from boundbook.core.claims import Claim, Mutation, Outcome, Source, Tolerance

PAPER = "2302.12537"
VERSION = "v3"
BIB = "fellows2023targetnetworks"

MAP_RTOL = Tolerance(1e-12, "the simulated composite map (k inner float64 steps, autograd "
                     "Jacobian) against the closed form: rounding only, ~1e-15 observed")
PERIOD_TOL = Tolerance(0.0, "periods are integers: the measured first converging period must "
                       "equal the exact one")
RATE_RTOL = Tolerance(2e-3, "a fitted rate estimates rho(A_k) up to the transient of a "
                      "300-step window (~1e-4 observed); a rate within 0.2% of 1 is not "
                      "called either way")
EDGE_RTOL = Tolerance(0.05, "the measured edge is the first grid step past the predicted one "
                      "on a grid of spacing < 3% of the edge, plus the fitted-rate bias")
GAMMA_RTOL = Tolerance(0.01, "the discount grid has spacing 0.005 (0.6% of 5/6)")


def _source(where: str) -> Source:
    return Source(PAPER, where, version=VERSION, bibkey=BIB)


# ----------------------------------------------------------------------------- composite map

def check_composite(m: Mapping[str, Any], k: Mapping[str, Any]) -> Outcome:
    """The simulated outer map's Jacobian equals the closed form ``k['form']``."""
    err = float(m["errors"][k["form"]])
    ok = err <= MAP_RTOL.value and bool(m["sympy_matches"])
    return Outcome(ok, 0.0, err, note=f"max relative error of the simulated Jacobian against "
                   f"the {k['form']} form, periods {m['periods']}, {m['points']} targets each; "
                   f"sympy (k = 1..4, alpha symbolic): {m['sympy_matches']}")


def control_composite(m: Mapping[str, Any], k: Mapping[str, Any]) -> Outcome:
    """The off-by-one form (k + 1 inner steps) must not match."""
    return check_composite(m, {**k, "form": "k+1"})


# ----------------------------------------------------------------------------- periods

def _first_converging(rates: list[float], periods: list[int]) -> int:
    """The smallest period from which every measured rate in the sweep is below 1."""
    first = periods[-1] + 1
    for p, r in zip(reversed(periods), reversed(rates), strict=True):
        if not r < 1.0:
            break
        first = p
    return first


def check_rescue(m: Mapping[str, Any], k: Mapping[str, Any]) -> Outcome:
    """TD (k = 1) diverges, and the measured first converging period equals the exact one
    (shifted by ``k['k_offset']``, 0 unless mutated); every
    measured rate is on the side of 1 that the exact rho(A_k) says, by more than RATE_RTOL
    unless rho itself is that close."""
    periods, rates, rho = list(m["periods"]), list(m["rate"]), list(m["rho"])
    measured = _first_converging(rates, periods)
    agree = all((r < 1) == (p < 1) or abs(p - 1) < RATE_RTOL.value
                for r, p in zip(rates, rho, strict=True))
    td = rates[0] > 1.0 and bool(m["td_unstable"])
    pred = int(m["k_star_exact"]) + int(k["k_offset"])
    ok = measured == pred and agree and td and bool(m["exact_stable_after"])
    return Outcome(ok, pred, measured, slack=measured / pred - 1,
                   note=f"first converging period at alpha = {m['alpha']}: measured {measured}, "
                        f"exact {pred}; TD rate {rates[0]:.4f}; measured rates agree with "
                        f"rho(A_k) on every period 1..{periods[-1]}: {agree}; exact rho(A_k) "
                        f"< 1 for every k in {pred}..{m['K']}: {m['exact_stable_after']}")


def control_rescue(m: Mapping[str, Any], k: Mapping[str, Any]) -> Outcome:
    """'The period just below, k* - 1, already converges': must fail."""
    i = list(m["periods"]).index(int(m["k_star_exact"]) + int(k["k_offset"]) - 1)
    r = float(m["rate"][i])
    return Outcome(r < 1.0, 1.0, r, note=f"measured rate at period {m['periods'][i]}: {r:.4f}")


# ----------------------------------------------------------------------------- step window

def _window_outcome(m: Mapping[str, Any], lo: float, hi: float) -> Outcome:
    offs = (m["measured_lo"] / lo - 1, m["measured_hi"] / hi - 1)
    worst = max(offs, key=abs)
    ok = all(abs(o) <= EDGE_RTOL.value for o in offs) and bool(m["inside"])
    return Outcome(ok, hi, m["measured_hi"], slack=worst,
                   note=f"period {m['k']}: window ({lo:.4f}, {hi:.4f}) predicted, "
                        f"({m['measured_lo']:.4f}, {m['measured_hi']:.4f}) measured; "
                        f"offsets {offs[0]:+.2%} / {offs[1]:+.2%}")


def check_window(m: Mapping[str, Any], k: Mapping[str, Any]) -> Outcome:
    """Both measured edges of the converging step-size window within EDGE_RTOL of the exact
    roots (scaled by ``k['scale']``)."""
    lo, hi = m["predicted"]
    return _window_outcome(m, k["scale_lo"] * lo, k["scale_hi"] * hi)


def control_window(m: Mapping[str, Any], k: Mapping[str, Any]) -> Outcome:
    """'The iteration still converges at 0.95 lo and at 1.05 hi': must fail."""
    r = m["outside"]
    worst = min(r.values())
    return Outcome(worst < 1.0, 1.0, worst,
                   note="rates just outside the window: "
                        + ", ".join(f"{n}: {v:.4f}" for n, v in r.items()))


# ----------------------------------------------------------------------------- classic example

def check_classic(m: Mapping[str, Any], k: Mapping[str, Any]) -> Outcome:
    """Every period's measured critical discount is within GAMMA_RTOL of ``k['gamma_c']``
    (5/6, where TD and fitted evaluation both lose stability)."""
    g = float(k["gamma_c"])
    offs = [x / g - 1 for x in m["gamma_c"]]
    worst = max(offs, key=abs)
    ok = all(abs(o) <= GAMMA_RTOL.value for o in offs) and bool(m["sympy_coincide"])
    return Outcome(ok, g, g * (1 + worst), slack=worst,
                   note=f"critical discount per period {m['periods']}: "
                        + ", ".join(f"{x:.4f}" for x in m["gamma_c"])
                        + f"; exact TD = fitted = 5/6: {m['sympy_coincide']}")


def control_classic(m: Mapping[str, Any], k: Mapping[str, Any]) -> Outcome:
    """'A target network rescues the example at gamma 2% above 5/6 (some period converges)':
    must fail."""
    rates = list(m["rate_above"])
    return Outcome(min(rates) < 1.0, 1.0, min(rates),
                   note=f"smallest rate over periods {m['periods']} at gamma = "
                        f"{m['gamma_above']:.4f}: {min(rates):.4f}")


CLAIMS = (
    Claim(
        id="tn-composite-map",
        title="k inner steps and a target copy make the affine map A_k",
        statement=r"A_k = (I - \alpha M)^k + (I - (I - \alpha M)^k) M^{-1}\gamma B",
        source=_source("location not found in v3 (abstract only); the book's derivation, "
                       "the reconstruction recorded in our reading notes"),
        family="contraction", kind="identity", provenance="derived",
        constants={"form": "exact"},
        check=check_composite, control=control_composite,
        control_label="the same comparison against the off-by-one form (k + 1 inner steps)",
        tolerance=MAP_RTOL,
        mutations=(Mutation("form", "1.05 gamma", "gamma -> 1.05 gamma"),
                   Mutation("form", "k+1", "k -> k + 1")),
        heading="The composite map of partially fitted evaluation (derived)",
        text=r"""With linear values $\Phi\omega$, sampling weights $D$, target-policy
transitions $P$, $M = \Phi^\top D\Phi$ and $B = \Phi^\top DP\Phi$: $k$ gradient steps of size
$\alpha$ on $\tfrac12\|\Phi\omega - (R + \gamma P\Phi\bar\omega)\|_D^2$ from
$\omega = \bar\omega$, followed by the copy $\bar\omega \leftarrow \omega$, are the affine map
$\bar\omega \mapsto A_k\bar\omega + b_k$ with

$$A_k = (I - \alpha M)^k + \big(I - (I - \alpha M)^k\big)M^{-1}\gamma B .$$

$k = 1$ is expected semi-gradient TD(0), $A_1 = I + \alpha(\gamma B - M)$; $k \to \infty$
(with $|1 - \alpha\lambda(M)| < 1$) is fitted evaluation, $M^{-1}\gamma B$. The iteration
converges from every start iff $\rho(A_k) < 1$.""",
        prf="proposition",
        paper_reports="not read (abstract only): the paper's partially fitted evaluation "
                      "interpolates between fitted methods and semi-gradient TD",
    ),
    Claim(
        id="tn-rescue",
        builds_on=("tn-composite-map",),
        title="a long enough target period converges where TD diverges",
        statement=r"TD diverges; rho(A_k) < 1 exactly for k >= k*",
        source=_source("abstract (theorem location not found in v3): 'under mild regularity "
                       "conditions and a well tuned target network update frequency, "
                       "convergence can be guaranteed'"),
        family="contraction", kind="threshold", provenance="paper",
        constants={"k_offset": 0},
        check=check_rescue, control=control_rescue,
        control_label="the period just below the exact one, k* - 1",
        tolerance=PERIOD_TOL,
        mutations=(Mutation("k_offset", -1, "k* -> k* - 1"),
                   Mutation("k_offset", 1, "k* -> k* + 1")),
        heading="Target networks rescue the deadly triad (Fellows et al., abstract)",
        text=r"""On an off-policy linear instance where the TD Jacobian $\gamma B - M$ has an
eigenvalue with positive real part (semi-gradient TD diverges at every step size) and fitted
evaluation contracts ($\rho(\gamma M^{-1}B) < 1$), partially fitted evaluation with the inner
step $\alpha = 1/\operatorname{tr}M$ converges exactly for the target-update periods
$k \ge k^\star$, where $k^\star$ is the smallest period from which $\rho(A_k) < 1$ (decided
exactly); simulated, the periods below $k^\star$ diverge and those from $k^\star$ on
converge.""",
        paper_reports="abstract: target networks mitigate the poor conditioning of the TD "
                      "Jacobian; with a well-tuned update frequency convergence is "
                      "guaranteed even off-policy (no numbers read)",
    ),
    Claim(
        id="tn-step-window",
        builds_on=("tn-composite-map",),
        title="at a fixed period, the converging steps form a window",
        statement=r"rho(A_k(alpha)) < 1 iff alpha_lo < alpha < alpha_hi",
        source=_source("not in the paper as read (abstract only): the book's derivation"),
        family="contraction", kind="threshold", provenance="derived",
        constants={"scale_lo": 1.0, "scale_hi": 1.0},
        check=check_window, control=control_window,
        control_label="steps 5% outside the window (0.95 alpha_lo and 1.05 alpha_hi)",
        tolerance=EDGE_RTOL,
        mutations=(Mutation("scale_hi", 1.1, "alpha_hi -> 1.1 alpha_hi"),
                   Mutation("scale_lo", 0.9, "alpha_lo -> 0.9 alpha_lo")),
        heading="The step-size window at a fixed target period (derived)",
        text=r"""At a fixed period $k$ the steps with $\rho(A_k(\alpha)) < 1$ form a window
$(\alpha_{lo}, \alpha_{hi})$ whose edges are real roots of the Jury polynomials
$\det A_k - 1$, $\operatorname{tr}A_k - 1 - \det A_k$ and $\operatorname{tr}A_k + 1 + \det A_k$
(exact algebraic numbers). Below $\alpha_{lo}$ the inner loop fits too little
($A_k \approx I + k\alpha(\gamma B - M)$, TD again); above $\alpha_{hi}$ the inner loop itself
overshoots. The simulated iteration stops contracting at both edges.""",
        prf="proposition",
        paper_reports="not read (abstract only)",
    ),
    Claim(
        id="tn-classic-no-rescue",
        builds_on=("tn-composite-map",),
        title="the one-feature 'w, 2w' example cannot show the rescue",
        statement=r"gamma_TD = gamma_fitted = 5/6; rho(A_k) > 1 for every k when gamma > 5/6",
        source=_source("not in the paper as read: the book's derivation (a correction in "
                       "our reading notes)"),
        family="contraction", kind="threshold", provenance="derived",
        constants={"gamma_c": 5 / 6},
        check=check_classic, control=control_classic,
        control_label="the rescue hypothesis at gamma 2% above 5/6",
        tolerance=GAMMA_RTOL,
        mutations=(Mutation("gamma_c", 0.9, "5/6 -> 0.9"),
                   Mutation("gamma_c", 0.8, "5/6 -> 0.8")),
        heading="Why the classic example cannot show it (derived)",
        text=r"""In Tsitsiklis and Van Roy's two-state example ($\phi = (1, 2)$, every
transition into the second state, $D = (\tfrac12, \tfrac12)$) everything is scalar:
$M = 5/2$, $B = 3$ and $A_k = q + (1 - q)\,\tfrac65\gamma$ with $q = (1 - \alpha M)^k$. TD
($k = 1$) and fitted evaluation ($q \to 0$) lose stability at the same discount
$\gamma = 5/6$, and for $\gamma > 5/6$, $A_k - 1 = (1 - q)(\tfrac65\gamma - 1) > 0$ for every
period: no target period rescues it. In any one-feature problem the two thresholds
coincide.""",
        prf="proposition",
        paper_reports="not in the paper as read; our reading notes' first plan used this example",
    ),
)

CHAPTER = Chapter(slug="target_networks",
                  title="Why target networks stabilise temporal-difference learning",
                  paper=PAPER, claims=CLAIMS, cpu_only="tiny 2-D linear iterations")
