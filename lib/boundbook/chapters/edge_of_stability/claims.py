"""Claims of the chapter "Edge of stability" and their checks.

Papers: Cohen, Kaur, Li, Kolter & Talwalkar, "Gradient Descent on Neural Networks Typically
Occurs at the Edge of Stability" (arXiv 2103.00065, ICLR 2021): empirical claims, no theorem
beyond the quadratic fact :math:`\\lambda_{\\max} > 2/\\eta \\Rightarrow` divergence; and
Agarwala, Pedregosa & Pennington, "Second-order regression models exhibit progressive sharpening
to the edge of stability" (arXiv 2210.04860, ICML 2023). Provenance: the abstracts of both
and the introduction and Figure 1 caption of Cohen et al.'s v3 LaTeX were read; section
numbers (hence none is cited), the SORM's two-dimensional reduction and its explicit limiting
value were not (see ``NOTES.md`` in this package).

The four network claims are rounded to two significant digits (``digits=2``): at the edge the
trajectory is chaotic, so the third digit of a median can move with the floating-point
summation order of another BLAS build; the verdicts do not.

Every quantity is normalised by the edge: a sharpness :math:`S` at step size :math:`\\eta` is
reported as :math:`S\\eta/c` with ``c = two`` (2 in the paper; the mutations change it). Every
check is a pure function of the measurement dictionary that the notebook passes to
:func:`boundbook.core.ledger.report` and of the claim's constants.
"""

from __future__ import annotations

import math
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
    is_tight,
)

COHEN = "2103.00065"
SORM = "2210.04860"

REACH = Tolerance(0.0, "the sharpness sampled every few steps must reach the edge itself; "
                  "Lanczos' relative residual 1e-3 bounds its error far below the overshoot")
BAND = Tolerance(0.10, "chapter band fixed before the runs: median sampled sharpness over the "
                 "final third of each run within +-10% of the edge (eigenvalue error ~1e-6)")
DESCENT = Tolerance(0.0, "the loss at the end must be strictly below its value when the "
                    "sharpness first reached the edge; divergence = loss > 1e6 x initial")
UPS = Tolerance(0.01, "at least 1% of the steps after reaching the edge raise the loss; in "
                "float64 full-batch GD an increase at loss ~0.05 is never rounding")
SORM_BAND = Tolerance(0.10, "chapter band: median over random draws of the final NTK "
                      "eigenvalue within +-10% of 2/eta; the paper's own limit (slightly off "
                      "2/eta) was not transcribed, so the offset is reported, not tested")

CONTROL_FACTOR = 1.025
"""The quadratic control runs at curvature 1.025 x the edge (2.05/eta in the paper's units)."""


# ----------------------------------------------------------------------------- helpers

def _edge_ratios(run: Mapping[str, Any], two: float) -> list[float]:
    """The run's sampled sharpness divided by the edge two/eta."""
    return [float(s) * float(run["eta"]) / two for s in run["sharpness"]]


def entry_index(run: Mapping[str, Any], two: float) -> int | None:
    """Index of the first sharpness sample at or above two/eta (None: never reached)."""
    for k, r in enumerate(_edge_ratios(run, two)):
        if r >= 1.0:
            return k
    return None


def _window_start(run: Mapping[str, Any], two: float) -> int:
    """Sample index where the EoS window starts: the entry, or a third of the way through a
    run that never reaches the edge (so the same test applies to the control run)."""
    k = entry_index(run, two)
    if k is not None:
        return k
    third = run["total_steps"] / 3
    return next(i for i, s in enumerate(run["steps"]) if s >= third)


def plateau_ratios(runs: Sequence[Mapping[str, Any]], two: float) -> list[float]:
    """Per run: median of the sampled sharpness over the final third of the steps, over the
    edge two/eta."""
    out = []
    for run in runs:
        start = 2 * run["total_steps"] / 3
        tail = [r for s, r in zip(run["steps"], _edge_ratios(run, two), strict=True)
                if s >= start]
        out.append(statistics.median(tail))
    return out


