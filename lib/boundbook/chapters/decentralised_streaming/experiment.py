"""The experiments of the chapter "Decentralised gradient descent with streaming data" (torch;
plain dataclasses out).

**The setting (ours; the paper's own experiment was not read).** ``n`` agents on a ring or a
complete graph with the Metropolis mixing matrix :math:`W` of
:func:`boundbook.numeric.tracking.streaming_network`; at each time :math:`\\tau = 1, 2, \\dots`
agent :math:`i` receives one scalar sample :math:`\\xi_{i,\\tau} = m_i + s\\,w_{i,\\tau}` around its
own mean :math:`m_i` (the heterogeneity), :math:`w \\sim N(0, 1)`. Its temporally weighted local
loss :math:`F_{i,\\tau}(x) = \\sum_{r \\le \\tau}\\omega_{\\tau,r}\\tfrac a2(x - \\xi_{i,r})^2`
(weights summing to 1) equals :math:`\\tfrac a2(x - z_{i,\\tau})^2` + const, with
:math:`z_{i,\\tau}` the weighted mean of the agent's samples, updated by
:math:`z_\\tau = z_{\\tau-1} + c_\\tau(\\xi_\\tau - z_{\\tau-1})`, :math:`z_0 = 0`:
:math:`c_\\tau = 1/\\tau` (uniform weights, the running mean) or
:math:`c_\\tau = (1-\\gamma)/(1-\\gamma^\\tau)` (exponentially discounted weights
:math:`\\omega_{\\tau,r} \\propto \\gamma^{\\tau-r}`, normalised). The network's target is the
centralised minimiser :math:`x^\\star_\\tau = \\bar z_\\tau` (the agents' mean, equal curvatures).

DGD performs ``K`` updates :math:`x \\leftarrow Wx - \\alpha a(x - z_\\tau)` per time step, from
:math:`x_0 = 0`. Its fixed point is :math:`Pz_\\tau`,
:math:`P = \\alpha a((I - W) + \\alpha aI)^{-1}`;
the tracking error splits into the fixed-point tracking error :math:`e_\\tau = x_\\tau - Pz_\\tau`
and the heterogeneity bias :math:`b_\\tau = Pz_\\tau - \\mathbf 1x^\\star_\\tau = (P - J)z_\\tau`
(:math:`J = \\mathbf 1\\mathbf 1^\\top/n`).

The runs go through :func:`boundbook.numeric.tracking.track`: the drifting problem's
"minimiser" at track step :math:`t` is the fixed point :math:`Pz_{t+1}` and its gradient
:math:`a(x - z_{t+1})`, so the toolkit's ``aimed`` error :math:`\\|x_{t+1} - c_t\\|` is
:math:`\\|e_\\tau\\|`, :math:`\\tau = t + 1`. Every configuration of a graph runs on the same
noise draws :math:`w` (common random numbers); intervals: percentile bootstrap over seeds
(the seed is the unit).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from boundbook.core.stats import bootstrap_interval
from boundbook.numeric.threads import single_thread
from boundbook.numeric.tracking import TrackingRun, steady_state, streaming_network, track

DTYPE = torch.float64


# ------------------------------------------------------------------------ the model
def fixed_point_matrix(W: torch.Tensor, alpha: float, a: float) -> torch.Tensor:
    """:math:`P = \\alpha a((I - W) + \\alpha aI)^{-1}`: the DGD fixed point is :math:`Pz`."""
    n = W.shape[0]
    eye = torch.eye(n, dtype=W.dtype)
    return alpha * a * torch.linalg.solve(eye - W + alpha * a * eye, eye)


def weights(steps: int, gamma: float | None) -> np.ndarray:
    """:math:`c_\\tau` for :math:`\\tau = 1..` ``steps``: ``1/tau`` (``gamma=None``, uniform) or
    :math:`(1-\\gamma)/(1-\\gamma^\\tau)` (discounted, normalised)."""
    tau = np.arange(1, steps + 1, dtype=float)
    if gamma is None:
        return 1 / tau
    return (1 - gamma) / (1 - gamma**tau)


def weighted_means(samples: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """:math:`z_\\tau` (``(R, T, n)``) of the samples ``(R, T, n)`` under the weights ``c``
    ``(R, T)`` (one row of :func:`weights` per row of samples), from :math:`z_0 = 0`."""
    z = torch.zeros_like(samples[:, 0])
    out = torch.empty_like(samples)
    for tau in range(samples.shape[1]):
        z = z + c[:, tau:tau + 1] * (samples[:, tau] - z)
        out[:, tau] = z
    return out


@dataclass(frozen=True)
class StreamingDGD:
    """The streaming problem in :func:`boundbook.numeric.tracking.track`'s protocol: at track
    step ``t`` the weighted means ``z[:, t]`` :math:`= z_{t+1}`, the "minimiser"
    ``centres[:, t]`` :math:`= Pz_{t+1}` (the DGD fixed point) and the gradient
    :math:`a(x - z_{t+1})`."""

    centres: torch.Tensor
    z: torch.Tensor
    a: float
    seeds: tuple[int, ...] = field(default=())

    def gradient(self, x: torch.Tensor, t: int) -> torch.Tensor:
        return self.a * (x - self.z[:, t])


def dgd_step(W: torch.Tensor, alpha: float, a: float, K: int, z: torch.Tensor
             ) -> Callable[[torch.Tensor, torch.Tensor, int], torch.Tensor]:
    """``K`` DGD updates :math:`x \\leftarrow Wx - \\alpha a(x - z_t)` on the batch ``x``
    ``(S, n)`` (the first one with the gradient ``g`` that ``track`` passes)."""
    Wt = W.T.contiguous()

    def step(x: torch.Tensor, g: torch.Tensor, t: int) -> torch.Tensor:
        x = x @ Wt - alpha * g
        for _ in range(K - 1):
            x = x @ Wt - alpha * a * (x - z[:, t])
        return x

    return step


def mode_moments(W: np.ndarray, means: np.ndarray, alpha: float, a: float, K: int,
                 noise: float, c: np.ndarray) -> np.ndarray:
    """The exact :math:`E\\|e_\\tau\\|^2` for :math:`\\tau = 1..T` (``c`` the weights
    :math:`c_\\tau`), from :math:`x_0 = z_0 = 0`: in the eigenbasis of :math:`W` each mode
    :math:`(e_k, u_k)`, :math:`u = z - m`, obeys :math:`u' = (1-c)u + cw`,
    :math:`e' = q_k(e - p_kc(w - u))` with :math:`q_k = (\\lambda_k - \\alpha a)^K`,
    :math:`p_k = \\alpha a/(1 - \\lambda_k + \\alpha a)`; its 2x2 second-moment matrix is
    propagated exactly (numpy)."""
    lam, V = np.linalg.eigh(W)
    q = (lam - alpha * a) ** K
    p = alpha * a / (1 - lam + alpha * a)
    mk = V.T @ means
    Ee2, Eeu, Eu2 = np.zeros_like(lam), np.zeros_like(lam), mk**2
    s2 = noise**2
    out = np.empty(len(c))
    for i, ci in enumerate(c):
        # e' = q e + q p c u - q p c w ;  u' = (1 - c) u + c w
        f11, f12, g1 = q, q * p * ci, -q * p * ci
        f22, g2 = 1 - ci, ci
        Ee2, Eeu, Eu2 = (f11**2 * Ee2 + 2 * f11 * f12 * Eeu + f12**2 * Eu2 + g1**2 * s2,
                         f11 * f22 * Eeu + f12 * f22 * Eu2 + g1 * g2 * s2,
                         f22**2 * Eu2 + g2**2 * s2)
        out[i] = Ee2.sum()
    return out


# ----------------------------------------------------------------------------- runs
@dataclass(frozen=True)
class StreamRun:
    """One configuration, all seeds: ``e2`` ``(S, T)`` :math:`\\|e_\\tau\\|^2` and ``b2``
    :math:`\\|b_\\tau\\|^2` for :math:`\\tau = 1..T`; ``b2_decay``: the same bias for the
    fixed point of a *diminishing* step :math:`\\alpha_\\tau = \\alpha/\\sqrt\\tau`
    (:func:`decaying_bias`, the control of the constant-step bias floor); ``avg_bias``: the largest
    :math:`|\\mathbf 1^\\top b_\\tau|/n` over seeds and times; ``expected_e2``: the exact
    :math:`E\\|e_\\tau\\|^2` (:func:`mode_moments`); ``run``: the toolkit's ``TrackingRun``
    restricted to this configuration's rows (``aimed[:, tau - 1]`` :math:`= \\|e_\\tau\\|`)."""

    graph: str
    gamma: float | None
    heterogeneous: bool
    e2: np.ndarray
    b2: np.ndarray
    b2_decay: np.ndarray
    avg_bias: float
    expected_e2: np.ndarray
    run: TrackingRun


