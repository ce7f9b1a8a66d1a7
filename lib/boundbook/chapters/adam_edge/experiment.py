"""Experiments of the Adam edge-of-stability chapter (Cohen et al., arXiv 2207.14484).

1. **Frozen preconditioner on a quadratic.** Adam with its preconditioner held fixed is EMA
   momentum on :math:`P^{-1}H`: :math:`m^+ = \\beta_1 m + (1-\\beta_1)H\\theta`,
   :math:`\\theta^+ = \\theta - \\eta P^{-1}m^+`. For a rotated quadratic and a random positive
   diagonal :math:`P` we sweep the step size (vmapped, state ``[theta, m]``), call a run
   *unstable* when its loss grows over the second half of the run, and bracket the critical
   step by grid refinement; no formula enters the measurement. The top eigenvalue of
   :math:`P^{-1}H` comes from :func:`boundbook.numeric.hessian.preconditioned_sharpness`.
2. **Full-batch Adam on a small network.** A tanh MLP 64-32-10 on the first ``n`` training
   digits of scikit-learn (:mod:`boundbook.problems.digits`, Cohen et al.'s loss convention:
   :math:`\\tfrac12\\|f(x) - e_y\\|^2` summed over classes, averaged over examples), Adam with
   bias correction (the book's one hand-written Adam, :mod:`boundbook.numeric.optim`),
   :math:`\\beta_1 = 0.9`, :math:`\\beta_2 = 0.999`, :math:`\\epsilon = 10^{-12}` (so
   :math:`P = \\operatorname{diag}(\\sqrt{\\hat v} + \\epsilon)`). Every ``every`` steps we
   record the preconditioned sharpness :math:`\\lambda_{\\max}(P^{-1}H)` (with the :math:`P`
   of that step's update) and the raw sharpness :math:`\\lambda_{\\max}(H)` by Lanczos.

Dimensions, data size, step sizes and the 15% band are ours, not the paper's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from boundbook.numeric.hessian import preconditioned_sharpness, sharpness
from boundbook.numeric.optim import adam_moments_, adam_preconditioner, adam_update
from boundbook.numeric.sweep import momentum_loss, momentum_state, step_size_sweep
from boundbook.numeric.threads import single_thread
from boundbook.problems.digits import DigitsRegression, digits_regression
from boundbook.symbolic.quadratic import ema_momentum_edge, gd_edge

if TYPE_CHECKING:
    from boundbook.chapters.adam_edge.protocol import AdamSettings

DTYPE = torch.float64


# ------------------------------------------------------------------- frozen preconditioner
def frozen_problem(dim: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(H, P, theta0)``: eigenvalues of ``H`` evenly spaced in [1/4, 1], ``P`` a positive
    diagonal with log-normal entries (the diagonal as a vector), a Gaussian start."""
    gen = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(dim, dim, generator=gen, dtype=DTYPE))
    H = (q * torch.linspace(0.25, 1.0, dim, dtype=DTYPE)) @ q.T
    precond = torch.exp(torch.randn(dim, generator=gen, dtype=DTYPE))
    return H, precond, torch.randn(dim, generator=gen, dtype=DTYPE)


def frozen_adam_step(hessian: torch.Tensor, precond: torch.Tensor, beta: float):
    """EMA momentum with a frozen diagonal preconditioner on :math:`\\tfrac12\\theta^\\top
    H\\theta`, state ``[theta, m]``, the gradient written out (the tests check it against
    :func:`boundbook.numeric.sweep.ema_momentum_step`, which differentiates the loss)."""

    def step(state: torch.Tensor, eta: torch.Tensor) -> torch.Tensor:
        theta, m = state.chunk(2)
        m = beta * m + (1 - beta) * (hessian @ theta)
        return torch.cat([theta - eta * m / precond, m])

    return step


def _quadratic_loss(hessian: torch.Tensor):
    return lambda th: 0.5 * th @ hessian @ th


