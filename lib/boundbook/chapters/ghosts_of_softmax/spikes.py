r"""Learning-rate spike tests (paper Secs. 6.1 and 6.5): plain Adam, Adam with gradient-norm
clipping and the :math:`\rho_a` controller of Prop. 5.2 under a spike held for the rest of the
run (:func:`spike_test`, Fig. 6) and under a single-step spike (:func:`archgrid_spike_test`,
the protocol of Table 1). The runs themselves are :mod:`.adam_runs`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from boundbook.chapters.ghosts_of_softmax.adam_runs import METHODS, spike_factor, spike_grid
from boundbook.chapters.ghosts_of_softmax.training import JsonResult, layer_sizes
from boundbook.problems.data import Split
from boundbook.problems.models import mlp

__all__ = ["PAPER_TABLE1_MLP_LN", "ArchgridResult", "SpikeResult", "archgrid_spike_test",
           "spike_test"]

#: Paper's Table 1, MLP+LN row: median final test accuracy at a 10 000x spike (5 seeds).
PAPER_TABLE1_MLP_LN: dict[str, float] = {"adam": 0.446, "clip": 0.515, "radius": 0.939}


class SeedStats:
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
class SpikeResult(SeedStats, JsonResult):
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
    methods: Sequence[str] = METHODS,
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
    factor = spike_factor(multiplier, spike_step, None)

    def make_init(seed: int) -> nn.Module:
        return mlp(layer_sizes(split, hidden), activation, seed=seed, dtype=split.x_train.dtype,
                   device=device)

    out = spike_grid(split, methods, seeds, [(float(lr), factor) for lr in lrs], make_init,
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
class ArchgridResult(SeedStats, JsonResult):
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
    methods: Sequence[str] = METHODS,
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
    repository script; Sec. 6.1 / Fig. 6 hold the spike instead; see NOTES.md).  Methods as
    in :func:`spike_test`: plain Adam; Adam on :math:`g \min(1, 1/(\|g\|+10^{-6}))`; and the
    :math:`\rho_a` controller of Prop. 5.2 -- :math:`p` = the Adam update, :math:`\tau = \|p\|`,
    :math:`\rho_a` from one JVP along :math:`p/\|p\|` over the full training split, applied
    :math:`p \min(1, \rho_a/\tau)` -- NOT the repository's gradient-radius heuristic (which
    rescales the LR by :math:`\min(\eta\|g\|, \rho_a(-g/\|g\|))/(\eta\|g\|)`; see NOTES.md).

    A run is divergent if its final full-training loss exceeds ``divergence_loss`` (10) or it
    produced non-finite values (recorded, never raised).  See :class:`ArchgridResult`.
    """
    t0 = time.perf_counter()
    split = split.to(device)
    methods = list(methods)
    mults = np.asarray(multipliers, dtype=np.float64)
    seeds = [int(s) for s in seeds]
    settings = [(float(base_lr), spike_factor(float(m), spike_step, 1)) for m in mults]

    def make_init(seed: int) -> nn.Module:
        return mlp(layer_sizes(split, hidden), "gelu", layernorm=True, seed=seed,
                   dtype=split.x_train.dtype, device=device)

    out = spike_grid(split, methods, seeds, settings, make_init, None, steps, betas, eps,
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