def decaying_bias(W: torch.Tensor, z: torch.Tensor, alpha: float, a: float) -> torch.Tensor:
    """:math:`\\|(P(\\alpha_\\tau) - J)z_\\tau\\|^2` ``(R, T)`` for the weighted means ``z``
    ``(R, T, n)`` (``z[:, tau - 1]`` :math:`= z_\\tau`) with the diminishing step
    :math:`\\alpha_\\tau = \\alpha/\\sqrt\\tau`: in the eigenbasis of :math:`W` the fixed point
    of the step :math:`\\alpha_\\tau` acts on eigenvalue :math:`\\lambda_k` by
    :math:`p_k = \\alpha_\\tau a/(1 - \\lambda_k + \\alpha_\\tau a)` (1 on the consensus mode,
    which :math:`J` removes). The bias of the fixed point only: no DGD run is needed."""
    lam, V = torch.linalg.eigh(W)
    steps = alpha / torch.sqrt(torch.arange(1, z.shape[1] + 1, dtype=z.dtype))
    p = steps[:, None] * a / (1 - lam[None, :] + steps[:, None] * a)  # (T, n)
    p = torch.where(torch.isclose(lam, torch.ones_like(lam))[None, :], torch.zeros_like(p), p)
    return ((z @ V) ** 2 * p**2).sum(-1)  # V orthonormal: the norm in the eigenbasis


