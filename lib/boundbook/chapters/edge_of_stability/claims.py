"""Claims of the chapter "Edge of stability" and their checks.

Papers: Cohen, Kaur, Li, Kolter & Talwalkar, "Gradient Descent on Neural Networks Typically
Occurs at the Edge of Stability" (arXiv 2103.00065, ICLR 2021): empirical claims, no theorem
beyond the quadratic fact :math:`\\lambda_{\\max} > 2/\\eta \\Rightarrow` divergence; and
Agarwala, Pedregosa & Pennington, "Second-order regression models exhibit progressive sharpening
to the edge of stability" (arXiv 2210.04860, ICML 2023). Provenance: the abstracts of both
and the introduction and first figure's caption of Cohen et al.'s v3 LaTeX were read; section
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
)
from boundbook.core.stats import clopper_pearson

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

def _sharpening(runs: Sequence[Mapping[str, Any]], k: Mapping[str, Any],
                factor: float = 1.0) -> Outcome:
    two = k["two"] * factor
    starts = [_edge_ratios(r, two)[0] for r in runs]
    peaks = [max(_edge_ratios(r, two)) for r in runs]
    ok = all(p >= 1.0 and s <= 1.0 / k["min_rise"] for s, p in zip(starts, peaks, strict=True))
    etas = _fmt([r["eta"] for r in runs])
    edge = "2/eta" if factor == 1.0 else f"{factor:g} x 2/eta"
    return Outcome(ok, 1.0, min(peaks),
                   note=f"eta = {etas}: sharpness/({edge}) at step 0 = {_fmt(starts)}, "
                        f"peak = {_fmt(peaks)}")


def check_sharpening(m: Mapping[str, Any], k: Mapping[str, Any]) -> Outcome:
    """Every EoS run starts below edge/min_rise and its sampled sharpness reaches the edge."""
    return _sharpening(m["runs"], k)


def control_sharpening(m: Mapping[str, Any], k: Mapping[str, Any]) -> Outcome:
    """The same check on the same runs against a perturbed edge, ``control_edge`` x 2/eta:
    must fail (a sharpness that kept rising instead of stopping at the edge would pass)."""
    return _sharpening(m["runs"], k, k["control_edge"])


# ----------------------------------------------------------------------------- plateau

def _plateau(runs: Sequence[Mapping[str, Any]], two: float, label: str) -> Outcome:
    ratios = plateau_ratios(runs, two)
    return band_outcome(ratios, BAND.value, f"median sharpness/({label}) over the final third, "
                        f"eta = {_fmt([r['eta'] for r in runs])}: {_fmt(ratios, 4)}")


def check_plateau(m: Mapping[str, Any], k: Mapping[str, Any]) -> Outcome:
    return _plateau(m["runs"], k["two"], "2/eta")


def control_plateau(m: Mapping[str, Any], k: Mapping[str, Any]) -> Outcome:
    """The same band, on the same runs, around the edge perturbed by the band's resolution on
    either side, (1 - 2 band) x 2/eta (an edge every run passes on its way up) and
    (1 + 2 band) x 2/eta: must fail on both."""
    outs = [_plateau(m["runs"], k["two"] * f, f"{f:g} x 2/eta")
            for f in (1 - 2 * BAND.value, 1 + 2 * BAND.value)]
    hit = next((o for o in outs if o.ok), None)
    best = hit or min(outs, key=lambda o: abs(o.measured - 1))
    return Outcome(hit is not None, 1.0, best.measured, note="; ".join(o.note for o in outs))


# ----------------------------------------------------------------------------- self-stabilisation

def _stabilised(runs: Sequence[Mapping[str, Any]], k: Mapping[str, Any]) -> Outcome:
    ratios, ok = [], True
    for run in runs:
        e = entry_index(run, k["two"])
        if e is None or run["diverged_at"] >= 0:
            ok = False
            ratios.append(math.inf)
            continue
        ratios.append(float(run["final_loss"]) / float(run["loss"][e]))
    ok = ok and all(r < 1.0 for r in ratios)
    return Outcome(ok, 1.0, max(ratios),
                   note=f"final loss / loss at the edge, eta = "
                        f"{_fmt([r['eta'] for r in runs])}: {_fmt(ratios)}")


def check_self_stabilisation(m: Mapping[str, Any], k: Mapping[str, Any]) -> Outcome:
    """Every EoS run's sharpness reaches the edge, it never diverges, and its loss at the end
    is below the loss when the edge was first reached."""
    return _stabilised(m["runs"], k)


def diverging_run(sweep: Mapping[str, Any]) -> dict[str, Any]:
    """The control run of the divergence sweep: the smallest step size on its grid at which GD
    on the same network diverged (the largest one if none did), as a run record whose only
    sharpness sample is the initial one."""
    at = sweep["diverged_at"]
    i = next((j for j, a in enumerate(at) if a >= 0), len(at) - 1)
    return {"eta": sweep["etas"][i], "steps": [0], "sharpness": [sweep["s0"]],
            "loss": [sweep["loss0"]], "ups": [0], "final_loss": sweep["last_loss"][i],
            "total_steps": sweep["steps"], "diverged_at": at[i], "rel": sweep["rel"][i]}


def control_self_stabilisation(m: Mapping[str, Any], k: Mapping[str, Any]) -> Outcome:
    """The same test on the same network and data at the smallest step size of a 5% grid
    (eta * S_0/2 from 1.05 up) at which GD diverges: must fail."""
    run = diverging_run(m["diverging"])
    out = _stabilised([run], k)
    state = (f"diverged at step {run['diverged_at']}" if run["diverged_at"] >= 0
             else "no step size on the grid diverged")
    return Outcome(out.ok, 1.0, out.measured,
                   note=f"same network at eta = {run['eta']:.4g} (eta*S_0/2 = {run['rel']:g}):"
                        f" {state}")


# ----------------------------------------------------------------------------- non-monotone

def pre_edge_window(run: Mapping[str, Any], two: float) -> tuple[int, int] | None:
    """Sample indices ``(0, j)`` of the blocks whose sampled sharpness is below the edge at
    both ends (every block before the one that reaches it); None when there is none."""
    e = entry_index(run, two)
    j = len(run["steps"]) - 1 if e is None else e - 1
    return (0, j) if j >= 1 else None


def _nonmonotone_out(ups: Sequence[float], falls: Sequence[bool], etas: Sequence[float],
                     k: Mapping[str, Any], where: str) -> Outcome:
    if k["classical"]:  # the descent-lemma picture: every step lowers the loss
        ok = all(u == 0 for u in ups) and all(falls)
    else:
        ok = all(u >= k["min_up"] for u in ups) and all(falls)
    return Outcome(ok, k["min_up"], min(ups) if ups else math.nan,
                   note=f"fraction of steps raising the loss {where}, eta = {_fmt(etas)}: "
                        f"{_fmt(ups)}; loss lower at the end: {sum(falls)} of {len(falls)}")


def check_nonmonotone(m: Mapping[str, Any], k: Mapping[str, Any]) -> Outcome:
    runs = m["runs"]
    ups = [up_fraction(r, k["two"]) for r in runs]
    falls = []
    for r in runs:
        w = _window_start(r, k["two"])
        falls.append(float(r["final_loss"]) < float(r["loss"][w]) and r["diverged_at"] < 0)
    return _nonmonotone_out(ups, falls, [r["eta"] for r in runs], k,
                            "after reaching the edge")


def control_nonmonotone(m: Mapping[str, Any], k: Mapping[str, Any]) -> Outcome:
    """The same test on the same runs just below the edge: the steps before the sampled
    sharpness first reaches 2/eta (blocks sampled below it at both ends). Must fail."""
    ups, falls, etas = [], [], []
    for r in m["runs"]:
        w = pre_edge_window(r, k["two"])
        if w is None:
            continue
        a, b = w
        span = r["steps"][b] - r["steps"][a]
        ups.append(sum(r["ups"][a:b]) / span)
        falls.append(float(r["loss"][b]) < float(r["loss"][a]))
        etas.append(r["eta"])
    if not ups:
        return Outcome(False, k["min_up"], math.nan, undecided=True,
                       note="no run has a sampled block below the edge")
    return _nonmonotone_out(ups, falls, etas, k, "before reaching the edge")


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
            "finals": final, "rises": rise}


def sorm_successes(rec: Mapping[str, Any], two: float, min_rise: float) -> list[bool]:
    """Per draw: did not diverge, final eta*lambda/two within the band and risen at least
    ``min_rise`` times from step 0."""
    s = sorm_summary(rec, two)
    return [abs(f - 1.0) <= SORM_BAND.value and r >= min_rise
            for f, r in zip(s["finals"], s["rises"], strict=True)]


def _count(recs: Sequence[Mapping[str, Any]], two: float, k: Mapping[str, Any],
           label: str) -> Outcome:
    per = [(rec["q_scale"], sum(sorm_successes(rec, two, k["min_rise"])), len(rec["lam_final"]))
           for rec in recs]
    hits, n = sum(x[1] for x in per), sum(x[2] for x in per)
    lo, hi = clopper_pearson(hits, n)
    bar = k["bar"]
    return Outcome(lo > bar, bar, hits / n, interval=(lo, hi), undecided=lo <= bar <= hi,
                   note=f"{label}: {hits} of {n} (Q scale, draw) pairs within the band "
                        f"(per Q scale: " + ", ".join(f"{q:g}: {h}/{c}" for q, h, c in per)
                        + f"); 95% CP [{lo:.3f}, {hi:.3f}] against the bar {bar:g}")


def check_sorm(m: Mapping[str, Any], k: Mapping[str, Any]) -> Outcome:
    """The share of the declared (Q scale, draw) pairs whose NTK eigenvalue sharpens (x
    min_rise) and ends within +-10% of 2/eta exceeds ``bar`` (its 95% Clopper-Pearson interval
    entirely above it; straddling it is undecided)."""
    return _count(m["model"], k["two"], k, "edge 2/eta")


def control_sorm(m: Mapping[str, Any], k: Mapping[str, Any]) -> Outcome:
    """The same count (i) on the same draws with Q = 0 (constant NTK) and (ii) on the declared
    pairs against the edge perturbed by the band's resolution, (1 + 2 band) x 2/eta: must
    fail on both."""
    outs = [_count([m["linear"]], k["two"], k, "Q = 0"),
            _count(m["model"], k["two"] * (1 + 2 * SORM_BAND.value), k,
                   f"edge {1 + 2 * SORM_BAND.value:g} x 2/eta")]
    worst = max(outs, key=lambda o: o.measured)
    return Outcome(any(o.ok for o in outs), k["bar"], worst.measured, interval=worst.interval,
                   undecided=not any(o.ok for o in outs) and any(o.undecided for o in outs),
                   note="; ".join(o.note for o in outs))


# ----------------------------------------------------------------------------- claims

def _cohen(where: str) -> Source:
    return Source(COHEN, where, version="v3", bibkey="cohen2021eos")


EDGE_MUTATIONS = (Mutation("two", 2.5, "2/eta -> 2.5/eta"),
                  Mutation("two", 1.6, "2/eta -> 1.6/eta"))

CLAIMS = (
    Claim(
        id="eos-progressive-sharpening",
        builds_on=("gdq-critical-step",),
        heading="Progressive sharpening (Cohen et al., introduction)",
        text=r"""
