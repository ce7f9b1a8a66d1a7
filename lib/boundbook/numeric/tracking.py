"""Tracking a moving minimiser: drifting problems, batched runs, steady-state errors, and the
Kalman / natural-gradient measurement update.

What the tracking chapters share:

- :class:`DriftingQuadratic` problems :math:`f_t(x) = \\tfrac12 (x - c_t)^\\top A (x - c_t)`,
  :math:`\\mu I \\preceq A \\preceq L I`, whose minimiser :math:`c_t` moves, batched over seeds
  (leading seed dimension): :func:`random_walk_quadratic` (Gaussian increments, per-step std
  ``sigma`` per coordinate) and :func:`linear_drift_quadratic` (increments of norm exactly
  ``delta``: along an eigenvector, optionally alternating in sign, along a fixed random
  direction, or along a fresh random direction each step);
- :func:`streaming_network`: the Metropolis-weight mixing matrix of a ring or complete graph
  (symmetric, doubly stochastic) and per-agent streaming data;
- :func:`track`: run an update ``step(x, g, t) -> x_next`` (written for one seed, ``vmap``-ped
  over seeds, or batched with ``batched=True``) on a drifting problem, recording the error to
  the current minimiser :math:`\\|x_t - c_t\\|` and to the minimiser the step aimed at
  :math:`\\|x_t - c_{t-1}\\|`;
- :func:`steady_state`: the steady-state mean (or mean square, or worst) error after a burn-in,
  with a 95% interval; **the seed is the unit**: each seed's time average is one observation and
  the interval is a percentile bootstrap over seeds
  (:func:`boundbook.core.stats.bootstrap_interval`);
- :func:`kalman_update`, :func:`natural_gradient_step` (and the Euclidean-gradient step a
  control needs, :func:`euclidean_gradient_step`).

Time convention (also in :mod:`boundbook.symbolic.tracking`): at time ``t`` the learner holds
``x_t``, sees ``f_t`` (minimiser ``c_t``), steps to ``x_{t+1} = step(x_t, grad f_t(x_t), t)``;
then the minimiser moves to ``c_{t+1}``. ``problem.centres`` holds ``c_0..c_T`` (shape
``(S, T + 1, n)``) for ``T = problem.steps``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Protocol

import numpy as np
import sympy as sp
import torch
from torch.func import vmap

from boundbook.core.stats import bootstrap_interval
from boundbook.numeric.contraction import gd_contraction_factor
from boundbook.symbolic.tracking import random_walk_derivation

__all__ = [
    "DriftingProblem",
    "DriftingQuadratic",
    "StreamingNetwork",
    "SteadyState",
    "TrackingRun",
    "drift_bound",
    "euclidean_gradient_step",
    "gd_step",
    "kalman_update",
    "linear_drift_quadratic",
    "metropolis_weights",
    "natural_gradient_step",
    "random_walk_mse",
    "random_walk_quadratic",
    "steady_state",
    "streaming_network",
    "track",
    "worst_case_drift",
]

SEED_SALT = 7_919
"""Seed ``k`` draws from ``torch.Generator().manual_seed(SEED_SALT * (k + 1) + salt)``: a seed's
draws do not depend on how many other seeds run with it."""


def _seed_list(seeds: int | Sequence[int]) -> list[int]:
    if isinstance(seeds, int | np.integer):
        return list(range(int(seeds)))
    return [int(k) for k in seeds]


def _gen(seed: int, salt: int) -> torch.Generator:
    return torch.Generator().manual_seed(SEED_SALT * (seed + 1) + salt)


# ------------------------------------------------------------------------ the problems
class DriftingProblem(Protocol):
    """What :func:`track` needs: ``centres`` ``(S, T + 1, n)`` and ``gradient(x, t)`` for a
    batch ``x`` of shape ``(S, n)``."""

    centres: torch.Tensor

    def gradient(self, x: torch.Tensor, t: int) -> torch.Tensor: ...


@dataclass(frozen=True)
class DriftingQuadratic:
    """:math:`f_t(x) = \\tfrac12 (x - c_t)^\\top A (x - c_t)` with a moving minimiser, batched over
    seeds.

    ``A`` ``(n, n)`` (shared by the seeds) ``= eigvecs @ diag(eigvals) @ eigvecs.T`` with
    ``eigvals`` evenly spaced on ``[mu, L]`` (both ends included); ``centres`` ``(S, T + 1, n)``
    the minimisers ``c_0..c_T``; ``grad_noise``: std of an additive Gaussian noise on each
    gradient coordinate (``noise`` holds the draws, ``(S, T, n)``, or ``None``); ``kind``:
    ``"random-walk"`` or ``"linear"``; ``drift``: ``sigma`` (random walk) or ``delta``
    (linear); ``seeds``: the seed of each row.
    """

    A: torch.Tensor
    eigvals: torch.Tensor
    eigvecs: torch.Tensor
    centres: torch.Tensor
    mu: float
    L: float
    kind: str
    drift: float
    seeds: tuple[int, ...]
    grad_noise: float = 0.0
    noise: torch.Tensor | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def steps(self) -> int:
        return int(self.centres.shape[1]) - 1

    @property
    def dim(self) -> int:
        return int(self.A.shape[0])

    @property
    def n_seeds(self) -> int:
        return int(self.centres.shape[0])

    def gradient(self, x: torch.Tensor, t: int) -> torch.Tensor:
        """:math:`A(x - c_t)` (+ the noise draw of step ``t``) for ``x`` of shape ``(S, n)``."""
        g = (x - self.centres[:, t]) @ self.A.T
        if self.noise is not None:
            g = g + self.noise[:, t]
        return g

    def loss(self, x: torch.Tensor, t: int) -> torch.Tensor:
        d = x - self.centres[:, t]
        return 0.5 * ((d @ self.A.T) * d).sum(-1)


def _matrix(dim: int, mu: float, L: float, dtype: torch.dtype, basis: str | int
            ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    if not 0 < mu <= L:
        raise ValueError(f"need 0 < mu <= L, got mu={mu}, L={L}")
    lam = torch.linspace(mu, L, dim, dtype=dtype) if dim > 1 else torch.tensor([mu], dtype=dtype)
    if basis == "identity":
        Q = torch.eye(dim, dtype=dtype)
    else:
        g = torch.Generator().manual_seed(int(basis))
        Q, R = torch.linalg.qr(torch.randn(dim, dim, generator=g, dtype=dtype))
        Q = Q * torch.sign(torch.diagonal(R))
    A = Q @ torch.diag(lam) @ Q.T
    return (A + A.T) / 2, lam, Q


def _noise(seeds: list[int], steps: int, dim: int, std: float, dtype: torch.dtype
           ) -> torch.Tensor | None:
    if std == 0:
        return None
    return std * torch.stack([torch.randn(steps, dim, generator=_gen(k, 2), dtype=dtype)
                              for k in seeds])


def random_walk_quadratic(dim: int, mu: float, L: float, sigma: float, steps: int,
                          seeds: int | Sequence[int], dtype: torch.dtype = torch.float64, *,
                          grad_noise: float = 0.0, basis: str | int = 0,
                          centre0: Any = None) -> DriftingQuadratic:
    """A quadratic whose minimiser performs a Gaussian random walk, :math:`c_{t+1} = c_t + w_t`,
    :math:`w_t \\sim N(0, \\sigma^2 I)`, for ``steps`` steps and each seed (``seeds``: a count or
    the seed values).

    ``basis``: ``"identity"`` (A diagonal) or an integer seeding a random orthogonal
    eigenbasis (shared by all seeds); ``centre0``: ``c_0`` (default 0); ``grad_noise``: std of
    an additive Gaussian gradient noise per coordinate.
    """
    ks = _seed_list(seeds)
    A, lam, Q = _matrix(dim, mu, L, dtype, basis)
    c0 = torch.zeros(dim, dtype=dtype) if centre0 is None else torch.as_tensor(centre0, dtype=dtype)
    inc = sigma * torch.stack([torch.randn(steps, dim, generator=_gen(k, 1), dtype=dtype)
                               for k in ks])
    centres = c0 + torch.cat([torch.zeros(len(ks), 1, dim, dtype=dtype), inc.cumsum(1)], dim=1)
    return DriftingQuadratic(A=A, eigvals=lam, eigvecs=Q, centres=centres, mu=float(mu),
                             L=float(L), kind="random-walk", drift=float(sigma),
                             seeds=tuple(ks), grad_noise=float(grad_noise),
                             noise=_noise(ks, steps, dim, grad_noise, dtype))


DIRECTIONS = ("min", "max", "fixed-random", "random")


def worst_case_drift(mu: float, L: float, eta: float) -> tuple[str, bool]:
    """The drift that attains :math:`\\delta/(1-q)`: ``(direction, alternate)`` for
    :func:`linear_drift_quadratic`. The eigendirection whose multiplier
    :math:`1 - \\eta\\lambda` has the largest modulus (``"min"`` when
    :math:`|1-\\eta\\mu| \\ge |1-\\eta L|`, else ``"max"``), alternating in sign when that
    multiplier is negative."""
    m_mu, m_L = 1 - eta * mu, 1 - eta * L
    if abs(m_mu) >= abs(m_L):
        return "min", m_mu < 0
    return "max", m_L < 0


def linear_drift_quadratic(dim: int, mu: float, L: float, delta: float, steps: int,
                           seeds: int | Sequence[int] = 1, dtype: torch.dtype = torch.float64,
                           *, direction: str | Any = "min", alternate: bool = False,
                           grad_noise: float = 0.0, basis: str | int = 0,
                           centre0: Any = None) -> DriftingQuadratic:
    """A quadratic whose minimiser moves deterministically by exactly ``delta`` per step.

    ``direction``: ``"min"`` / ``"max"`` (the eigenvector of ``mu`` / ``L``), ``"fixed-random"``
    (one random unit direction per seed), ``"random"`` (a fresh random unit direction each step
    and seed), or a vector (normalised); ``alternate``: flip the sign of the increment every
    step (with :func:`worst_case_drift` this is the equality case of :math:`\\delta/(1-q)`).
    """
    ks = _seed_list(seeds)
    A, lam, Q = _matrix(dim, mu, L, dtype, basis)
    S = len(ks)
    if isinstance(direction, str):
        if direction not in DIRECTIONS:
            raise ValueError(f"direction must be one of {DIRECTIONS} or a vector")
        if direction in ("min", "max"):
            u = Q[:, 0] if direction == "min" else Q[:, -1]
            dirs = u.expand(S, steps, dim)
        else:
            n = 1 if direction == "fixed-random" else steps
            z = torch.stack([torch.randn(n, dim, generator=_gen(k, 3), dtype=dtype) for k in ks])
            dirs = (z / torch.linalg.vector_norm(z, dim=-1, keepdim=True)).expand(S, steps, dim)
    else:
        u = torch.as_tensor(direction, dtype=dtype)
        dirs = (u / torch.linalg.vector_norm(u)).expand(S, steps, dim)
    sign = torch.ones(steps, 1, dtype=dtype)
    if alternate:
        sign[1::2] = -1
    inc = delta * dirs * sign
    c0 = torch.zeros(dim, dtype=dtype) if centre0 is None else torch.as_tensor(centre0, dtype=dtype)
    centres = c0 + torch.cat([torch.zeros(S, 1, dim, dtype=dtype), inc.cumsum(1)], dim=1)
    label = direction if isinstance(direction, str) else "vector"
    return DriftingQuadratic(A=A, eigvals=lam, eigvecs=Q, centres=centres, mu=float(mu),
                             L=float(L), kind="linear", drift=float(delta), seeds=tuple(ks),
                             grad_noise=float(grad_noise),
                             noise=_noise(ks, steps, dim, grad_noise, dtype),
                             meta={"direction": label, "alternate": alternate})


# ------------------------------------------------------------------ closed forms
def drift_bound(mu: Any, L: Any, eta: Any, delta: Any, *, aimed: bool = False) -> Any:
    """:math:`\\delta/(1 - q)` (or :math:`q\\delta/(1 - q)` with ``aimed=True``), :math:`q` the
    GD factor (:func:`boundbook.numeric.contraction.gd_contraction_factor`); ``inf`` when
    :math:`q \\ge 1`. Derived in :func:`boundbook.symbolic.tracking.drift_bound_derivation`."""
    q = gd_contraction_factor(mu, L, eta)
    one_minus = 1 - q
    if isinstance(q, torch.Tensor):
        out = torch.where(one_minus > 0, delta / one_minus, torch.full_like(q, float("inf")))
        return out * q if aimed else out
    qa = np.asarray(q, dtype=float)
    with np.errstate(divide="ignore"):
        out = np.where(1 - qa > 0, delta / np.where(1 - qa > 0, 1 - qa, 1.0), np.inf)
    out = out * qa if aimed else out
    return float(out) if out.ndim == 0 else out


@cache
def _rw_fns() -> tuple[Callable[..., Any], Callable[..., Any]]:
    d = random_walk_derivation()
    return (sp.lambdify(d.symbols, d.mse, modules="numpy"),
            sp.lambdify(d.symbols, d.mse_aimed, modules="numpy"))


def random_walk_mse(eigvals: Any, eta: float, sigma: float, grad_noise: float = 0.0, *,
                    aimed: bool = False) -> float:
    """The exact stationary :math:`E\\|x_t - c_t\\|^2` of GD on a quadratic with Hessian
    eigenvalues ``eigvals`` under a random walk of per-coordinate std ``sigma`` (and gradient
    noise ``grad_noise``): the sum over eigenvalues of the scalar formula of
    :func:`boundbook.symbolic.tracking.random_walk_derivation` (lambdified); ``aimed=True``:
    :math:`E\\|x_{t+1} - c_t\\|^2`. ``inf`` outside :math:`0 < \\eta < 2/\\lambda_{\\max}`."""
    lam = np.atleast_1d(np.asarray(eigvals, dtype=float))
    if not (eta > 0 and np.all(eta * lam < 2)):
        return float("inf")
    f = _rw_fns()[1 if aimed else 0]
    return float(np.sum(f(lam, eta, sigma, grad_noise)))


# ------------------------------------------------------------------- streaming network
def metropolis_weights(adjacency: torch.Tensor) -> torch.Tensor:
    """Metropolis-Hastings weights :math:`W_{ij} = 1/(1 + \\max(d_i, d_j))` on the edges,
    :math:`W_{ii} = 1 - \\sum_{j \\ne i} W_{ij}`: symmetric and doubly stochastic."""
    adj = (adjacency != 0).to(torch.float64)
    adj.fill_diagonal_(0)
    deg = adj.sum(1)
    W = adj / (1 + torch.maximum(deg[:, None], deg[None, :]))
    return W + torch.diag(1 - W.sum(1))


@dataclass(frozen=True)
class StreamingNetwork:
    """``n_agents`` agents on a graph with the Metropolis mixing matrix ``W`` and streaming data.

    Agent ``i`` receives at each time ``t`` one sample :math:`\\xi_{i,t} = m_i + \\text{noise}\\,z`
    (:math:`z \\sim N(0, I_{dim})`) around its own mean :math:`m_i` (``means``, shape
    ``(n_agents, dim)``; their spread is the heterogeneity); ``beta2`` is the second largest
    singular value of ``W`` (the consensus contraction). :meth:`samples` draws the stream,
    batched over seeds: ``(S, steps, n_agents, dim)``.
    """

    W: torch.Tensor
    means: torch.Tensor
    noise: float
    graph: str

    @property
    def n_agents(self) -> int:
        return int(self.W.shape[0])

    @property
    def beta2(self) -> float:
        sv = torch.linalg.svdvals(self.W)
        return float(sv[1]) if sv.numel() > 1 else 0.0

    def samples(self, steps: int, seeds: int | Sequence[int]) -> torch.Tensor:
        ks = _seed_list(seeds)
        n, dim = self.means.shape
        z = torch.stack([torch.randn(steps, n, dim, generator=_gen(k, 4), dtype=self.W.dtype)
                         for k in ks])
        return self.means + self.noise * z


def streaming_network(n_agents: int, graph: str = "ring", *, dim: int = 1,
                      heterogeneity: float = 1.0, noise: float = 1.0, seed: int = 0,
                      dtype: torch.dtype = torch.float64) -> StreamingNetwork:
    """A ring or complete graph of ``n_agents`` agents with Metropolis weights and streaming
    data: agent means drawn once, :math:`m_i \\sim N(0, \\text{heterogeneity}^2 I)` (seeded by
    ``seed``; ``heterogeneity=0`` gives identical agents), per-sample noise std ``noise``."""
    if graph == "ring":
        if n_agents < 3:
            raise ValueError("a ring needs at least 3 agents")
        idx = torch.arange(n_agents)
        adj = torch.zeros(n_agents, n_agents)
        adj[idx, (idx + 1) % n_agents] = 1
        adj[(idx + 1) % n_agents, idx] = 1
    elif graph == "complete":
        adj = torch.ones(n_agents, n_agents)
    else:
        raise ValueError(f"graph must be 'ring' or 'complete', got {graph!r}")
    W = metropolis_weights(adj).to(dtype)
    g = torch.Generator().manual_seed(seed)
    means = heterogeneity * torch.randn(n_agents, dim, generator=g, dtype=dtype)
    return StreamingNetwork(W=W, means=means, noise=float(noise), graph=graph)


# ----------------------------------------------------------------------------- runs
def gd_step(eta: float) -> Callable[[torch.Tensor, torch.Tensor, int], torch.Tensor]:
    """The gradient-descent update ``x - eta * g`` in :func:`track`'s signature."""
    return lambda x, g, t: x - eta * g


