r"""Experiments of the chapter "Edge of stability" (Cohen et al., arXiv 2103.00065; the
second-order regression model of Agarwala, Pedregosa & Pennington, arXiv 2210.04860).

Three experiments, all full-batch gradient descent in float64 on the CPU by default:

* :func:`train_gd` -- a tanh MLP (two hidden layers) on a subset of scikit-learn's digits, with
  the loss of the authors' code: :math:`L = \frac1n\sum_x \tfrac12\|f(x) - e_{y(x)}\|^2`
  (squared error summed over the 10 outputs, averaged over examples). All step sizes run in one
  ``torch.func.vmap``-ed update; every ``every`` steps the *sharpness* (top eigenvalue of the
  training-loss Hessian) of every run is measured by Lanczos on Hessian-vector products
  (:func:`boundbook.numeric.hessian.hessian_spectrum` with reverse-over-reverse products,
  restarted from the previous top eigenvector).
  The loss is recorded at every step, but stored per block between two sharpness
  measurements: its value at the block's start and how many steps of the block increased it.
* :func:`sorm_ensemble` -- the second-order regression model
  :math:`z(\theta) = J\theta + \tfrac12 Q[\theta,\theta]`, :math:`L = \tfrac12\|z - y\|^2`,
  :math:`\theta_0 = 0`, for a batch of random draws of :math:`(J, Q, y)` (and, for the
  negative control, the same draws with :math:`Q = 0`); the NTK eigenvalue
  :math:`\lambda_{\max}(J(\theta)J(\theta)^\top)` is computed exactly at every step.
* :func:`quadratic_control` -- gradient descent on :math:`\tfrac12\lambda\theta^2` at
  curvatures around :math:`2/\eta` (the shared vmapped sweep), the case with no higher-order
  terms, which cannot self-stabilise.

Every random number comes from a ``torch.Generator`` seeded from the chapter's ``seed``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch.func import functional_call, grad_and_value, vmap

from boundbook.numeric.hessian import flatten, hessian_spectrum
from boundbook.numeric.sweep import gd_step, step_size_sweep
from boundbook.problems.data import load_digits_split
from boundbook.problems.models import mlp

__all__ = [
    "EoSSettings",
    "GDRun",
    "QuadraticControl",
    "SormResult",
    "Training",
    "digits_problem",
    "findings",
    "measurements",
    "sorm_rows",
    "quadratic_control",
    "settings",
    "sorm_draws",
    "sorm_ensemble",
    "train_gd",
    "training_rows",
]


@dataclass(frozen=True)
class EoSSettings:
    """What one run of the chapter computes (see :func:`settings`)."""

    mode: str
    seed: int
    n_train: int
    width: int
    etas: tuple[float, ...]
    control_eta: float
    steps: int
    every: int
    lanczos_tol: float
    lanczos_max_iter: int
    sorm_d: int
    sorm_m: int
    sorm_draws: int
    sorm_q_scale: float
    sorm_q_scales: tuple[float, ...]
    sorm_eta: float
    sorm_steps: int
    quad_steps: int


def settings(mode: str, seed: int) -> EoSSettings:
    """Quick: about half a minute on two CPU cores. Full: more step sizes, longer runs, a
    bigger subset and more random model draws.

    The step sizes are chosen from the initial sharpness (about 6.7 for seed 0 in quick mode):
    each EoS step size starts with :math:`2/\\eta` well above it (so the edge can only be reached
    by sharpening), and ``control_eta`` puts :math:`2/\\eta` far above anything the run reaches.
    Every EoS step size must reach its edge well before the final third of the run (the claims
    count a run that never gets there against the paper): in a pilot full-mode run,
    :math:`\\eta = 0.06` was still 3.5% below its edge after 6000 steps, so the smallest
    full-mode step size is 0.08 (edge reached near step 1600).
    """
    if mode == "quick":
        return EoSSettings(mode, seed, n_train=200, width=32, etas=(0.1, 0.15, 0.2),
                           control_eta=0.04, steps=2000, every=50, lanczos_tol=1e-3,
                           lanczos_max_iter=60, sorm_d=100, sorm_m=10, sorm_draws=8,
                           sorm_q_scale=0.6, sorm_q_scales=(0.0, 0.2, 0.4, 0.6, 0.8),
                           sorm_eta=0.5, sorm_steps=800, quad_steps=400)
    return EoSSettings(mode, seed, n_train=500, width=48,
                       etas=(0.08, 0.1, 0.13, 0.16, 0.2), control_eta=0.02, steps=6000,
                       every=20, lanczos_tol=1e-4, lanczos_max_iter=100, sorm_d=100, sorm_m=10,
                       sorm_draws=32, sorm_q_scale=0.6,
                       sorm_q_scales=(0.0, 0.2, 0.4, 0.5, 0.6, 0.7, 0.8),
                       sorm_eta=0.5, sorm_steps=2000, quad_steps=400)


# ----------------------------------------------------------------------------- the MLP


@dataclass(frozen=True)
class Problem:
    """A flat-parameter training loss: ``loss(theta)`` with ``theta`` of length ``dim``."""

    loss: Any
    theta0: torch.Tensor
    n_train: int

    @property
    def dim(self) -> int:
        return int(self.theta0.numel())


def digits_problem(n_train: int, width: int, seed: int, dtype: torch.dtype = torch.float64,
                   device: str = "cpu") -> Problem:
    """Tanh MLP 64 -> width -> width -> 10 on the first ``n_train`` examples of the stratified
    digits training split (split and initialisation from ``seed``), MSE as in the authors'
    code: half the squared error summed over outputs, averaged over examples."""
    split = load_digits_split(seed=seed, dtype=dtype, device=device)
    x = split.x_train[:n_train]
    y = torch.nn.functional.one_hot(split.y_train[:n_train], 10).to(dtype)
    model = mlp([x.shape[1], width, width, 10], activation="tanh", seed=seed, dtype=dtype,
                device=device)
    flat, unflatten = flatten({k: p.detach() for k, p in model.named_parameters()})

    def loss(theta: torch.Tensor) -> torch.Tensor:
        out = functional_call(model, unflatten(theta), (x,))
        return 0.5 * ((out - y) ** 2).sum(dim=1).mean()

    return Problem(loss, flat.clone(), int(x.shape[0]))


@dataclass(frozen=True)
class GDRun:
    """One step size's run. Per sharpness measurement ``k`` (at step ``steps[k]``):
    ``sharpness[k]``, ``loss[k]`` (the loss at that step) and ``ups[k]`` (how many of the
    steps ``steps[k] .. steps[k+1] - 1`` increased the loss). ``final_loss`` is the loss after
    the last step; ``diverged_at`` the first step whose loss exceeded ``1e6`` times the initial
    loss or was not finite (-1: never); ``matvecs`` the Hessian-vector products spent."""

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


def train_gd(problem: Problem, etas: Sequence[float], steps: int, every: int, *,
             tol: float = 1e-3, max_iter: int = 60, blowup: float = 1e6,
             seed: int = 0) -> Training:
    """Full-batch GD from ``problem.theta0`` at every step size in ``etas`` (one vmapped
    update), measuring the sharpness of every run every ``every`` steps (Lanczos, relative
    residual ``tol``; the first measurement starts from a seeded Gaussian vector, later ones
    from the run's previous top eigenvector). A run whose loss exceeds ``blowup`` times its
    initial loss (or is not finite) is frozen and recorded as diverged."""
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
    level = None
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
        if level is None:
            level = blowup * np.abs(vals)
        bad = ~np.isfinite(vals) | (vals > level)
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


@dataclass(frozen=True)
class SormDraws:
    """Random second-order regression models: ``J [S, m, d]`` with N(0, 1/d) entries, ``Q
    [S, m, d, d]`` symmetric with off-diagonal N(0, 1/d) entries (unscaled), ``y [S, m]``
    standard normal targets."""

    J: torch.Tensor
    Q: torch.Tensor
    y: torch.Tensor


def sorm_draws(d: int, m: int, draws: int, seed: int,
               dtype: torch.dtype = torch.float64, device: str = "cpu") -> SormDraws:
    gen = torch.Generator(device="cpu").manual_seed(int(seed))
    J = torch.randn(draws, m, d, generator=gen, dtype=torch.float64) / math.sqrt(d)
    A = torch.randn(draws, m, d, d, generator=gen, dtype=torch.float64) / math.sqrt(d)
    Q = (A + A.transpose(-1, -2)) / math.sqrt(2.0)
    y = torch.randn(draws, m, generator=gen, dtype=torch.float64)
    return SormDraws(*(t.to(dtype=dtype, device=device) for t in (J, Q, y)))


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


def sorm_ensemble(draws: SormDraws, q_scale: float, eta: float, steps: int, *,
                  blowup: float = 1e6) -> SormResult:
    """GD from θ = 0 on every draw (vmapped over draws): θ ← θ − η J(θ)ᵀ r, with
    J(θ) = J + q_scale·Q[θ, ·] and r = (J + ½ q_scale·Q[θ, ·]) θ − y."""

    def one(theta: torch.Tensor, J: torch.Tensor, Q: torch.Tensor, y: torch.Tensor):
        qt = q_scale * (Q @ theta)  # [m, d]: Q[theta, .]
        jac = J + qt
        r = (J + 0.5 * qt) @ theta - y
        lam = torch.linalg.eigvalsh(jac @ jac.T)[-1]
        return theta - eta * jac.T @ r, 0.5 * (r @ r), lam

    batched = vmap(one)
    n_s, _, d = draws.J.shape
    theta = torch.zeros(n_s, d, dtype=draws.J.dtype, device=draws.J.device)
    lam = np.zeros((steps + 1, n_s))
    loss = np.zeros((steps + 1, n_s))
    alive = np.ones(n_s, dtype=bool)
    diverged_at = np.full(n_s, -1)
    level = None
    for t in range(steps + 1):
        new, value, top = batched(theta, draws.J, draws.Q, draws.y)
        vals = value.cpu().numpy()
        if level is None:
            level = blowup * np.abs(vals)
        bad = ~np.isfinite(vals) | (vals > level) | ~np.isfinite(top.cpu().numpy())
        fresh = bad & alive
        diverged_at[fresh] = t
        alive &= ~bad
        prev = (lam[t - 1], loss[t - 1]) if t else (np.zeros(n_s), vals)
        lam[t] = np.where(alive, top.cpu().numpy(), prev[0])
        loss[t] = np.where(alive, vals, prev[1])
        keep = torch.as_tensor(alive, device=theta.device)[:, None]
        theta = torch.where(keep, torch.nan_to_num(new), theta)
    return SormResult(float(eta), float(q_scale), lam, loss, diverged_at)


# ----------------------------------------------------------------------------- quadratic


@dataclass(frozen=True)
class QuadraticControl:
    """GD on ½λθ² (λ = 1, θ₀ = 1) at ηλ on a grid: ``diverged`` (loss > 1e6 × initial within
    ``steps``) at step ``diverged_at`` (-1: never), ``final_ratio`` (last loss before
    divergence / initial loss) and the loss curves ``losses [steps + 1, grid]``."""

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


# ----------------------------------------------------------------------------- records


def measurements(training: Training, control_eta: float, sorm: SormResult,
                 sorm_linear: SormResult, quad: QuadraticControl) -> dict[str, dict[str, Any]]:
    """The measurement dictionary of every claim, keyed by claim id (what
    :func:`boundbook.core.ledger.report` decides the verdicts from)."""
    eos = [r.record() for r in training.runs if r.eta != control_eta]
    ctrl = training.run(control_eta).record()
    runs = {"runs": eos, "control": ctrl}
    return {
        "eos-progressive-sharpening": runs,
        "eos-plateau": runs,
        "eos-self-stabilisation": {**runs, "quadratic": quad.record()},
        "eos-nonmonotone-descent": runs,
        "eos-sorm-sharpening": {"model": sorm.record(), "linear": sorm_linear.record()},
    }


def training_rows(training: Training, control_eta: float) -> list[tuple[Any, ...]]:
    """One row per step size for the chapter's table: eta, 2/eta, sharpness at step 0, step
    where the sampled sharpness first reached 2/eta, its peak, the median over the final third
    divided by 2/eta, the fraction of steps raising the loss from the edge on, final loss."""
    from boundbook.chapters.edge_of_stability.claims import entry_index, plateau_ratios, up_fraction

    rows = []
    for run in training.runs:
        rec = run.record()
        k = entry_index(rec, 2.0)
        name = f"{run.eta:g}" + (" (control)" if run.eta == control_eta else "")
        rows.append((name, 2 / run.eta, run.sharpness[0],
                     "never" if k is None else run.steps[k], max(run.sharpness),
                     plateau_ratios([rec], 2.0)[0], up_fraction(rec, 2.0), run.final_loss))
    return rows


TRAINING_HEADER = ("η", "2/η", "S at step 0", "step reaching 2/η", "peak S",
                   "median S·η/2, final third", "share of steps raising L", "final loss")


def sorm_rows(results: Sequence[SormResult]) -> list[tuple[Any, ...]]:
    """One row per Q scale: median over draws of ηλ/2 at step 0 and at the end, how many draws
    crossed the edge during the run, ended above it, diverged, and converged (loss < 1e-12)."""
    from boundbook.chapters.edge_of_stability.claims import sorm_summary

    rows = []
    for res in results:
        s = sorm_summary(res.record(), 2.0)
        rows.append((res.q_scale, s["median_initial"], s["median_final"], s["crossed"],
                     s["settled_above"], int((res.diverged_at >= 0).sum()),
                     int((res.loss[-1] < 1e-12).sum()), len(res.diverged_at)))
    return rows


SORM_HEADER = ("Q scale", "median ηλ/2 at step 0", "median ηλ/2 at the end", "crossed the edge",
               "ended above it", "diverged", "converged", "draws")


def findings(evaluations: Sequence[Any], measured: dict[str, dict[str, Any]],
             training: Training, sorm: SormResult) -> dict[str, Any]:
    """Numbers quoted in the closing discussion, as quote-free text for MyST-NB ``glue``."""
    from boundbook.chapters.edge_of_stability.claims import (
        plateau_ratios,
        sorm_summary,
        up_fraction,
    )
    from boundbook.core.display import plain

    out: dict[str, Any] = {}
    for ev in evaluations:
        key = ev.claim.id.replace("-", "_")
        out[f"{key}_verdict"] = plain(ev.verdict.value)
        out[f"{key}_measured"] = plain(ev.main.measured, ev.claim.digits)
    runs = measured["eos-plateau"]["runs"]
    ratios = plateau_ratios(runs, 2.0)
    out["eos_etas"] = plain(", ".join(f"{r['eta']:g}" for r in runs))
    out["eos_plateau_min"] = plain(min(ratios), 3)
    out["eos_plateau_max"] = plain(max(ratios), 3)
    ups = [up_fraction(r, 2.0) for r in runs]
    out["eos_up_min"] = plain(f"{100 * min(ups):.0f}%")
    out["eos_up_max"] = plain(f"{100 * max(ups):.0f}%")
    ctrl = measured["eos-plateau"]["control"]
    out["eos_control_eta"] = plain(ctrl["eta"])
    out["eos_control_peak"] = plain(max(ctrl["sharpness"]) * ctrl["eta"] / 2, 2)
    out["eos_control_ups"] = plain(sum(ctrl["ups"]))
    out["eos_n_params"] = plain(training.n_params)
    out["eos_n_train"] = plain(training.n_train)
    s = sorm_summary(measured["eos-sorm-sharpening"]["model"], 2.0)
    out["eos_sorm_offset"] = plain(f"{100 * (s['median_final'] - 1):+.1f}%")
    out["eos_sorm_initial"] = plain(s["median_initial"], 2)
    out["eos_sorm_final"] = plain(s["median_final"], 3)
    out["eos_sorm_above"] = plain(s["settled_above"])
    out["eos_sorm_crossed"] = plain(s["crossed"])
    out["eos_sorm_draws"] = plain(len(sorm.diverged_at))
    out["eos_sorm_diverged"] = plain(int((sorm.diverged_at >= 0).sum()))
    return out