Under full-batch GD with step size $\eta$, as long as the sharpness is below $2/\eta$ it tends
to rise, and it reaches $2/\eta$. *Chapter test:* for every step size the initial sharpness is
at most $1/1.2$ of the edge, and the sampled sharpness reaches $2/\eta$. *Control:* the same
runs against a perturbed edge, $1.5 \cdot 2/\eta$: a sharpness that kept rising instead of
stopping at the edge would reach it.""",
        prf="proposition",
        title="full-batch GD: the sharpness rises from well below 2/eta until it reaches 2/eta",
        statement=r"S(\theta_0) \le \tfrac{2}{1.2\,\eta}\ \text{and}\ "
                  r"\max_t S(\theta_t) \ge \tfrac{2}{\eta},\quad "
                  r"S = \lambda_{\max}(\nabla^2 L)",
        source=_cohen("introduction, second paragraph ('so long as the sharpness is less than "
                      "the value 2/eta, it tends to continually rise'); section number not "
                      "found in v3"),
        family="stable-step",
        constants={"two": 2.0, "min_rise": 1.2, "control_edge": 1.5},
        check=check_sharpening, control=control_sharpening,
        control_label="the same runs against a perturbed edge 1.5 x 2/eta (a network run "
                      "cannot be put just past an edge it sharpens to)",
        kind="phenomenon", provenance="paper",
        tolerance=REACH,
        mutations=(Mutation("two", 2.5, "2/eta -> 2.5/eta"),
                   Mutation("two", 1.2, "2/eta -> 1.2/eta")),
        digits=2,
        paper_reports="sharpness rises to 2/eta for every step size (first figure's caption, "
                      "label fig:intro-experiments; CIFAR-10 5k subset, MSE, from the authors' "
                      "code); stronger for MSE than cross-entropy (recalled, not seen)",
    ),
    Claim(
        id="eos-plateau",
        builds_on=("gdq-critical-step",),
        heading="The edge of stability (Cohen et al., abstract; first figure)",
        text=r"""
