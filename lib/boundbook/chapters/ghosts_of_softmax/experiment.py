r"""Small-scale CPU reproductions of "Ghosts of Softmax" (arXiv 2603.13552) on sklearn digits.

Notation (the paper's Secs. 3-5).  Logits :math:`z = f_\theta(x) \in \mathbb{R}^n`; a step of
Euclidean length :math:`\tau \ge 0` along a unit vector :math:`v` in parameter space moves
:math:`\theta \to \theta + \tau v`.  The directional logit derivatives are

.. math::  a(x; v) = J_z(x)\, v \in \mathbb{R}^n  \qquad\text{(one JVP for the whole sample set)},

the per-sample spread is :math:`\Delta_a(x; v) = \max_k a_k - \min_k a_k`, and the batch radius
over a sample set :math:`S` (the full training split unless stated) is

.. math::  \rho_a(v) = \pi / \max_{x \in S} \Delta_a(x; v).

A step of length :math:`\tau` has normalised size :math:`r = \tau / \rho_a`.  The one-step loss
ratio is :math:`L(\theta + \tau v) / L(\theta)` with :math:`L` the mean cross-entropy over
:math:`S`.  With a temperature :math:`T` (logits divided by :math:`T`),
:math:`\rho_T = \pi T / \Delta_a` (:math:`\Delta_a` of the raw logits) and
:math:`r_T = \tau \Delta_a / (\pi T)`.

Experiments (protocols in ``/work/shared/claims/ghosts-of-softmax.md``, Sec. 3):

* :func:`one_step_sweep` -- one step along the normalised gradient and random unit directions
  at sizes ``r`` on a grid; onset = first ``r`` with loss ratio >= threshold (Secs. 6.2/6.3).
* :func:`checkpoint_sweep` -- the random-direction validation (Sec. 6.3, Fig. 8): the sweep of
  :func:`one_step_sweep` on a 384-sample evaluation subset at the checkpoints where an
  MLP+LayerNorm first reaches 84 / 95 / 98 % test accuracy.
* :func:`spike_test` -- LR spike x1000 at step 50, plain Adam vs Adam + global-norm clipping vs
  the :math:`\rho_a` controller of Prop. 5.2 (Sec. 6.1).
* :func:`archgrid_spike_test` -- the Table-1 protocol (Sec. 6.5) for MLP+LayerNorm: full-batch
  Adam, a single-step LR spike x10 ... x10000 at step 50, same three methods.
* :func:`temperature_study` -- onsets in raw :math:`\tau` vs normalised :math:`r_T`
  coordinates across temperatures (Sec. 6.4).

All randomness comes from explicitly seeded ``torch.Generator`` objects (created on the CPU,
results moved to ``device``), so results are bit-for-bit reproducible on the CPU for a seed.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, vmap

from boundbook.core.ledger import to_jsonable
from boundbook.numeric.directional import (
    flat_to_params,
    logits_and_directional_derivatives,
    params_of,
    params_to_flat,
)
from boundbook.numeric.radius import batch_taylor_radius
from boundbook.problems.data import Split
from boundbook.problems.models import mlp

__all__ = [
    "PAPER_TABLE1_MLP_LN",
    "PHASE_R_GRID",
    "ArchgridResult",
    "CheckpointSweepResult",
    "SpikeResult",
    "SweepResult",
    "TemperatureResult",
    "archgrid_spike_test",
    "batch_schedule",
    "checkpoint_sweep",
    "evaluate",
    "first_crossing",
    "one_step_sweep",
    "spike_test",
    "temperature_study",
    "train_classifier",
]

Tensor = torch.Tensor

# Tags that derive independent seeds for independent random streams from one user seed.
_TAG_BATCHES = 1
_TAG_DIRECTIONS = 2
_TAG_EVAL_SUBSET = 3

#: r grid of the paper's random-direction script (``phasetransition``): ``logspace(1e-3, 35, 42)``.
PHASE_R_GRID: np.ndarray = np.logspace(-3, np.log10(35.0), 42)
PHASE_R_GRID.setflags(write=False)

#: Paper's Table 1, MLP+LN row: median final test accuracy at a 10 000x spike (5 seeds).
PAPER_TABLE1_MLP_LN: dict[str, float] = {"adam": 0.446, "clip": 0.515, "radius": 0.939}


# --------------------------------------------------------------------------- helpers


def _derived_seed(seed: int, tag: int) -> int:
    """An independent 63-bit seed for stream ``tag`` of user seed ``seed`` (SeedSequence)."""
    state = np.random.SeedSequence([int(seed) & 0xFFFFFFFF, int(tag)]).generate_state(2)
    return int((int(state[0]) << 31) ^ int(state[1])) & 0x7FFF_FFFF_FFFF_FFFF


class _ResultMixin:
    def to_dict(self) -> dict[str, Any]:
        """All fields as JSON types (:func:`boundbook.core.ledger.to_jsonable`: lists, floats, ints,
        bools, strings; non-finite floats become the strings "inf"/"nan")."""
        return to_jsonable(self)


def first_crossing(grid: np.ndarray, values: np.ndarray, threshold: float) -> float:
    """First ``grid[i]`` with ``values[i] >= threshold`` (``np.inf`` if there is none).

    A NaN value (non-finite loss) counts as a crossing: the step has certainly failed.
    """
    grid = np.asarray(grid, dtype=float)
    values = np.asarray(values, dtype=float)
    hit = (values >= threshold) | np.isnan(values)
    idx = np.flatnonzero(hit)
    return float(grid[idx[0]]) if idx.size else float("inf")


def batch_schedule(n: int, batch_size: int | None, steps: int, seed: int) -> Tensor | None:
    """Mini-batch indices ``[steps, batch_size]`` (CPU int64), or ``None`` for full batch.

    Epochs are independent random permutations of ``range(n)`` drawn from
    ``torch.Generator().manual_seed(derived(seed))``; each epoch is cut into
    ``n // batch_size`` full batches (the incomplete remainder is dropped).
    """
    if batch_size is None or batch_size >= n:
        return None
    gen = torch.Generator(device="cpu").manual_seed(_derived_seed(seed, _TAG_BATCHES))
    per_epoch = n // batch_size
    n_epochs = -(-steps // per_epoch)
    perms = [torch.randperm(n, generator=gen)[: per_epoch * batch_size] for _ in range(n_epochs)]
    return torch.cat(perms).view(-1, batch_size)[:steps]


def _mean_ce(z: Tensor, y: Tensor, temperature: float = 1.0) -> Tensor:
    return F.cross_entropy(z / temperature if temperature != 1.0 else z, y)


def _accuracy(z: Tensor, y: Tensor) -> float:
    """Accuracy; rows with any non-finite logit count as wrong."""
    ok = (z.argmax(dim=1) == y) & torch.isfinite(z).all(dim=1)
    return float(ok.to(torch.float64).mean().item())


def _sizes(split: Split, hidden: Sequence[int]) -> list[int]:
    return [split.n_features, *[int(h) for h in hidden], split.n_classes]


def _unit_gradient_direction(
    model: nn.Module, params: dict[str, Tensor], x: Tensor, y: Tensor, temperature: float
) -> dict[str, Tensor]:
    """Normalised negative full-batch gradient ``-g/||g||`` of ``CE(z/T, y)``, keyed by name."""

    def loss_fn(p: dict[str, Tensor]) -> Tensor:
        return _mean_ce(functional_call(model, p, (x,)), y, temperature)

    grads = torch.func.grad(loss_fn)(params)
    g = params_to_flat(grads)
    return flat_to_params(-g / torch.linalg.vector_norm(g), params)


def _spread_radius(model: nn.Module, x: Tensor, v: Mapping[str, Tensor]) -> tuple[float, Tensor]:
    """``(rho_a, a)`` from ONE JVP over the sample matrix ``x`` along unit direction ``v``."""
    _, a = logits_and_directional_derivatives(model, x, v)
    return float(batch_taylor_radius(a)), a


def _losses_along(
    model: nn.Module,
    params: Mapping[str, Tensor],
    v: Mapping[str, Tensor],
    taus: Tensor,
    x: Tensor,
    y: Tensor,
    temperature: float = 1.0,
    base_pred: Tensor | None = None,
    chunk_size: int | None = None,
) -> tuple[Tensor, Tensor, Tensor]:
    """Loss, accuracy and flip fraction at ``theta + tau v`` for every ``tau`` in one vmap.

    The parameter points are stacked (``[len(taus), *shape]`` per tensor) and evaluated with
    ``vmap(functional_call)`` -- no Python loop over ``tau``.
    """
    stacked = {
        k: params[k].unsqueeze(0) + taus.view(-1, *([1] * params[k].dim())) * v[k].unsqueeze(0)
        for k in params
    }
    ref = base_pred if base_pred is not None else torch.full_like(y, -1)

    def point(p: dict[str, Tensor]) -> tuple[Tensor, Tensor, Tensor]:
        z = functional_call(model, p, (x,))
        pred = z.argmax(dim=1)
        finite = torch.isfinite(z).all(dim=1)
        acc = ((pred == y) & finite).to(z.dtype).mean()
        flip = ((pred != ref) | ~finite).to(z.dtype).mean()
        return _mean_ce(z, y, temperature), acc, flip

    with torch.no_grad():
        return vmap(point, chunk_size=chunk_size)(stacked)


# --------------------------------------------------------------------------- training


def train_classifier(
    split: Split,
    hidden: Sequence[int] = (128,),
    activation: str = "gelu",
    steps: int = 300,
    lr: float = 3e-3,
    batch_size: int | None = None,
    seed: int = 0,
    temperature: float = 1.0,
    device: torch.device | str = "cpu",
    layernorm: bool = False,
) -> nn.Module:
    """Train ``mlp([64, *hidden, 10])`` on ``split`` with ``torch.optim.Adam`` and return it.

    Loss: mean ``CE(z / temperature, y)``.  ``batch_size=None`` is full-batch gradient
    descent; otherwise mini-batches follow :func:`batch_schedule` (seeded by ``seed``).  The
    initialisation is :func:`boundbook.problems.models.mlp` with ``seed``.  Returned in eval mode.
    """
    split = split.to(device)
    model = mlp(_sizes(split, hidden), activation, layernorm=layernorm, seed=seed,
                dtype=split.x_train.dtype, device=device)
    _train_loop(model, split, steps, lr, batch_size, seed, temperature)
    return model.eval()


def _train_loop(
    model: nn.Module,
    split: Split,
    steps: int,
    lr: float,
    batch_size: int | None,
    seed: int,
    temperature: float = 1.0,
    weight_decay: float | None = None,
    callback: Callable[[int, nn.Module], bool] | None = None,
) -> int:
    r"""Train ``model`` in place on mean ``CE(z/T, y)``; return the number of steps taken.

    ``torch.optim.Adam(lr)`` if ``weight_decay`` is ``None``, else ``torch.optim.AdamW(lr,
    weight_decay)`` (decoupled decay :math:`\theta \leftarrow \theta(1 - \eta\lambda)` before
    the Adam update).  Mini-batches follow :func:`batch_schedule` (``None`` = full batch).
    After update ``k`` (1-based), ``callback(k, model)`` may return ``True`` to stop early.
    """
    model.train()
    params = list(model.parameters())
    opt = (torch.optim.Adam(params, lr=lr) if weight_decay is None
           else torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay))
    batches = batch_schedule(len(split.y_train), batch_size, steps, seed)
    x, y = split.x_train, split.y_train
    for k in range(steps):
        if batches is None:
            xb, yb = x, y
        else:
            idx = batches[k].to(x.device)
            xb, yb = x[idx], y[idx]
        opt.zero_grad(set_to_none=True)
        _mean_ce(model(xb), yb, temperature).backward()
        opt.step()
        if callback is not None and callback(k + 1, model):
            return k + 1
    return steps


def evaluate(model: nn.Module, split: Split, temperature: float = 1.0) -> dict[str, float]:
    """Train/test mean cross-entropy (of ``z/T``) and accuracy of ``model`` on ``split``."""
    with torch.no_grad():
        z_tr, z_te = model(split.x_train), model(split.x_test)
        return {
            "train_loss": float(_mean_ce(z_tr, split.y_train, temperature)),
            "test_loss": float(_mean_ce(z_te, split.y_test, temperature)),
            "train_accuracy": _accuracy(z_tr, split.y_train),
            "test_accuracy": _accuracy(z_te, split.y_test),
        }


# --------------------------------------------------------------------------- one-step sweep


@dataclass(frozen=True)
class SweepResult(_ResultMixin):
    """One-step loss ratios along several unit directions at normalised sizes ``r``.

    ``loss_ratio[i, j] = L(theta + r_j rho_a[i] v_i) / L(theta)`` on the sample set ``S``
    (the training split, or the ``n_samples`` training samples of an evaluation subset);
    ``onset[i]`` = first ``r`` with ``loss_ratio >= threshold`` (``inf`` if none).
    ``accuracy`` / ``flip_fraction`` are the accuracy on ``S`` after the step and the share of
    predictions on ``S`` whose class changed.  ``max_spread = pi / rho_a``.
    ``linear_loss_ratio`` / ``linear_onset``: the same under the paper's *logit
    linearisation* :math:`z(\tau) = z + \tau a` (exact only if the logits are linear in the
    step), from the JVP already computed for :math:`\rho_a`: it separates what the radius
    theory itself predicts from what the network's nonlinearity adds.
    """

    r_grid: np.ndarray
    labels: list[str]
    rho_a: np.ndarray
    max_spread: np.ndarray
    tau: np.ndarray
    loss_ratio: np.ndarray
    accuracy: np.ndarray
    flip_fraction: np.ndarray
    onset: np.ndarray
    threshold: float
    base_loss: float
    base_accuracy: float
    seed: int
    n_samples: int
    linear_loss_ratio: np.ndarray
    linear_onset: np.ndarray


def one_step_sweep(
    model: nn.Module,
    split: Split,
    r_grid: Sequence[float] | np.ndarray,
    n_random: int = 4,
    seed: int = 0,
    threshold: float = 1.1,
    device: torch.device | str = "cpu",
    eval_indices: Sequence[int] | np.ndarray | Tensor | None = None,
) -> SweepResult:
    r"""One step of size :math:`\tau = r \rho_a(v)` along each unit direction ``v``.

    The sample set :math:`S` is the training split, or its rows ``eval_indices`` (the
    paper's random-direction script uses a 384-sample evaluation subset).  Directions: the
    normalised negative gradient :math:`-g/\|g\|` of the mean loss on :math:`S`, then
    ``n_random`` Gaussian directions :math:`u / \|u\|`, :math:`u \sim N(0, I)` drawn from a
    CPU ``torch.Generator`` seeded from ``seed`` (the same ``seed`` gives the same random
    directions for any model of the same shape).  For each direction,
    :math:`\rho_a = \pi / \max_{x \in S} \Delta_a(x; v)` comes from ONE JVP over :math:`S`,
    and the loss ratio :math:`L_S(\theta + r\rho_a v)/L_S(\theta)` at all ``r`` of the grid
    is evaluated in one ``vmap`` over the stacked parameter points.  Onset = first ``r`` with
    ratio >= ``threshold`` (the paper's code uses 1.1), ``np.inf`` if none.
    """
    split = split.to(device)
    model = model.to(device).eval()
    x, y = split.x_train, split.y_train
    if eval_indices is not None:
        idx = (eval_indices if isinstance(eval_indices, Tensor)
               else torch.as_tensor(np.asarray(eval_indices, dtype=np.int64)))
        idx = idx.to(device=x.device, dtype=torch.int64)
        x, y = x[idx], y[idx]
    params = {k: p.detach() for k, p in params_of(model).items()}
    r = np.array(r_grid, dtype=np.float64)
    dtype = next(iter(params.values())).dtype

    directions = [_unit_gradient_direction(model, params, x, y, 1.0)]
    labels = ["gradient"]
    n_par = int(sum(p.numel() for p in params.values()))
    gen = torch.Generator(device="cpu").manual_seed(_derived_seed(seed, _TAG_DIRECTIONS))
    for i in range(n_random):
        u = torch.randn(n_par, generator=gen, dtype=torch.float64)
        u = (u / torch.linalg.vector_norm(u)).to(dtype=dtype, device=device)
        directions.append(flat_to_params(u, params))
        labels.append(f"random {i + 1}")

    with torch.no_grad():
        z0 = functional_call(model, params, (x,))
        base_loss = float(_mean_ce(z0, y))
        base_pred = z0.argmax(dim=1)
        base_acc = _accuracy(z0, y)

    n_dir = len(directions)
    rho = np.empty(n_dir)
    ratio, acc, flip, linear = (np.empty((n_dir, r.size)) for _ in range(4))
    for i, v in enumerate(directions):
        rho[i], slopes = _spread_radius(model, x, v)
        taus = torch.as_tensor(r * rho[i], dtype=dtype, device=device)
        losses, a_, f_ = _losses_along(model, params, v, taus, x, y, base_pred=base_pred)
        ratio[i] = losses.double().cpu().numpy() / base_loss
        acc[i] = a_.double().cpu().numpy()
        flip[i] = f_.double().cpu().numpy()
        with torch.no_grad():
            z_lin = z0.unsqueeze(0) + taus.view(-1, 1, 1) * slopes.unsqueeze(0)
            lin = torch.stack([_mean_ce(zt, y) for zt in z_lin])
        linear[i] = lin.double().cpu().numpy() / base_loss
    onset = np.array([first_crossing(r, ratio[i], threshold) for i in range(n_dir)])
    linear_onset = np.array([first_crossing(r, linear[i], threshold) for i in range(n_dir)])
    return SweepResult(
        r_grid=r, labels=labels, rho_a=rho, max_spread=math.pi / rho, tau=rho[:, None] * r,
        loss_ratio=ratio, accuracy=acc, flip_fraction=flip, onset=onset,
        threshold=float(threshold), base_loss=base_loss, base_accuracy=base_acc, seed=int(seed),
        n_samples=int(len(y)), linear_loss_ratio=linear, linear_onset=linear_onset,
    )


# --------------------------------------------------------------------------- checkpoints


@dataclass(frozen=True)
class CheckpointSweepResult(_ResultMixin):
    """Random-direction validation at training checkpoints (paper Sec. 6.3, Fig. 8).

    Per stage (target test accuracy ``stages[s]``): ``reached[s]``; ``step[s]`` = number of
    optimiser updates done when the test accuracy first reached the stage (``-1`` if never);
    ``test_accuracy[s]`` there (``nan`` if never); ``sweeps[s]`` the :class:`SweepResult` of
    :func:`one_step_sweep` on the evaluation subset at that checkpoint (``None`` if never).
    ``test_acc_curve[k]`` = test accuracy after ``k`` updates, ``k = 0 .. steps_trained``
    (training stops once every stage is reached, or after ``max_steps``).
    ``eval_indices``: training-split rows of the evaluation subset.  Labels: the gradient is
    direction 0 of every sweep, then ``n_random`` random directions (the same ones at every
    stage).
    """

    stages: np.ndarray
    reached: np.ndarray
    step: np.ndarray
    test_accuracy: np.ndarray
    sweeps: list[SweepResult | None]
    test_acc_curve: np.ndarray
    steps_trained: int
    max_steps: int
    eval_indices: np.ndarray
    r_grid: np.ndarray
    threshold: float
    n_random: int
    seed: int
    runtime_s: float

    def onsets(self) -> np.ndarray:
        """Onsets ``[stage, 1 + n_random]`` (gradient first); ``nan`` rows for unreached stages."""
        out = np.full((self.stages.size, 1 + self.n_random), np.nan)
        for s, sw in enumerate(self.sweeps):
            if sw is not None:
                out[s] = sw.onset
        return out

    def summary(self) -> list[dict[str, Any]]:
        """One row per stage: step, test accuracy, base loss and ``rho_a`` on the subset, the
        gradient onset and the min / median / max onset over the random directions (``inf``
        = the loss ratio never reached the threshold on the grid; ``n_random_inf`` counts them).
        """
        rows = []
        for s, sw in enumerate(self.sweeps):
            row: dict[str, Any] = {
                "stage": float(self.stages[s]), "reached": bool(self.reached[s]),
                "step": int(self.step[s]), "test_accuracy": float(self.test_accuracy[s]),
            }
            if sw is not None:
                rand = sw.onset[1:]
                row.update(
                    base_loss=sw.base_loss, rho_a_gradient=float(sw.rho_a[0]),
                    onset_gradient=float(sw.onset[0]),
                    onset_random_min=float(rand.min()) if rand.size else float("nan"),
                    onset_random_median=float(np.median(rand)) if rand.size else float("nan"),
                    onset_random_max=float(rand.max()) if rand.size else float("nan"),
                    n_random_inf=int(np.isinf(rand).sum()),
                    linear_onset_gradient=float(sw.linear_onset[0]),
                    linear_onset_random_median=float(np.median(sw.linear_onset[1:]))
                    if rand.size else float("nan"),
                )
            rows.append(row)
        return rows


def _eval_subset(n: int, size: int, seed: int) -> np.ndarray:
    """Sorted ``min(size, n)`` distinct rows of ``range(n)`` from a seeded CPU generator."""
    gen = torch.Generator(device="cpu").manual_seed(_derived_seed(seed, _TAG_EVAL_SUBSET))
    return np.sort(torch.randperm(n, generator=gen)[: min(int(size), n)].numpy())


def checkpoint_sweep(
    split: Split,
    seed: int = 0,
    stages: Sequence[float] = (0.84, 0.95, 0.98),
    r_grid: Sequence[float] | np.ndarray = PHASE_R_GRID,
    n_random: int = 20,
    eval_size: int = 384,
    threshold: float = 1.1,
    max_steps: int = 750,
    hidden: Sequence[int] = (128, 128),
    lr: float = 2.5e-3,
    weight_decay: float = 1e-4,
    batch_size: int = 128,
    device: torch.device | str = "cpu",
) -> CheckpointSweepResult:
    r"""The paper's random-direction validation (Sec. 6.3, Fig. 8; repo ``phasetransition``).

    Model ``mlp([64, *hidden, 10], "gelu", layernorm=True, seed=seed)`` (blocks
    ``Linear -> LayerNorm -> GELU``), trained with ``torch.optim.AdamW(lr, weight_decay)`` on
    mini-batches of ``batch_size`` in the seeded order of :func:`batch_schedule`, for at most
    ``max_steps`` updates.  The test accuracy is evaluated at initialisation and after EVERY
    update; the first time it is >= ``stages[s]`` a deep copy of the model is taken (several
    stages can share one checkpoint); training stops when every stage has been reached.
    A stage never reached is recorded (``reached = False``, ``step = -1``), not raised.

    At each checkpoint, :func:`one_step_sweep` runs on the evaluation subset :math:`S` of
    ``eval_size`` training samples (drawn once per seed from a seeded generator): directions
    :math:`v` = the normalised negative gradient of :math:`L_S` and ``n_random`` Gaussian unit
    directions (seed ``seed``), :math:`\rho_a(v) = \pi / \max_{x \in S} \Delta_a(x; v)` from one
    JVP over :math:`S`, loss ratio :math:`L_S(\theta + r \rho_a v) / L_S(\theta)` on ``r_grid``
    (default ``logspace(1e-3, 35, 42)``), onset = first ``r`` with ratio >= ``threshold``.
    """
    t0 = time.perf_counter()
    split = split.to(device)
    targets = np.asarray(stages, dtype=np.float64)
    model = mlp(_sizes(split, hidden), "gelu", layernorm=True, seed=seed,
                dtype=split.x_train.dtype, device=device)
    checkpoints: list[nn.Module | None] = [None] * targets.size
    step = np.full(targets.size, -1, dtype=np.int64)
    acc_at = np.full(targets.size, np.nan)
    curve: list[float] = []

    def check(k: int, net: nn.Module) -> bool:
        net.eval()
        with torch.no_grad():
            acc = _accuracy(net(split.x_test), split.y_test)
        net.train()
        curve.append(acc)
        for s, target in enumerate(targets):
            if checkpoints[s] is None and acc >= target:
                checkpoints[s] = copy.deepcopy(net).eval()
                step[s], acc_at[s] = k, acc
        return all(c is not None for c in checkpoints)

    if not check(0, model):
        _train_loop(model, split, max_steps, lr, batch_size, seed,
                    weight_decay=weight_decay, callback=check)
    subset = _eval_subset(len(split.y_train), eval_size, seed)
    sweeps = [
        None if ckpt is None else one_step_sweep(
            ckpt, split, r_grid, n_random=n_random, seed=seed, threshold=threshold,
            device=device, eval_indices=subset)
        for ckpt in checkpoints
    ]
    return CheckpointSweepResult(
        stages=targets, reached=step >= 0, step=step, test_accuracy=acc_at, sweeps=sweeps,
        test_acc_curve=np.asarray(curve), steps_trained=len(curve) - 1,
        max_steps=int(max_steps), eval_indices=subset, r_grid=np.array(r_grid, dtype=float),
        threshold=float(threshold), n_random=int(n_random), seed=int(seed),
        runtime_s=time.perf_counter() - t0,
    )


# --------------------------------------------------------------------------- LR spike


class _SeedStatsMixin:
    """Statistics over the last (seed) axis of ``final_test_acc`` and ``divergent``."""

    final_test_acc: np.ndarray
    divergent: np.ndarray

    def median_test_acc(self) -> np.ndarray:
        """Median final test accuracy over seeds, ``[method, setting]``."""
        return np.median(self.final_test_acc, axis=-1)

    def iqr_test_acc(self) -> np.ndarray:
        """Inter-quartile range (q25, q75) of final test accuracy, ``[method, setting, 2]``."""
        return np.moveaxis(np.quantile(self.final_test_acc, [0.25, 0.75], axis=-1), 0, -1)

    def divergence_counts(self) -> np.ndarray:
        """Number of divergent seeds (paper's criterion), ``[method, setting]``."""
        return self.divergent.sum(axis=-1)


@dataclass(frozen=True)
class SpikeResult(_SeedStatsMixin, _ResultMixin):
    """LR-spike test (paper Sec. 6.1).  Arrays ``[method, base_lr, seed]`` unless stated.

    * ``final_train_loss``: full-training-split mean CE after the last step (``inf`` if the run
      hit a non-finite value); ``final_test_acc``: test accuracy (non-finite logits = wrong).
    * ``diverged``: the run produced a non-finite loss, update or parameter and was stopped;
      ``divergence_step``: the step index where that happened (``-1`` if never).
    * ``divergent``: the paper's criterion, ``final_train_loss > divergence_loss`` (includes
      every ``diverged`` run).
    * ``max_r``: max applied ``r = tau/rho_a`` over the steps where it was computed (``nan`` if
      never; for ``"adam"``/``"clip"`` only the first seed is traced).
    * ``trace_*``: first seed only, ``[method, base_lr, step]``, ``nan`` where not computed or
      after a stop: ``trace_r`` applied ``r``; ``trace_r_proposed`` the optimiser's ``r``
      before the controller (equal to ``trace_r`` for ``"adam"``/``"clip"``); ``trace_tau``
      applied step length ``||p||``; ``trace_rho_a``; ``trace_loss`` the mini-batch loss.
    """

    methods: list[str]
    base_lrs: np.ndarray
    seeds: list[int]
    multiplier: float
    spike_step: int
    steps: int
    batch_size: int
    divergence_loss: float
    final_train_loss: np.ndarray
    final_test_acc: np.ndarray
    diverged: np.ndarray
    divergence_step: np.ndarray
    divergent: np.ndarray
    max_r: np.ndarray
    trace_r: np.ndarray
    trace_r_proposed: np.ndarray
    trace_tau: np.ndarray
    trace_rho_a: np.ndarray
    trace_loss: np.ndarray
    runtime_s: float

    def table(self) -> list[dict[str, Any]]:
        """One row per (method, base LR): median/IQR test accuracy and divergence count."""
        med, iqr, cnt = self.median_test_acc(), self.iqr_test_acc(), self.divergence_counts()
        rows = []
        for i, m in enumerate(self.methods):
            for j, lr in enumerate(self.base_lrs):
                rows.append({
                    "method": m, "base_lr": float(lr), "spike_lr": float(lr * self.multiplier),
                    "median_test_acc": float(med[i, j]), "q25": float(iqr[i, j, 0]),
                    "q75": float(iqr[i, j, 1]), "divergent": int(cnt[i, j]),
                    "n_seeds": len(self.seeds),
                    "median_max_r": float(np.nanmedian(self.max_r[i, j]))
                    if np.isfinite(self.max_r[i, j]).any() else float("nan"),
                })
        return rows


_METHODS = ("adam", "clip", "radius")
_TRACE_KEYS = ("r", "r_proposed", "tau", "rho_a")


def _global_norm(ts: Sequence[Tensor]) -> Tensor:
    """Euclidean norm of all tensors together, accumulated in float64."""
    return torch.linalg.vector_norm(
        torch.stack([torch.linalg.vector_norm(t, dtype=torch.float64) for t in ts])
    )


def _spike_factor(multiplier: float, spike_step: int,
                  duration: int | None) -> Callable[[int], float]:
    """LR factor of step ``k``: ``multiplier`` for ``spike_step <= k < spike_step + duration``
    (``duration=None``: held to the end of the run), 1 otherwise."""

    def factor(k: int) -> float:
        inside = k >= spike_step and (duration is None or k < spike_step + duration)
        return float(multiplier) if inside else 1.0

    return factor


class _AdamRun:
    r"""State of one hand-written-Adam run (shared by the spike tests); resumable and forkable.

    Step ``k``: LR :math:`\eta_k` = ``base_lr * lr_factor(k)``; batch ``batches[k]`` (``None``:
    the full training split); gradient :math:`g` (``"clip"``: :math:`g \min(1, 1/(\|g\|+10^{-6}))`);
    Adam proposal :math:`p = \eta_k \hat m / (\sqrt{\hat s} + \epsilon)`, :math:`\tau = \|p\|`;
    ``"radius"``: :math:`\rho_a` from one JVP along :math:`p/\tau` over the full training split
    and :math:`p \leftarrow p \min(1, \rho_a/\tau)`; :math:`\theta \leftarrow \theta - p`.
    :math:`\rho_a` is also computed every ``trace_every`` steps when ``trace`` (diagnostic only).

    All parameters live in one flat buffer (the model's Parameters are views of it), so the
    Adam update is a handful of whole-vector ops; elementwise results equal the per-tensor ones
    and :math:`\|p\|` is accumulated per tensor in float64 as before.  A non-finite loss /
    update / parameter stops the run (``div_step``); it is recorded, never raised.
    """

    def __init__(self, init: nn.Module, steps: int) -> None:
        self.model = copy.deepcopy(init).train()
        self.flat = torch.cat([p.detach().reshape(-1) for p in self.model.parameters()])
        self._bind()
        self.m_buf = torch.zeros_like(self.flat)
        self.v_buf = torch.zeros_like(self.flat)
        self.k = 0
        self.div_step = -1
        self.max_r = float("nan")
        self.losses = np.full(steps, np.nan)
        self.trace = {key: np.full(steps, np.nan) for key in _TRACE_KEYS}

    def _bind(self) -> None:
        self.named = dict(self.model.named_parameters())
        self.numels = [p.numel() for p in self.named.values()]
        views = flat_to_params(self.flat, self.named)
        for p, view in zip(self.named.values(), views.values(), strict=True):
            p.data = view

    def fork(self) -> _AdamRun:
        """An independent exact copy (buffers cloned, parameter views re-bound)."""
        new = copy.copy(self)
        new.model = copy.deepcopy(self.model)
        new.flat = self.flat.clone()
        new._bind()
        new.m_buf, new.v_buf = self.m_buf.clone(), self.v_buf.clone()
        new.losses = self.losses.copy()
        new.trace = {key: val.copy() for key, val in self.trace.items()}
        return new

    def advance(
        self,
        until: int,
        split: Split,
        batches: Tensor | None,
        method: str,
        base_lr: float,
        lr_factor: Callable[[int], float],
        betas: tuple[float, float],
        eps: float,
        trace: bool,
        trace_every: int,
    ) -> None:
        """Take steps ``self.k .. until - 1`` (none once stopped)."""
        model, named, numels, flat = self.model, self.named, self.numels, self.flat
        params = list(named.values())
        b1, b2 = betas
        x, y = split.x_train, split.y_train
        tr, nan = self.trace, float("nan")
        while self.k < until and self.div_step < 0:
            k = self.k
            self.k += 1
            lr = base_lr * lr_factor(k)
            if batches is None:
                loss = _mean_ce(model(x), y)
            else:
                idx = batches[k].to(x.device)
                loss = _mean_ce(model(x[idx]), y[idx])
            self.losses[k] = float(loss.detach())
            if not math.isfinite(self.losses[k]):
                self.div_step = k
                break
            grads = torch.autograd.grad(loss, params)
            with torch.no_grad():
                g = torch.cat([gi.reshape(-1) for gi in grads])
                if method == "clip":  # == torch.nn.utils.clip_grad_norm_(max_norm=1.0)
                    coef = torch.clamp(1.0 / (_global_norm(grads) + 1e-6), max=1.0)
                    g = g * coef.to(g.dtype)
                t = k + 1
                self.m_buf.mul_(b1).add_(g, alpha=1 - b1)
                self.v_buf.mul_(b2).addcmul_(g, g, value=1 - b2)
                upd = lr * (self.m_buf / (1 - b1**t)) / ((self.v_buf / (1 - b2**t)).sqrt() + eps)
                tau = float(_global_norm(upd.split(numels)))
                if not math.isfinite(tau):
                    self.div_step = k
                    break
                need_rho = method == "radius" or (trace and k % trace_every == 0)
                if need_rho and tau > 0:
                    rho, a = _spread_radius(model, x, flat_to_params(upd / tau, named))
                    finite_a = bool(torch.isfinite(a).all())
                    if method == "radius":
                        if not finite_a:  # the controller cannot act on non-finite slopes
                            self.div_step = k
                            break
                        scale = min(1.0, rho / tau)
                        if scale < 1.0:
                            upd = upd * scale
                    tau_applied = float(_global_norm(upd.split(numels)))
                    r_applied = tau_applied / rho if finite_a else nan
                    self.max_r = (r_applied if math.isnan(self.max_r)
                                  else max(self.max_r, r_applied))
                    if trace:
                        tr["r"][k] = r_applied
                        tr["r_proposed"][k] = tau / rho if finite_a else nan
                        tr["rho_a"][k] = rho if finite_a else nan
                        tr["tau"][k] = tau_applied
                elif trace:
                    tr["tau"][k] = tau
                flat.sub_(upd)
                if not bool(torch.isfinite(flat).all()):
                    self.div_step = k
                    break

    def result(self, split: Split) -> dict[str, Any]:
        """``train_loss`` (final, full training split; ``inf`` after a stop), ``test_acc``,
        ``div_step`` (``-1`` if never stopped), ``max_r`` (max applied ``r`` where computed),
        ``loss`` (per-step batch loss, ``nan`` after a stop), ``trace`` (``nan`` where not
        computed)."""
        model = self.model.eval()
        with torch.no_grad():
            train_loss = float("inf")
            if self.div_step < 0:
                train_loss = float(_mean_ce(model(split.x_train), split.y_train))
                if not math.isfinite(train_loss):
                    train_loss = float("inf")
            test_acc = _accuracy(model(split.x_test), split.y_test)
        model.train()
        return {"train_loss": train_loss, "test_acc": test_acc, "div_step": self.div_step,
                "max_r": self.max_r, "loss": self.losses, "trace": self.trace}


def _shared_prefix(settings: Sequence[tuple[float, Callable[[int], float]]], steps: int) -> int:
    """Number of leading steps whose LR ``base_lr * lr_factor(k)`` is identical in all
    settings (those steps are computed once and the run is then forked per setting)."""
    lrs = np.array([[lr * factor(k) for k in range(steps)] for lr, factor in settings])
    differ = np.flatnonzero((lrs != lrs[:1]).any(axis=0))
    return int(differ[0]) if differ.size else steps


def _spike_grid(
    split: Split,
    methods: Sequence[str],
    seeds: Sequence[int],
    settings: Sequence[tuple[float, Callable[[int], float]]],
    make_init: Callable[[int], nn.Module],
    batch_size: int | None,
    steps: int,
    betas: tuple[float, float],
    eps: float,
    trace_every: int,
    progress: bool,
    desc: str,
) -> dict[str, np.ndarray]:
    """:class:`_AdamRun` for every (seed, method, setting ``(base_lr, lr_factor)``).

    Per seed: initial model ``make_init(seed)`` and batch order ``batch_schedule(n,
    batch_size, steps, seed)`` (``batch_size=None``: full batch), both shared by all methods
    and settings; the steps before the settings' LRs first differ are run once per (seed,
    method) and the state is forked (bit-identical to separate runs).  Only the first seed is
    traced.  Returns arrays ``[method, setting, seed]`` (``final_train_loss``,
    ``final_test_acc``, ``divergence_step`` = first non-finite step, ``max_r``),
    ``loss_curve`` ``[method, setting, seed, steps]`` and ``trace_<key>`` ``[method, setting,
    step]`` for ``r, r_proposed, tau, rho_a, loss`` (first seed).
    """
    for m in methods:
        if m not in _METHODS:
            raise ValueError(f"unknown method {m!r}")
    shape = (len(methods), len(settings), len(seeds))
    out: dict[str, np.ndarray] = {
        "final_train_loss": np.full(shape, np.inf),
        "final_test_acc": np.zeros(shape),
        "divergence_step": np.full(shape, -1, dtype=np.int64),
        "max_r": np.full(shape, np.nan),
        "loss_curve": np.full((*shape, steps), np.nan),
    }
    for key in (*_TRACE_KEYS, "loss"):
        out[f"trace_{key}"] = np.full((len(methods), len(settings), steps), np.nan)
    prefix = _shared_prefix(settings, steps) if len(settings) > 1 else 0
    every = max(1, int(trace_every))
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=int(np.prod(shape)), desc=desc)
    for si, seed in enumerate(seeds):
        init = make_init(seed)
        batches = batch_schedule(len(split.y_train), batch_size, steps, seed)
        for mi, method in enumerate(methods):
            common = (split, batches, method)
            stem = _AdamRun(init, steps)
            stem.advance(prefix, *common, *settings[0], betas, eps, si == 0, every)
            for li, (lr, factor) in enumerate(settings):
                state = stem.fork() if li < len(settings) - 1 else stem
                state.advance(steps, *common, float(lr), factor, betas, eps, si == 0, every)
                run = state.result(split)
                out["final_train_loss"][mi, li, si] = run["train_loss"]
                out["final_test_acc"][mi, li, si] = run["test_acc"]
                out["divergence_step"][mi, li, si] = run["div_step"]
                out["max_r"][mi, li, si] = run["max_r"]
                out["loss_curve"][mi, li, si] = run["loss"]
                if si == 0:
                    for key in _TRACE_KEYS:
                        out[f"trace_{key}"][mi, li] = run["trace"][key]
                    out["trace_loss"][mi, li] = run["loss"]
                if bar is not None:
                    bar.update(1)
    if bar is not None:
        bar.close()
    return out


def spike_test(
    split: Split,
    base_lrs: Sequence[float] = (1e-4, 1e-3, 1e-2),
    multiplier: float = 1000.0,
    spike_step: int = 50,
    steps: int = 200,
    seeds: Sequence[int] = (0, 1, 2),
    batch_size: int = 64,
    hidden: Sequence[int] = (128,),
    activation: str = "relu",
    methods: Sequence[str] = _METHODS,
    divergence_loss: float = 10.0,
    device: torch.device | str = "cpu",
    progress: bool = False,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    trace_every: int = 5,
) -> SpikeResult:
    r"""LR-spike test of the paper's Sec. 6.1 (Fig. 6).

    MLP ``64 -> 128 -> 10`` (ReLU) trained with a hand-written Adam
    (:math:`m \leftarrow \beta_1 m + (1-\beta_1) g`, :math:`s \leftarrow \beta_2 s + (1-\beta_2)
    g^2`, :math:`p = \eta\, \hat m / (\sqrt{\hat s} + \epsilon)`, :math:`\theta \leftarrow
    \theta - p`) on mini-batches of ``batch_size`` whose order comes from a generator seeded by
    the seed (identical across methods and LRs for one seed).  The LR is
    :math:`\eta = \eta_0` before step ``spike_step`` and :math:`\eta_0 \cdot` ``multiplier``
    from then on, held to the end.  Methods:

    * ``"adam"`` -- plain;
    * ``"clip"`` -- Adam fed the gradient clipped to global norm 1 (the formula of
      ``torch.nn.utils.clip_grad_norm_(max_norm=1)``: :math:`g \cdot \min(1, 1/(\|g\|+10^{-6}))`);
    * ``"radius"`` -- the :math:`\rho_a` controller (Prop. 5.2): :math:`\tau = \|p\|` over all
      parameters, :math:`\rho_a` from one JVP along :math:`p/\|p\|` over the full training
      split, applied update :math:`p \cdot \min(1, \rho_a/\tau)`, hence :math:`r \le 1`.

    Non-finite loss / update / parameters stop a run and are recorded (``diverged``,
    ``divergence_step``, final loss ``inf``), never raised.  For the first seed, ``r`` along
    the applied update is traced every step for ``"radius"`` (the controller needs
    :math:`\rho_a` at every step anyway) and every ``trace_every`` steps for the others (one
    extra JVP over the training split per traced step).  See :class:`SpikeResult`.
    """
    t0 = time.perf_counter()
    split = split.to(device)
    methods = list(methods)
    lrs = np.asarray(base_lrs, dtype=np.float64)
    seeds = [int(s) for s in seeds]
    factor = _spike_factor(multiplier, spike_step, None)

    def make_init(seed: int) -> nn.Module:
        return mlp(_sizes(split, hidden), activation, seed=seed, dtype=split.x_train.dtype,
                   device=device)

    out = _spike_grid(split, methods, seeds, [(float(lr), factor) for lr in lrs], make_init,
                      batch_size, steps, betas, eps, trace_every, progress, "spike test")
    final_loss, div_step = out["final_train_loss"], out["divergence_step"]
    diverged = div_step >= 0
    return SpikeResult(
        methods=methods, base_lrs=lrs, seeds=seeds, multiplier=float(multiplier),
        spike_step=int(spike_step), steps=int(steps), batch_size=int(batch_size),
        divergence_loss=float(divergence_loss), final_train_loss=final_loss,
        final_test_acc=out["final_test_acc"], diverged=diverged, divergence_step=div_step,
        divergent=diverged | (final_loss > divergence_loss), max_r=out["max_r"],
        trace_r=out["trace_r"], trace_r_proposed=out["trace_r_proposed"],
        trace_tau=out["trace_tau"], trace_rho_a=out["trace_rho_a"],
        trace_loss=out["trace_loss"], runtime_s=time.perf_counter() - t0,
    )


@dataclass(frozen=True)
class ArchgridResult(_SeedStatsMixin, _ResultMixin):
    r"""Single-step LR spike across multipliers (paper Sec. 6.5, Table 1, MLP+LN row).

    Arrays ``[method, multiplier, seed]`` unless stated:

    * ``final_train_loss`` (full training split, ``inf`` after a non-finite stop),
      ``final_test_acc`` (non-finite logits count as wrong);
    * ``nonfinite``: the run produced a non-finite loss / update / parameter and was stopped
      at ``nonfinite_step`` (``-1`` if never);
    * ``divergent``: the paper's criterion, final training loss > ``divergence_loss`` or
      non-finite; ``divergence_step``: for divergent runs the first ``k`` with
      ``loss_curve[..., k] > divergence_loss`` or non-finite (``-1`` for the others);
    * ``loss_curve`` ``[method, multiplier, seed, steps + 1]``: full-training-split loss at
      :math:`\theta_k` (before update ``k``; the last entry is the final loss);
    * ``max_r``: max applied ``r = tau / rho_a`` where computed (every step for ``"radius"``,
      first seed only for the others);
    * ``trace_*`` ``[method, multiplier, step]``: first seed only, as in :class:`SpikeResult`.
    """

    methods: list[str]
    multipliers: np.ndarray
    seeds: list[int]
    base_lr: float
    spike_step: int
    steps: int
    hidden: list[int]
    divergence_loss: float
    final_train_loss: np.ndarray
    final_test_acc: np.ndarray
    nonfinite: np.ndarray
    nonfinite_step: np.ndarray
    divergent: np.ndarray
    divergence_step: np.ndarray
    loss_curve: np.ndarray
    max_r: np.ndarray
    trace_r: np.ndarray
    trace_r_proposed: np.ndarray
    trace_tau: np.ndarray
    trace_rho_a: np.ndarray
    runtime_s: float

    def table(self) -> list[dict[str, Any]]:
        """One row per (method, multiplier): median / IQR final test accuracy, divergence count,
        median final training loss, and the paper's Table-1 value where there is one."""
        med, iqr, cnt = self.median_test_acc(), self.iqr_test_acc(), self.divergence_counts()
        rows = []
        for i, m in enumerate(self.methods):
            for j, mult in enumerate(self.multipliers):
                paper = PAPER_TABLE1_MLP_LN.get(m) if mult == 10000 else None
                rows.append({
                    "method": m, "multiplier": float(mult),
                    "spike_lr": float(self.base_lr * mult),
                    "median_test_acc": float(med[i, j]), "q25": float(iqr[i, j, 0]),
                    "q75": float(iqr[i, j, 1]), "divergent": int(cnt[i, j]),
                    "n_seeds": len(self.seeds),
                    "median_final_train_loss": float(np.median(self.final_train_loss[i, j])),
                    "paper_median_test_acc": float("nan") if paper is None else paper,
                })
        return rows


def archgrid_spike_test(
    split: Split,
    multipliers: Sequence[float] = (10, 100, 1000, 10000),
    seeds: Sequence[int] = (0, 1, 2),
    base_lr: float = 0.015,
    steps: int = 200,
    spike_step: int = 50,
    hidden: Sequence[int] = (64, 64, 64),
    methods: Sequence[str] = _METHODS,
    divergence_loss: float = 10.0,
    device: torch.device | str = "cpu",
    progress: bool = False,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    trace_every: int = 5,
) -> ArchgridResult:
    r"""The protocol behind the paper's Table 1 (Sec. 6.5, repo ``archgrid``), MLP+LN row.

    Model ``mlp([64, *hidden, 10], "gelu", layernorm=True, seed=seed)`` (blocks
    ``Linear -> LayerNorm -> GELU``).  FULL-BATCH hand-written Adam (``betas``, ``eps``; the
    update of :func:`spike_test`) for ``steps`` steps at LR ``base_lr``, except step
    ``spike_step`` alone, which uses ``base_lr * multiplier`` (a single-step spike, as in the
    repository script; Sec. 6.1 / Fig. 6 hold the spike instead, see erratum E6).  Methods as
    in :func:`spike_test`: plain Adam; Adam on :math:`g \min(1, 1/(\|g\|+10^{-6}))`; and the
    :math:`\rho_a` controller of Prop. 5.2 -- :math:`p` = the Adam update, :math:`\tau = \|p\|`,
    :math:`\rho_a` from one JVP along :math:`p/\|p\|` over the full training split, applied
    :math:`p \min(1, \rho_a/\tau)` -- NOT the repository's gradient-radius heuristic (which
    rescales the LR by :math:`\min(\eta\|g\|, \rho_a(-g/\|g\|))/(\eta\|g\|)`, erratum E7).

    A run is divergent if its final full-training loss exceeds ``divergence_loss`` (10) or it
    produced non-finite values (recorded, never raised).  See :class:`ArchgridResult`.
    """
    t0 = time.perf_counter()
    split = split.to(device)
    methods = list(methods)
    mults = np.asarray(multipliers, dtype=np.float64)
    seeds = [int(s) for s in seeds]
    settings = [(float(base_lr), _spike_factor(float(m), spike_step, 1)) for m in mults]

    def make_init(seed: int) -> nn.Module:
        return mlp(_sizes(split, hidden), "gelu", layernorm=True, seed=seed,
                   dtype=split.x_train.dtype, device=device)

    out = _spike_grid(split, methods, seeds, settings, make_init, None, steps, betas, eps,
                      trace_every, progress, "archgrid")
    final_loss, nf_step = out["final_train_loss"], out["divergence_step"]
    curve = np.concatenate([out["loss_curve"], final_loss[..., None]], axis=-1)
    nonfinite = nf_step >= 0
    divergent = nonfinite | ~(final_loss <= divergence_loss)
    over = ~(curve <= divergence_loss)  # > threshold, inf or nan
    div_step = np.where(divergent, np.argmax(over, axis=-1), -1).astype(np.int64)
    return ArchgridResult(
        methods=methods, multipliers=mults, seeds=seeds, base_lr=float(base_lr),
        spike_step=int(spike_step), steps=int(steps), hidden=[int(h) for h in hidden],
        divergence_loss=float(divergence_loss), final_train_loss=final_loss,
        final_test_acc=out["final_test_acc"], nonfinite=nonfinite, nonfinite_step=nf_step,
        divergent=divergent, divergence_step=div_step, loss_curve=curve, max_r=out["max_r"],
        trace_r=out["trace_r"], trace_r_proposed=out["trace_r_proposed"],
        trace_tau=out["trace_tau"], trace_rho_a=out["trace_rho_a"],
        runtime_s=time.perf_counter() - t0,
    )


# --------------------------------------------------------------------------- temperature


@dataclass(frozen=True)
class TemperatureResult(_ResultMixin):
    r"""Temperature fingerprint (paper Sec. 6.4).  Arrays ``[temperature, seed]`` unless stated.

    ``tau_onset`` = first grid :math:`\tau` with tempered loss ratio >= ``threshold``;
    ``r_onset = tau_onset / rho_T``; ``rho_T = pi T / delta_a``; ``delta_a`` = max over the
    training split of the spread of the raw-logit JVP.  ``tau_grid``/``loss_ratio`` are
    ``[temperature, seed, n_tau]``.

    Summary statistics pool all (T, seed) pairs with a finite onset and use the population
    standard deviation (``np.std``, ``ddof=0``): ``std_log10_tau``/``std_log10_r`` (spread in
    decades; our primary choice, because onsets span orders of magnitude),
    ``std_tau``/``std_r`` (raw values), and the ratios ``ratio_log = std_log10_tau /
    std_log10_r``, ``ratio_raw = std_tau / std_r``.  ``*_medians`` variants: std over
    temperatures of the per-temperature median (log10) onsets.  The paper reports 0.992 (tau)
    vs 0.164 (r_T) without stating the pooling.
    """

    temperatures: np.ndarray
    seeds: list[int]
    threshold: float
    tau_onset: np.ndarray
    r_onset: np.ndarray
    rho_T: np.ndarray
    delta_a: np.ndarray
    base_loss: np.ndarray
    test_accuracy: np.ndarray
    tau_grid: np.ndarray
    loss_ratio: np.ndarray
    n_finite: int
    std_log10_tau: float
    std_log10_r: float
    ratio_log: float
    std_tau: float
    std_r: float
    ratio_raw: float
    std_log10_tau_medians: float
    std_log10_r_medians: float
    runtime_s: float


def temperature_study(
    split: Split,
    temperatures: Sequence[float] = (0.25, 0.5, 1, 2, 4, 8),
    seeds: Sequence[int] = (0, 1, 2),
    steps: int = 120,
    lr: float = 0.01,
    batch_size: int = 256,
    hidden: Sequence[int] = (128, 128),
    threshold: float = 2.0,
    n_tau: int = 80,
    device: torch.device | str = "cpu",
) -> TemperatureResult:
    r"""Onsets in raw step length :math:`\tau` vs normalised :math:`r_T` across temperatures.

    For each (T, seed): train ``mlp([64, *hidden, 10])`` (GELU) with loss
    :math:`\mathrm{CE}(z/T, y)`, Adam (``lr``, ``batch_size``, ``steps``); direction
    :math:`v` = normalised negative full-batch gradient of the tempered loss;
    :math:`\Delta_a = \max_x \Delta_a(x; v)` of the RAW logits from one JVP over the training
    split (the paper's script used a forward finite difference with :math:`\epsilon = 10^{-4}`;
    we use the exact JVP); :math:`\rho_T = \pi T / \Delta_a`; :math:`\tau` grid
    ``geomspace(1e-4, max(4 rho_T, 2), n_tau)``; tempered one-step loss ratio
    :math:`L_T(\theta + \tau v) / L_T(\theta)` (one vmapped evaluation); onset
    :math:`\tau^*` = first :math:`\tau` with ratio >= ``threshold`` (2 in the paper),
    :math:`r^* = \tau^* / \rho_T`.  See :class:`TemperatureResult` for the summary statistics.
    """
    t0 = time.perf_counter()
    split = split.to(device)
    temps = np.asarray(temperatures, dtype=np.float64)
    seeds = [int(s) for s in seeds]
    shape = (temps.size, len(seeds))
    tau_on, r_on, rho_t, delta, base, acc = (np.full(shape, np.nan) for _ in range(6))
    grids = np.full((*shape, n_tau), np.nan)
    ratios = np.full((*shape, n_tau), np.nan)
    x, y = split.x_train, split.y_train
    for i, temp in enumerate(temps):
        for j, seed in enumerate(seeds):
            model = train_classifier(split, hidden=hidden, activation="gelu", steps=steps, lr=lr,
                                     batch_size=batch_size, seed=seed, temperature=float(temp),
                                     device=device)
            params = {k: p.detach() for k, p in params_of(model).items()}
            dtype = next(iter(params.values())).dtype
            v = _unit_gradient_direction(model, params, x, y, float(temp))
            rho_a, _ = _spread_radius(model, x, v)
            delta[i, j] = math.pi / rho_a
            rho_t[i, j] = float(temp) * rho_a
            grid = np.geomspace(1e-4, max(4.0 * rho_t[i, j], 2.0), n_tau)
            with torch.no_grad():
                z0 = functional_call(model, params, (x,))
                base[i, j] = float(_mean_ce(z0, y, float(temp)))
                acc[i, j] = _accuracy(model(split.x_test), split.y_test)
            taus = torch.as_tensor(grid, dtype=dtype, device=device)
            losses, _, _ = _losses_along(model, params, v, taus, x, y, float(temp))
            ratio = losses.double().cpu().numpy() / base[i, j]
            grids[i, j], ratios[i, j] = grid, ratio
            tau_on[i, j] = first_crossing(grid, ratio, threshold)
            r_on[i, j] = tau_on[i, j] / rho_t[i, j]

    ok = np.isfinite(tau_on)
    n_ok = int(ok.sum())

    def _std(vals: np.ndarray) -> float:
        return float(np.std(vals)) if vals.size >= 2 else float("nan")

    def _ratio(a: float, b: float) -> float:
        return a / b if b > 0 else float("nan")

    s_lt, s_lr = _std(np.log10(tau_on[ok])), _std(np.log10(r_on[ok]))
    s_t, s_r = _std(tau_on[ok]), _std(r_on[ok])
    with np.errstate(all="ignore"):
        med_lt = np.log10(np.nanmedian(np.where(ok, tau_on, np.nan), axis=1))
        med_lr = np.log10(np.nanmedian(np.where(ok, r_on, np.nan), axis=1))
    return TemperatureResult(
        temperatures=temps, seeds=seeds, threshold=float(threshold), tau_onset=tau_on,
        r_onset=r_on, rho_T=rho_t, delta_a=delta, base_loss=base, test_accuracy=acc,
        tau_grid=grids, loss_ratio=ratios, n_finite=n_ok, std_log10_tau=s_lt,
        std_log10_r=s_lr, ratio_log=_ratio(s_lt, s_lr), std_tau=s_t, std_r=s_r,
        ratio_raw=_ratio(s_t, s_r),
        std_log10_tau_medians=_std(med_lt[np.isfinite(med_lt)]),
        std_log10_r_medians=_std(med_lr[np.isfinite(med_lr)]),
        runtime_s=time.perf_counter() - t0,
    )