@dataclass(frozen=True)
class FrozenEdge:
    """Critical step size of frozen-preconditioner Adam at one beta1, and the controls."""

    beta: float
    top: float  # lambda_max(P^-1 H)
    last_stable: float
    first_unstable: float
    predicted_step: float  # (2 + 2 beta)/((1 - beta) top)
    converged_below: bool  # at control_factors[0] x predicted step
    diverged_above: bool  # at control_factors[1] x predicted step
    factors: tuple[float, float]

    @property
    def measured_step(self) -> float:
        return 0.5 * (self.last_stable + self.first_unstable)

    def to_dict(self) -> dict[str, Any]:
        return {"beta": self.beta, "top": self.top, "measured_step": self.measured_step,
                "last_stable": self.last_stable, "first_unstable": self.first_unstable,
                "converged_below": self.converged_below, "diverged_above": self.diverged_above,
                "factors": list(self.factors)}


def top_preconditioned(hessian: torch.Tensor, precond: torch.Tensor) -> float:
    """:math:`\\lambda_{\\max}(P^{-1}H)` by the shared Lanczos (exact here: dim <= 10)."""
    return preconditioned_sharpness(_quadratic_loss(hessian),
                                    torch.zeros(hessian.shape[0], dtype=DTYPE), precond,
                                    tol=1e-12, max_iter=hessian.shape[0])