def up_fraction(run: Mapping[str, Any], two: float) -> float:
    """Fraction of the steps from the window start (see :func:`_window_start`) to the end
    whose loss exceeded the previous step's."""
    k = _window_start(run, two)
    span = run["total_steps"] - run["steps"][k]
    return sum(run["ups"][k:]) / span if span > 0 else 0.0


def _fmt(xs: Sequence[float], digits: int = 3) -> str:
    return ", ".join(f"{x:.{digits}g}" for x in xs)


# ----------------------------------------------------------------------------- progressive

def _sharpening(runs: Sequence[Mapping[str, Any]], k: Mapping[str, Any]) -> Outcome:
    starts = [_edge_ratios(r, k["two"])[0] for r in runs]
    peaks = [max(_edge_ratios(r, k["two"])) for r in runs]
    ok = all(p >= 1.0 and s <= 1.0 / k["min_rise"] for s, p in zip(starts, peaks, strict=True))
    etas = _fmt([r["eta"] for r in runs])
    return Outcome(ok, 1.0, min(peaks),
                   note=f"eta = {etas}: sharpness/edge at step 0 = {_fmt(starts)}, "
                        f"peak = {_fmt(peaks)}")


def check_sharpening(m: Mapping[str, Any], k: Mapping[str, Any]) -> Outcome:
    """Every EoS run starts below edge/min_rise and its sampled sharpness reaches the edge."""
    return _sharpening(m["runs"], k)


def control_sharpening(m: Mapping[str, Any], k: Mapping[str, Any]) -> Outcome:
    """The same check on the small step size: must fail (its edge is never reached)."""
    return _sharpening([m["control"]], k)


# ----------------------------------------------------------------------------- plateau

def _plateau(runs: Sequence[Mapping[str, Any]], k: Mapping[str, Any]) -> Outcome:
    ratios = plateau_ratios(runs, k["two"])
    return band_outcome(ratios, BAND.value, f"median sharpness/edge over the final third, "
                        f"eta = {_fmt([r['eta'] for r in runs])}: {_fmt(ratios, 4)}")


def check_plateau(m: Mapping[str, Any], k: Mapping[str, Any]) -> Outcome:
    return _plateau(m["runs"], k)


def control_plateau(m: Mapping[str, Any], k: Mapping[str, Any]) -> Outcome:
    return _plateau([m["control"]], k)


# ----------------------------------------------------------------------------- self-stabilisation

def check_self_stabilisation(m: Mapping[str, Any], k: Mapping[str, Any]) -> Outcome:
    """Every EoS run's sharpness reaches the edge, it never diverges, and its loss at the end
    is below the loss when the edge was first reached."""
    ratios, ok = [], True
    for run in m["runs"]:
        e = entry_index(run, k["two"])
        if e is None or run["diverged_at"] >= 0:
            ok = False
            ratios.append(math.inf)
            continue
        ratios.append(float(run["final_loss"]) / float(run["loss"][e]))
    ok = ok and all(r < 1.0 for r in ratios)
    worst = max(ratios)
    return Outcome(ok, 1.0, worst,
                   note=f"final loss / loss at the edge, eta = "
                        f"{_fmt([r['eta'] for r in m['runs']])}: {_fmt(ratios)}")


def control_self_stabilisation(m: Mapping[str, Any], k: Mapping[str, Any]) -> Outcome:
    """The same test on GD on a quadratic whose curvature is 1.025 x the edge: it has no
    higher-order terms, so nothing can bring the curvature back (must fail by diverging)."""
    q = m["quadratic"]
    target = CONTROL_FACTOR * k["two"]
    i = next(j for j, x in enumerate(q["eta_lambda"]) if x >= target - 1e-12)
    ratio = float(q["final_ratio"][i])
    ok = not q["diverged"][i] and ratio < 1.0
    return Outcome(ok, 1.0, ratio,
                   note=f"quadratic at eta*lambda = {q['eta_lambda'][i]:g}: "
                        f"{'diverged' if q['diverged'][i] else 'did not diverge'} within "
                        f"{q['steps']} steps")