Once it reaches $2/\eta$, the sharpness hovers "right at, or just above" $2/\eta$. *Chapter
test:* for every step size, the median of the sampled sharpness over the final third of the run
lies within $[0.9, 1.1]\cdot 2/\eta$. *Control:* the same band around the edge perturbed by the
band's resolution, $0.8 \cdot 2/\eta$ (which every run passes on its way up) and
$1.2 \cdot 2/\eta$: both must fail.""",
        prf="proposition",
        title="after reaching it, the sharpness hovers at (or just above) 2/eta",
        statement=r"\operatorname{median}_{t \ge 2T/3} S(\theta_t) \in "
                  r"[0.9, 1.1]\cdot\tfrac{2}{\eta}\ \text{for every } \eta",
        source=_cohen("abstract ('hovers just above the value 2/(step size)'); caption of the "
                      "first figure, label fig:intro-experiments, figure number not seen "
                      "('hovers right at, or just above, this value')"),
        family="stable-step",
        constants={"two": 2.0},
        check=check_plateau, control=control_plateau,
        control_label="the same band on the same runs around 0.8 x and 1.2 x 2/eta (the "
                      "network cannot be run just past an edge it sharpens to and holds)",
        kind="phenomenon", provenance="paper",
        tolerance=BAND,
        mutations=EDGE_MUTATIONS,
        digits=2,
        paper_reports="sharpness hovers right at, or just above, 2/eta (abstract; first "
                      "figure's caption); band not quantified in the text we read",
    ),
    Claim(
        id="eos-self-stabilisation",
        builds_on=("gdq-critical-step",),
        heading="No divergence past the edge (Cohen et al., abstract; introduction)",
        text=r"""