def run_configs(W: torch.Tensor, graph: str, configs: list[tuple[torch.Tensor, np.ndarray,
                                                                   float | None]],
                alpha: float, a: float, K: int, noise: float) -> list[StreamRun]:
    """DGD on several streams of one graph in one batched :func:`track` call. Each config:
    ``(samples (S, T + 1, n), agent means (n,), gamma)`` (``gamma=None``: uniform weights; the
    last time step only closes ``track``'s loop)."""
    P = fixed_point_matrix(W, alpha, a)
    S, T1, n = configs[0][0].shape
    samples = torch.cat([x for x, _, _ in configs])
    c = torch.as_tensor(np.concatenate([np.broadcast_to(weights(T1, g), (S, T1))
                                        for _, _, g in configs]), dtype=DTYPE)
    z = weighted_means(samples, c)
    problem = StreamingDGD(centres=z @ P.T, z=z, a=a, seeds=tuple(range(S)) * len(configs))
    full = track(dgd_step(W, alpha, a, K, z), problem, torch.zeros(n, dtype=DTYPE),
                 batched=True)
    J = torch.full((n, n), 1.0 / n, dtype=DTYPE)
    b = z[:, :-1] @ (P - J).T
    b2 = (b**2).sum(-1).numpy()
    b2_decay = decaying_bias(W, z[:, :-1], alpha, a).numpy()
    avg = b.mean(-1).abs()
    out = []
    for j, (_, means, gamma) in enumerate(configs):
        rows = slice(j * S, (j + 1) * S)
        sub = TrackingRun(error=full.error[rows], aimed=full.aimed[rows],
                          seeds=tuple(range(S)))
        out.append(StreamRun(
            graph=graph, gamma=gamma, heterogeneous=bool(np.any(means != 0)),
            e2=sub.aimed**2, b2=b2[rows], b2_decay=b2_decay[rows],
            avg_bias=float(avg[rows].max()),
            expected_e2=mode_moments(W.numpy(), means, alpha, a, K, noise,
                                     weights(T1 - 1, gamma)),
            run=sub))
    return out


