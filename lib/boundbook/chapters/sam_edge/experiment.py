"""Experiments of the SAM edge-of-stability chapter (Agarwala & Dauphin, arXiv 2302.08692).

Two settings, both float64 and deterministic:

1. **A quadratic** :math:`L(\\theta) = \\tfrac{c}{2}\\theta^\\top H\\theta`
   (:math:`\\lambda_{\\max}(H) = 1`, so the curvature scale :math:`c` *is* the top curvature).
   Unnormalised SAM at fixed :math:`(\\eta, \\rho)` runs for a grid of curvatures at once
   (``torch.func.vmap`` in :func:`boundbook.numeric.sweep.step_size_sweep`, the curvature
   taking the place of the swept parameter). A run is *unstable* when its loss grows over the
   second half of the run: once the other eigendirections have died out, that loss ratio is
   :math:`|1 - \\eta c(1 + \\rho c)|^{\\text{steps}}`. Grid refinement brackets the critical
   curvature to about 1e-7 relative, independently of any formula.
2. **A second-order regression model** :math:`z(\\theta) = z_0 + J\\theta + \\tfrac12
   Q[\\theta, \\theta] \\in \\mathbb{R}^m`, :math:`\\theta \\in \\mathbb{R}^d`, with the MSE
   :math:`L = \\tfrac1{2m}\\|z\\|^2` (targets absorbed into :math:`z_0`), trained full-batch by
   GD, unnormalised SAM and normalised SAM. The model, its closed-form gradient and Hessian,
   batched over models and methods, are :mod:`boundbook.problems.sorm` (drawn by
   :func:`boundbook.problems.sorm.seeded_models`); the sharpness is the top eigenvalue of the
   dense :math:`d \\times d` Hessian. A run diverges by the book's one rule
   (:mod:`boundbook.numeric.divergence`).

All constants (dimensions, scales, step sizes, radii) are ours, not the paper's, whose settings
we could not read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch.func import grad

from boundbook.chapters.sam_edge.derivation import radius_for_fraction
from boundbook.numeric.divergence import BLOWUP, diverged
from boundbook.numeric.hessian import hessian_spectrum
from boundbook.numeric.sweep import step_size_sweep
from boundbook.numeric.threads import single_thread
from boundbook.problems import sorm
from boundbook.problems.digits import digits_regression
from boundbook.problems.sorm import SORM
from boundbook.symbolic.quadratic import gd_edge, normalised_sam_edge, sam_edge

if TYPE_CHECKING:
    from boundbook.chapters.sam_edge.protocol import SamSettings

DTYPE = torch.float64

# ----------------------------------------------------------------------------- quadratic
def quadratic(dim: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A rotated quadratic with eigenvalues evenly spaced in [1/4, 1] (top exactly 1) and a
    Gaussian start. Returns ``(H, theta0)``."""
    gen = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(dim, dim, generator=gen, dtype=DTYPE))
    evals = torch.linspace(0.25, 1.0, dim, dtype=DTYPE)
    return (q * evals) @ q.T, torch.randn(dim, generator=gen, dtype=DTYPE)