When the sharpness crosses $2/\eta$, GD is destabilised but does not diverge: the loss at the
end of training is below its value when the edge was first reached. *Control:* the same network
and data at the smallest step size of a 5% grid ($\eta S_0/2 = 1.05, 1.05^2, \dots$, with
$S_0$ the initial sharpness) at which GD diverges: the same test must fail there.""",
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
        control_label="the same network at the smallest step size of a 5% grid at which GD "
                      "diverges",
        kind="phenomenon", provenance="paper",
        tolerance=DESCENT,
        mutations=EDGE_MUTATIONS,
        mutation_exempt="2/eta -> 1.6/eta only moves the reference point earlier on a falling "
                        "loss curve; the claim's content is non-divergence, which no constant "
                        "of the edge controls (2.5/eta, never reached, is caught)",
        digits=2,
        paper_reports="GD at the edge keeps making long-run progress instead of diverging, "
                      "although a quadratic with that sharpness would diverge (abstract; "
                      "introduction)",
    ),
    Claim(
        id="eos-nonmonotone-descent",
        heading="Non-monotone descent (Cohen et al., abstract)",
        text=r"""
At the edge, the training loss is non-monotone over short timescales but decreases over long
ones. *Chapter test:* at least 1% of the steps after the edge raise the loss, and the final loss
is below the loss at the edge. *Control:* the same test on the same runs before they reach the
edge (sharpness sampled below $2/\eta$): it must fail.""",
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
        control_label="the same runs before their sharpness reaches 2/eta",
        kind="phenomenon", provenance="paper",
        tolerance=UPS,
        mutations=(Mutation("classical", True, "classical: every step lowers the loss"),),
        digits=2,
        paper_reports="train loss non-monotone over short timescales, decreasing over long "
                      "ones (abstract; first figure, top row)",
    ),
    Claim(
        id="eos-sorm-sharpening",
        builds_on=("eos-progressive-sharpening",),
        heading="Sharpening in a second-order regression model (Agarwala et al., abstract)",
        text=r"""
