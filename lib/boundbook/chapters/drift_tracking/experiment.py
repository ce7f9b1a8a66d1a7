"""The experiments of the chapter "Online gradient descent on a drifting target" (torch; plain
dataclasses out).

Three measurements, all on quadratics :math:`\\tfrac12 (x - c_t)^\\top A (x - c_t)` from
:mod:`boundbook.numeric.tracking`, float64, CPU, batched over seeds:

- :func:`run_drift_bound`: deterministic drift of exactly ``delta`` per step on a grid of
  (L, step) settings: the constructed worst case (along the eigendirection whose multiplier has
  modulus q, alternating in sign when the multiplier is negative) and two families of instances
  not built to attain the bound (a fixed random direction per seed; a fresh random direction
  every step). Recorded per seed: the largest error over the run, to the current and to the
  aimed minimiser, against the derived bounds.
- :func:`run_random_walk`: a scalar quadratic (curvature ``a``) whose minimiser performs a
  Gaussian random walk, a grid of steps run on the *same* drift draws (common random numbers);
  per seed the time-averaged squared error after a burn-in, to the current and aimed minimiser.
- :func:`run_best_step`: the same on a fine geometric grid of steps with gradient noise, and the
  step that minimises the measured mean square error (a parabola in log-step through the five
  grid points around the minimum), with a seed-bootstrap interval.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch

from boundbook.core.stats import bootstrap_interval
from boundbook.numeric.contraction import gd_contraction_factor
from boundbook.numeric.tracking import (
    DriftingQuadratic,
    drift_bound,
    gd_step,
    linear_drift_quadratic,
    random_walk_mse,
    random_walk_quadratic,
    track,
    worst_case_drift,
)

D = torch.float64


def _seeds(base: int, n: int) -> list[int]:
    return [base * 100_000 + k for k in range(n)]


# ------------------------------------------------------------------------------ drift bound
@dataclass(frozen=True)
class DriftInstance:
    """One (L, step, family) cell: per seed, the largest error over the run divided by the
    bound, to the current (``ratio``) and aimed (``ratio_aimed``) minimiser, and the largest
    error divided by delta (``over_delta``, the control's bound without 1/(1 - q))."""

    L: float
    eta: float
    q: float
    family: str
    bound: float
    bound_aimed: float
    max_error: np.ndarray
    max_error_aimed: np.ndarray
    ratio: np.ndarray
    ratio_aimed: np.ndarray
    over_delta: np.ndarray
    curve: np.ndarray  # the first seed's error over time (for the figure)


@dataclass(frozen=True)
class DriftResult:
    mu: float
    delta: float
    dim: int
    steps: int
    seeds: int
    instances: tuple[DriftInstance, ...]

    def family(self, name: str) -> list[DriftInstance]:
        return [i for i in self.instances if i.family == name]


FAMILIES = ("worst-case", "fixed-random", "random")


def run_drift_bound(cfg: object) -> DriftResult:
    mu, delta, dim, T = cfg.mu, cfg.delta, cfg.dim, cfg.drift_steps  # type: ignore[attr-defined]
    seeds = _seeds(cfg.seed, cfg.drift_seeds)  # type: ignore[attr-defined]
    out = []
    for L in cfg.Ls:  # type: ignore[attr-defined]
        for g in cfg.step_fractions:  # type: ignore[attr-defined]
            eta = g * 2 / L
            q = float(gd_contraction_factor(mu, L, eta))
            b, ba = drift_bound(mu, L, eta, delta), drift_bound(mu, L, eta, delta, aimed=True)
            for fam in FAMILIES:
                if fam == "worst-case":
                    direction, alt = worst_case_drift(mu, L, eta)
                    p = linear_drift_quadratic(dim, mu, L, delta, T, seeds[:1],
                                               direction=direction, alternate=alt)
                else:
                    p = linear_drift_quadratic(dim, mu, L, delta, T, seeds, direction=fam)
                r = track(gd_step(eta), p, batched=True)
                out.append(DriftInstance(
                    L=float(L), eta=float(eta), q=q, family=fam, bound=b, bound_aimed=ba,
                    max_error=r.error.max(1), max_error_aimed=r.aimed.max(1),
                    ratio=r.error.max(1) / b, ratio_aimed=r.aimed.max(1) / ba,
                    over_delta=r.error.max(1) / delta, curve=r.error[0].copy()))
    return DriftResult(mu=float(mu), delta=float(delta), dim=int(dim), steps=int(T),
                       seeds=len(seeds), instances=tuple(out))


# ------------------------------------------------------------------------------ random walk
def _sweep(p: DriftingQuadratic, a: float, etas: np.ndarray, burn_in: int
           ) -> tuple[np.ndarray, np.ndarray]:
    """Per seed and step size, the time-averaged squared error after ``burn_in`` (current,
    aimed) of GD with each step in ``etas`` on the scalar problem ``p``, all on the same drift
    (and gradient-noise) draws: the scalar problem is copied into one coordinate per step."""
    G = len(etas)
    S, T1, _ = p.centres.shape
    wide = replace(p, A=a * torch.eye(G, dtype=D), eigvals=torch.full((G,), a, dtype=D),
                   eigvecs=torch.eye(G, dtype=D), centres=p.centres.expand(S, T1, G),
                   noise=None if p.noise is None else p.noise.expand(S, T1 - 1, G))
    eta_t = torch.as_tensor(etas, dtype=D)
    run = track(lambda x, g, t: x - eta_t * g, wide, batched=True, record_x=True)
    x = run.x
    cur = ((x - wide.centres) ** 2)[:, burn_in:].mean(1)
    aimed = ((x[:, 1:] - wide.centres[:, :-1]) ** 2)[:, max(burn_in - 1, 0):].mean(1)
    return cur.numpy(), aimed.numpy()


@dataclass(frozen=True)
class RandomWalkResult:
    """Per step size (``etas``, in units of 1/a via ``eta_a``): the exact stationary mean square
    errors (``exact``, ``exact_aimed``), the measured seed means and their 95% seed-bootstrap
    intervals; ``ou``: the small-step (Ornstein-Uhlenbeck) value (eta^2 s^2 + sigma^2)/(2 eta a)
    that the control tests."""

    a: float
    sigma: float
    grad_noise: float
    etas: np.ndarray
    exact: np.ndarray
    exact_aimed: np.ndarray
    ou: np.ndarray
    measured: np.ndarray
    interval: np.ndarray
    measured_aimed: np.ndarray
    interval_aimed: np.ndarray
    seeds: int
    steps: int
    burn_in: int

    @property
    def eta_a(self) -> np.ndarray:
        return self.etas * self.a


def _mean_interval(per_seed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column means and 95% percentile-bootstrap intervals, the seed (row) as the unit."""
    idx = [list(range(per_seed.shape[0]))]
    means = per_seed.mean(0)
    ivs = np.array([bootstrap_interval(idx, lambda i, j=j: float(per_seed[i, j].mean()))
                    for j in range(per_seed.shape[1])])
    return means, ivs


def run_random_walk(cfg: object) -> RandomWalkResult:
    a, sigma, s = cfg.a, cfg.sigma, cfg.rw_grad_noise  # type: ignore[attr-defined]
    etas = np.asarray(cfg.rw_eta_a, dtype=float) / a  # type: ignore[attr-defined]
    seeds = _seeds(cfg.seed + 1, cfg.rw_seeds)  # type: ignore[attr-defined]
    p = random_walk_quadratic(1, a, a, sigma, cfg.rw_steps, seeds,  # type: ignore[attr-defined]
                              grad_noise=s, basis="identity")
    cur, aimed = _sweep(p, a, etas, cfg.rw_burn_in)  # type: ignore[attr-defined]
    m, iv = _mean_interval(cur)
    ma, iva = _mean_interval(aimed)
    exact = np.array([random_walk_mse([a], e, sigma, s) for e in etas])
    exact_aimed = np.array([random_walk_mse([a], e, sigma, s, aimed=True) for e in etas])
    ou = (etas**2 * s**2 + sigma**2) / (2 * etas * a)
    return RandomWalkResult(a=a, sigma=sigma, grad_noise=s, etas=etas, exact=exact,
                            exact_aimed=exact_aimed, ou=ou, measured=m, interval=iv,
                            measured_aimed=ma, interval_aimed=iva, seeds=len(seeds),
                            steps=int(cfg.rw_steps),  # type: ignore[attr-defined]
                            burn_in=int(cfg.rw_burn_in))  # type: ignore[attr-defined]


# ------------------------------------------------------------------------------ best step
def argmin_log_parabola(etas: np.ndarray, values: np.ndarray) -> float:
    """The minimiser of a parabola in log(eta) through the five grid points around the smallest
    value (nan when the minimum sits at the grid's edge)."""
    j = int(np.argmin(values))
    if j < 2 or j > len(values) - 3:
        return float("nan")
    x, y = np.log(etas[j - 2:j + 3]), values[j - 2:j + 3]
    c2, c1, _ = np.polyfit(x, y, 2)
    return float(np.exp(-c1 / (2 * c2))) if c2 > 0 else float("nan")


@dataclass(frozen=True)
class BestStepResult:
    """The sweep behind the best-step claim: the grid, the measured seed-mean curve and the exact
    one, the measured argmin and its 95% seed-bootstrap interval, the predicted best step and the
    noiseless one (1/a, what the control asserts)."""

    a: float
    sigma: float
    grad_noise: float
    etas: np.ndarray
    measured: np.ndarray
    interval_curve: np.ndarray
    exact: np.ndarray
    argmin: float
    interval: tuple[float, float]
    argmin_exact_curve: float
    seeds: int
    steps: int


def run_best_step(cfg: object, best_step: float) -> BestStepResult:
    """``best_step``: the derived minimiser (only used to centre the geometric grid, fixed in the
    settings as a span of factors around it)."""
    a, sigma, s = cfg.a, cfg.sigma, cfg.best_grad_noise  # type: ignore[attr-defined]
    lo, hi, G = cfg.best_span  # type: ignore[attr-defined]
    etas = best_step * np.geomspace(lo, hi, G)
    seeds = _seeds(cfg.seed + 2, cfg.best_seeds)  # type: ignore[attr-defined]
    p = random_walk_quadratic(1, a, a, sigma, cfg.best_steps, seeds,  # type: ignore[attr-defined]
                              grad_noise=s, basis="identity")
    cur, _ = _sweep(p, a, etas, cfg.best_burn_in)  # type: ignore[attr-defined]
    curve, iv_curve = _mean_interval(cur)
    arg = argmin_log_parabola(etas, curve)
    iv = bootstrap_interval([list(range(cur.shape[0]))],
                            lambda i: argmin_log_parabola(etas, cur[i].mean(0)))
    exact = np.array([random_walk_mse([a], e, sigma, s) for e in etas])
    return BestStepResult(a=a, sigma=sigma, grad_noise=s, etas=etas, measured=curve,
                          interval_curve=iv_curve,
                          exact=exact, argmin=arg, interval=iv,
                          argmin_exact_curve=argmin_log_parabola(etas, exact), seeds=len(seeds),
                          steps=int(cfg.best_steps))  # type: ignore[attr-defined]
