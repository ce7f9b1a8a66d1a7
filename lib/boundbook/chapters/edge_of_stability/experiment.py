r"""Experiments of the chapter "Edge of stability" (Cohen et al., arXiv 2103.00065; the
second-order regression model of Agarwala, Pedregosa & Pennington, arXiv 2210.04860).

Three experiments, all full-batch gradient descent in float64 on the CPU by default:

* :func:`train_gd` -- a tanh MLP (two hidden layers) on a subset of scikit-learn's digits, with
  the loss of the authors' code (:mod:`boundbook.problems.digits`:
  :math:`L = \frac1n\sum_x \tfrac12\|f(x) - e_{y(x)}\|^2`, squared error summed over the 10
  outputs, averaged over examples). All step sizes run in one
  ``torch.func.vmap``-ed update; every ``every`` steps the *sharpness* (top eigenvalue of the
  training-loss Hessian) of every run is measured by Lanczos on Hessian-vector products
  (:func:`boundbook.numeric.hessian.hessian_spectrum` with reverse-over-reverse products,
  restarted from the previous top eigenvector).
  The loss is recorded at every step, but stored per block between two sharpness
  measurements: its value at the block's start and how many steps of the block increased it.
* :func:`sorm_ensemble` -- the second-order regression model of
  :mod:`boundbook.problems.sorm`, :math:`z(\theta) = J\theta + \tfrac{s}{2} Q[\theta,\theta]`,
  :math:`L = \tfrac12\|z - y\|^2`, :math:`\theta_0 = 0`, for a batch of random draws of
  :math:`(J, Q, y)` (:func:`boundbook.problems.sorm.gaussian_draws`; for the negative control,
  the same draws with :math:`s = 0`); the NTK eigenvalue
  :math:`\lambda_{\max}(J(\theta)J(\theta)^\top)` is computed exactly at every step.
* :func:`quadratic_control` -- gradient descent on :math:`\tfrac12\lambda\theta^2` at
  curvatures around :math:`2/\eta` (the shared vmapped sweep), the case with no higher-order
  terms, which cannot self-stabilise.

Every random number comes from a ``torch.Generator`` seeded from the chapter's ``seed``; a run
diverges by the book's one rule (:mod:`boundbook.numeric.divergence`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch.func import grad_and_value, vmap

from boundbook.numeric.divergence import BLOWUP, diverged
from boundbook.numeric.hessian import hessian_spectrum
from boundbook.numeric.sweep import gd_step, step_size_sweep
from boundbook.numeric.threads import single_thread
from boundbook.problems import sorm
from boundbook.problems.digits import DigitsRegression, digits_regression
from boundbook.problems.sorm import SORM

__all__ = [
    "DivergenceSweep",
    "GDRun",
    "QuadraticControl",
    "SormResult",
    "Training",
    "digits_problem",
    "divergence_edge",
    "divergence_sweep",
    "quadratic_control",
    "sorm_draws",
    "sorm_ensemble",
    "train_gd",
]


# ----------------------------------------------------------------------------- the MLP


def digits_problem(n_train: int, width: int, seed: int, dtype: torch.dtype = torch.float64,
                   device: str = "cpu") -> DigitsRegression:
    """Tanh MLP 64 -> width -> width -> 10 on the first ``n_train`` examples of the stratified
    digits training split (split and initialisation from ``seed``), MSE as in the authors'
    code (:func:`boundbook.problems.digits.digits_regression`); :func:`train_gd` uses its
    flat-vector loss."""
    return digits_regression(n_train, (width, width), seed, dtype=dtype, device=device)


@dataclass(frozen=True)
class GDRun:
    """One step size's run. Per sharpness measurement ``k`` (at step ``steps[k]``):
    ``sharpness[k]``, ``loss[k]`` (the loss at that step) and ``ups[k]`` (how many of the
    steps ``steps[k] .. steps[k+1] - 1`` increased the loss). ``final_loss`` is the loss after
    the last step; ``diverged_at`` the first step at which the run diverged
    (:func:`boundbook.numeric.divergence.diverged`; -1: never); ``matvecs`` the Hessian-vector
    products spent."""

    eta: float
    steps: list[int]
    sharpness: list[float]
    loss: list[float]
    ups: list[int]
    final_loss: float
    total_steps: int
    diverged_at: int
    matvecs: int
    losses: np.ndarray  # every step (for the figures; not stored in the records)

    def record(self) -> dict[str, Any]:
        return {"eta": self.eta, "steps": self.steps, "sharpness": self.sharpness,
                "loss": self.loss, "ups": self.ups, "final_loss": self.final_loss,
                "total_steps": self.total_steps, "diverged_at": self.diverged_at}


@dataclass(frozen=True)
class Training:
    """Full-batch GD at several step sizes on one problem (see :func:`train_gd`)."""

    runs: tuple[GDRun, ...]
    n_params: int
    n_train: int

    def run(self, eta: float) -> GDRun:
        for r in self.runs:
            if r.eta == eta:
                return r
        raise KeyError(f"no run at eta = {eta}")


@single_thread()
def train_gd(problem: DigitsRegression, etas: Sequence[float], steps: int, every: int, *,
             tol: float = 1e-3, max_iter: int = 60, blowup: float = BLOWUP,
             seed: int = 0) -> Training:
    """Full-batch GD from ``problem.theta0`` at every step size in ``etas`` (one vmapped
    update), measuring the sharpness of every run every ``every`` steps (Lanczos, relative
    residual ``tol``; the first measurement starts from a seeded Gaussian vector, later ones
    from the run's previous top eigenvector). A run that diverges (loss not finite or above
    ``blowup`` times its initial loss) is frozen and recorded as diverged."""
    theta0 = problem.theta0
    dim = problem.dim
    etas_t = torch.tensor([float(e) for e in etas], dtype=theta0.dtype, device=theta0.device)
    n_e = len(etas)
    value_grad = grad_and_value(problem.loss)

    def step(theta: torch.Tensor, eta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        g, value = value_grad(theta)
        return theta - eta * g, value

    batched = vmap(step)
    theta = theta0[None].expand(n_e, dim).clone()
    losses = np.zeros((steps + 1, n_e))
    alive = np.ones(n_e, dtype=bool)
    diverged_at = np.full(n_e, -1)
    vecs: list[torch.Tensor | None] = [None] * n_e
    sharp: list[list[float]] = [[] for _ in range(n_e)]
    at: list[list[int]] = [[] for _ in range(n_e)]
    matvecs = [0] * n_e
    loss0 = None
    for t in range(steps + 1):
        if t % every == 0 or t == steps:
            for i in range(n_e):
                if not alive[i]:
                    continue
                spec = hessian_spectrum(problem.loss, theta[i], 1, tol=tol,
                                        max_iter=max_iter, seed=seed, v0=vecs[i],
                                        mode="reverse")
                vecs[i] = spec.eigenvectors[0]
                sharp[i].append(float(spec.eigenvalues[0]))
                at[i].append(t)
                matvecs[i] += spec.n_matvec
        new, value = batched(theta, etas_t)
        vals = value.detach().cpu().numpy().astype(np.float64)
        if loss0 is None:
            loss0 = vals
        bad = diverged(vals, loss0, blowup)
        fresh = bad & alive
        diverged_at[fresh] = t
        alive &= ~bad
        losses[t] = np.where(alive, vals, losses[t - 1] if t else vals)  # frozen: last good
        if t == steps:
            break
        keep = torch.as_tensor(alive, device=theta.device)[:, None]
        theta = torch.where(keep, new.detach(), theta)
    runs = []
    for i, eta in enumerate(etas):
        last = steps if diverged_at[i] < 0 else int(diverged_at[i])
        curve = losses[: last + 1, i]
        bounds = [*at[i], last]
        ups = [int(np.sum(np.diff(curve[a: b + 1]) > 0)) for a, b in zip(bounds[:-1], bounds[1:],
                                                                         strict=True)]
        runs.append(GDRun(float(eta), at[i], sharp[i], [float(curve[s]) for s in at[i]], ups,
                          float(curve[-1]), int(steps), int(diverged_at[i]), matvecs[i],
                          curve.copy()))
    return Training(tuple(runs), dim, problem.n_train)


# ----------------------------------------------------------------------------- SORM


def sorm_draws(d: int, m: int, draws: int, seed: int,
               dtype: torch.dtype = torch.float64, device: str = "cpu") -> SORM:
    """Random second-order regression models fitted to standard-normal targets with the
    squared loss summed over outputs (:func:`boundbook.problems.sorm.gaussian_draws`): ``J``
    with N(0, 1/d) entries, symmetric ``Q`` with off-diagonal N(0, 1/d) entries (unscaled: the
    Q scale is the ensemble's)."""
    return sorm.gaussian_draws(d, m, draws, seed, reduction="sum", dtype=dtype, device=device)


@dataclass(frozen=True)
class SormResult:
    """NTK eigenvalue ``lam [steps + 1, S]`` and loss ``loss [steps + 1, S]`` of GD on each
    draw (frozen after divergence, ``diverged_at`` -1 if never), at step size ``eta`` with
    ``Q`` scaled by ``q_scale``."""

    eta: float
    q_scale: float
    lam: np.ndarray
    loss: np.ndarray
    diverged_at: np.ndarray

    def record(self) -> dict[str, Any]:
        """Per draw: initial, final and largest NTK eigenvalue, initial and final loss."""
        return {"eta": self.eta, "q_scale": self.q_scale,
                "lam_initial": self.lam[0].tolist(), "lam_final": self.lam[-1].tolist(),
                "lam_max": self.lam.max(axis=0).tolist(),
                "loss_initial": self.loss[0].tolist(), "loss_final": self.loss[-1].tolist(),
                "diverged_at": self.diverged_at.tolist(), "steps": int(self.lam.shape[0] - 1)}


@single_thread()
def sorm_ensemble(draws: SORM, q_scale: float, eta: float, steps: int, *,
                  blowup: float = BLOWUP) -> SormResult:
    """GD from θ = 0 on every draw at once: θ ← θ − η J(θ)ᵀ r, with J(θ) = J + q_scale·Q[θ, ·]
    and r = (J + ½ q_scale·Q[θ, ·]) θ − y (one batched evaluation of the model per step, which
    also gives the loss and the NTK eigenvalue at θ). A draw that diverges, or whose NTK
    eigenvalue is not finite, is frozen."""
    model = draws.scaled(q_scale)
    n_s = model.size
    theta = model.zeros()
    lam = np.zeros((steps + 1, n_s))
    loss = np.zeros((steps + 1, n_s))
    alive = np.ones(n_s, dtype=bool)
    diverged_at = np.full(n_s, -1)
    loss0 = None
    for t in range(steps + 1):
        value, grad, jac = sorm.loss_grad_jacobian(model, theta)
        top = sorm.ntk_top(jac)[:, 0].cpu().numpy()
        new = theta - eta * grad
        vals = value[:, 0].cpu().numpy()
        if loss0 is None:
            loss0 = vals
        bad = diverged(vals, loss0, blowup) | ~np.isfinite(top)
        fresh = bad & alive
        diverged_at[fresh] = t
        alive &= ~bad
        prev = (lam[t - 1], loss[t - 1]) if t else (np.zeros(n_s), vals)
        lam[t] = np.where(alive, top, prev[0])
        loss[t] = np.where(alive, vals, prev[1])
        keep = torch.as_tensor(alive, device=theta.device)[:, None, None]
        theta = torch.where(keep, torch.nan_to_num(new), theta)
    return SormResult(float(eta), float(q_scale), lam, loss, diverged_at)


# ----------------------------------------------------------------------------- quadratic


@dataclass(frozen=True)
class QuadraticControl:
    """GD on ½λθ² (λ = 1, θ₀ = 1) at ηλ on a grid: ``diverged`` (the book's rule,
    :mod:`boundbook.numeric.divergence`, within ``steps``) at step ``diverged_at`` (-1: never),
    ``final_ratio`` (last loss before divergence / initial loss) and the loss curves
    ``losses [steps + 1, grid]``."""

    eta_lambda: np.ndarray
    diverged: np.ndarray
    diverged_at: np.ndarray
    final_ratio: np.ndarray
    losses: np.ndarray
    steps: int

    def record(self) -> dict[str, Any]:
        return {"eta_lambda": self.eta_lambda.tolist(), "diverged": self.diverged.tolist(),
                "final_ratio": self.final_ratio.tolist(), "steps": self.steps}


def quadratic_control(steps: int, grid: Sequence[float] | None = None) -> QuadraticControl:
    """One vmapped sweep over ηλ (default 1.50, 1.55, ..., 3.00)."""
    grid = np.round(np.arange(1.5, 3.0001, 0.05), 4) if grid is None else np.asarray(grid)

    def loss(theta: torch.Tensor) -> torch.Tensor:
        return 0.5 * (theta**2).sum()

    res = step_size_sweep(gd_step(loss), loss, torch.ones(1, dtype=torch.float64), grid, steps)
    return QuadraticControl(np.asarray(grid, dtype=np.float64), res.diverged[0],
                            res.diverged_at[0], res.final_loss[0] / res.initial_loss[0],
                            res.losses[:, 0, :], steps)


# ----------------------------------------------------------------------------- divergence


@dataclass(frozen=True)
class DivergenceSweep:
    """Full-batch GD on the same network from the same start at step sizes
    ``eta = rel * 2 / s0`` (``s0``: the sharpness at the start), no sharpness measurements:
    ``diverged_at`` per step size (-1: never, within ``steps``), the initial loss ``loss0``
    and ``last_loss`` (the last loss before divergence)."""

    rel: np.ndarray
    etas: np.ndarray
    s0: float
    loss0: float
    diverged_at: np.ndarray
    last_loss: np.ndarray
    steps: int

    def first_diverging(self) -> int | None:
        """Index of the smallest step size on the grid that diverged (None: none did)."""
        hit = np.flatnonzero(self.diverged_at >= 0)
        return int(hit[0]) if hit.size else None

    def record(self) -> dict[str, Any]:
        return {"rel": self.rel.tolist(), "etas": self.etas.tolist(), "s0": self.s0,
                "loss0": self.loss0, "diverged_at": self.diverged_at.tolist(),
                "last_loss": self.last_loss.tolist(), "steps": self.steps}


@single_thread()
def divergence_sweep(problem: DigitsRegression, rel: Sequence[float], steps: int, *,
                     tol: float = 1e-3, max_iter: int = 60, blowup: float = BLOWUP,
                     seed: int = 0) -> DivergenceSweep:
    """GD from ``problem.theta0`` at ``eta = rel * 2/s0`` for every ``rel`` (one vmapped
    update; ``s0`` by the same Lanczos as :func:`train_gd`): where on the same network and
    data GD itself diverges, the self-stabilisation claim's negative control. A run that
    diverges (the book's rule) is frozen."""
    theta0 = problem.theta0
    spec = hessian_spectrum(problem.loss, theta0, 1, tol=tol, max_iter=max_iter, seed=seed,
                            mode="reverse")
    s0 = float(spec.eigenvalues[0])
    rel_a = np.asarray(rel, dtype=np.float64)
    etas = rel_a * 2.0 / s0
    etas_t = torch.tensor(etas, dtype=theta0.dtype, device=theta0.device)
    value_grad = grad_and_value(problem.loss)

    def step(theta: torch.Tensor, eta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        g, value = value_grad(theta)
        return theta - eta * g, value

    batched = vmap(step)
    n_e = len(etas)
    theta = theta0[None].expand(n_e, problem.dim).clone()
    alive = np.ones(n_e, dtype=bool)
    diverged_at = np.full(n_e, -1)
    last = np.zeros(n_e)
    loss0 = None
    for t in range(steps + 1):
        new, value = batched(theta, etas_t)
        vals = value.detach().cpu().numpy().astype(np.float64)
        if loss0 is None:
            loss0 = vals
        bad = diverged(vals, loss0, blowup)
        diverged_at[bad & alive] = t
        alive &= ~bad
        last = np.where(alive, vals, last)
        if not alive.any() or t == steps:
            break
        keep = torch.as_tensor(alive, device=theta.device)[:, None]
        theta = torch.where(keep, torch.nan_to_num(new.detach()), theta)
    return DivergenceSweep(rel_a, etas, s0, float(loss0[0]), diverged_at, last, int(steps))


def divergence_edge(problem: DigitsRegression, coarse: Sequence[float], fine: float,
                    steps: int, **kw: Any) -> DivergenceSweep:
    """Where GD on the same network first diverges, on a grid of ``eta * S_0/2``: the
    ``coarse`` grid (increasing), then, between its last surviving point and its first
    diverging one, the points ``lower * fine**j``; the two sweeps merged (sorted by step
    size). The first diverging point of the merged grid is at most a factor ``fine`` past a
    surviving one."""
    first = divergence_sweep(problem, coarse, steps, **kw)
    i = first.first_diverging()
    if i is None:
        return first
    lower = float(first.rel[i - 1]) if i > 0 else 1.0
    pts = []
    x = lower * fine
    while x < float(first.rel[i]) * (1 - 1e-9):
        pts.append(round(x, 6))
        x *= fine
    if not pts:
        return first
    second = divergence_sweep(problem, pts, steps, **kw)
    order = np.argsort(np.concatenate([first.rel, second.rel]), kind="stable")

    def merge(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.concatenate([a, b])[order]

    return DivergenceSweep(merge(first.rel, second.rel), merge(first.etas, second.etas),
                           first.s0, first.loss0, merge(first.diverged_at, second.diverged_at),
                           merge(first.last_loss, second.last_loss), first.steps)