# ----------------------------------------------------------------------------- non-monotone

def _nonmonotone(runs: Sequence[Mapping[str, Any]], k: Mapping[str, Any]) -> Outcome:
    ups = [up_fraction(r, k["two"]) for r in runs]
    falls = []
    for r in runs:
        w = _window_start(r, k["two"])
        falls.append(float(r["final_loss"]) < float(r["loss"][w]) and r["diverged_at"] < 0)
    if k["classical"]:  # the descent-lemma picture: every step lowers the loss
        ok = all(u == 0 for u in ups) and all(falls)
    else:
        ok = all(u >= k["min_up"] for u in ups) and all(falls)
    return Outcome(ok, k["min_up"], min(ups),
                   note=f"fraction of steps raising the loss after reaching the edge, eta = "
                        f"{_fmt([r['eta'] for r in runs])}: {_fmt(ups)}; loss lower at the "
                        f"end: {sum(falls)} of {len(falls)}")


def check_nonmonotone(m: Mapping[str, Any], k: Mapping[str, Any]) -> Outcome:
    return _nonmonotone(m["runs"], k)


def control_nonmonotone(m: Mapping[str, Any], k: Mapping[str, Any]) -> Outcome:
    """The same test on the small step size (window: its last two thirds): must fail."""
    return _nonmonotone([m["control"]], k)


# ----------------------------------------------------------------------------- SORM

def sorm_summary(rec: Mapping[str, Any], two: float) -> dict[str, Any]:
    """Medians over draws of the NTK eigenvalue over the edge, at step 0 and at the end
    (a diverged draw counts as +inf), of the rise final/initial, and counts of draws that
    ever crossed the edge and that ended above it."""
    eta = float(rec["eta"])
    div = [d >= 0 for d in rec["diverged_at"]]
    final = [math.inf if dv else float(x) * eta / two for x, dv in zip(rec["lam_final"], div,
                                                                       strict=True)]
    initial = [float(x) * eta / two for x in rec["lam_initial"]]
    rise = [f / i if i > 0 else math.inf for f, i in zip(final, initial, strict=True)]
    return {"median_final": statistics.median(final),
            "median_initial": statistics.median(initial),
            "median_rise": statistics.median(rise),
            "crossed": sum(float(x) * eta / two > 1 for x in rec["lam_max"]),
            "settled_above": sum(f > 1 for f in final),
            "finals": final}


def _sorm(rec: Mapping[str, Any], k: Mapping[str, Any]) -> Outcome:
    s = sorm_summary(rec, k["two"])
    med = s["median_final"]
    ok = abs(med - 1.0) <= SORM_BAND.value and s["median_rise"] >= k["min_rise"]
    return Outcome(ok, 1.0, med,
                   tight=ok and is_tight(med, 1.0),
                   note=f"{len(s['finals'])} draws, Q scale {rec['q_scale']:g}: median "
                        f"lambda*eta/2 from {s['median_initial']:.3g} to {med:.4g} (rise "
                        f"x{s['median_rise']:.3g}); offset from the edge {med - 1:+.3g}")


def check_sorm(m: Mapping[str, Any], k: Mapping[str, Any]) -> Outcome:
    return _sorm(m["model"], k)


def control_sorm(m: Mapping[str, Any], k: Mapping[str, Any]) -> Outcome:
    """The same draws with Q = 0 (a model linear in its parameters): must fail."""
    return _sorm(m["linear"], k)


# ----------------------------------------------------------------------------- claims

def _cohen(where: str) -> Source:
    return Source(COHEN, where, version="v3", bibkey="cohen2021eos")


EDGE_MUTATIONS = (Mutation("two", 2.5, "2/eta -> 2.5/eta"),
                  Mutation("two", 1.6, "2/eta -> 1.6/eta"))

