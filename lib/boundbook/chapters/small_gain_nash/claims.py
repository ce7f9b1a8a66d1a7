"""Claims of the chapter "Small-Gain Nash: certified contraction in differentiable games"
(Sharma, arXiv:2512.06791v1) and their checks.

The paper's body was not readable here: the statements are the abstract's, with the formulas
as the author's public code implements them (``AashVed/SmallGainNash``: ``sgn_margin``,
``two_player_band``, ``euler_step = 2*alpha_star/beta**2``, the last labelled "Theorem 4.3"
in its docstrings). For two players with curvature bounds :math:`\\mu_i` and coupling bounds
:math:`L_{ij}` and block weights :math:`w`,

- the SGN matrix :math:`C(w) = \\begin{pmatrix} 2w_1\\mu_1 & -(w_1L_{12}+w_2L_{21}) \\\\
  -(w_1L_{12}+w_2L_{21}) & 2w_2\\mu_2\\end{pmatrix}` and the margin
  :math:`\\alpha^*(w) = \\tfrac12\\lambda_{\\min}(D_w^{-1/2}C(w)D_w^{-1/2})`
  (:func:`sgn_margin`);
- the timescale band of ratios :math:`r = w_2/w_1` with :math:`\\alpha^* > 0`:
  :math:`r_\\pm = (2P - Q \\pm 2\\sqrt{P(P-Q)})/L_{21}^2`, :math:`P = \\mu_1\\mu_2`,
  :math:`Q = L_{12}L_{21}`, empty iff :math:`P \\le Q` (:func:`timescale_band`);
- the Euler step bound :math:`h < 2\\alpha^*/\\beta^2`, :math:`\\beta` the Lipschitz constant of
  :math:`F` in the metric, with the per-step factor :math:`q^*(h) =
  \\sqrt{1 - 2h\\alpha^* + h^2\\beta^2}` of the standard argument (:func:`euler_factor_bound`).

These closed forms are written here in plain Python (this module imports only the standard
library and :mod:`boundbook.core`) and tested against :mod:`.derivation`. Every check is a
pure function of the measurement dictionary built by :func:`.protocol.measurements`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from boundbook.core.chapter import Chapter
from boundbook.core.claims import Claim, Mutation, Outcome, Source, Tolerance, relative_slack

PAPER = "2512.06791"
MARGIN_TOL = Tolerance(1e-9, "float64 eigenvalues of matrices of norm <= 1e3: rounding "
                       "<= 1e-12 relative; the equality games sit at 0 to that precision, a "
                       "10% change of a constant moves them by 0.1")
EDGE_RTOL = Tolerance(1e-6, "the measured edges are bisected 60 times in log r (relative "
                      "resolution < 1e-12); the equality games' edges are exact")
FACTOR_TOL = Tolerance(1e-9, "exact weighted operator norms of the Euler map (float64); a "
                       "pair's one-step ratio carries rounding of 1e-12 relative")
SWEEP_RTOL = 0.02
"""The measured largest contracting step must agree with its closed form to 2% (a 2 x 64-step
bracketing sweep; a finite run sees the edge slightly above the true one)."""


# ----------------------------------------------------------------------------- closed forms

def _lam_min_2x2(p: float, q: float, s: float) -> float:
    """The smaller eigenvalue of the symmetric matrix [[p, q], [q, s]]."""
    return 0.5 * (p + s) - math.sqrt(0.25 * (p - s) ** 2 + q * q)


def sgn_margin(mu1: float, mu2: float, L12: float, L21: float, w1: float, w2: float,
               half: float = 0.5, normalise: bool = True) -> float:
    """:math:`\\alpha^*(w) = \\tfrac12\\lambda_{\\min}(D_w^{-1/2} C(w) D_w^{-1/2})` (``half``:
    the factor 1/2; ``normalise=False``: without :math:`D_w^{-1/2}`, i.e.
    :math:`\\lambda_{\\min}(M_w)`, the reading the authors' code corrects)."""
    off = -(w1 * L12 + w2 * L21)
    if normalise:
        return half * _lam_min_2x2(2 * mu1, off / math.sqrt(w1 * w2), 2 * mu2)
    return half * _lam_min_2x2(2 * w1 * mu1, off, 2 * w2 * mu2)


def timescale_band(mu1: float, mu2: float, L12: float, L21: float, two_p: float = 2.0,
                   two_root: float = 2.0, denominator: str = "L21") -> tuple[float, float]:
    """The certified band :math:`(r_-, r_+)` of ratios :math:`r = w_2/w_1`:
    :math:`(2P - Q \\mp 2\\sqrt{P(P-Q)})/L_{21}^2`; ``(nan, nan)`` when :math:`P \\le Q`."""
    P, Q = mu1 * mu2, L12 * L21
    if P <= Q:
        return (math.nan, math.nan)
    den = (L21 if denominator == "L21" else L12) ** 2
    root = two_root * math.sqrt(P * (P - Q))
    return ((two_p * P - Q - root) / den, (two_p * P - Q + root) / den)


def euler_factor_bound(h: float, alpha: float, beta: float, two: float = 2.0) -> float:
    """:math:`q^*(h) = \\sqrt{1 - 2h\\alpha + h^2\\beta^2}`: the Euler map's factor in the
    metric when F is alpha-strongly monotone and beta-Lipschitz there."""
    return math.sqrt(max(1.0 - two * h * alpha + h * h * beta * beta, 0.0))


def euler_step_bound(alpha: float, beta: float, c: float = 2.0) -> float:
    """:math:`h_{\\rm SGN} = 2\\alpha^*/\\beta^2` (Theorem 4.3 per the authors' code)."""
    return c * alpha / beta**2


def _margin(m: Mapping[str, Any], g: int, w2: float, k: Mapping[str, Any]) -> float:
    return sgn_margin(m["mu1"][g], m["mu2"][g], m["L12"][g], m["L21"][g], 1.0, w2,
                      k["half"], k["normalise"])


# ----------------------------------------------------------------------------- certificate

def check_monotone(m: Mapping[str, Any], k: Mapping[str, Any]) -> Outcome:
    """Inside the band: alpha* > 0, alpha_true >= alpha* and the flow's worst-case distance
    in the metric decays at least like exp(-alpha* t) (the note counts the games whose
    Euclidean symmetric part is indefinite: those the Euclidean test cannot certify)."""
    worst: dict[bool, tuple[float, float, float]] = {}
    flow_excess, positive = -math.inf, True
    for g, r, at, flow in zip(m["game"], m["ratio"], m["alpha_true"], m["flow_log_norm"],
                              strict=True):
        a = _margin(m, g, r, k)
        positive &= a > 0
        rel = relative_slack(a, at, upper=False)
        eq = bool(m["equality"][g])
        if eq not in worst or rel < worst[eq][0]:
            worst[eq] = (rel, a, at)
        flow_excess = max(flow_excess, max(f + a * t for f, t in zip(flow, m["times"],
                                                                      strict=True)))
    rel_all = min(v[0] for v in worst.values())
    indefinite = sum(e < 0 for e in m["euclid"])
    ok = (rel_all >= -MARGIN_TOL.value and positive and flow_excess <= MARGIN_TOL.value
          and bool(m["sympy_matches"]))
    rel, a, at = worst.get(False, worst[True])
    return Outcome(ok, a, at, slack=rel, equality=worst[True][0] if True in worst else None,
                   note=f"{len(m['ratio'])} (game, weight) pairs inside the band on "
                        f"{len(m['euclid'])} games ({indefinite} Euclidean-indefinite); "
                        f"worst (alpha_true - alpha*)/alpha*: {rel:.3g} on random games, "
                        f"{worst[True][0]:.2g} on the equality games; flow: max of "
                        f"log||e^(-Ht)||_w + alpha* t = {flow_excess:.2g}")


def control_monotone(m: Mapping[str, Any], k: Mapping[str, Any]) -> Outcome:
    """'F is strongly monotone in ||.||_w at every weight just outside the band': must fail."""
    at = m["out_alpha_true"]
    still = sum(a > 0 for a in at)
    eq_neg = sum(a <= 0 for a, g in zip(at, m["out_game"], strict=True) if m["equality"][g])
    return Outcome(still == len(at), 0.0, min(at),
                   note=f"{still} of {len(at)} weights 5% outside the band still monotone "
                        f"(random games: the certificate is conservative); {eq_neg} on the "
                        f"equality games are not")


# ----------------------------------------------------------------------------- band

def check_band(m: Mapping[str, Any], k: Mapping[str, Any]) -> Outcome:
    """Equality games: the measured band (true margin > 0) has the closed-form edges; random
    games: it contains the certified band."""
    worst, pair, contained = -1.0, (math.nan, math.nan), True
    for i, (lo, hi) in enumerate(m["measured"]):
        p = timescale_band(m["mu1"][i], m["mu2"][i], m["L12"][i], m["L21"][i], k["two_p"],
                           k["two_root"], k["denominator"])
        if m["equality"][i]:
            for meas, pred in ((lo, p[0]), (hi, p[1])):
                err = abs(meas / pred - 1) if math.isfinite(meas * pred) else math.inf
                if err > worst:
                    worst, pair = err, (pred, meas)
        else:
            contained &= (math.isfinite(lo * hi * p[0] * p[1]) and lo <= p[0] * (1 + 1e-9)
                          and hi >= p[1] * (1 - 1e-9))
    ok = worst <= EDGE_RTOL.value and contained and bool(m["sympy_matches"])
    return Outcome(ok, pair[0], pair[1], slack=pair[1] / pair[0] - 1,
                   note=f"worst relative edge error on the equality games {worst:.2g}; "
                        f"measured band contains the certified one on every random game: "
                        f"{contained}")


def control_band(m: Mapping[str, Any], k: Mapping[str, Any]) -> Outcome:
    """'A band of monotone weights exists just past the small-gain bound (L12 L21 = 1.05 mu1
    mu2)': must fail (the true margin is negative at every scanned ratio)."""
    mx = max(m["past_max_alpha"])
    return Outcome(mx > 0, 0.0, mx,
                   note=f"largest true margin over {m['scan_size']} ratios in "
                        f"[{m['scan_lo']:.0e}, {m['scan_hi']:.0e}] on the past-bound games")


# ----------------------------------------------------------------------------- Euler rate

def check_euler_rate(m: Mapping[str, Any], k: Mapping[str, Any]) -> Outcome:
    """For h <= h_SGN: the exact factor, every pair's fitted rate and every one-step ratio in
    ||.||_w are <= q*(h); slack on the contraction exponents -log q (c < 1)."""
    worst: dict[bool, tuple[float, float, float]] = {}
    excess = -math.inf
    for g, c, h, beta, f, rmax, ws in zip(m["game"], m["mult"], m["h"], m["beta"], m["factor"],
                                          m["pair_rate_max"], m["pair_worst_step"],
                                          strict=True):
        if c > 1:
            continue
        a = _margin(m, g, m["ratio"][g], k)
        q = euler_factor_bound(h, a, beta, k["two"])
        excess = max(excess, max(f, rmax, ws) / q - 1)
        if c < 1 and q < 1:
            rel = relative_slack(-math.log(q), -math.log(f), upper=False)
            eq = bool(m["equality"][g])
            if eq not in worst or rel < worst[eq][0]:
                worst[eq] = (rel, q, f)
    ok = excess <= FACTOR_TOL.value and bool(m["sympy_matches"])
    rel, q, f = worst.get(False, worst[True])
    return Outcome(ok, q, f, slack=rel, equality=worst[True][0] if True in worst else None,
                   note=f"largest measured/certified factor - 1 over the steps h <= h_SGN: "
                        f"{excess:.2g}; worst exponent slack (-log f + log q*)/(-log q*): "
                        f"{rel:.3g} on random games, {worst[True][0]:.3g} on the equality "
                        "games")


def control_euler_rate(m: Mapping[str, Any], k: Mapping[str, Any]) -> Outcome:
    """'Euler still contracts just past the small-gain bound' (median pair rate < 1 at every
    step tried): must fail."""
    med, ci = m["past_median"], m["past_interval"]
    i = min(range(len(med)), key=lambda j: ci[j][0])
    straddle = any(lo < 1 <= hi or lo <= 1 < hi for lo, hi in ci)
    return Outcome(all(x < 1 for x in med), 1.0, med[i], interval=tuple(ci[i]),
                   undecided=straddle,
                   note=f"{sum(x >= 1 for x in med)} of {len(med)} (game, step) runs past the "
                        "bound have median rate >= 1; shown: the smallest, with its 95% "
                        "interval over pairs")


# ----------------------------------------------------------------------------- step bound

def check_step(m: Mapping[str, Any], k: Mapping[str, Any]) -> Outcome:
    """h_SGN = 2 alpha*/beta^2 <= the measured largest contracting step, on every game; the
    sweep agrees with the closed form 2 Re(lam)/|lam|^2 to 2%."""
    rows = []
    for i, (a, b, meas, closed) in enumerate(zip(m["alpha_star"], m["beta"], m["measured"],
                                                  m["closed"], strict=True)):
        hs = euler_step_bound(a, b, k["c"])
        rows.append((relative_slack(hs, meas, upper=False), hs, meas, abs(meas / closed - 1),
                     i))
    rel, hs, meas, _, i = min(rows)
    sweep = max(r[3] for r in rows)
    ex = m["labels"].index(m["example"])
    ratio_ex = m["measured"][ex] / euler_step_bound(m["alpha_star"][ex], m["beta"][ex], k["c"])
    ok = rel >= 0 and sweep <= SWEEP_RTOL and bool(m["sympy_matches"])
    return Outcome(ok, hs, meas, slack=rel,
                   note=f"{len(rows)} games; tightest: {m['labels'][i]} (measured/certified "
                        f"{meas / hs:.3g}); the paper's example: {ratio_ex:.3g}; largest "
                        f"sweep error against 2Re(lam)/|lam|^2: {sweep:.2%}")


def control_step(m: Mapping[str, Any], k: Mapping[str, Any]) -> Outcome:
    """'Euler still contracts at 1.05 x the true largest step': must fail on every game."""
    med, ci = m["above_median"], m["above_interval"]
    i = min(range(len(med)), key=lambda j: med[j])
    straddle = any(lo < 1 <= hi or lo <= 1 < hi for lo, hi in ci)
    return Outcome(any(x < 1 for x in med), 1.0, med[i], interval=tuple(ci[i]),
                   undecided=straddle,
                   note=f"median pair rate at {m['above']:g} x 2Re(lam)/|lam|^2: smallest "
                        f"over {len(med)} games, with its 95% interval over pairs")


# ----------------------------------------------------------------------------- claims

def _src(where: str) -> Source:
    return Source(PAPER, where, version="v1", bibkey="sharma2025smallgain")


_CODE = "the author's code AashVed/SmallGainNash (commit 451dfcd)"

CLAIMS = (
    Claim(
        id="sgn-monotone",
        title="inside the band, F is alpha*-strongly monotone in the SGN metric, though not "
              "in the Euclidean one",
        statement=r"\alpha^*(w) = \tfrac12\lambda_{\min}(D_w^{-1/2}C(w)D_w^{-1/2}) > 0 "
                  r"\Rightarrow \langle F(x)-F(y), x-y\rangle_w \ge \alpha^*\|x-y\|_w^2",
        heading="The SGN certificate (Sharma 2025, abstract; margin as in the author's code)",
        prf="theorem",
        text=r"""
Let player $i$ have curvature $\nabla^2_{x_ix_i} f_i \succeq \mu_i I$ and coupling
$\|\nabla_{x_j}\nabla_{x_i} f_i\| \le L_{ij}$, and let
$C(w) = \begin{pmatrix} 2w_1\mu_1 & -(w_1L_{12}+w_2L_{21}) \\ -(w_1L_{12}+w_2L_{21}) &
2w_2\mu_2\end{pmatrix}$. If $\alpha^*(w) = \tfrac12\lambda_{\min}(D_w^{-1/2}C(w)D_w^{-1/2}) > 0$,
the pseudo-gradient is $\alpha^*$-strongly monotone in $\|x\|_w^2 = \sum_i w_i\|x_i\|^2$, even
where its Euclidean symmetric part is indefinite, and the flow $\dot x = -F(x)$ contracts
there at rate $\alpha^*$: $\|x(t)-y(t)\|_w \le e^{-\alpha^* t}\|x(0)-y(0)\|_w$. (The abstract
states the result; the normalised margin, with the factor 2 in $C$, is the one the author's
code computes: the theorem's text was not readable here.)""",
        source=_src("abstract (v1 HTML opening; the body was not readable): a weighted block "
                    "metric in which the pseudo-gradient becomes strongly monotone, the flow "
                    f"exponentially contracting; the margin as implemented in {_CODE}, "
                    "LQ_GAMES/compute_sgn_metrics.py sgn_margin; theorem number: location "
                    "not found in v1"),
        family="contraction",
        kind="bound",
        provenance="paper",
        constants={"half": 0.5, "normalise": True},
        check=check_monotone, control=control_monotone,
        control_label="strongly monotone at weights 5% outside the band",
        tolerance=MARGIN_TOL,
        mutations=(Mutation("half", 0.55, "1/2 -> 0.55"),
                   Mutation("half", 1.0, "the factor 2 of C not halved"),
                   Mutation("normalise", False, "lambda_min(M_w) without D_w^(-1/2)")),
        digits=4,
        paper_reports="SGN certifies convergence on quadratic games where Euclidean "
                      "monotonicity fails (abstract; Section 5.1 example a = 10, b = 0.05, "
                      "w = (1, 200), per the code)",
    ),
    Claim(
        id="sgn-band",
        title="the timescale band: the certified ratios w2/w1 form the interval (r-, r+), "
              "empty iff L12 L21 >= mu1 mu2",
        statement=r"\alpha^*(1, r) > 0 \iff r_- < r < r_+,\ "
                  r"r_\pm = \frac{2P - Q \pm 2\sqrt{P(P-Q)}}{L_{21}^2},\ P = \mu_1\mu_2,\ "
                  r"Q = L_{12}L_{21}",
        heading="The certified timescale band (Sharma 2025, abstract; closed form as in the "
                "author's code, derived here)",
        prf="proposition",
        text=r"""
For two players the certificate holds exactly for the weight ratios $r = w_2/w_1$ in the
finite band $r_- < r < r_+$ with
$r_\pm = \big(2P - Q \pm 2\sqrt{P(P-Q)}\big)/L_{21}^2$, $P = \mu_1\mu_2$, $Q = L_{12}L_{21}$; it is
empty iff $L_{12}L_{21} \ge \mu_1\mu_2$ (the small-gain condition), and its geometric centre
$\sqrt{r_-r_+} = L_{12}/L_{21}$ is the paper's balanced choice. When the bounds are attained
(scalar players, or an orthogonal coupling with isotropic curvature), the band is exactly the
set of ratios in which $F$ is strongly monotone; otherwise that set contains it.""",
        source=_src("abstract (v1): 'a finite band of relative metric weights for which a "
                    "single-step-size dynamics is provably contractive'; closed form as in "
                    f"{_CODE}, LQ_GAMES/compute_sgn_metrics.py two_player_band (location not "
                    "found in v1); derived here with sympy"),
        family="contraction",
        kind="threshold",
        provenance="paper",
        constants={"two_p": 2.0, "two_root": 2.0, "denominator": "L21"},
        check=check_band, control=control_band,
        control_label="a monotone band exists at L12 L21 = 1.05 mu1 mu2",
        tolerance=EDGE_RTOL,
        mutations=(Mutation("two_p", 2.2, "2P - Q -> 2.2P - Q"),
                   Mutation("two_root", 1.8, "2 sqrt(P(P-Q)) -> 1.8 sqrt(P(P-Q))"),
                   Mutation("denominator", "L12", "L21^2 -> L12^2 (the band of w1/w2)")),
        digits=6,
        paper_reports="a finite 'timescale band' of metric weights (abstract); balanced "
                      "weights w1/w2 = L21/L12 in the experiments (code)",
    ),
    Claim(
        id="sgn-euler-rate",
        builds_on=("sgn-monotone",),
        title="below h_SGN, Euler contracts in the SGN metric by at most "
              "sqrt(1 - 2h alpha* + h^2 beta^2) per step",
        statement=r"0 < h \le \tfrac{2\alpha^*}{\beta^2}:\ \|x^+-y^+\|_w \le "
                  r"\sqrt{1 - 2h\alpha^* + h^2\beta^2}\,\|x-y\|_w",
        heading="Euler's certified factor (derived here; the step bound is the paper's)",
        prf="proposition",
        text=r"""
If $F$ is $\alpha^*$-strongly monotone and $\beta$-Lipschitz in $\|\cdot\|_w$, the Euler map
$x^+ = x - hF(x)$ satisfies $\|x^+-y^+\|_w^2 \le (1 - 2h\alpha^* + h^2\beta^2)\|x-y\|_w^2$, a
contraction for $0 < h < 2\alpha^*/\beta^2$. This per-step factor is the standard argument
behind the paper's step bound (whose theorem text we could not read), so the claim is our
derivation; measured here as the exact factor of the Euler map in the metric, and as every
sampled pair's fitted rate and worst one-step ratio.""",
        source=_src("abstract (v1): Euler discretisations 'converge under explicit step-size "
                    "bounds derived from the SGN margin and a local Lipschitz constant'; the "
                    "bound 2 alpha*/beta^2 labelled Theorem 4.3 in the docstrings of "
                    f"{_CODE} (theorem text not read); the factor derived here"),
        family="contraction",
        kind="bound",
        provenance="derived",
        constants={"two": 2.0, "half": 0.5, "normalise": True},
        check=check_euler_rate, control=control_euler_rate,
        control_label="Euler contracts at L12 L21 = 1.05 mu1 mu2",
        tolerance=FACTOR_TOL,
        mutations=(Mutation("two", 2.2, "1 - 2h alpha -> 1 - 2.2h alpha"),
                   Mutation("normalise", False, "alpha* read as lambda_min(M_w)")),
        digits=6,
        paper_reports="(a rate is not reported; the step bound is) projected Euler converges "
                      "for h < 2 alpha*/beta^2 (Theorem 4.3 per the code)",
    ),
    Claim(
        id="sgn-euler-step",
        builds_on=("sgn-monotone",),
        title="the certified Euler step 2 alpha*/beta^2 is below the true largest stable "
              "step, and by how much",
        statement=r"h_{\rm SGN} = \tfrac{2\alpha^*}{\beta^2} \le h_{\rm true} = "
                  r"\min_i \tfrac{2\,\mathrm{Re}\,\lambda_i(H)}{|\lambda_i(H)|^2}",
        heading="The Euler step bound (Sharma 2025, Theorem 4.3 per the author's code)",
        prf="theorem",
        text=r"""
Projected Euler with step $h < h_{\rm SGN} = 2\alpha^*/\beta^2$ converges to the Nash
equilibrium, $\beta$ the Lipschitz constant of $F$ in the SGN metric. On a quadratic game the
largest step at which Euler contracts is $h_{\rm true} = \min_i 2\,\mathrm{Re}\lambda_i /
|\lambda_i|^2$ over the eigenvalues of $H$, so the certificate requires
$h_{\rm SGN} \le h_{\rm true}$; its slack measures how conservative the certificate is. (Theorem
number from the author's code; the theorem's text was not readable.)""",
        source=_src("Theorem 4.3 as cited in the docstrings of " + _CODE + " (euler_step = "
                    "2*alpha_star/beta**2); theorem text not read (location not found in v1); "
                    "abstract: explicit step-size bounds"),
        family="contraction",
        kind="bound",
        provenance="paper",
        constants={"c": 2.0},
        check=check_step, control=control_step,
        control_label="Euler contracts at 1.05 x the true largest step",
        tolerance=Tolerance(SWEEP_RTOL, "the sweep's agreement with 2Re(lam)/|lam|^2; the "
                            "bound itself is one-sided with no tolerance"),
        mutations=(Mutation("c", 12.0, "2 -> 12: six times the bound, past the example's "
                            "conservatism 3 + 2 sqrt 2 = 5.83"),
                   Mutation("c", 200.0, "2 -> 200")),
        mutation_exempt="",
        digits=4,
        paper_reports="Euler bound 2 alpha*/beta^2 (code: 0.201 on the a = 10, b = 0.05 "
                      "example; the code's phase diagram probes 0.1-4 x h_SGN)",
    ),
)

CHAPTER = Chapter(
    slug="small_gain_nash",
    title="Small-Gain Nash: certified contraction in differentiable games",
    paper=PAPER,
    claims=CLAIMS,
    memory_gib={"quick": 0.5, "full": 1.0},
    cpu_only="small float64 linear games, where a GPU gives nothing",
)