def stationary_start(t0: int, gamma: float | None, memories: int = 10) -> int:
    """The first time of a run's fit window: ``t0`` under uniform weights, and under
    discounting ``max(t0, memories/(1 - gamma))`` (ten memory lengths of the weighted means,
    the burn-in principle of the floor measurement)."""
    return t0 if gamma is None else max(t0, int(math.ceil(memories / (1 - gamma) - 1e-9)))


def fit_times(t0: int, steps: int, points: int = 40) -> np.ndarray:
    """``points`` log-spaced distinct integer times in ``[t0, steps]`` (the fit window)."""
    return np.unique(np.geomspace(t0, steps, points).round().astype(int))


def loglog_slope(ms: np.ndarray, times: np.ndarray) -> float:
    """The least-squares slope of :math:`\\log\\sqrt{ms}` against :math:`\\log\\tau` at
    ``times`` (``ms[tau - 1]`` the mean square at time ``tau``)."""
    return float(np.polyfit(np.log(times), 0.5 * np.log(ms[times - 1]), 1)[0])


def slope_with_interval(sq: np.ndarray, times: np.ndarray) -> tuple[float, tuple[float, float]]:
    """The log-log slope of the seed-RMS of ``sq`` ``(S, T)`` and its 95% seed-bootstrap
    interval (seeds resampled, the RMS curve recomputed, the slope refitted)."""
    sub = sq[:, times - 1]
    lt = np.log(times)
    dl = (lt - lt.mean()) / ((lt - lt.mean()) ** 2).sum()

    def stat(idx: list[int]) -> float:  # the least-squares slope, in closed form
        return float(dl @ (0.5 * np.log(sub[idx].mean(0))))

    return stat(list(range(sub.shape[0]))), bootstrap_interval([list(range(sub.shape[0]))], stat)


@dataclass(frozen=True)
class GraphResult:
    """Every configuration of one graph: ``uniform`` (with heterogeneity), ``homogeneous``
    (uniform weights, identical agent means, same noise draws), ``discounted[j]`` (discount
    ``gammas[j]``); the eigenvalues of :math:`W` (descending) and the means."""

    graph: str
    eigvals: list[float]
    means: list[float]
    uniform: StreamRun
    homogeneous: StreamRun
    discounted: tuple[StreamRun, ...]


@dataclass(frozen=True)
class BoundInstance:
    """One instance of the bias bound: graph, step, the measured
    :math:`\\|x^{fp} - \\mathbf 1x^\\star\\|`, :math:`G = a\\|z - \\mathbf 1\\bar z\\|`,
    :math:`\\lambda_2(W)`, and whether it was constructed to attain equality."""

    graph: str
    alpha: float
    kind: str
    bias: float
    G: float
    lambda2: float
    equality: bool


@dataclass(frozen=True)
class Result:
    graphs: tuple[GraphResult, ...]
    bound: tuple[BoundInstance, ...]
    n_agents: int
    alpha: float
    a: float
    K: int
    noise: float
    gammas: tuple[float, ...]
    steps: int
    n_seeds: int
    fit_t0: int
    burn_in: int


