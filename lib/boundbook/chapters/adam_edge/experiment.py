"""Experiments of the Adam edge-of-stability chapter (Cohen et al., arXiv 2207.14484).

1. **Frozen preconditioner on a quadratic.** Adam with its preconditioner held fixed is EMA
   momentum on :math:`P^{-1}H`: :math:`m^+ = \\beta_1 m + (1-\\beta_1)H\\theta`,
   :math:`\\theta^+ = \\theta - \\eta P^{-1}m^+`. For a rotated quadratic and a random positive
   diagonal :math:`P` we sweep the step size (vmapped, state ``[theta, m]``), call a run
   *unstable* when its loss grows over the second half of the run, and bracket the critical
   step by grid refinement; no formula enters the measurement. The top eigenvalue of
   :math:`P^{-1}H` comes from :func:`boundbook.numeric.hessian.preconditioned_sharpness`.
2. **Full-batch Adam on a small network.** A tanh MLP 64-32-10 on the first ``n`` training
   digits of scikit-learn (Cohen et al.'s loss convention: :math:`\\tfrac12\\|f(x) - e_y\\|^2`
   summed over classes, averaged over examples), Adam with bias correction,
   :math:`\\beta_1 = 0.9`, :math:`\\beta_2 = 0.999`, :math:`\\epsilon = 10^{-12}` (so
   :math:`P = \\operatorname{diag}(\\sqrt{\\hat v} + \\epsilon)`). Every ``every`` steps we
   record the preconditioned sharpness :math:`\\lambda_{\\max}(P^{-1}H)` (with the :math:`P`
   of that step's update) and the raw sharpness :math:`\\lambda_{\\max}(H)` by Lanczos.

Dimensions, data size, step sizes and the 15% band are ours, not the paper's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

import numpy as np
import torch

from boundbook.numeric.hessian import preconditioned_sharpness, sharpness
from boundbook.numeric.sweep import momentum_loss, momentum_state, step_size_sweep
from boundbook.numeric.threads import single_thread
from boundbook.problems.data import load_digits_split
from boundbook.problems.models import mlp
from boundbook.symbolic.quadratic import ema_momentum_edge, gd_edge

DTYPE = torch.float64
P = ParamSpec("P")
T = TypeVar("T")




@dataclass(frozen=True)
class AdamSettings:
    """What one run of the chapter computes (see :func:`settings`)."""

    mode: str
    seed: int
    quad_dim: int
    betas: tuple[float, ...]
    quad_steps: int
    quad_grid: int
    quad_rounds: int
    control_factors: tuple[float, float]
    control_steps: int
    n_train: int
    width: int
    etas: tuple[float, ...]
    net_seeds: tuple[int, ...]
    beta1: float
    beta2: float
    eps: float
    train_steps: int
    every: int


def settings(mode: str, seed: int) -> AdamSettings:
    """Quick: one network, two step sizes, 3000 steps. Full: three step sizes, two seeds."""
    quick = mode == "quick"
    return AdamSettings(
        mode=mode, seed=seed, quad_dim=10, betas=(0.0, 0.5, 0.9), quad_steps=300,
        quad_grid=256, quad_rounds=3, control_factors=(0.95, 1.05), control_steps=1000,
        n_train=256, width=32, etas=(3e-3, 1e-2) if quick else (3e-3, 1e-2, 1e-3),
        net_seeds=(seed,) if quick else (seed, seed + 1), beta1=0.9, beta2=0.999,
        eps=1e-12, train_steps=3000 if quick else 6000, every=100)


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


def digits_problem(n: int, width: int, seed: int):
    """``(params, loss_fn)``: a tanh MLP 64-width-10 (PyTorch's default init, seeded) and the
    MSE :math:`\\tfrac12\\|f(x) - e_y\\|^2` averaged over the first ``n`` training digits of
    the split drawn with the same ``seed``."""
    split = load_digits_split(seed=seed, device="cpu")
    x = split.x_train[:n].to(DTYPE)
    y = torch.nn.functional.one_hot(split.y_train[:n], 10).to(DTYPE)
    model = mlp([x.shape[1], width, 10], activation="tanh", seed=seed, dtype=DTYPE)
    params = {k: v.detach() for k, v in model.named_parameters()}

    def loss_fn(p: dict[str, torch.Tensor]) -> torch.Tensor:
        # the model's forward written out (Linear, tanh, Linear): torch.func.functional_call
        # costs several times more than this small network itself; the tests check equality
        hidden = torch.tanh(x @ p["0.weight"].T + p["0.bias"])
        out = hidden @ p["2.weight"].T + p["2.bias"]
        return 0.5 * ((out - y) ** 2).sum(1).mean()

    return params, loss_fn


@single_thread()
def train_adam(params: dict[str, torch.Tensor], loss_fn, *, eta: float, steps: int,
               every: int, beta1: float, beta2: float, eps: float, seed: int = 0,
               lanczos_tol: float = 1e-3) -> AdamRun:
    """Full-batch Adam (Kingma & Ba, bias-corrected) with the sharpnesses recorded before the
    update of every ``every``-th step (and the first), using that update's preconditioner."""
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
            m[k] = beta1 * m[k] + (1 - beta1) * g[k]
            v[k] = beta2 * v[k] + (1 - beta2) * g[k] ** 2
        pre = {k: (v[k] / (1 - beta2**t)).sqrt() + eps for k in p}
        if t == 1 or t % every == 0:
            rec_t.append(t)
            rec_l.append(float(loss_fn(p)))
            rec_p.append(preconditioned_sharpness(loss_fn, p, pre, tol=lanczos_tol, seed=t))
            rec_r.append(sharpness(loss_fn, p, tol=lanczos_tol, seed=t))
        p = {k: p[k] - eta * (m[k] / (1 - beta1**t)) / pre[k] for k in p}
    return AdamRun(eta, seed, np.asarray(rec_t), np.asarray(rec_l), np.asarray(rec_p),
                   np.asarray(rec_r), ema_momentum_edge(eta, beta1), gd_edge(eta))


def network_runs(cfg: AdamSettings) -> list[AdamRun]:
    """One Adam run per (network seed, step size) of the settings."""
    out = []
    for s in cfg.net_seeds:
        params, loss_fn = digits_problem(cfg.n_train, cfg.width, s)
        for eta in cfg.etas:
            out.append(train_adam(params, loss_fn, eta=eta, steps=cfg.train_steps,
                                  every=cfg.every, beta1=cfg.beta1, beta2=cfg.beta2,
                                  eps=cfg.eps, seed=s))
    return out


# ----------------------------------------------------------------------- measurements
def measurements(edges: Sequence[FrozenEdge], runs: Sequence[AdamRun], cfg: AdamSettings
                 ) -> dict[str, dict[str, Any]]:
    """The measurement dictionary of every claim, keyed by claim id."""
    nets = [r.to_dict() for r in runs]
    return {
        "adam-frozen-edge": {"cases": [e.to_dict() for e in edges], "steps": cfg.quad_steps},
        "adam-preconditioned-plateau": {"runs": nets, "beta1": cfg.beta1},
        "adam-raw-sharpness-rises": {"runs": nets, "beta1": cfg.beta1},
    }


def findings(evaluations: Sequence[Any], runs: Sequence[AdamRun], beta1: float
             ) -> dict[str, Any]:
    """Numbers the closing prose quotes (quote-free text for MyST-NB glue)."""
    from boundbook.core.display import plain

    out: dict[str, Any] = {}
    for ev in evaluations:
        key = ev.claim.id.replace("-", "_")
        out[f"{key}_verdict"] = plain(ev.verdict.value)
        out[f"{key}_measured"] = plain(ev.main.measured, ev.claim.digits)
    r = runs[0]
    sl = r.plateau()
    out["adam_eta"] = plain(r.eta)
    out["adam_threshold"] = plain(r.threshold, 4)
    out["adam_pre_lo"] = plain(float(np.min(r.preconditioned[sl] / r.threshold)), 3)
    out["adam_pre_hi"] = plain(float(np.max(r.preconditioned[sl] / r.threshold)), 3)
    out["adam_raw_gd_ratio"] = plain(float(np.max(r.raw) / r.gd_threshold), 2)
    a = r.arrival(0.15)
    out["adam_arrival_step"] = plain(int(r.steps[min(a, len(r.steps) - 1)]))
    out["adam_raw_at_arrival"] = plain(float(r.raw[min(a, len(r.steps) - 1)]), 3)
    out["adam_raw_final"] = plain(float(r.raw[-1]), 3)
    out["adam_final_loss"] = plain(float(r.loss[-1]), 2)
    from boundbook.chapters.adam_edge.claims import THRESHOLD, rises

    m = {"runs": [x.to_dict() for x in runs], "beta1": beta1}
    for i, (x, up) in enumerate(zip(runs, rises(m, "raw", THRESHOLD), strict=True)):
        out[f"adam_rise_{i}"] = plain(up, 3)  # run i: the i-th (seed, eta) of the settings
        out[f"adam_eta_{i}"] = plain(x.eta)
    out["adam_runs"] = plain(", ".join(f"{x.eta:g}" for x in runs))
    out["adam_pre_all_lo"] = plain(min(float(np.median(x.preconditioned[x.plateau()]) /
                                             x.threshold) for x in runs), 3)
    out["adam_pre_all_hi"] = plain(max(float(np.median(x.preconditioned[x.plateau()]) /
                                             x.threshold) for x in runs), 3)
    return out