@dataclass(frozen=True)
class TrackingRun:
    """A batched tracking run.

    ``error[s, t]`` :math:`= \\|x_t - c_t\\|` for ``t = 0..T`` (to the current minimiser);
    ``aimed[s, t - 1]`` :math:`= \\|x_t - c_{t-1}\\|` for ``t = 1..T`` (to the minimiser the
    step from ``x_{t-1}`` aimed at); ``x``: the iterates ``(S, T + 1, n)`` when recorded.
    """

    error: np.ndarray
    aimed: np.ndarray
    seeds: tuple[int, ...]
    x: torch.Tensor | None = None

    @property
    def steps(self) -> int:
        return int(self.error.shape[1]) - 1


def track(step: Callable[..., torch.Tensor], problem: DriftingProblem,
          x0: Any = None, *, batched: bool = False, record_x: bool = False) -> TrackingRun:
    """Run ``step(x, g, t) -> x_next`` on ``problem`` from ``x0`` (shape ``(S, n)`` or ``(n,)``;
    default ``c_0``, zero initial error) for ``problem.centres.shape[1] - 1`` steps.

    ``step`` is written for one seed (``x``, ``g`` of shape ``(n,)``, ``t`` an int) and
    ``vmap``-ped over seeds, or for the whole batch with ``batched=True``.
    """
    C = problem.centres
    S, T1, n = C.shape
    x = C[:, 0].clone() if x0 is None else torch.as_tensor(x0, dtype=C.dtype).expand(S, n).clone()
    f = step if batched else vmap(step, in_dims=(0, 0, None))
    err = [torch.linalg.vector_norm(x - C[:, 0], dim=-1)]
    aimed = []
    xs = [x] if record_x else None
    with torch.no_grad():
        for t in range(T1 - 1):
            x = f(x, problem.gradient(x, t), t)
            err.append(torch.linalg.vector_norm(x - C[:, t + 1], dim=-1))
            aimed.append(torch.linalg.vector_norm(x - C[:, t], dim=-1))
            if xs is not None:
                xs.append(x)
    seeds = tuple(getattr(problem, "seeds", range(S)))
    return TrackingRun(error=torch.stack(err, 1).cpu().numpy(),
                       aimed=(torch.stack(aimed, 1).cpu().numpy() if aimed
                              else np.zeros((S, 0))),
                       seeds=seeds, x=torch.stack(xs, 1) if xs is not None else None)


