"""The experiments of the chapter "Why target networks stabilise temporal-difference learning"
(torch, float64; plain dataclasses out).

The simulated algorithm is the partially fitted evaluation itself, not the closed form: the
state is :math:`(\\bar\\omega, k, \\alpha, \\gamma)`; one *outer* step runs :math:`k` inner
gradient steps on the expected loss :math:`\\tfrac12\\|\\Phi\\omega - (R +
\\gamma P\\Phi\\bar\\omega)\\|_D^2` from :math:`\\omega = \\bar\\omega` with the target frozen, then
copies the target. Periods up to ``kmax`` ride in one batch (an inner step is masked off once
its period is reached), so a whole sweep is one vmapped iteration. Rates, Jacobians and
thresholds are measured with :mod:`boundbook.numeric.contraction`:

- the composite map's Jacobian at random targets (:func:`update_jacobians`), against the
  closed form :math:`A_k` (and two wrong forms, for the control);
- per period, the contraction rate of pairs of outer trajectories
  (:func:`empirical_contraction_rate`: :math:`e^{\\text{slope}}` of
  :math:`\\log\\|\\bar\\omega_t - \\bar\\omega'_t\\|`); the outer map is affine, so the rate
  estimates :math:`\\rho(A_k)`;
- at a fixed period, both edges of the step-size window (:func:`contraction_threshold`, the
  lower edge on the sweep of :math:`-\\alpha`);
- on the classic example, the discount at which each period stops contracting.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from boundbook.chapters.target_networks.instance import Instance
from boundbook.numeric.contraction import (
    contraction_threshold,
    empirical_contraction_rate,
    update_jacobians,
)
from boundbook.numeric.threads import single_thread

DTYPE = torch.float64
CLASSIC_STEP_FACTOR = 0.5
"""On the one-feature example the step is ``0.5 / tr M``: at ``1 / tr M = 1 / M`` one inner step
fits exactly (:math:`q = 0`) and every period would be the same map."""


class Algorithm:
    """Partially fitted evaluation on one instance; state ``[wbar (d) | k | alpha | gamma]``."""

    def __init__(self, inst: Instance, kmax: int):
        a = inst.arrays()
        t = {k: torch.as_tensor(v, dtype=DTYPE) for k, v in a.items() if k != "gamma"}
        self.d, self.kmax = t["M"].shape[0], int(kmax)
        self.M = t["M"]
        self.c = t["Phi"].T @ t["D"] @ t["R"]  # Phi^T D R
        self.B = t["B"]
        self.arrays = a
        self._j = torch.arange(self.kmax, dtype=DTYPE)

    def state(self, wbar: torch.Tensor, k: float, alpha: float, gamma: float) -> torch.Tensor:
        """Rows ``[wbar | k | alpha | gamma]`` for a batch of targets ``wbar`` (B, d)."""
        extra = torch.tensor([k, alpha, gamma], dtype=DTYPE).expand(wbar.shape[0], 3)
        return torch.cat([wbar, extra], dim=1)

    def step(self, s: torch.Tensor) -> torch.Tensor:
        """One outer step: ``k`` inner gradient steps with the target frozen, then the copy."""
        d = self.d
        wbar, k, a, g = s[:d], s[d], s[d + 1], s[d + 2]
        target_term = self.c + g * (self.B @ wbar)  # Phi^T D (R + gamma P Phi wbar)
        steps = a * (k > self._j).to(DTYPE)  # alpha for inner steps j < k, 0 after
        w = wbar
        for j in range(self.kmax):
            w = w - steps[j] * (self.M @ w - target_term)
        return torch.cat([w, s[d:]])


def closed_form(M: np.ndarray, B: np.ndarray, g: float, a: float, k: int) -> np.ndarray:
    """:math:`A_k` in float64 (the derivation's form; tested equal to the sympy one)."""
    eye = np.eye(M.shape[0])
    Q = np.linalg.matrix_power(eye - a * M, k)
    return Q + (eye - Q) @ np.linalg.solve(M, g * B)


def spectral_radius(A: np.ndarray) -> float:
    return float(np.abs(np.linalg.eigvals(A)).max())


@dataclass(frozen=True)
class CompositeResult:
    """Max relative error of the simulated Jacobian against the closed form and two wrong forms
    (``k+1`` inner steps; ``gamma`` 5% larger), over ``periods`` and ``points`` targets."""

    periods: list[int]
    points: int
    errors: dict[str, float]


@single_thread()
def composite_check(inst: Instance, periods: Sequence[int], points: int,
                    seed: int) -> CompositeResult:
    alg = Algorithm(inst, max(periods))
    a, M, B, g = float(inst.step), alg.arrays["M"], alg.arrays["B"], alg.arrays["gamma"]
    gen = torch.Generator().manual_seed(seed)
    variants = {"exact": lambda k: closed_form(M, B, g, a, k),
                "k+1": lambda k: closed_form(M, B, g, a, k + 1),
                "1.05 gamma": lambda k: closed_form(M, B, 1.05 * g, a, k)}
    errors = dict.fromkeys(variants, 0.0)
    for k in periods:
        wbar = torch.randn(points, alg.d, generator=gen, dtype=DTYPE)
        J = update_jacobians(alg.step, alg.state(wbar, k, a, g))[:, : alg.d, : alg.d].numpy()
        for name, form in variants.items():
            A = form(k)
            err = float(np.abs(J - A).max() / np.abs(A).max())
            errors[name] = max(errors[name], err)
    return CompositeResult(list(periods), points, errors)


@dataclass(frozen=True)
class PeriodResult:
    """Per period ``k = 1..kmax`` at step ``alpha``: the measured rate (median over pairs) with
    its 95% interval, the exact :math:`\\rho(A_k)` and :math:`\\|A_k\\|_2` (float64)."""

    periods: np.ndarray
    rate: np.ndarray
    interval: np.ndarray
    rho: np.ndarray
    norm: np.ndarray
    alpha: float
    steps: int
    pairs: int


def _pairs(n: int, d: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=gen, dtype=DTYPE)
    return x, x + 1e-3 * torch.randn(n, d, generator=gen, dtype=DTYPE)


@single_thread()
def period_sweep(inst: Instance, kmax: int, steps: int, pairs: int, seed: int) -> PeriodResult:
    alg = Algorithm(inst, kmax)
    a, M, B, g = float(inst.step), alg.arrays["M"], alg.arrays["B"], alg.arrays["gamma"]
    x, y = _pairs(pairs, alg.d, seed)
    ks = np.arange(1, kmax + 1)
    X = torch.cat([alg.state(x, int(k), a, g) for k in ks])
    Y = torch.cat([alg.state(y, int(k), a, g) for k in ks])
    est = empirical_contraction_rate(alg.step, X, Y, steps)
    rates = est.rates.reshape(kmax, pairs)
    med = np.median(rates, axis=1)
    lo = np.quantile(rates, 0.025, axis=1)
    hi = np.quantile(rates, 0.975, axis=1)
    As = [closed_form(M, B, g, a, int(k)) for k in ks]
    return PeriodResult(ks, med, np.stack([lo, hi], 1), np.array([spectral_radius(A) for A in As]),
                        np.array([np.linalg.norm(A, 2) for A in As]), a, steps, pairs)


@dataclass(frozen=True)
class WindowResult:
    """At period ``k``: the measured step-size edges (first non-contracting step on a sweep
    upward from ``alpha``, and on the sweep downward), the rates just outside the predicted
    edges (``outside``: at ``0.95 lo`` and ``1.05 hi``) and a rate map over ``grid``."""

    k: int
    lo: float
    hi: float
    outside: dict[str, float]
    grid: np.ndarray
    grid_rate: np.ndarray
    grid_rho: np.ndarray
    steps: int


@single_thread()
def step_window(inst: Instance, k: int, predicted: tuple[float, float], n: int, steps: int,
                pairs: int, seed: int) -> WindowResult:
    alg = Algorithm(inst, k)
    a0, g = float(inst.step), alg.arrays["gamma"]
    x, y = _pairs(pairs, alg.d, seed)
    X, Y = alg.state(x, k, a0, g), alg.state(y, k, a0, g)
    d = alg.d

    def up(s: torch.Tensor, eta: torch.Tensor) -> torch.Tensor:
        return alg.step(torch.cat([s[: d + 1], eta.reshape(1), s[d + 2:]]))

    def down(s: torch.Tensor, eta: torch.Tensor) -> torch.Tensor:
        return alg.step(torch.cat([s[: d + 1], (-eta).reshape(1), s[d + 2:]]))

    lo_p, hi_p = predicted
    hi = contraction_threshold(up, X, Y, np.linspace(a0, 1.3 * hi_p, n), steps)
    lo = -contraction_threshold(down, X, Y, np.linspace(-a0, -0.7 * lo_p, n), steps)
    outside = {}
    for name, eta in (("0.95 lo", 0.95 * lo_p), ("1.05 hi", 1.05 * hi_p)):
        est = empirical_contraction_rate(alg.step, alg.state(x, k, eta, g),
                                         alg.state(y, k, eta, g), steps)
        outside[name] = float(est.median)
    grid = np.linspace(0.02, 1.2 * hi_p, 40)
    X = torch.cat([alg.state(x, k, float(e), g) for e in grid])
    Y = torch.cat([alg.state(y, k, float(e), g) for e in grid])
    est = empirical_contraction_rate(alg.step, X, Y, steps)
    M, B = alg.arrays["M"], alg.arrays["B"]
    rho = np.array([spectral_radius(closed_form(M, B, g, float(e), k)) for e in grid])
    return WindowResult(k, float(lo), float(hi), outside, grid,
                        np.median(est.rates.reshape(len(grid), pairs), axis=1), rho, steps)


@dataclass(frozen=True)
class ClassicResult:
    """On the one-feature example (step :data:`CLASSIC_STEP_FACTOR` / tr M, so
    :math:`q = 2^{-k}`): per period, the discount at which the outer iteration stops
    contracting (sweep of ``gamma``), and the rates at ``gamma`` 2% above and below 5/6."""

    periods: list[int]
    gamma_c: np.ndarray
    above: np.ndarray
    below: np.ndarray
    gammas: tuple[float, float]
    steps: int


@single_thread()
def classic_sweep(inst: Instance, periods: Sequence[int], n: int, steps: int,
                  seed: int) -> ClassicResult:
    alg = Algorithm(inst, max(periods))
    a = CLASSIC_STEP_FACTOR * float(inst.step)
    x, y = _pairs(4, alg.d, seed)
    d = alg.d

    def of_gamma(s: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        return alg.step(torch.cat([s[: d + 2], g.reshape(1)]))

    grid = np.linspace(0.75, 0.95, n)
    gc, above, below = [], [], []
    g_above, g_below = 1.02 * 5 / 6, 0.98 * 5 / 6
    for k in periods:
        gc.append(contraction_threshold(of_gamma, alg.state(x, k, a, 0.0),
                                        alg.state(y, k, a, 0.0), grid, steps))
        for g, out in ((g_above, above), (g_below, below)):
            est = empirical_contraction_rate(alg.step, alg.state(x, k, a, g),
                                             alg.state(y, k, a, g), steps)
            out.append(est.median)
    return ClassicResult(list(periods), np.array(gc), np.array(above), np.array(below),
                         (g_above, g_below), steps)
