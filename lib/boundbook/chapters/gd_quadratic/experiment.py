"""Experiments of the chapter "Gradient descent on a quadratic" (and the sweep harness's
calibration).

Every measurement here is a vmapped step-size sweep (:func:`boundbook.numeric.sweep.
step_size_sweep`) of gradient descent, heavy ball or Nesterov momentum on the chapter's
quadratics (:mod:`boundbook.chapters.gd_quadratic.quadratics`), several quadratics and methods
packed into one batch (:mod:`boundbook.chapters.gd_quadratic.bracketing`), in float64.

**Divergence** is the book's one rule (:mod:`boundbook.numeric.divergence`, used unchanged): a
run diverges when within ``steps`` steps its loss exceeds ``blowup`` (``BLOWUP`` =
:math:`10^6`) times its initial loss or stops being finite. The *measured threshold* of a
quadratic is the midpoint of its divergence bracket (:func:`bracketing.bracket_thresholds`).
The first bracket comes from the Frobenius norm alone: :math:`\\|A\\|_F/\\sqrt d \\le
\\lambda_{\\max} \\le \\|A\\|_F`, so :math:`2/\\lambda_{\\max}` lies in
:math:`[2/\\|A\\|_F, 2\\sqrt d/\\|A\\|_F]`, whatever the bound under test says.

Small batched problems run single-threaded (:func:`single_thread`): on a shared two-core
machine, thread hand-offs cost more than these tiny matrix products.

The notebook builds its quadratics with :func:`quadratic_suite` and :func:`momentum_quadratic`
(re-exported here from :mod:`~boundbook.chapters.gd_quadratic.quadratics`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from boundbook.chapters.gd_quadratic.bracketing import (
    DTYPE,
    Brackets,
    Pack,
    Setting,
    bracket_thresholds,
)
from boundbook.chapters.gd_quadratic.derivation import (
    contraction_rate,
    finite_horizon_offset,
    nesterov_edge,
    optimal_rate,
    optimal_step,
)
from boundbook.chapters.gd_quadratic.quadratics import (
    Quadratic,
    momentum_quadratic,
    quadratic_suite,
)
from boundbook.numeric.divergence import BLOWUP
from boundbook.numeric.sweep import SweepResult, step_size_sweep
from boundbook.numeric.threads import single_thread
from boundbook.symbolic.quadratic import critical_step, heavy_ball_edge

__all__ = [
    "CONTROL",
    "ControlResult",
    "CriticalStepResult",
    "MomentumResult",
    "RateResult",
    "contraction_rates",
    "control_runs",
    "control_table",
    "critical_steps",
    "derived_critical_step",
    "momentum_edges",
    "momentum_quadratic",
    "momentum_table",
    "quadratic_suite",
    "quadratic_table",
    "rate_table",
    "threshold_table",
]

CONTROL = (0.98, 1.02)
"""Step sizes of the control runs, as multiples of the derived critical step."""


# ----------------------------------------------------------------------------- experiments

@dataclass(frozen=True)
class CriticalStepResult:
    """Measured divergence thresholds of GD on each quadratic."""

    labels: list[str]
    lam_max: np.ndarray
    predicted: np.ndarray  # critical_step(lam_max) = 2/lam_max
    brackets: Brackets
    top_share: np.ndarray
    horizon_offset: np.ndarray  # finite-horizon offset r_T the sweep itself predicts
    steps: int
    blowup: float

    @property
    def measured(self) -> np.ndarray:
        return self.brackets.estimate

    @property
    def ratio(self) -> np.ndarray:
        """Measured threshold times lam_max (2 if the textbook bound is exact)."""
        return self.measured * self.lam_max


def critical_steps(quads: Sequence[Quadratic], *, n: int = 64, rounds: int = 2,
                   steps: int = 1000, first_steps: int = 250,
                   blowup: float = BLOWUP) -> CriticalStepResult:
    """Measured divergence threshold of GD on every quadratic (one packed sweep per round);
    the first bracket comes from the Frobenius norm only (module docstring)."""
    pack = Pack.of(quads)
    fro = np.array([np.linalg.norm(q.A) for q in quads])
    dims = np.array([q.dim for q in quads], float)
    settings = [Setting(i, "gd") for i in range(len(quads))]
    with single_thread():
        br = bracket_thresholds(pack, settings, 0.9 * 2 / fro, 1.1 * 2 * np.sqrt(dims) / fro,
                                n=n, rounds=rounds, steps=steps, first_steps=first_steps,
                                blowup=blowup)
    share = np.array([q.top_share() for q in quads])
    return CriticalStepResult(
        labels=[q.label for q in quads], lam_max=np.array([q.lam_max for q in quads]),
        predicted=np.array([critical_step(q.lam_max) for q in quads]), brackets=br,
        top_share=share,
        horizon_offset=np.array([finite_horizon_offset(blowup, s, steps) for s in share]),
        steps=steps, blowup=blowup)


@dataclass(frozen=True)
class RateResult:
    """GD's contraction in the energy norm
    :math:`e_t = \\|x_t - x^*\\|_A = \\sqrt{2(L(x_t) - L^*)}`.

    *The grid* (each quadratic's own start): ``etas[q, j]`` :math:`= \\tfrac{j+1}{n/2}\\,\\eta^*`
    (column ``star_index`` is :math:`\\eta^*` itself), ``asymptotic[q, j]`` the factor
    :math:`(e_T/e_{T/2})^{2/T}` measured over the second half of the run (nan where the run
    diverged), ``worst_case[q, j]`` :math:`\\rho(\\eta) = \\max_i |1-\\eta\\lambda_i|`,
    ``bound_excess[q, j]`` :math:`\\max_t \\ln\\big(e_t / (\\rho(\\eta)^t e_0)\\big)` (the
    bound holds where it is :math:`\\le 0`).

    *The optimal step* (``starts`` further Gaussian starts per quadratic, at :math:`\\eta^*`):
    ``star_rates[q, k]`` the factor of each start over the second half, ``rate_at_star`` the
    slowest of them (the worst case over starts that the theorem is about),
    ``log_energy_star[q, m]`` the largest :math:`\\ln(e_t/e_0)` over the starts at
    :math:`t = m\\cdot` ``every``.
    """

    labels: list[str]
    kappa: np.ndarray
    eta_star: np.ndarray
    rho_star: np.ndarray
    etas: np.ndarray
    asymptotic: np.ndarray
    worst_case: np.ndarray
    bound_excess: np.ndarray
    star_rates: np.ndarray
    log_energy_star: np.ndarray
    every: int
    star_index: int
    steps: int

    @property
    def rate_at_star(self) -> np.ndarray:
        return self.star_rates.max(axis=1)


def _energy_logs(res: SweepResult, steps: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ln(e_t/e_0) ``[t, run, eta]``, the recorded steps, and the factor over ``[T/2, T]``."""
    t = res.recorded_steps.astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_e = 0.5 * np.log(res.losses / res.losses[0])
        mid = int(np.searchsorted(res.recorded_steps, steps // 2))
        factor = np.exp((log_e[-1] - log_e[mid]) / (t[-1] - t[mid]))
    return log_e, t, np.where(res.diverged, np.nan, factor)


def contraction_rates(quads: Sequence[Quadratic], *, n: int = 64, steps: int = 400,
                      starts: int = 16, every: int = 5, seed: int = 0,
                      blowup: float = BLOWUP) -> RateResult:
    """GD from each quadratic's start at ``n`` step sizes up to twice the optimal one, and
    from ``starts`` more Gaussian starts at the optimal step itself, the loss recorded at
    every step (the minimiser is 0 and :math:`L^* = 0`)."""
    pack = Pack.of(quads)
    star = np.array([optimal_step(q.lam_min, q.lam_max) for q in quads])
    half_n = n // 2
    lo = star / half_n
    own = [Setting(i, "gd") for i in range(len(quads))]
    many = [Setting(i, "gd") for i in range(len(quads)) for _ in range(starts)]
    rng = np.random.default_rng([seed, 77])
    x0 = torch.zeros(len(many), pack.D, dtype=DTYPE)
    for r, st in enumerate(many):
        x0[r, : quads[st.quad].dim] = torch.as_tensor(rng.standard_normal(quads[st.quad].dim))
    with single_thread():
        res = step_size_sweep(pack.step, pack.loss, pack.starts(own, lo, (n - 1) * lo),
                              np.linspace(0.0, 1.0, n), steps, blowup=blowup, record_every=1)
        res_star = step_size_sweep(pack.step, pack.loss,
                                   pack.starts(many, star.repeat(starts), [0.0] * len(many),
                                               x0), [0.0], steps, blowup=blowup,
                                   record_every=1)
    etas = lo[:, None] * np.arange(1, n + 1)[None, :]
    log_e, t, asym = _energy_logs(res, steps)
    worst = np.array([[contraction_rate(e, q.eigenvalues) for e in row]
                      for q, row in zip(quads, etas, strict=True)])
    excess = np.max(log_e - t[:, None, None] * np.log(worst)[None], axis=0)
    excess = np.where(res.diverged, np.nan, excess)
    log_s, _, fac = _energy_logs(res_star, steps)
    if not np.isfinite(log_s).all():
        raise FloatingPointError("the loss at the optimal step underflowed or diverged: "
                                 "shorten rate_steps")
    log_s = log_s[:, :, 0].reshape(len(t), len(quads), starts)
    kappa = np.array([q.kappa for q in quads])
    return RateResult([q.label for q in quads], kappa, star,
                      np.array([optimal_rate(k) for k in kappa]), etas, asym, worst, excess,
                      fac[:, 0].reshape(len(quads), starts),
                      log_s.max(axis=2)[::every].T.copy(), every, half_n - 1, steps)



def derived_critical_step(method: str, beta: float, lam_max: float) -> float:
    """The derived critical step of a method: sympy's edge curvature is :math:`c/\\eta`, so
    :math:`\\eta_c = c/\\lambda_{\\max}` with :math:`c` the edge at unit step."""
    if method == "gd":
        return critical_step(lam_max)
    unit = heavy_ball_edge(1.0, beta) if method == "heavy_ball" else nesterov_edge(1.0, beta)
    return unit / lam_max


@dataclass(frozen=True)
class MomentumResult:
    """Measured edges of heavy ball and Nesterov momentum on one quadratic, per beta."""

    quadratic: Quadratic
    settings: list[Setting]
    brackets: Brackets
    derived: np.ndarray  # derived critical step per setting
    steps: int

    def edges(self, method: str) -> dict[str, Any]:
        """Per beta: measured and derived :math:`\\eta_c\\lambda_{\\max}`, the bracket."""
        lam = self.quadratic.lam_max
        idx = [i for i, st in enumerate(self.settings) if st.method == method]
        est = self.brackets.estimate
        return {"beta": [self.settings[i].beta for i in idx],
                "measured": [float(est[i] * lam) if self.brackets.found[i] else None
                             for i in idx],
                "derived": [float(self.derived[i] * lam) for i in idx],
                "bracket": [[float(self.brackets.last_stable[i] * lam),
                             float(self.brackets.first_diverged[i] * lam)] for i in idx],
                "found": [bool(self.brackets.found[i]) for i in idx]}


def momentum_edges(quad: Quadratic, betas: Sequence[float], *, n: int = 64, rounds: int = 2,
                   steps: int = 1000, first_steps: int = 250,
                   blowup: float = BLOWUP) -> MomentumResult:
    """Divergence thresholds of heavy ball and Nesterov momentum on ``quad``, every beta in
    one vmapped sweep per round. The first bracket, :math:`\\eta\\lambda_{\\max} \\in
    [0.5, 4.5]`, holds every edge of both methods for :math:`0 \\le \\beta < 1` without
    using either formula."""
    pack = Pack.of([quad])
    settings = [Setting(0, m, float(b)) for m in ("heavy_ball", "nesterov") for b in betas]
    k = len(settings)
    with single_thread():
        br = bracket_thresholds(pack, settings, np.full(k, 0.5 / quad.lam_max),
                                np.full(k, 4.5 / quad.lam_max), n=n, rounds=rounds,
                                steps=steps, first_steps=first_steps, blowup=blowup)
    derived = np.array([derived_critical_step(st.method, st.beta, quad.lam_max)
                        for st in settings])
    return MomentumResult(quad, settings, br, derived, steps)


@dataclass(frozen=True)
class ControlResult:
    """Runs at 0.98 and 1.02 times each setting's derived critical step.

    ``quads``: the quadratics (GD runs on each, momentum on the last); ``settings``;
    ``diverged`` / ``diverged_at`` ``[setting, factor]``; ``losses`` ``[step, setting,
    factor]`` at every step (frozen after divergence).
    """

    labels: list[str]
    settings: list[Setting]
    factors: tuple[float, ...]
    derived: np.ndarray
    diverged: np.ndarray
    diverged_at: np.ndarray
    losses: np.ndarray
    steps: int

    def rows(self, methods: Sequence[str]) -> list[int]:
        return [i for i, st in enumerate(self.settings) if st.method in methods]


def control_runs(quads: Sequence[Quadratic], momentum_quad: Quadratic,
                 betas: Sequence[float], *, steps: int = 1000,
                 blowup: float = BLOWUP) -> ControlResult:
    """The negative controls: every GD quadratic and every momentum setting at
    ``CONTROL`` = (0.98, 1.02) times its derived critical step, in one vmapped sweep, with
    the same horizon and blow-up as the threshold measurements."""
    allq = [*quads, momentum_quad]
    pack = Pack.of(allq)
    m = len(quads)
    settings = [Setting(i, "gd") for i in range(m)] + \
        [Setting(m, meth, float(b)) for meth in ("heavy_ball", "nesterov") for b in betas]
    derived = np.array([derived_critical_step(st.method, st.beta, allq[st.quad].lam_max)
                        for st in settings])
    f0, f1 = CONTROL
    with single_thread():
        res = step_size_sweep(pack.step, pack.loss,
                              pack.starts(settings, f0 * derived, (f1 - f0) * derived),
                              [0.0, 1.0], steps, blowup=blowup, record_every=1)
    labels = [allq[st.quad].label if st.method == "gd" else f"{st.method}, β={st.beta:g}"
              for st in settings]
    return ControlResult(labels, settings, CONTROL, derived, res.diverged, res.diverged_at,
                         res.losses, steps)


# ----------------------------------------------------------------------------- tables

def quadratic_table(quads: Sequence[Quadratic]) -> tuple[list[list[Any]], list[str]]:
    """Rows (label, d, kappa, lam_max, 2/lam_max, Frobenius bracket) and the header."""
    rows = []
    for q in quads:
        fro = float(np.linalg.norm(q.A))
        rows.append([q.label, q.dim, q.kappa, q.lam_max, critical_step(q.lam_max),
                     f"[{0.9 * 2 / fro:.3g}, {1.1 * 2 * math.sqrt(q.dim) / fro:.3g}]"])
    return rows, ["quadratic", "d", "κ", "λ_max", "2/λ_max", "first bracket (from ‖A‖_F)"]


def threshold_table(result: CriticalStepResult) -> tuple[list[list[Any]], list[str]]:
    """Per quadratic: bracket, measured threshold, 2/lam_max, offset and horizon offset (%)."""
    br = result.brackets
    rows = [[lab, br.last_stable[i], br.first_diverged[i], result.measured[i],
             result.predicted[i], f"{100 * (result.ratio[i] / 2 - 1):.2f}",
             f"{100 * result.horizon_offset[i]:.2f}"]
            for i, lab in enumerate(result.labels)]
    return rows, ["quadratic", "last stable η", "first divergent η", "measured η_c",
                  "2/λ_max", "offset (%)", "finite-horizon offset (%)"]


def control_table(control: ControlResult) -> tuple[list[list[Any]], list[str]]:
    """Per setting: the derived critical step and the outcome at each control factor."""
    def word(i: int, k: int) -> str:
        at = int(control.diverged_at[i, k])
        return f"diverged at step {at}" if at >= 0 else f"stable ({control.steps} steps)"

    rows = [[lab, control.derived[i], *[word(i, k) for k in range(len(control.factors))]]
            for i, lab in enumerate(control.labels)]
    return rows, ["setting", "derived η_c", *[f"η = {f:g} η_c" for f in control.factors]]


def rate_table(rates: RateResult) -> tuple[list[list[Any]], list[str]]:
    """Per quadratic: kappa, eta*, (kappa-1)/(kappa+1), the slowest and the fastest measured
    factor at eta* over the starts, and the largest excess of the bound over the grid."""
    rows = [[lab, rates.kappa[i], rates.eta_star[i], rates.rho_star[i], rates.rate_at_star[i],
             float(rates.star_rates[i].min()), float(np.nanmax(rates.bound_excess[i]))]
            for i, lab in enumerate(rates.labels)]
    n = rates.star_rates.shape[1]
    return rows, ["quadratic", "κ", "η*", "(κ−1)/(κ+1)", f"at η*: slowest of {n} starts",
                  "fastest", "max_t ln(e_t / (ρ(η)^t e_0)) over the grid"]


def momentum_table(result: MomentumResult) -> tuple[list[list[Any]], list[str]]:
    """Per (method, beta): the measured and the derived edge eta_c lam_max."""
    rows = []
    for method in ("heavy_ball", "nesterov"):
        e = result.edges(method)
        for b, meas, der, (lo, hi) in zip(e["beta"], e["measured"], e["derived"],
                                          e["bracket"], strict=True):
            off = "no bracket" if meas is None else f"{100 * (meas / der - 1):.2f}"
            rows.append([method, b, f"[{lo:.5g}, {hi:.5g}]", meas, der, off])
    return rows, ["method", "β", "bracket (η λ_max)", "measured η_c λ_max", "derived",
                  "offset (%)"]