STATISTICS = ("mean", "mse", "max")


@dataclass(frozen=True)
class SteadyState:
    """A steady-state error: ``per_seed`` (each seed's time average of the error, its square,
    or its maximum, over ``t >= burn_in``), ``value`` (their mean over seeds) and ``interval``
    (95% percentile bootstrap of that mean; the seed is the unit of resampling)."""

    value: float
    interval: tuple[float, float]
    per_seed: np.ndarray
    statistic: str
    which: str
    burn_in: int

    @property
    def n_seeds(self) -> int:
        return int(self.per_seed.size)

    @property
    def worst(self) -> float:
        return float(np.max(self.per_seed))


def steady_state(run: TrackingRun, burn_in: int, *, statistic: str = "mean",
                 which: str = "current") -> SteadyState:
    """The steady-state error of ``run`` after ``burn_in`` steps, with a 95% interval.

    ``statistic``: ``"mean"`` (time-averaged error), ``"mse"`` (time-averaged squared error) or
    ``"max"`` (largest error after the burn-in); ``which``: ``"current"`` (``||x_t - c_t||``) or
    ``"aimed"`` (``||x_t - c_{t-1}||``). Each seed contributes one number (its time statistic);
    the value is their mean and the interval a percentile bootstrap over seeds
    (:func:`boundbook.core.stats.bootstrap_interval`, fixed resampling generator): the seed is
    the unit, time points within a seed are never resampled (they are correlated).
    """
    if statistic not in STATISTICS:
        raise ValueError(f"statistic must be one of {STATISTICS}")
    if which == "current":
        e = run.error[:, burn_in:]
    elif which == "aimed":
        e = run.aimed[:, max(burn_in - 1, 0):]
    else:
        raise ValueError("which must be 'current' or 'aimed'")
    if e.shape[1] == 0:
        raise ValueError(f"burn_in {burn_in} leaves no steps of {run.steps}")
    per = (e.mean(1) if statistic == "mean" else (e**2).mean(1) if statistic == "mse"
           else e.max(1))
    per = np.asarray(per, dtype=float)
    if per.size > 1:
        interval = bootstrap_interval([list(range(per.size))],
                                      lambda idx: float(np.mean(per[idx])))
    else:
        interval = (float(per[0]), float(per[0]))
    return SteadyState(value=float(per.mean()), interval=interval, per_seed=per,
                       statistic=statistic, which=which, burn_in=int(burn_in))