CLAIMS = (
    Claim(
        id="eos-progressive-sharpening",
        heading="Progressive sharpening (Cohen et al., introduction and Fig. 1)",
        text=r"""
Under full-batch GD with step size $\eta$, as long as the sharpness is below $2/\eta$ it tends
to rise, and it reaches $2/\eta$. *Chapter test:* for every step size the initial sharpness is
at most $1/1.2$ of the edge, and the sampled sharpness reaches $2/\eta$.""",
        prf="proposition",
        title="full-batch GD: the sharpness rises from well below 2/eta until it reaches 2/eta",
        statement=r"S(\theta_0) \le \tfrac{2}{1.2\,\eta}\ \text{and}\ "
                  r"\max_t S(\theta_t) \ge \tfrac{2}{\eta},\quad "
                  r"S = \lambda_{\max}(\nabla^2 L)",
        source=_cohen("introduction and Fig. 1 caption ('so long as the sharpness is less "
                      "than 2/eta, it tends to continually rise')"),
        family="stable-step",
        constants={"two": 2.0, "min_rise": 1.2},
        check=check_sharpening, control=control_sharpening,
        control_label="same check at a step size whose 2/eta is never reached",
        tolerance=REACH,
        mutations=(Mutation("two", 2.5, "2/eta -> 2.5/eta"),
                   Mutation("two", 1.2, "2/eta -> 1.2/eta")),
        digits=2,
        paper_reports="sharpness rises to 2/eta for every step size (Fig. 1 caption; "
                      "CIFAR-10 5k subset, MSE, from the authors' code); stronger for MSE "
                      "than cross-entropy (recalled, not seen in the text we read)",
    ),
    Claim(
        id="eos-plateau",
        heading="The edge of stability (Cohen et al., abstract; Fig. 1)",
        text=r"""
Once it reaches $2/\eta$, the sharpness hovers "right at, or just above" $2/\eta$. *Chapter
test:* for every step size, the median of the sampled sharpness over the final third of the run
lies within $[0.9, 1.1]\cdot 2/\eta$.""",
        prf="proposition",
        title="after reaching it, the sharpness hovers at (or just above) 2/eta",
        statement=r"\operatorname{median}_{t \ge 2T/3} S(\theta_t) \in "
                  r"[0.9, 1.1]\cdot\tfrac{2}{\eta}\ \text{for every } \eta",
        source=_cohen("abstract ('hovers just above the value 2/(step size)'); Fig. 1 caption "
                      "('hovers right at, or just above')"),
        family="stable-step",
        constants={"two": 2.0},
        check=check_plateau, control=control_plateau,
        control_label="same band at a step size whose 2/eta is never reached",
        tolerance=BAND,
        mutations=EDGE_MUTATIONS,
        digits=2,
        paper_reports="sharpness hovers right at, or just above, 2/eta (Fig. 1); band not "
                      "quantified in the text we read",
    ),
    Claim(
        id="eos-self-stabilisation",
        heading="No divergence past the edge (Cohen et al., abstract; introduction)",
        text=r"""
When the sharpness crosses $2/\eta$, GD is destabilised but does not diverge: the loss at the
end of training is below its value when the edge was first reached. On a quadratic with
curvature $2.05/\eta$ the same test must fail.""",
        prf="proposition",
        title="past 2/eta GD does not diverge: the loss keeps falling (a quadratic diverges)",
        statement=r"\max_t S(\theta_t) \ge \tfrac{2}{\eta}\ \text{and}\ "
                  r"L(\theta_T) < L(\theta_{t_{\mathrm{edge}}})",
        source=_cohen("abstract ('consistently decreases over long timescales'); "
                      "introduction (crossing 2/eta destabilises GD, which then does not "
                      "diverge)"),
        family="stable-step",
        constants={"two": 2.0},
        check=check_self_stabilisation, control=control_self_stabilisation,
        control_label="GD on a quadratic at 1.025 x 2/eta (2.05/eta)",
        tolerance=DESCENT,
        mutations=EDGE_MUTATIONS,
        digits=2,
        paper_reports="GD at the edge keeps making long-run progress instead of diverging, "
                      "although a quadratic with that sharpness would diverge",
    ),
    Claim(
        id="eos-nonmonotone-descent",
        heading="Non-monotone descent (Cohen et al., abstract)",
        text=r"""
At the edge, the training loss is non-monotone over short timescales but decreases over long
ones. *Chapter test:* at least 1% of the steps after the edge raise the loss, and the final loss
is below the loss at the edge.""",
        prf="proposition",
        title="at the edge the loss falls over long horizons but not monotonically",
        statement=r"\#\{t \ge t_{\mathrm{edge}} : L(\theta_{t+1}) > L(\theta_t)\} \ge "
                  r"0.01\,(T - t_{\mathrm{edge}})\ \text{and}\ "
                  r"L(\theta_T) < L(\theta_{t_{\mathrm{edge}}})",
        source=_cohen("abstract ('non-monotonically over short timescales, yet consistently "
                      "decreases over long timescales')"),
        family="stable-step",
        constants={"two": 2.0, "min_up": 0.01, "classical": False},
        check=check_nonmonotone, control=control_nonmonotone,
        control_label="same test at a step size whose 2/eta is never reached",
        tolerance=UPS,
        mutations=(Mutation("classical", True, "classical: every step lowers the loss"),),
        digits=2,
        paper_reports="train loss non-monotone over short timescales, decreasing over long "
                      "ones (Fig. 1, top row)",
    ),
    Claim(
        id="eos-sorm-sharpening",
        heading="Sharpening in a second-order regression model (Agarwala et al., abstract)",
        text=r"""
For $z(\theta) = z_0 + J\theta + \tfrac12 Q[\theta, \theta]$ with squared loss, GD shows
progressive sharpening of the NTK eigenvalue $\lambda_{\max}(J(\theta)J(\theta)^\top)$
"towards a value that differs slightly from the edge of stability". The paper proves this in two
dimensions and reports it as generic in higher dimensions. It does not happen for models with a
constant NTK. *Chapter test* (our ensemble: $d = 100$ parameters, $m = 10$ outputs, random
draws): the median over draws of the final $\eta\lambda/2$ lies within $[0.9, 1.1]$ and is at
least 1.2 times its initial value. We report the offset from 1 rather than test it.""",
        prf="proposition",
        title="second-order regression model: the NTK eigenvalue sharpens to near 2/eta",
        statement=r"z(\theta) = J\theta + \tfrac12 Q[\theta,\theta]:\ "
                  r"\lambda_{\max}(J(\theta_T)J(\theta_T)^\top) \in [0.9, 1.1]\cdot\tfrac{2}{\eta}"
                  r"\ \text{and rises} \ge 1.2\times\ \text{(medians over draws)}",
        source=Source(SORM, "abstract ('progressive sharpening of the NTK eigenvalue towards a "
                      "value that differs slightly from the edge of stability'; 'in higher "
                      "dimensions, the model generically shows similar behavior'); "
                      "ensemble and constants are ours", version="", bibkey="agarwala2023second"),
        family="stable-step",
        constants={"two": 2.0, "min_rise": 1.2},
        check=check_sorm, control=control_sorm,
        control_label="the same draws with Q = 0 (linear model)",
        tolerance=SORM_BAND,
        mutations=EDGE_MUTATIONS,
        paper_reports="2-D model: provable sharpening to a value slightly off 2/eta (computed "
                      "in the paper, not transcribed); similar behaviour generic in higher "
                      "dimensions; none in the constant-NTK (linear) regime",
    ),
)

CHAPTER = Chapter(
    slug="edge_of_stability",
    title="Edge of stability: GD sharpens to 2/eta and stays there",
    paper=COHEN,
    claims=CLAIMS,
    memory_gib={"quick": 1.0, "full": 2.0},
)