@single_thread()
def frozen_edge(hessian: torch.Tensor, precond: torch.Tensor, theta0: torch.Tensor,
                beta: float, *, steps: int, n: int, rounds: int,
                factors: tuple[float, float], control_steps: int) -> FrozenEdge:
    """Bracket the critical step size by grid refinement, starting from
    [1, 8] / (top (1 - beta)) (the scale of the problem, not the formula: the edge's numerator
    2 + 2 beta lies in [2, 4]); then run the predicted step times 0.95 and 1.05 with blow-up
    detection (the predicted step is the one negative control that uses the formula)."""
    top = top_preconditioned(hessian, precond)
    step = frozen_adam_step(hessian, precond, beta)
    loss = momentum_loss(_quadratic_loss(hessian))
    state0 = momentum_state(theta0)
    lo, hi = 1.0 / (top * (1 - beta)), 8.0 / (top * (1 - beta))
    last, first = lo, hi
    for _ in range(rounds):
        grid = np.linspace(lo, hi, n)
        res = step_size_sweep(step, loss, state0, grid, steps, record_every=steps // 2)
        unstable = (res.losses[-1, 0] > res.losses[-2, 0]) | res.diverged[0]
        hit = np.flatnonzero(unstable)
        if hit.size == 0 or hit[0] == 0:
            raise RuntimeError(f"no stability change inside [{lo}, {hi}] at beta={beta}")
        last, first = float(grid[hit[0] - 1]), float(grid[hit[0]])
        lo, hi = last, first
    pred = ema_momentum_edge(1.0, beta) / top  # the step whose edge is exactly `top`
    ctl = step_size_sweep(step, loss, state0, [factors[0] * pred, factors[1] * pred],
                          control_steps)
    return FrozenEdge(beta, top, last, first, pred, not bool(ctl.diverged[0, 0]) and
                      not bool(ctl.grew[0, 0]), bool(ctl.diverged[0, 1]), tuple(factors))


@dataclass(frozen=True)
class FrozenSweep:
    """log10(final / initial loss) across step sizes around the predicted critical step."""

    beta: float
    ratios: np.ndarray  # step / predicted critical step
    growth: np.ndarray  # inf where the run blew up


@single_thread()
def frozen_sweep(hessian: torch.Tensor, precond: torch.Tensor, theta0: torch.Tensor,
                 beta: float, *, ratios: Sequence[float], steps: int) -> FrozenSweep:
    """One vmapped sweep over ``ratio * predicted critical step``."""
    pred = ema_momentum_edge(1.0, beta) / top_preconditioned(hessian, precond)
    r = np.asarray(ratios, dtype=np.float64)
    res = step_size_sweep(frozen_adam_step(hessian, precond, beta),
                          momentum_loss(_quadratic_loss(hessian)), momentum_state(theta0),
                          r * pred, steps)
    growth = np.log10(np.maximum(res.final_loss[0], 1e-300) / res.initial_loss[0])
    return FrozenSweep(beta, r, np.where(res.diverged[0], np.inf, growth))


# --------------------------------------------------------------------------- network
@dataclass(frozen=True)
class AdamRun:
    """Full-batch Adam on the digits MLP: records every ``every`` steps."""

    eta: float
    seed: int
    steps: np.ndarray
    loss: np.ndarray
    preconditioned: np.ndarray  # lambda_max(P^-1 H)
    raw: np.ndarray  # lambda_max(H)
    threshold: float  # (2 + 2 beta1)/((1 - beta1) eta)
    gd_threshold: float  # 2 / eta

    def plateau(self) -> slice:
        """The second half of training, where the chapter reads the plateau."""
        return slice(len(self.steps) // 2, None)

    def arrival(self, band: float) -> int:
        """Index of the first record with preconditioned sharpness >= (1 - band) threshold."""
        hit = np.flatnonzero(self.preconditioned >= (1 - band) * self.threshold)
        return int(hit[0]) if hit.size else len(self.steps)

    def to_dict(self) -> dict[str, Any]:
        return {"eta": self.eta, "seed": self.seed, "steps": self.steps.tolist(),
                "preconditioned": self.preconditioned.tolist(), "raw": self.raw.tolist(),
                "loss": self.loss.tolist()}


def digits_problem(n: int, width: int, seed: int) -> DigitsRegression:
    """A tanh MLP 64-width-10 (PyTorch's default init, seeded) and the MSE
    :math:`\\tfrac12\\|f(x) - e_y\\|^2` averaged over the first ``n`` training digits of the
    split drawn with the same ``seed`` (:func:`boundbook.problems.digits.digits_regression`;
    :func:`train_adam` takes its ``params`` and ``loss_of``)."""
    return digits_regression(n, (width,), seed)


@single_thread()
def train_adam(params: dict[str, torch.Tensor], loss_fn, *, eta: float, steps: int,
               every: int, beta1: float, beta2: float, eps: float, seed: int = 0,
               lanczos_tol: float = 1e-3) -> AdamRun:
    """Full-batch Adam (Kingma & Ba, bias-corrected; :mod:`boundbook.numeric.optim`, the
    kernels of ``torch.optim.Adam``) with the sharpnesses recorded before the update of every
    ``every``-th step (and the first), using that update's preconditioner."""
    keys = list(params)

    def g_fn(q: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        # plain reverse mode: about half the cost of torch.func.grad for one small network
        leaves = {k: q[k].detach().requires_grad_() for k in keys}
        return dict(zip(keys, torch.autograd.grad(loss_fn(leaves), list(leaves.values())),
                        strict=True))

    p = {k: v.clone() for k, v in params.items()}
    m = {k: torch.zeros_like(v) for k, v in p.items()}
    v = {k: torch.zeros_like(x) for k, x in p.items()}
    rec_t, rec_l, rec_p, rec_r = [], [], [], []
    for t in range(1, steps + 1):
        g = g_fn(p)
        for k in p:
            adam_moments_(m[k], v[k], g[k], beta1, beta2)
        if t == 1 or t % every == 0:
            pre = {k: adam_preconditioner(v[k], t, beta2, eps) for k in p}
            rec_t.append(t)
            rec_l.append(float(loss_fn(p)))
            rec_p.append(preconditioned_sharpness(loss_fn, p, pre, tol=lanczos_tol, seed=t))
            rec_r.append(sharpness(loss_fn, p, tol=lanczos_tol, seed=t))
        p = {k: p[k] - adam_update(m[k], v[k], t, eta, beta1, beta2, eps) for k in p}
    return AdamRun(eta, seed, np.asarray(rec_t), np.asarray(rec_l), np.asarray(rec_p),
                   np.asarray(rec_r), ema_momentum_edge(eta, beta1), gd_edge(eta))


def network_runs(cfg: AdamSettings) -> list[AdamRun]:
    """One Adam run per (network seed, step size) of the settings."""
    out = []
    for s in cfg.net_seeds:
        problem = digits_problem(cfg.n_train, cfg.width, s)
        for eta in cfg.etas:
            out.append(train_adam(problem.params, problem.loss_of, eta=eta, steps=cfg.train_steps,
                                  every=cfg.every, beta1=cfg.beta1, beta2=cfg.beta2,
                                  eps=cfg.eps, seed=s))
    return out