# ------------------------------------------------------------- Kalman and natural gradient
def _sym(P: torch.Tensor) -> torch.Tensor:
    return (P + P.transpose(-1, -2)) / 2


def _mv(M: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    return (M @ v.unsqueeze(-1)).squeeze(-1)


def kalman_update(mean: Any, cov: Any, H: Any, R: Any, y: Any
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    """The Kalman measurement update of the prior :math:`N(m, P)` by :math:`y = Hx + v`,
    :math:`v \\sim N(0, R)`: :math:`S = HPH^\\top + R`, :math:`K = PH^\\top S^{-1}`,
    :math:`m^+ = m + K(y - Hm)`, :math:`P^+ = (I - KH)P` (symmetrised). Shapes ``(..., d)``,
    ``(..., d, d)``, ``(..., k, d)``, ``(..., k, k)``, ``(..., k)`` (batched)."""
    m, P, H, R, y = (torch.as_tensor(z, dtype=torch.float64) if not torch.is_tensor(z) else z
                     for z in (mean, cov, H, R, y))
    S = H @ P @ H.transpose(-1, -2) + R
    K = torch.linalg.solve(S, H @ P).transpose(-1, -2)  # P H^T S^-1 (S, P symmetric)
    m_post = m + _mv(K, y - _mv(H, m))
    eye = torch.eye(P.shape[-1], dtype=P.dtype)
    return m_post, _sym((eye - K @ H) @ P)


FORMS = ("natural", "nano-code")


def _objective_terms(mean: Any, cov: Any, H: Any, R: Any, y: Any,
                     prior: tuple[Any, Any] | None) -> tuple[torch.Tensor, ...]:
    """The pieces of :math:`J(q)` (see :func:`natural_gradient_step`) that both gradient steps
    use: ``m, P, m0, I, E_q[grad^2 l] = H^T R^-1 H, E_q[grad l] = H^T R^-1 (H m - y), P0^-1``
    (float64 tensors; the prior defaults to the current ``(m, P)``)."""
    m, P, H, R, y = (torch.as_tensor(z, dtype=torch.float64) if not torch.is_tensor(z) else z
                     for z in (mean, cov, H, R, y))
    m0, P0 = (m, P) if prior is None else (torch.as_tensor(prior[0], dtype=m.dtype),
                                           torch.as_tensor(prior[1], dtype=m.dtype))
    eye = torch.eye(P.shape[-1], dtype=P.dtype)
    Rinv_H = torch.linalg.solve(R, H)
    hess = H.transpose(-1, -2) @ Rinv_H  # E_q[grad^2 l] = H^T R^-1 H
    grad = _mv(Rinv_H.transpose(-1, -2), _mv(H, m) - y)  # E_q[grad l]
    P0inv = torch.linalg.solve(P0, eye)
    return m, P, m0, eye, hess, grad, P0inv


def natural_gradient_step(mean: Any, cov: Any, H: Any, R: Any, y: Any, step: float = 1.0, *,
                          prior: tuple[Any, Any] | None = None, form: str = "natural"
                          ) -> tuple[torch.Tensor, torch.Tensor]:
    """One natural-gradient step on the Gaussian :math:`q = N(m, \\Sigma)` for the measurement
    :math:`y = Hx + v`, :math:`v \\sim N(0, R)`.

    **Objective** (the variational form of the measurement update):
    :math:`J(q) = E_q[\\ell(x)] + \\mathrm{KL}(q \\,\\|\\, N(m_0, \\Sigma_0))` with the negative
    log-likelihood :math:`\\ell(x) = \\tfrac12 (y - Hx)^\\top R^{-1} (y - Hx)` (up to a constant);
    its minimiser is the Bayesian posterior. ``prior = (m_0, Sigma_0)``; default: the current
    ``(mean, cov)`` (one step from the prior, the filter's measurement update). Expectations are
    exact for this quadratic :math:`\\ell`: :math:`E_q[\\nabla\\ell] = H^\\top R^{-1}(Hm - y)`,
    :math:`E_q[\\nabla^2\\ell] = H^\\top R^{-1} H`.

    **Parameterisation and step** (``form="natural"``, the default): natural-gradient descent
    with step :math:`\\beta` on the natural parameters
    :math:`\\lambda = (\\Sigma^{-1}m, -\\tfrac12\\Sigma^{-1})` of the Gaussian family (Fisher
    metric; equivalently mirror descent on the expectation parameters, the Bayesian learning
    rule), which gives

    .. math::

        \\Sigma_{k+1}^{-1} = (1-\\beta)\\Sigma_k^{-1}
            + \\beta(\\Sigma_0^{-1} + E_q[\\nabla^2\\ell]),
        \\quad m_{k+1} = m_k
            - \\beta\\,\\Sigma_{k+1}(E_q[\\nabla\\ell] + \\Sigma_0^{-1}(m_k - m_0)).

    ``form="nano-code"``: the NANO companion code's step-size form,
    :math:`\\Sigma_{k+1}^{-1} = \\Sigma_0^{-1} + \\beta E_q[\\nabla^2\\ell]` with the same mean
    update
    (signs derived from :math:`J`, not copied from the code). Both forms coincide at
    :math:`\\beta = 1`, where one step from the prior is the Kalman update
    (:func:`kalman_update`).
    """
    if form not in FORMS:
        raise ValueError(f"form must be one of {FORMS}")
    m, P, m0, eye, hess, grad, P0inv = _objective_terms(mean, cov, H, R, y, prior)
    if form == "natural":
        prec = (1 - step) * torch.linalg.solve(P, eye) + step * (P0inv + hess)
    else:
        prec = P0inv + step * hess
    prec = _sym(prec)
    P_new = _sym(torch.linalg.solve(prec, eye))
    m_new = m - step * _mv(P_new, grad + _mv(P0inv, m - m0))
    return m_new, P_new


def euclidean_gradient_step(mean: Any, cov: Any, H: Any, R: Any, y: Any, step: float = 1.0, *,
                            prior: tuple[Any, Any] | None = None
                            ) -> tuple[torch.Tensor, torch.Tensor]:
    """One plain (Euclidean) gradient step on :math:`J(q)` of :func:`natural_gradient_step` in
    the coordinates :math:`(m, \\Sigma)`:
    :math:`\\nabla_m J = E_q[\\nabla\\ell] + \\Sigma_0^{-1}(m - m_0)`,
    :math:`\\nabla_\\Sigma J = \\tfrac12(E_q[\\nabla^2\\ell] + \\Sigma_0^{-1} - \\Sigma^{-1})`."""
    m, P, m0, eye, hess, grad, P0inv = _objective_terms(mean, cov, H, R, y, prior)
    g_m = grad + _mv(P0inv, m - m0)
    g_P = 0.5 * (hess + P0inv - torch.linalg.solve(P, eye))
    return m - step * g_m, _sym(P - step * g_P)