For $z(\theta) = z_0 + J\theta + \tfrac12 Q[\theta, \theta]$ with squared loss, GD shows
progressive sharpening of the NTK eigenvalue $\lambda_{\max}(J(\theta)J(\theta)^\top)$
"towards a value that differs slightly from the edge of stability". The paper proves this in two
dimensions and reports it as *generic* in higher dimensions. It does not happen for models with
a constant NTK. *Chapter test* (our ensemble: $d = 100$ parameters, $m = 10$ outputs, random
draws; the paper's own scale of $Q$ was not read): over **every** (Q scale, draw) pair of the
declared range of Q scales (the non-zero scales of the chapter's sweep, fixed before the run), a
pair counts when its final $\eta\lambda/2$ lies within $[0.9, 1.1]$ and is at least 1.2 times
its initial value; "generic" is read as *more than half* of the pairs: the 95% Clopper-Pearson
interval of the share must lie above 1/2 (below it: violated; straddling it: inconclusive).
*Control:* the same count on the same draws with $Q = 0$, and on the declared pairs against the
perturbed edge $1.2\cdot 2/\eta$; both must fail.""",
        prf="proposition",
        title="second-order regression model: the NTK eigenvalue generically sharpens to near "
              "2/eta",
        statement=r"\Pr_{(s, \text{draw})}\Big[\tfrac{\eta}{2}\lambda_{\max}"
                  r"(J(\theta_T)J(\theta_T)^\top) \in [0.9, 1.1]\ \text{and rises} \ge 1.2"
                  r"\times\Big] > \tfrac12\ \text{over the declared Q scales } s",
        source=Source(SORM, "abstract only ('progressive sharpening of the NTK eigenvalue "
                      "towards a value that differs slightly from the edge of stability'; 'in "
                      "higher dimensions, the model generically shows similar behavior'; "
                      "arXiv version not recorded); ensemble, Q scales and bar are ours",
                      version="", bibkey="agarwala2023second"),
        family="stable-step",
        constants={"two": 2.0, "min_rise": 1.2, "bar": 0.5},
        check=check_sorm, control=control_sorm,
        control_label="the same draws with Q = 0 (constant NTK, the abstract's contrast) and "
                      "the declared pairs against 1.2 x 2/eta",
        tolerance=SORM_BAND,
        mutations=(*EDGE_MUTATIONS,
                   Mutation("bar", 0.2, "'generically' (> 1/2) -> 'in more than 1 pair of 5'")),
        mutation_exempt="the edge mutations cannot change a violated count (moving the edge "
                        "moves fewer pairs into the band, never more); the bar mutation shows "
                        "the verdict responds to the reading of 'generically'",
        kind="phenomenon", provenance="paper", monte_carlo=True,
        paper_reports="2-D model: provable sharpening to a value slightly off 2/eta (computed "
                      "in the paper, not read); similar behaviour generic in higher "
                      "dimensions; none in the constant-NTK (linear) regime (abstract)",
    ),
)

CHAPTER = Chapter(
    slug="edge_of_stability",
    title="Edge of stability: GD sharpens to 2/eta and stays there",
    paper=COHEN,
    claims=CLAIMS,
    memory_gib={"quick": 1.0, "full": 2.0},
)
