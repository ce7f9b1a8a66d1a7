r"""The hand-written Adam of the learning-rate spike tests (paper Secs. 6.1 and 6.5).

One :class:`AdamRun` is one training run (resumable and forkable); :func:`spike_grid` runs a
grid of them, (method, LR setting, seed), sharing the steps before the settings' learning
rates first differ. The Adam moments and step are :mod:`boundbook.numeric.optim`'s
(``torch.optim.Adam``'s kernels). Methods: ``"adam"`` (plain), ``"clip"`` (Adam fed the
gradient clipped to global norm 1) and ``"radius"`` (the :math:`\rho_a` controller of
Prop. 5.2: the update is scaled to length at most :math:`\rho_a` along its own direction).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from boundbook.chapters.ghosts_of_softmax.training import (
    accuracy,
    batch_schedule,
    mean_ce,
    spread_radius,
)
from boundbook.numeric.flat import flat_to_params, params_to_flat
from boundbook.numeric.optim import adam_moments_, adam_update
from boundbook.problems.data import Split

__all__ = ["METHODS", "AdamRun", "spike_factor", "spike_grid"]

Tensor = torch.Tensor

METHODS = ("adam", "clip", "radius")
TRACE_KEYS = ("r", "r_proposed", "tau", "rho_a")


def global_norm(ts: Sequence[Tensor]) -> Tensor:
    """Euclidean norm of all tensors together, accumulated in float64."""
    return torch.linalg.vector_norm(
        torch.stack([torch.linalg.vector_norm(t, dtype=torch.float64) for t in ts])
    )


def spike_factor(multiplier: float, spike_step: int,
                  duration: int | None) -> Callable[[int], float]:
    """LR factor of step ``k``: ``multiplier`` for ``spike_step <= k < spike_step + duration``
    (``duration=None``: held to the end of the run), 1 otherwise."""

    def factor(k: int) -> float:
        inside = k >= spike_step and (duration is None or k < spike_step + duration)
        return float(multiplier) if inside else 1.0

    return factor


class AdamRun:
    r"""State of one hand-written-Adam run (shared by the spike tests); resumable and forkable.

    Step ``k``: LR :math:`\eta_k` = ``base_lr * lr_factor(k)``; batch ``batches[k]`` (``None``:
    the full training split); gradient :math:`g` (``"clip"``: :math:`g \min(1, 1/(\|g\|+10^{-6}))`);
    Adam proposal :math:`p = \eta_k \hat m / (\sqrt{\hat s} + \epsilon)`, :math:`\tau = \|p\|`;
    ``"radius"``: :math:`\rho_a` from one JVP along :math:`p/\tau` over the full training split
    and :math:`p \leftarrow p \min(1, \rho_a/\tau)`; :math:`\theta \leftarrow \theta - p`.
    :math:`\rho_a` is also computed every ``trace_every`` steps when ``trace`` (diagnostic only).

    All parameters live in one flat buffer (the model's Parameters are views of it), so the
    Adam update is :func:`boundbook.numeric.optim.adam_moments_` and
    :func:`~boundbook.numeric.optim.adam_update` on whole vectors (elementwise, so equal to the
    per-tensor results); :math:`\|p\|` is accumulated per tensor in float64.  A non-finite
    loss / update / parameter stops the run (``div_step``); it is recorded, never raised.
    """

    def __init__(self, init: nn.Module, steps: int) -> None:
        self.model = copy.deepcopy(init).train()
        self.flat = params_to_flat({k: p.detach() for k, p in self.model.named_parameters()})
        self._bind()
        self.m_buf = torch.zeros_like(self.flat)
        self.v_buf = torch.zeros_like(self.flat)
        self.k = 0
        self.div_step = -1
        self.max_r = float("nan")
        self.losses = np.full(steps, np.nan)
        self.trace = {key: np.full(steps, np.nan) for key in TRACE_KEYS}

    def _bind(self) -> None:
        self.named = dict(self.model.named_parameters())
        self.numels = [p.numel() for p in self.named.values()]
        views = flat_to_params(self.flat, self.named)
        for p, view in zip(self.named.values(), views.values(), strict=True):
            p.data = view

    def fork(self) -> AdamRun:
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
                loss = mean_ce(model(x), y)
            else:
                idx = batches[k].to(x.device)
                loss = mean_ce(model(x[idx]), y[idx])
            self.losses[k] = float(loss.detach())
            if not math.isfinite(self.losses[k]):
                self.div_step = k
                break
            grads = torch.autograd.grad(loss, params)
            with torch.no_grad():
                g = params_to_flat(dict(zip(named, grads, strict=True)))
                if method == "clip":  # == torch.nn.utils.clip_grad_norm_(max_norm=1.0)
                    coef = torch.clamp(1.0 / (global_norm(grads) + 1e-6), max=1.0)
                    g = g * coef.to(g.dtype)
                adam_moments_(self.m_buf, self.v_buf, g, b1, b2)
                upd = adam_update(self.m_buf, self.v_buf, k + 1, lr, b1, b2, eps)
                tau = float(global_norm(upd.split(numels)))
                if not math.isfinite(tau):
                    self.div_step = k
                    break
                need_rho = method == "radius" or (trace and k % trace_every == 0)
                if need_rho and tau > 0:
                    rho, a = spread_radius(model, x, flat_to_params(upd / tau, named))
                    finite_a = bool(torch.isfinite(a).all())
                    if method == "radius":
                        if not finite_a:  # the controller cannot act on non-finite slopes
                            self.div_step = k
                            break
                        scale = min(1.0, rho / tau)
                        if scale < 1.0:
                            upd = upd * scale
                    tau_applied = float(global_norm(upd.split(numels)))
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
                train_loss = float(mean_ce(model(split.x_train), split.y_train))
                if not math.isfinite(train_loss):
                    train_loss = float("inf")
            test_acc = accuracy(model(split.x_test), split.y_test)
        model.train()
        return {"train_loss": train_loss, "test_acc": test_acc, "div_step": self.div_step,
                "max_r": self.max_r, "loss": self.losses, "trace": self.trace}


def _shared_prefix(settings: Sequence[tuple[float, Callable[[int], float]]], steps: int) -> int:
    """Number of leading steps whose LR ``base_lr * lr_factor(k)`` is identical in all
    settings (those steps are computed once and the run is then forked per setting)."""
    lrs = np.array([[lr * factor(k) for k in range(steps)] for lr, factor in settings])
    differ = np.flatnonzero((lrs != lrs[:1]).any(axis=0))
    return int(differ[0]) if differ.size else steps


def spike_grid(
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
    """:class:`AdamRun` for every (seed, method, setting ``(base_lr, lr_factor)``).

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
        if m not in METHODS:
            raise ValueError(f"unknown method {m!r}")
    shape = (len(methods), len(settings), len(seeds))
    out: dict[str, np.ndarray] = {
        "final_train_loss": np.full(shape, np.inf),
        "final_test_acc": np.zeros(shape),
        "divergence_step": np.full(shape, -1, dtype=np.int64),
        "max_r": np.full(shape, np.nan),
        "loss_curve": np.full((*shape, steps), np.nan),
    }
    for key in (*TRACE_KEYS, "loss"):
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
            stem = AdamRun(init, steps)
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
                    for key in TRACE_KEYS:
                        out[f"trace_{key}"][mi, li] = run["trace"][key]
                    out["trace_loss"][mi, li] = run["loss"]
                if bar is not None:
                    bar.update(1)
    if bar is not None:
        bar.close()
    return out