def curvature_step(hessian: torch.Tensor, eta: float, rho: float):
    """Unnormalised SAM on :math:`\\tfrac{c}{2}\\theta^\\top H\\theta` as a pure
    ``step(theta, c)`` (the curvature scale is the swept parameter); ``rho = 0`` is GD.

    The gradient :math:`cH\\theta` is written out (eight times faster under ``vmap`` than
    ``torch.func.grad`` of the loss; :func:`autograd_curvature_step` is the same update through
    autograd, and the tests check that the two agree)."""

    def step(theta: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        ascent = theta + rho * c * (hessian @ theta)
        return theta - eta * c * (hessian @ ascent)

    return step


def autograd_curvature_step(hessian: torch.Tensor, eta: float, rho: float):
    """:func:`curvature_step` with the gradient taken by ``torch.func.grad``."""
    g = grad(lambda th: 0.5 * th @ hessian @ th)

    def step(theta: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        return theta - eta * c * g(theta + rho * c * g(theta))

    return step


def _unit_loss(hessian: torch.Tensor):
    return lambda th: 0.5 * th @ hessian @ th


@dataclass(frozen=True)
class EdgeMeasurement:
    """Critical curvature of SAM at ``(eta, rho)``, bracketed by sweeps, and the control."""

    eta: float
    rho: float
    last_stable: float
    first_unstable: float
    predicted: float
    gd_edge: float
    control_curvature: float
    sam_diverged_past: bool
    gd_diverged_past: bool
    rounds: int

    @property
    def measured(self) -> float:
        return 0.5 * (self.last_stable + self.first_unstable)

    def to_dict(self) -> dict[str, Any]:
        return {"eta": self.eta, "rho": self.rho, "measured": self.measured,
                "last_stable": self.last_stable, "first_unstable": self.first_unstable,
                "sam_diverged_past": self.sam_diverged_past,
                "gd_diverged_past": self.gd_diverged_past,
                "control_curvature": self.control_curvature}


def _tail_growth(res) -> np.ndarray:
    """Per curvature: did the loss grow over the second half of the run (or blow up)?"""
    return (res.losses[-1, 0] > res.losses[-2, 0]) | res.diverged[0]


@single_thread()
def critical_curvature(hessian: torch.Tensor, theta0: torch.Tensor, eta: float, rho: float,
                       *, steps: int, n: int, rounds: int, control_factor: float
                       ) -> EdgeMeasurement:
    """Bracket the smallest curvature at which SAM's loss grows (no formula used), starting
    from [0.25, 4] / eta; then run SAM and GD at ``control_factor`` times the *predicted* edge
    (the negative control) with blow-up detection."""
    step = curvature_step(hessian, eta, rho)
    loss = _unit_loss(hessian)
    lo, hi = 0.25 / eta, 4.0 / eta
    last, first = lo, hi
    for _ in range(rounds):
        grid = np.linspace(lo, hi, n)
        res = step_size_sweep(step, loss, theta0, grid, steps, record_every=steps // 2)
        hit = np.flatnonzero(_tail_growth(res))
        if hit.size == 0 or hit[0] == 0:
            raise RuntimeError(f"no stability change inside [{lo}, {hi}] at eta={eta}, rho={rho}")
        last, first = float(grid[hit[0] - 1]), float(grid[hit[0]])
        lo, hi = last, first
    pred = sam_edge(eta, rho)
    c = control_factor * pred
    past = [step_size_sweep(curvature_step(hessian, eta, r), loss, theta0, [c], steps)
            for r in (rho, 0.0)]
    return EdgeMeasurement(eta, rho, last, first, pred, gd_edge(eta), c,
                           bool(past[0].diverged[0, 0]), bool(past[1].diverged[0, 0]), rounds)


@dataclass(frozen=True)
class EdgeSweep:
    """Final/initial loss across curvatures around the predicted edge, SAM and GD."""

    eta: float
    rho: float
    ratios: np.ndarray  # curvature / predicted SAM edge
    sam_growth: np.ndarray  # log10(final / initial loss)
    gd_growth: np.ndarray
    predicted: float
    gd_edge: float


@single_thread()
def edge_sweep(hessian: torch.Tensor, theta0: torch.Tensor, eta: float, rho: float,
               *, steps: int, ratios: Sequence[float]) -> EdgeSweep:
    """One vmapped sweep per method over curvatures ``ratio * sam_edge(eta, rho)``."""
    pred = sam_edge(eta, rho)
    curv = np.asarray(ratios, dtype=np.float64) * pred
    loss = _unit_loss(hessian)
    out = []
    for r in (rho, 0.0):
        res = step_size_sweep(curvature_step(hessian, eta, r), loss, theta0, curv, steps)
        out.append(np.log10(np.maximum(res.final_loss[0], 1e-300) / res.initial_loss[0])
                   + np.where(res.diverged[0], np.inf, 0.0))
    return EdgeSweep(eta, rho, np.asarray(ratios, dtype=np.float64), out[0], out[1], pred,
                     gd_edge(eta))


# ----------------------------------------------------------------------- regression model
def _top_eig(h: torch.Tensor, ok: torch.Tensor) -> torch.Tensor:
    safe = torch.where(ok[..., None, None], h, torch.zeros_like(h))
    return torch.where(ok, torch.linalg.eigvalsh(safe)[..., -1], torch.nan)


@single_thread()
def flow_sharpness(models: SORM, eta: float, steps: int) -> np.ndarray:
    """Sharpness reached by small-step GD (a proxy for gradient flow) after ``steps`` steps."""
    theta = models.zeros()
    for _ in range(steps):
        theta = theta - eta * sorm.loss_and_grad(models, theta)[1]
    ok = torch.isfinite(theta).all(-1)
    return _top_eig(sorm.hessian(models, theta), ok)[:, 0].numpy()


@dataclass(frozen=True)
class Method:
    name: str
    rho_over_eta: float  # 0 for GD
    normalised: bool = False
    fraction: float | None = None  # the SAM edge as a fraction of 2/eta (unnormalised)


@dataclass(frozen=True)
class TrainingResult:
    """Full-batch training of every (model, method) pair.

    ``sharpness``, ``grad_norm``, ``loss``: ``[record, S, R]`` every ``every`` steps (NaN
    after a blow-up, which ``diverged_at`` records); ``etas`` ``[S]``, ``rhos`` ``[S, R]``.
    """

    methods: tuple[Method, ...]
    seeds: tuple[int, ...]
    etas: np.ndarray
    rhos: np.ndarray
    flow_sharpness: np.ndarray
    steps: np.ndarray
    sharpness: np.ndarray
    grad_norm: np.ndarray
    loss: np.ndarray
    diverged_at: np.ndarray

    def index(self, name: str) -> int:
        return [m.name for m in self.methods].index(name)

    def plateau(self) -> slice:
        """The second half of training, where the chapter reads plateaus."""
        return slice(len(self.steps) // 2, None)

    def edge(self, s: int, r: int) -> np.ndarray:
        """The predicted edge along the run: constant, except for normalised SAM, whose edge
        moves with the current gradient norm."""
        eta, rho, m = float(self.etas[s]), float(self.rhos[s, r]), self.methods[r]
        if m.normalised:
            return np.array([normalised_sam_edge(eta, rho, float(g))
                             for g in self.grad_norm[:, s, r]])
        return np.full(len(self.steps), sam_edge(eta, rho))


def methods_for(cfg: SamSettings) -> tuple[Method, ...]:
    out = [Method("GD", 0.0)]
    for f in cfg.fractions:
        out.append(Method(f"SAM f={f:g}", radius_for_fraction(1.0, f), fraction=f))
    out.append(Method("normalised SAM", cfg.normalised_rho_over_eta, normalised=True))
    return tuple(out)


@single_thread()
def train(models: SORM, etas: np.ndarray, methods: Sequence[Method], *,
          steps: int, every: int, blowup: float = BLOWUP) -> TrainingResult:
    """GD / SAM / normalised SAM on every model at once (one batched update per step). The
    radius of each method is ``rho_over_eta * eta`` (so its edge is the same fraction of
    :math:`2/\\eta` on every model). A run that diverges (the book's rule,
    :func:`boundbook.numeric.divergence.diverged`) or whose gradient is not finite is frozen and
    recorded as diverged."""
    S, R = models.size, len(methods)
    eta = torch.as_tensor(np.asarray(etas, dtype=np.float64))[:, None, None]
    rho = eta * torch.tensor([m.rho_over_eta for m in methods], dtype=DTYPE)[None, :, None]
    norm = torch.tensor([m.normalised for m in methods])[None, :, None]
    theta = models.zeros(R)
    loss0 = sorm.loss(models, theta)
    alive = torch.ones(S, R, dtype=torch.bool)
    div_at = torch.full((S, R), -1, dtype=torch.long)
    rec_s, sh, gn, ls = [], [], [], []
    for t in range(steps + 1):
        loss, g = sorm.loss_and_grad(models, theta)
        bad = diverged(loss, loss0, blowup) | ~torch.isfinite(g).all(-1)
        div_at = torch.where(bad & alive, t, div_at)
        alive = alive & ~bad
        if t % every == 0:
            rec_s.append(t)
            sh.append(_top_eig(sorm.hessian(models, theta), alive))
            gn.append(torch.where(alive, g.norm(dim=-1), torch.nan))
            ls.append(torch.where(alive, loss, torch.nan))
        if t == steps:
            break
        gs = torch.where(alive[..., None], g, torch.zeros_like(g))
        ascent = torch.where(norm, gs / gs.norm(dim=-1, keepdim=True).clamp_min(1e-300), gs)
        new = theta - eta * sorm.loss_and_grad(models, theta + rho * ascent)[1]
        theta = torch.where(alive[..., None], new, theta)

    def arr(x: list[torch.Tensor]) -> np.ndarray:
        return torch.stack(x).numpy()

    return TrainingResult(tuple(methods), models.seeds, np.asarray(etas, dtype=np.float64),
                          rho[..., 0].numpy(), np.full(S, np.nan), np.asarray(rec_s), arr(sh),
                          arr(gn), arr(ls), div_at.numpy())


@single_thread()
def regression_experiment(cfg: SamSettings) -> TrainingResult:
    """The chapter's training runs: per model, the step size puts GD's edge at the sharpness
    small-step GD reaches (``eta = 2 / S_flow``), so every method meets its edge in the slow
    phase of progressive sharpening; SAM's radii put its edge at ``fractions`` of ``2/eta``."""
    models = sorm.seeded_models(cfg.model_dim, cfg.model_outputs, cfg.model_seeds, cfg.q_scale,
                                cfg.z_scale)
    s_flow = flow_sharpness(models, cfg.flow_eta, cfg.flow_steps)
    etas = 2.0 / s_flow
    res = train(models, etas, methods_for(cfg), steps=cfg.train_steps, every=cfg.every)
    return TrainingResult(res.methods, res.seeds, res.etas, res.rhos, s_flow, res.steps,
                          res.sharpness, res.grad_norm, res.loss, res.diverged_at)


# ------------------------------------------------------------------------- the digits MLP
@dataclass(frozen=True)
class MLPResult:
    """Full-batch GD and unnormalised SAM on the digits MLP, one problem per seed.

    ``sharpness``, ``loss``: ``[record, S, R]`` at ``steps`` (NaN after a blow-up, which
    ``diverged_at`` ``[S, R]`` records); ``rhos`` ``[R]`` (0 for GD); ``eta`` is shared."""

    methods: tuple[Method, ...]
    seeds: tuple[int, ...]
    eta: float
    rhos: np.ndarray
    steps: np.ndarray
    sharpness: np.ndarray
    loss: np.ndarray
    diverged_at: np.ndarray
    n_params: int
    n_train: int
    width: int

    def index(self, name: str) -> int:
        return [m.name for m in self.methods].index(name)

    def plateau(self) -> slice:
        """The second half of training (the same window as the regression model)."""
        return slice(len(self.steps) // 2, None)


def mlp_methods(fractions: Sequence[float]) -> tuple[Method, ...]:
    """GD and unnormalised SAM at the radii putting its edge at ``fractions`` of 2/eta."""
    return (Method("GD", 0.0), *(Method(f"SAM f={f:g}", radius_for_fraction(1.0, f),
                                        fraction=f) for f in fractions))


class BatchedDigits:
    """The digits losses of several problems (one per seed, same architecture) on a batch of
    flat parameter vectors ``theta [S, R, dim]`` (``R`` runs per problem) in one forward pass:
    the layers of :meth:`boundbook.problems.digits.DigitsRegression.forward` as batched
    matmuls. Row ``[s, r]`` equals ``problems[s].loss(theta[s, r])`` (a test checks it); the
    gradient of the sum is every run's own gradient, so one backward pass serves all runs."""

    def __init__(self, problems: Sequence[Any]) -> None:
        first = problems[0]
        self.shapes = [(k, tuple(v.shape)) for k, v in first.params.items()]
        self.layers = first.layers
        self.x = torch.stack([p.x for p in problems])[:, None]  # [S, 1, n, 64]
        self.y = torch.stack([p.y for p in problems])[:, None]

    def loss(self, theta: torch.Tensor) -> torch.Tensor:
        lead, off, ps = theta.shape[:-1], 0, {}
        for k, sh in self.shapes:
            n = int(np.prod(sh))
            ps[k] = theta[..., off:off + n].reshape(*lead, *sh)
            off += n
        h = self.x
        for i, name in enumerate(self.layers):
            h = (torch.matmul(h, ps[f"{name}.weight"].transpose(-1, -2))
                 + ps[f"{name}.bias"][..., None, :])
            if i < len(self.layers) - 1:
                h = torch.tanh(h)
        return 0.5 * ((h - self.y) ** 2).sum(-1).mean(-1)

    def loss_and_grad(self, theta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        with torch.enable_grad():
            th = theta.detach().requires_grad_(True)
            loss = self.loss(th)
            (g,) = torch.autograd.grad(loss.sum(), th)
        return loss.detach(), g


@single_thread()
def train_mlp(seeds: Sequence[int], *, n_train: int, width: int, eta: float,
              methods: Sequence[Method], steps: int, every: int, lanczos_tol: float = 1e-3,
              lanczos_max_iter: int = 60, blowup: float = BLOWUP) -> MLPResult:
    """For each seed, the digits MLP ``64 -> width -> width -> 10`` on ``n_train`` examples
    (:func:`boundbook.problems.digits.digits_regression`; split and initialisation from the
    seed), trained full batch from that initialisation by every method: unnormalised SAM
    :math:`\\theta^+ = \\theta - \\eta\\nabla L(\\theta + \\rho\\nabla L(\\theta))`, GD at
    :math:`\\rho = 0`; all seeds and methods in one batched update (:class:`BatchedDigits`).
    Every ``every`` steps the sharpness of every live run is measured by Lanczos on
    reverse-over-reverse Hessian-vector products of that problem's own loss, warm-started
    from the run's previous top eigenvector (as in the edge-of-stability chapter). A run that
    diverges (:func:`boundbook.numeric.divergence.diverged`) is frozen and recorded."""
    problems = [digits_regression(n_train, (width, width), int(s)) for s in seeds]
    batch = BatchedDigits(problems)
    S, R = len(problems), len(methods)
    rhos = np.array([m.rho_over_eta * eta for m in methods])
    rho_t = torch.as_tensor(rhos, dtype=DTYPE)[None, :, None]
    rec = list(range(0, steps + 1, every))
    sh = np.full((len(rec), S, R), np.nan)
    ls = np.full((len(rec), S, R), np.nan)
    div_at = np.full((S, R), -1)
    theta = torch.stack([p.theta0 for p in problems])[:, None].expand(S, R, -1).clone()
    loss0 = None
    alive = torch.ones(S, R, dtype=torch.bool)
    vecs: dict[tuple[int, int], torch.Tensor] = {}
    for t in range(steps + 1):
        loss, g = batch.loss_and_grad(theta)
        if loss0 is None:
            loss0 = loss
        bad = diverged(loss, loss0, blowup) | ~torch.isfinite(g).all(-1)
        div_at[(bad & alive).numpy()] = t
        alive = alive & ~bad
        if t % every == 0:
            k = t // every
            for s, prob in enumerate(problems):
                for r in range(R):
                    if not alive[s, r]:
                        continue
                    spec = hessian_spectrum(prob.loss, theta[s, r], 1, tol=lanczos_tol,
                                            max_iter=lanczos_max_iter, seed=int(seeds[s]),
                                            v0=vecs.get((s, r)), mode="reverse")
                    vecs[s, r] = spec.eigenvectors[0]
                    sh[k, s, r] = float(spec.eigenvalues[0])
                    ls[k, s, r] = float(loss[s, r])
        if t == steps or not alive.any():
            break
        gs = torch.where(alive[..., None], g, torch.zeros_like(g))
        new = theta - eta * batch.loss_and_grad(theta + rho_t * gs)[1]
        theta = torch.where(alive[..., None], new, theta)
    return MLPResult(tuple(methods), tuple(int(x) for x in seeds), float(eta), rhos,
                     np.asarray(rec), sh, ls, div_at, problems[0].dim, n_train, width)


def mlp_experiment(cfg: SamSettings) -> MLPResult:
    """The chapter's second model: GD and unnormalised SAM at ``cfg.mlp_fractions`` of
    :math:`2/\\eta` on the digits MLP of the edge-of-stability chapter, one problem per seed
    of ``cfg.mlp_seeds`` (settings fixed before the run; see ``NOTES.md``)."""
    return train_mlp(cfg.mlp_seeds, n_train=cfg.mlp_n_train, width=cfg.mlp_width,
                     eta=cfg.mlp_eta, methods=mlp_methods(cfg.mlp_fractions),
                     steps=cfg.mlp_steps, every=cfg.mlp_every, lanczos_tol=cfg.lanczos_tol,
                     lanczos_max_iter=cfg.lanczos_max_iter)