def bias_instances(graph: str, n: int, alphas: tuple[float, ...], a: float, draws: int,
                   seed: int) -> list[BoundInstance]:
    """The exact fixed-point bias :math:`\\|(P - J)z\\|` on ``draws`` random heterogeneity
    vectors :math:`z \\sim N(0, I)` per step size, plus the equality cases: on the ring, ``z``
    along a Fiedler vector (an eigenvector of :math:`\\lambda_2`); on the complete graph every
    instance attains equality."""
    net = streaming_network(n, graph, heterogeneity=0.0)
    W = net.W
    lam, V = torch.linalg.eigh(W)
    lam2 = float(lam[-2])
    g = torch.Generator().manual_seed(31_337 * (seed + 1))
    zs = torch.randn(draws, n, generator=g, dtype=DTYPE)
    J = torch.full((n, n), 1.0 / n, dtype=DTYPE)
    out = []
    for alpha in alphas:
        P = fixed_point_matrix(W, alpha, a)
        cases = [(z, "random", graph == "complete") for z in zs]
        if graph == "ring":
            cases.append((V[:, -2] + 0.7, "Fiedler", True))
            cases.append((V[:, -3] - 0.3, "Fiedler (2nd)", True))
        for z, kind, eq in cases:
            bias = float(torch.linalg.vector_norm((P - J) @ z))
            G = a * float(torch.linalg.vector_norm(z - z.mean()))
            out.append(BoundInstance(graph, float(alpha), kind, bias, G, lam2, eq))
    return out


@single_thread()
def run(cfg: object) -> Result:
    """Every measurement of the chapter under the settings ``cfg``
    (:class:`boundbook.chapters.decentralised_streaming.protocol.Settings`)."""
    graphs = []
    seeds = range(cfg.seed * cfg.n_seeds, (cfg.seed + 1) * cfg.n_seeds)
    for graph in cfg.graphs:
        net = streaming_network(cfg.n_agents, graph, heterogeneity=cfg.heterogeneity,
                                noise=cfg.noise, seed=cfg.means_seed)
        m = net.means[:, 0]
        noise = net.samples(cfg.steps + 1, seeds)[..., 0] - m  # the same draws for every run
        configs = [(noise + m, m.numpy(), None), (noise, np.zeros_like(m.numpy()), None)]
        configs += [(noise + m, m.numpy(), g) for g in cfg.gammas]
        runs = run_configs(net.W, graph, configs, cfg.alpha, cfg.a, cfg.K, cfg.noise)
        graphs.append(GraphResult(
            graph=graph,
            eigvals=sorted(torch.linalg.eigvalsh(net.W).tolist(), reverse=True),
            means=m.tolist(), uniform=runs[0], homogeneous=runs[1],
            discounted=tuple(runs[2:])))
    bound = [b for graph in cfg.graphs
             for b in bias_instances(graph, cfg.n_agents, cfg.bound_alphas, cfg.a,
                                     cfg.bound_draws, cfg.seed)]
    return Result(graphs=tuple(graphs), bound=tuple(bound), n_agents=cfg.n_agents,
                  alpha=cfg.alpha, a=cfg.a, K=cfg.K, noise=cfg.noise, gammas=tuple(cfg.gammas),
                  steps=cfg.steps, n_seeds=cfg.n_seeds, fit_t0=cfg.fit_t0, burn_in=cfg.burn_in)


def floor(r: StreamRun, burn_in: int) -> tuple[float, tuple[float, float]]:
    """The steady-state RMS of :math:`\\|e_\\tau\\|` over :math:`\\tau \\ge` ``burn_in``, with
    its 95% seed-bootstrap interval (:func:`boundbook.numeric.tracking.steady_state`, mean
    square, seed as unit; square roots taken after)."""
    ss = steady_state(r.run, burn_in, statistic="mse", which="aimed")
    return float(np.sqrt(ss.value)), (float(np.sqrt(ss.interval[0])),
                                      float(np.sqrt(ss.interval[1])))
