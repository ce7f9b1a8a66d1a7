"""The experiments of the chapter "Learning-rate schedules under distribution shift" (torch;
plain dataclasses out).

Scalar online linear regression with a drifting target (the model of
:mod:`boundbook.chapters.lr_schedules_shift.derivation`, with Rademacher features
:math:`a_t = \\pm 1`, so :math:`m_4 = 1`, and Gaussian noise and drift), run with
:func:`boundbook.numeric.tracking.track` on an :class:`OnlineRegression` problem. Every
schedule of one drift level runs on the *same* draws (common random numbers: seed ``k`` has the
same features, noise and drift under every schedule), so differences of regret between
schedules are paired by seed. The dynamic regret of a run is
:math:`\\tfrac12\\sum_{t<T}(\\theta_t - \\theta^\\star_t)^2` (the expected regret of step
:math:`t` given :math:`\\theta_t`, :math:`E_{a,\\varepsilon}[\\ell_t(\\theta_t) -
\\ell_t(\\theta^\\star_t)]`); intervals: a percentile bootstrap over seeds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from boundbook.core.stats import bootstrap_interval
from boundbook.numeric.tracking import steady_state, track

DTYPE = torch.float64


@dataclass(frozen=True)
class OnlineRegression:
    """:math:`y_t = a_t\\theta^\\star_t + \\varepsilon_t` for ``rows`` = schedules x seeds
    (row ``r`` uses seed ``r % n_seeds``); ``centres`` ``(rows, T+1, 1)`` the targets,
    ``gradient(x, t)`` the stochastic gradient :math:`a_t(a_t x - y_t)` (the
    :class:`boundbook.numeric.tracking.DriftingProblem` protocol)."""

    centres: torch.Tensor
    a: torch.Tensor
    eps: torch.Tensor
    seeds: tuple[int, ...] = field(default=())

    def gradient(self, x: torch.Tensor, t: int) -> torch.Tensor:
        a = self.a[:, t: t + 1]
        y = a * self.centres[:, t] + self.eps[:, t: t + 1]
        return a * (a * x - y)


def regression_problem(n_seeds: int, copies: int, steps: int, sigma: float, delta: float,
                       seed: int) -> OnlineRegression:
    """Draws for ``n_seeds`` seeds (Rademacher features, noise std ``sigma``, drift std
    ``delta``, :math:`\\theta^\\star_0 \\sim N(0, 1)`), repeated ``copies`` times (one copy per
    schedule, same draws)."""
    g = torch.Generator().manual_seed(10_007 * (seed + 1))
    a = torch.randint(0, 2, (n_seeds, steps), generator=g).to(DTYPE) * 2 - 1
    eps = sigma * torch.randn(n_seeds, steps, generator=g, dtype=DTYPE)
    theta0 = torch.randn(n_seeds, 1, generator=g, dtype=DTYPE)
    walk = delta * torch.randn(n_seeds, steps, generator=g, dtype=DTYPE)
    theta = torch.cat([theta0, theta0 + walk.cumsum(1)], 1)[..., None]
    rep = (copies, 1)
    return OnlineRegression(centres=theta.repeat(copies, 1, 1), a=a.repeat(*rep),
                            eps=eps.repeat(*rep), seeds=tuple(range(n_seeds)) * copies)


def greedy_schedule(steps: int, sigma: float, delta: float, v0: float = 1.0,
                    m4: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """The optimal (greedy Riccati) schedule :math:`\\eta_t = v_t/(m_4v_t + \\sigma^2)` and the
    expected squared errors :math:`v_t` it gives (``steps`` values each)."""
    return expected_errors(None, steps, sigma, delta, v0, m4)


def expected_errors(etas: np.ndarray | None, steps: int, sigma: float, delta: float,
                    v0: float = 1.0, m4: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """:math:`v_t` of the model's recursion under ``etas`` (``None``: the greedy schedule),
    returned with the schedule used."""
    v, out_eta, out_v = v0, np.empty(steps), np.empty(steps)
    for t in range(steps):
        e = v / (m4 * v + sigma**2) if etas is None else float(etas[t])
        out_eta[t], out_v[t] = e, v
        v = (1 - 2 * e + m4 * e * e) * v + e * e * sigma**2 + delta**2
    return out_eta, out_v


@dataclass(frozen=True)
class ShiftResult:
    """One drift level: ``names`` of the schedules, ``etas`` ``(k, T)``, ``regret`` ``(k, S)``
    per seed, ``mse_t`` ``(k, T)`` the seed-mean squared error per step, ``expected`` ``(k,)``
    the model's expected regret, ``steady``: the steady-state mean square error (toolkit
    :func:`boundbook.numeric.tracking.steady_state`, last half) per schedule with its
    interval."""

    delta: float
    sigma: float
    names: tuple[str, ...]
    etas: np.ndarray
    regret: np.ndarray
    mse_t: np.ndarray
    expected: np.ndarray
    steady: tuple[tuple[float, float, float], ...]


def constant_grid(lo: float, hi: float, n: int) -> np.ndarray:
    return np.geomspace(lo, hi, n)


def run_shift(delta: float, sigma: float, steps: int, n_seeds: int, constants: np.ndarray,
              seed: int) -> ShiftResult:
    """Every schedule at one drift level on shared draws: the optimal (greedy) schedule for
    this ``delta``, the no-shift optimum :math:`1/(t + 2)` (greedy at ``delta = 0``), and the
    constant steps ``constants``."""
    opt, _ = greedy_schedule(steps, sigma, delta)
    noshift, _ = greedy_schedule(steps, sigma, 0.0)
    names = ("optimal", "1/t") + tuple(f"const {c:.3g}" for c in constants)
    etas = np.stack([opt, noshift] + [np.full(steps, c) for c in constants])
    k = etas.shape[0]
    prob = regression_problem(n_seeds, k, steps, sigma, delta, seed)
    eta_rows = torch.as_tensor(np.repeat(etas, n_seeds, axis=0), dtype=DTYPE)

    def step(x: torch.Tensor, g: torch.Tensor, t: int) -> torch.Tensor:
        return x - eta_rows[:, t: t + 1] * g

    run = track(step, prob, torch.zeros(1, dtype=DTYPE), batched=True)
    err2 = run.error[:, :steps] ** 2  # (k * S, T): theta_t - theta*_t for t < T
    regret = 0.5 * err2.sum(1).reshape(k, n_seeds)
    mse_t = err2.reshape(k, n_seeds, steps).mean(1)
    expected = np.array([0.5 * expected_errors(e, steps, sigma, delta)[1].sum() for e in etas])
    steady = []
    for i in range(k):
        rows = slice(i * n_seeds, (i + 1) * n_seeds)
        sub = type(run)(error=run.error[rows], aimed=run.aimed[rows], seeds=run.seeds[rows])
        ss = steady_state(sub, steps // 2, statistic="mse")
        steady.append((ss.value, *ss.interval))
    return ShiftResult(delta, sigma, names, etas, regret, mse_t, expected, tuple(steady))


def paired_margin(regret: np.ndarray, cand: int, rivals: list[int]) -> tuple[float, tuple]:
    """The worst relative margin :math:`\\min_j (R_j - R_c)/R_j` of candidate ``cand`` over
    ``rivals`` (seed-mean regrets), with its 95% bootstrap interval (seeds resampled jointly:
    the draws are shared)."""
    n = regret.shape[1]

    def stat(idx: list[int]) -> float:
        m = regret[:, idx].mean(1)
        return float(min((m[j] - m[cand]) / m[j] for j in rivals))

    return stat(list(range(n))), bootstrap_interval([list(range(n))], stat)


def best_constant(res: ShiftResult) -> tuple[float, tuple[float, float]]:
    """The constant step of least seed-mean regret, and the 95% bootstrap interval of that
    argmin (over seeds) in step-size units."""
    const = [i for i, nm in enumerate(res.names) if nm.startswith("const")]
    vals = res.etas[const, 0]
    n = res.regret.shape[1]

    def stat(idx: list[int]) -> float:
        return float(vals[int(np.argmin(res.regret[const][:, idx].mean(1)))])

    return stat(list(range(n))), bootstrap_interval([list(range(n))], stat)


LOG_BINS = 24
"""The fit window is cut into this many log-spaced bins; each seed's squared error is averaged
within each bin (the bootstrap then resamples seeds on ``(S, LOG_BINS)``)."""


def log_bins(lo: int, hi: int, n: int = LOG_BINS) -> list[tuple[int, int]]:
    edges = np.unique(np.geomspace(lo, hi, n + 1).astype(int))
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:], strict=True) if b > a]


def loglog_slope(binned: np.ndarray, centres: np.ndarray) -> float:
    """Least-squares slope of log(seed-mean of the binned squared error) on log(bin centre)."""
    return float(np.polyfit(np.log(centres), np.log(binned.mean(0)), 1)[0])


@dataclass(frozen=True)
class SlopeResult:
    """Log-log slope of the seed-mean squared error (the instantaneous dynamic regret) over
    steps ``[lo, hi)`` for the no-shift schedule 1/t and the optimal one, at drift ``delta``,
    with 95% bootstrap intervals over seeds."""

    delta: float
    lo: int
    hi: int
    slope: dict[str, float]
    interval: dict[str, tuple[float, float]]
    regret_T: dict[str, float]


def run_slopes(delta: float, sigma: float, steps: int, n_seeds: int, seed: int
               ) -> SlopeResult:
    """The 1/t and optimal schedules at drift ``delta``: slope of log E e_t^2 against log t on
    the last three quarters of the run (a slope 1 is a regret growing like T^2; 0, like T)."""
    opt, _ = greedy_schedule(steps, sigma, delta)
    noshift, _ = greedy_schedule(steps, sigma, 0.0)
    etas = {"1/t": noshift, "optimal": opt}
    prob = regression_problem(n_seeds, 2, steps, sigma, delta, seed + 1)
    eta_rows = torch.as_tensor(np.repeat(np.stack(list(etas.values())), n_seeds, 0),
                               dtype=DTYPE)
    run = track(lambda x, g, t: x - eta_rows[:, t: t + 1] * g, prob,
                torch.zeros(1, dtype=DTYPE), batched=True)
    err2 = (run.error[:, :steps] ** 2).reshape(2, n_seeds, steps)
    lo, hi = steps // 4, steps
    bins = log_bins(lo, hi)
    centres = np.array([np.sqrt(a * (b - 1)) for a, b in bins])
    slope, interval, reg = {}, {}, {}
    for i, nm in enumerate(etas):
        e = err2[i]
        binned = np.stack([e[:, a:b].mean(1) for a, b in bins], 1)
        slope[nm] = loglog_slope(binned, centres)
        interval[nm] = bootstrap_interval(
            [list(range(n_seeds))], lambda idx, x=binned: loglog_slope(x[idx], centres))
        reg[nm] = float(0.5 * e.sum(1).mean())
    return SlopeResult(delta, lo, hi, slope, interval, reg)


@dataclass(frozen=True)
class LRResult:
    """The chapter's runs: ``shifts`` (one :class:`ShiftResult` per drift level, noise
    ``sigma``), ``noise_sweep`` (the control: one per noise level at the middle drift level),
    ``slopes`` (one :class:`SlopeResult` per drift level)."""

    shifts: tuple[ShiftResult, ...]
    noise_sweep: tuple[ShiftResult, ...]
    slopes: tuple[SlopeResult, ...]
    steps: int
    n_seeds: int


def run(cfg) -> LRResult:  # noqa: ANN001 (the chapter's Settings)
    """Every run of the chapter, settings from :func:`protocol.settings`."""
    consts = constant_grid(*cfg.const_range, cfg.n_const)
    shifts = tuple(run_shift(d, cfg.sigma, cfg.steps, cfg.n_seeds, consts, cfg.seed + i)
                   for i, d in enumerate(cfg.deltas))
    mid = cfg.deltas[len(cfg.deltas) // 2]
    noise = tuple(run_shift(mid, s, cfg.steps, cfg.n_seeds, consts, cfg.seed + 100 + i)
                  for i, s in enumerate(cfg.sigmas))
    slopes = tuple(run_slopes(d, cfg.sigma, cfg.steps, cfg.slope_seeds, cfg.seed + 200 + i)
                   for i, d in enumerate(cfg.deltas))
    return LRResult(shifts, noise, slopes, cfg.steps, cfg.n_seeds)
