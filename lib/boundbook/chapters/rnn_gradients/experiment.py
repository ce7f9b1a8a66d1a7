"""The experiments of the chapter "Exploding and vanishing gradients in RNNs" (torch, float64).

The recurrence is the paper's eq. (11), :math:`x_t = W\\sigma(x_{t-1}) + W_{in}u_t + b`, whose
one-step Jacobian is :math:`\\partial x_t/\\partial x_{t-1} = W\\,\\mathrm{diag}(\\sigma'(x_{t-1}))`
(taken here with :func:`boundbook.numeric.contraction.update_jacobians`, i.e. autograd). The
product :math:`\\|\\partial x_T/\\partial x_0\\|_2` is accumulated step by step in log scale
(renormalised, so neither a vanishing nor an exploding product under- or overflows).

Three families of instances, each on a grid of :math:`s = \\gamma\\lambda_1` (:math:`\\lambda_1`
the largest singular value of :math:`W`; :math:`\\gamma = 1` for tanh, 1/4 for the sigmoid):

- **random** nets: Gaussian :math:`W` rescaled to :math:`\\|W\\|_2 = s/\\gamma`, random input
  weights, biases, inputs and initial states;
- **aligned** nets, built to attain the bound: :math:`W = (s/\\gamma)Q` with :math:`Q` a random
  orthogonal matrix, no input, and the state held at the fixed point where
  :math:`\\sigma' = \\gamma` (:math:`x = 0`, with :math:`b = -W\\sigma(0)` for the sigmoid), so
  every Jacobian is :math:`sQ` and the product has norm :math:`s^T` exactly;
- the **counterexample** to the statement with the spectral radius (from a public Lean
  formalisation of the paper): :math:`W = [[8, 8], [-8, -8]]` (nilpotent, spectral radius 0),
  tanh, the fixed point :math:`x^* = (0, \\operatorname{artanh}\\tfrac12)`,
  :math:`b = x^* - W\\tanh x^*`; the Jacobian there is :math:`J = [[8, 6], [-8, -6]]` with
  :math:`J^2 = 2J`, so the product grows like :math:`2^T`. The fixed point is unstable, so the
  Jacobians are taken along the exact orbit :math:`x_t = x^*`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from boundbook.numeric.contraction import update_jacobians

D = torch.float64
ACTS = {"tanh": (torch.tanh, 1.0), "sigmoid": (torch.sigmoid, 0.25)}


@dataclass(frozen=True)
class Instance:
    family: str  # random / aligned / counterexample
    act: str
    gamma: float
    s: float  # nominal gamma * largest singular value
    sigma1: float
    rho: float
    log_prod: dict[int, float]  # horizon -> log ||d x_T / d x_0||_2


def _log_products(jacs: torch.Tensor, horizons: tuple[int, ...]) -> dict[int, float]:
    """log ||J_T ... J_1||_2 at each horizon, renormalising every step."""
    n = jacs.shape[-1]
    P, logscale, out = torch.eye(n, dtype=D), 0.0, {}
    for t in range(1, max(horizons) + 1):
        P = jacs[t - 1] @ P
        f = float(torch.linalg.matrix_norm(P))
        if f == 0.0:
            P, logscale = P, -math.inf
        else:
            P, logscale = P / f, logscale + math.log(f)
        if t in horizons:
            out[t] = logscale + math.log(float(torch.linalg.matrix_norm(P, ord=2))) \
                if math.isfinite(logscale) else -math.inf
    return out


def _spectral(W: torch.Tensor) -> tuple[float, float]:
    return (float(torch.linalg.matrix_norm(W, ord=2)),
            float(torch.linalg.eigvals(W).abs().max()))


def _instance(family: str, act: str, s: float, W: torch.Tensor, b: torch.Tensor,
              states: torch.Tensor, horizons: tuple[int, ...]) -> Instance:
    sigma, gamma = ACTS[act]
    jacs = update_jacobians(lambda x: W @ sigma(x) + b, states)
    s1, rho = _spectral(W)
    return Instance(family, act, gamma, s, s1, rho, _log_products(jacs, horizons))


def random_net(act: str, s: float, n: int, horizons: tuple[int, ...], gen: torch.Generator
               ) -> Instance:
    sigma, gamma = ACTS[act]
    W = torch.randn(n, n, dtype=D, generator=gen)
    W = W * (s / gamma) / torch.linalg.matrix_norm(W, ord=2)
    m = 4
    W_in = torch.randn(n, m, dtype=D, generator=gen) / math.sqrt(m)
    b = 0.1 * torch.randn(n, dtype=D, generator=gen)
    T = max(horizons)
    u = torch.randn(T, m, dtype=D, generator=gen)
    x = torch.randn(n, dtype=D, generator=gen)
    states = []
    for t in range(T):
        states.append(x)  # the Jacobian of step t+1 is taken at x_t
        x = W @ sigma(x) + W_in @ u[t] + b
    return _instance("random", act, s, W, b, torch.stack(states), horizons)


def aligned_net(act: str, s: float, n: int, horizons: tuple[int, ...],
                gen: torch.Generator) -> Instance:
    sigma, gamma = ACTS[act]
    Q, _ = torch.linalg.qr(torch.randn(n, n, dtype=D, generator=gen))
    W = (s / gamma) * Q
    x0 = torch.zeros(n, dtype=D)
    b = -W @ sigma(x0)  # x = 0 is a fixed point (b = 0 for tanh)
    states = x0.expand(max(horizons), n)
    return _instance("aligned", act, s, W, b, states, horizons)


def counterexample(horizons: tuple[int, ...]) -> Instance:
    W = torch.tensor([[8.0, 8.0], [-8.0, -8.0]], dtype=D)
    xs = torch.tensor([0.0, math.atanh(0.5)], dtype=D)
    b = xs - W @ torch.tanh(xs)
    states = xs.expand(max(horizons), 2)  # the exact orbit of the (unstable) fixed point
    s1, _ = _spectral(W)
    inst = _instance("counterexample", "tanh", s1, W, b, states, horizons)
    return Instance(inst.family, inst.act, inst.gamma, s1, s1, 0.0, inst.log_prod)


@dataclass(frozen=True)
class RNNResult:
    horizons: tuple[int, ...]
    grid: tuple[float, ...]
    instances: list[Instance]


def run(cfg) -> RNNResult:
    """Every instance of the settings ``cfg``: per activation and grid value, ``cfg.nets``
    random and ``cfg.nets`` aligned nets; then the counterexample."""
    out: list[Instance] = []
    for a, act in enumerate(ACTS):
        for j, s in enumerate(cfg.grid):
            gen = torch.Generator().manual_seed(cfg.seed * 100_003 + 1000 * a + j)
            for _ in range(cfg.nets):
                out.append(random_net(act, s, cfg.n, cfg.horizons, gen))
            for _ in range(cfg.aligned):
                out.append(aligned_net(act, s, cfg.n, cfg.horizons, gen))
    out.append(counterexample(cfg.horizons))
    return RNNResult(tuple(cfg.horizons), tuple(cfg.grid), out)


def explode_fraction(res: RNNResult, act: str, family: str = "random") -> np.ndarray:
    """Per grid value: the fraction of nets whose product norm at the longest horizon
    exceeds 1."""
    T = max(res.horizons)
    out = []
    for s in res.grid:
        v = [i.log_prod[T] > 0 for i in res.instances
             if i.family == family and i.act == act and i.s == s]
        out.append(np.mean(v))
    return np.array(out)
