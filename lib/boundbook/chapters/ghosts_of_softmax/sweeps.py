r"""One-step sweeps: the loss ratio of a single step of size :math:`\tau = r\rho_a(v)` along
the normalised gradient and random unit directions (the paper's Secs. 6.2/6.3), on a trained
model (:func:`one_step_sweep`) and at the training checkpoints of the paper's random-direction
validation (:func:`checkpoint_sweep`, Sec. 6.3, Fig. 8).
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, vmap

from boundbook.chapters.ghosts_of_softmax.training import (
    TAG_DIRECTIONS,
    TAG_EVAL_SUBSET,
    JsonResult,
    accuracy,
    derived_seed,
    layer_sizes,
    mean_ce,
    spread_radius,
    train_loop,
    unit_gradient_direction,
)
from boundbook.core.display import markdown_table
from boundbook.numeric.directional import params_of
from boundbook.numeric.flat import flat_to_params
from boundbook.problems.data import Split
from boundbook.problems.models import mlp

__all__ = ["CONVERGED_ARCHITECTURES", "PHASE_R_GRID", "CheckpointSweepResult",
           "ConvergedSweepResult", "SweepResult", "checkpoint_sweep", "converged_sweep",
           "converged_table",
           "checkpoint_table", "first_crossing", "one_step_sweep"]

Tensor = torch.Tensor

#: r grid of the paper's random-direction script (``phasetransition``): ``logspace(1e-3, 35, 42)``.
PHASE_R_GRID: np.ndarray = np.logspace(-3, np.log10(35.0), 42)
PHASE_R_GRID.setflags(write=False)


def first_crossing(grid: np.ndarray, values: np.ndarray, threshold: float) -> float:
    """First ``grid[i]`` with ``values[i] >= threshold`` (``np.inf`` if there is none).

    A NaN value (non-finite loss) counts as a crossing: the step has certainly failed.
    """
    grid = np.asarray(grid, dtype=float)
    values = np.asarray(values, dtype=float)
    hit = (values >= threshold) | np.isnan(values)
    idx = np.flatnonzero(hit)
    return float(grid[idx[0]]) if idx.size else float("inf")




def losses_along(
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
        return mean_ce(z, y, temperature), acc, flip

    with torch.no_grad():
        return vmap(point, chunk_size=chunk_size)(stacked)



@dataclass(frozen=True)
class SweepResult(JsonResult):
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

    directions = [unit_gradient_direction(model, params, x, y, 1.0)]
    labels = ["gradient"]
    n_par = int(sum(p.numel() for p in params.values()))
    gen = torch.Generator(device="cpu").manual_seed(derived_seed(seed, TAG_DIRECTIONS))
    for i in range(n_random):
        u = torch.randn(n_par, generator=gen, dtype=torch.float64)
        u = (u / torch.linalg.vector_norm(u)).to(dtype=dtype, device=device)
        directions.append(flat_to_params(u, params))
        labels.append(f"random {i + 1}")

    with torch.no_grad():
        z0 = functional_call(model, params, (x,))
        base_loss = float(mean_ce(z0, y))
        base_pred = z0.argmax(dim=1)
        base_acc = accuracy(z0, y)

    n_dir = len(directions)
    rho = np.empty(n_dir)
    ratio, acc, flip, linear = (np.empty((n_dir, r.size)) for _ in range(4))
    for i, v in enumerate(directions):
        rho[i], slopes = spread_radius(model, x, v)
        taus = torch.as_tensor(r * rho[i], dtype=dtype, device=device)
        losses, a_, f_ = losses_along(model, params, v, taus, x, y, base_pred=base_pred)
        ratio[i] = losses.double().cpu().numpy() / base_loss
        acc[i] = a_.double().cpu().numpy()
        flip[i] = f_.double().cpu().numpy()
        with torch.no_grad():
            z_lin = z0.unsqueeze(0) + taus.view(-1, 1, 1) * slopes.unsqueeze(0)
            lin = torch.stack([mean_ce(zt, y) for zt in z_lin])
        linear[i] = lin.double().cpu().numpy() / base_loss
    onset = np.array([first_crossing(r, ratio[i], threshold) for i in range(n_dir)])
    linear_onset = np.array([first_crossing(r, linear[i], threshold) for i in range(n_dir)])
    return SweepResult(
        r_grid=r, labels=labels, rho_a=rho, max_spread=math.pi / rho, tau=rho[:, None] * r,
        loss_ratio=ratio, accuracy=acc, flip_fraction=flip, onset=onset,
        threshold=float(threshold), base_loss=base_loss, base_accuracy=base_acc, seed=int(seed),
        n_samples=int(len(y)), linear_loss_ratio=linear, linear_onset=linear_onset,
    )



@dataclass(frozen=True)
class CheckpointSweepResult(JsonResult):
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
    gen = torch.Generator(device="cpu").manual_seed(derived_seed(seed, TAG_EVAL_SUBSET))
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
    model = mlp(layer_sizes(split, hidden), "gelu", layernorm=True, seed=seed,
                dtype=split.x_train.dtype, device=device)
    checkpoints: list[nn.Module | None] = [None] * targets.size
    step = np.full(targets.size, -1, dtype=np.int64)
    acc_at = np.full(targets.size, np.nan)
    curve: list[float] = []

    def check(k: int, net: nn.Module) -> bool:
        net.eval()
        with torch.no_grad():
            acc = accuracy(net(split.x_test), split.y_test)
        net.train()
        curve.append(acc)
        for s, target in enumerate(targets):
            if checkpoints[s] is None and acc >= target:
                checkpoints[s] = copy.deepcopy(net).eval()
                step[s], acc_at[s] = k, acc
        return all(c is not None for c in checkpoints)

    if not check(0, model):
        train_loop(model, split, max_steps, lr, batch_size, seed,
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




CHECKPOINT_COLUMNS = (
    ("stage", "stage"), ("step", "step"), ("test_accuracy", "test acc"),
    ("base_loss", "base loss"), ("onset_gradient", "gradient r*"),
    ("onset_random_min", "random r*: min"), ("onset_random_median", "median"),
    ("onset_random_max", "max"), ("linear_onset_gradient", "linearised: gradient r*"),
    ("linear_onset_random_median", "random median"))
"""Columns of :func:`checkpoint_table`: (key of :meth:`CheckpointSweepResult.summary`,
header)."""


def checkpoint_table(sweeps: Sequence[CheckpointSweepResult]) -> str:
    """One Markdown row per (seed, stage) of the checkpoint sweeps: step, test accuracy, base
    loss, the gradient onset and the random directions' min / median / max onset, and the
    same onsets under the logit linearisation ("not reached" for a stage never reached)."""
    rows = [[sw.seed] + [row.get(key, "not reached") for key, _ in CHECKPOINT_COLUMNS]
            for sw in sweeps for row in sw.summary()]
    return markdown_table(rows, ["seed", *(name for _, name in CHECKPOINT_COLUMNS)])


#: Architectures of the converged-model sweep: name -> (hidden sizes, layernorm). All GELU;
#: the linear model has no hidden layer. Small stand-ins for the paper's six (Sec. 6.2).
CONVERGED_ARCHITECTURES: dict[str, tuple[tuple[int, ...], bool]] = {
    "linear": ((), False), "mlp": ((128,), False), "mlp+ln": ((128, 128), True)}


@dataclass(frozen=True)
class ConvergedSweepResult(JsonResult):
    r"""Gradient steps on converged models (paper Sec. 6.2, Figs. 1 and 7), one row per
    (architecture, seed).

    ``converged[i]``: the convergence criterion (fixed before the run) was met:
    training accuracy 1 and mean training loss <= ``max_train_loss``, checked every
    ``check_every`` full-batch Adam steps, at most ``max_steps``; ``steps[i]`` the steps taken;
    ``train_loss``/``test_accuracy`` there. ``sweeps[i]``: :func:`one_step_sweep` along the
    normalised gradient on the full training split (``None`` if not converged).
    """

    architectures: list[str]
    seeds: list[int]
    labels: list[str]
    converged: np.ndarray
    steps: np.ndarray
    train_loss: np.ndarray
    test_accuracy: np.ndarray
    sweeps: list[SweepResult | None]
    test_accuracy_after: list[list[float] | None]
    max_train_loss: float
    max_steps: int
    r_grid: np.ndarray
    threshold: float
    runtime_s: float

    def onsets(self) -> tuple[list[float], list[str]]:
        """Gradient onsets of the converged rows and their labels."""
        pairs = [(float(sw.onset[0]), label) for sw, label in zip(self.sweeps, self.labels,
                                                                   strict=True)
                 if sw is not None]
        return [p[0] for p in pairs], [p[1] for p in pairs]


def converged_sweep(
    split: Split,
    architectures: Sequence[str] = tuple(CONVERGED_ARCHITECTURES),
    seeds: Sequence[int] = (0, 1),
    r_grid: Sequence[float] | np.ndarray = PHASE_R_GRID,
    lr: float = 0.01,
    max_train_loss: float = 0.05,
    max_steps: int = 3000,
    check_every: int = 25,
    threshold: float = 1.1,
    device: torch.device | str = "cpu",
) -> ConvergedSweepResult:
    r"""Train each architecture to convergence, then one gradient step at every ``r``.

    Model ``mlp([64, *hidden, 10], "gelu", layernorm)`` of :data:`CONVERGED_ARCHITECTURES`,
    full-batch ``torch.optim.Adam(lr)`` until the training accuracy is 1 and the mean training
    loss is at most ``max_train_loss`` (checked every ``check_every`` steps; at most
    ``max_steps``; a model that does not converge is recorded and not swept).  Then
    :func:`one_step_sweep` along the normalised negative full-batch gradient (no random
    directions) on the whole training split, onset = first ``r`` with loss ratio >=
    ``threshold``; the test accuracy after each step is recorded too (the paper's Fig. 7A).
    """
    t0 = time.perf_counter()
    split = split.to(device)
    labels, conv, steps, losses, accs, sweeps, after = [], [], [], [], [], [], []
    for arch in architectures:
        hidden, layernorm = CONVERGED_ARCHITECTURES[arch]
        for seed in seeds:
            model = mlp(layer_sizes(split, hidden), "gelu", layernorm=layernorm, seed=seed,
                        dtype=split.x_train.dtype, device=device)
            state: dict[str, float] = {}

            def check(k: int, net: nn.Module, state: dict[str, float] = state) -> bool:
                if k % check_every:
                    return False
                net.eval()
                with torch.no_grad():
                    z = net(split.x_train)
                    state["loss"] = float(mean_ce(z, split.y_train))
                    state["acc"] = accuracy(z, split.y_train)
                net.train()
                return state["acc"] == 1.0 and state["loss"] <= max_train_loss

            n = train_loop(model, split, max_steps, lr, None, seed, callback=check)
            model.eval()
            ok = state.get("acc") == 1.0 and state.get("loss", math.inf) <= max_train_loss
            with torch.no_grad():
                acc = accuracy(model(split.x_test), split.y_test)
            labels.append(f"{arch}, seed {seed}, gradient")
            conv.append(ok)
            steps.append(n)
            losses.append(state.get("loss", math.nan))
            accs.append(acc)
            if not ok:
                sweeps.append(None)
                after.append(None)
                continue
            sw = one_step_sweep(model, split, r_grid, n_random=0, seed=seed,
                                threshold=threshold, device=device)
            sweeps.append(sw)
            after.append(_test_accuracy_after(model, split, sw))
    return ConvergedSweepResult(
        architectures=list(architectures), seeds=[int(s) for s in seeds], labels=labels,
        converged=np.array(conv), steps=np.array(steps), train_loss=np.array(losses),
        test_accuracy=np.array(accs), sweeps=sweeps, test_accuracy_after=after,
        max_train_loss=float(max_train_loss), max_steps=int(max_steps),
        r_grid=np.array(r_grid, dtype=float), threshold=float(threshold),
        runtime_s=time.perf_counter() - t0)


def _test_accuracy_after(model: nn.Module, split: Split, sw: SweepResult) -> list[float]:
    """Test accuracy after the gradient step of ``sw`` at every ``r`` (direction 0: the
    normalised negative gradient of the training loss, recomputed here)."""
    params = {k: p.detach() for k, p in params_of(model).items()}
    v = unit_gradient_direction(model, params, split.x_train, split.y_train, 1.0)
    dtype = next(iter(params.values())).dtype
    taus = torch.as_tensor(sw.tau[0], dtype=dtype, device=split.x_train.device)
    _, acc, _ = losses_along(model, params, v, taus, split.x_test, split.y_test)
    return [float(x) for x in acc.double().cpu().numpy()]


def converged_table(result: ConvergedSweepResult) -> str:
    """One Markdown row per (architecture, seed): steps to convergence, training loss, test
    accuracy, rho_a along the gradient, the onset and the test accuracy retained at r = 1."""
    rows = []
    j1 = int(np.searchsorted(result.r_grid, 1.0))
    for i, label in enumerate(result.labels):
        sw = result.sweeps[i]
        after = result.test_accuracy_after[i]
        rows.append([label.removesuffix(", gradient"), int(result.steps[i]),
                     bool(result.converged[i]), float(result.train_loss[i]),
                     float(result.test_accuracy[i]),
                     float(sw.rho_a[0]) if sw is not None else "-",
                     float(sw.onset[0]) if sw is not None else "-",
                     after[j1] if after is not None else "-"])
    return markdown_table(rows, ["model", "steps", "converged", "train loss", "test acc",
                                 "ρ_a (gradient)", "onset r*",
                                 f"test acc at r = {result.r_grid[j1]:.2f}"])
