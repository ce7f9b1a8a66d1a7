"""Contraction certificates and their measurement: log norms, Jacobians, rates, thresholds.

An update map :math:`x \\mapsto T(x)` *contracts* in a norm when
:math:`\\|T(x) - T(y)\\| \\le q\\,\\|x - y\\|` with :math:`q < 1`. This module holds what the
contraction chapters share:

- :func:`log_norm`: the matrix measure (logarithmic norm)
  :math:`\\mu_2(J) = \\lambda_{\\max}\\big((WJW^{-1} + (WJW^{-1})^\\top)/2\\big)` in the weighted
  metric :math:`\\|x\\|_w^2 = \\sum_i w_i \\|x_i\\|^2`, :math:`W = \\mathrm{diag}(\\sqrt w)`: a
  continuous-time system :math:`\\dot x = f(x)` contracts at rate :math:`c` when
  :math:`\\mu(\\partial f/\\partial x) \\le -c` everywhere;
- :func:`gd_contraction_factor`: :math:`\\max(|1 - \\eta\\mu|, |1 - \\eta L|)`, lambdified from
  :func:`boundbook.symbolic.contraction.gd_contraction_derivation` (never typed twice);
- :func:`update_jacobians`: Jacobians of an update map at a batch of points
  (``torch.func.jacrev`` under ``vmap``);
- :func:`empirical_contraction_rate`: iterate pairs of trajectories (batched) and fit the slope
  of :math:`\\log\\|x_t - y_t\\|` per step; the rate is :math:`e^{\\text{slope}}`;
- :func:`contraction_threshold`: the first step size on a batched sweep at which the iteration
  stops contracting (rate :math:`\\ge 1`).

Conventions: an update ``step(x)`` maps one point ``x`` of shape ``(n,)`` to ``(n,)``; the
functions here ``vmap`` it over batches. ``step_of_eta(x, eta)`` takes the step size as a
0-d tensor. A distance is *measurable* while it is finite and above ``rtol`` times the size of
the iterates (below it, rounding dominates ``x_t - y_t``): rates are fitted on the prefix of
the trajectory where it is; a pair whose distance overflows before two measurable points has
rate ``inf``, and one that falls below the floor at once has rate ``0``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import sympy as sp
import torch
from torch.func import jacrev, vmap

from boundbook.core.stats import bootstrap_interval
from boundbook.symbolic.contraction import gd_contraction_derivation

__all__ = [
    "RateEstimate",
    "contraction_threshold",
    "empirical_contraction_rate",
    "gd_contraction_factor",
    "log_norm",
    "pair_distances",
    "update_jacobians",
]

RTOL = 1e-12
"""Distances below ``RTOL * max(||x_t||, ||y_t||, 1)`` are rounding, not dynamics."""


# ----------------------------------------------------------------------------- log norm
def _expand_weights(weights: Any, n: int, blocks: Sequence[int] | None,
                    like: torch.Tensor) -> torch.Tensor:
    w = torch.as_tensor(weights, dtype=like.dtype, device=like.device)
    if blocks is not None:
        sizes = [int(b) for b in blocks]
        if sum(sizes) != n:
            raise ValueError(f"blocks {tuple(sizes)} sum to {sum(sizes)}, not to n = {n}")
        if w.shape[-1] != len(sizes):
            raise ValueError(f"{w.shape[-1]} weights for {len(sizes)} blocks")
        w = torch.repeat_interleave(w, torch.tensor(sizes, device=like.device), dim=-1)
    if w.shape[-1] != n:
        raise ValueError(f"{w.shape[-1]} weights for n = {n} coordinates (pass blocks=...)")
    if bool((w <= 0).any()):
        raise ValueError("weights must be positive")
    return w


def log_norm(J: Any, weights: Any = None, blocks: Sequence[int] | None = None) -> torch.Tensor:
    """The matrix measure :math:`\\mu_2` of ``J`` (shape ``(..., n, n)``) in the metric
    :math:`\\|x\\|_w^2 = \\sum_i w_i \\|x_i\\|^2`.

    ``weights``: ``None`` (Euclidean), one positive weight per coordinate (shape ``(n,)`` or
    broadcastable ``(..., n)``), or one per block when ``blocks`` (a tuple of block sizes
    summing to ``n``) is given. Returns a tensor of shape ``(...)``.
    """
    J = torch.as_tensor(J)
    if not J.is_floating_point():
        J = J.to(torch.float64)
    n = J.shape[-1]
    if J.shape[-2] != n:
        raise ValueError(f"J must be square in its last two dimensions, got {tuple(J.shape)}")
    if weights is not None:
        s = torch.sqrt(_expand_weights(weights, n, blocks, J))
        J = s.unsqueeze(-1) * J / s.unsqueeze(-2)  # W J W^-1
    elif blocks is not None:
        raise ValueError("blocks given without weights")
    sym = (J + J.transpose(-1, -2)) / 2
    return torch.linalg.eigvalsh(sym)[..., -1]


# ----------------------------------------------------------------------- the GD factor
def _max(a: Any, b: Any) -> Any:
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        dtype = torch.result_type(a, b)
        return torch.maximum(torch.as_tensor(a, dtype=dtype), torch.as_tensor(b, dtype=dtype))
    out = np.maximum(a, b)
    return float(out) if np.ndim(out) == 0 else out


def _abs(a: Any) -> Any:
    return a.abs() if isinstance(a, torch.Tensor) else np.abs(a)


@cache
def _factor_fn() -> Callable[..., Any]:
    d = gd_contraction_derivation()
    return sp.lambdify(d.symbols, d.factor, modules=[{"Max": _max, "Abs": _abs}])


def gd_contraction_factor(mu: Any, L: Any, eta: Any) -> Any:
    """:math:`\\max(|1 - \\eta\\mu|, |1 - \\eta L|)`: GD's contraction factor on a
    :math:`\\mu`-strongly convex, :math:`L`-smooth loss (numbers, arrays or tensors,
    broadcast)."""
    return _factor_fn()(mu, L, eta)


# ------------------------------------------------------------------------- Jacobians
def update_jacobians(step: Callable[[torch.Tensor], torch.Tensor],
                     points: torch.Tensor) -> torch.Tensor:
    """Jacobians :math:`\\partial\\,\\mathrm{step}/\\partial x` at each row of ``points``
    (shape ``(B, n)``); returns ``(B, m, n)``."""
    return vmap(jacrev(step))(points)


# ----------------------------------------------------------------------------- rates
@dataclass(frozen=True)
class RateEstimate:
    """Empirical contraction rates of pairs of trajectories.

    ``rates``: per pair, :math:`e^{\\text{slope}}` of the least-squares fit of
    :math:`\\log\\|x_t - y_t\\|` against ``t`` on the measurable prefix; ``median`` of the
    finite-or-infinite rates; ``interval``: 95% bootstrap interval of the median, pairs as
    the unit of resampling; ``worst_step``: per pair, the largest one-step ratio
    :math:`\\|x_{t+1}-y_{t+1}\\|/\\|x_t-y_t\\|` on the measurable prefix (what a per-step
    certificate bounds); ``used``: per pair, the number of measurable points fitted.
    """

    rates: np.ndarray
    median: float
    interval: tuple[float, float]
    worst_step: np.ndarray
    used: np.ndarray

    @property
    def n_pairs(self) -> int:
        return int(self.rates.size)


def pair_distances(step: Callable[[torch.Tensor], torch.Tensor], x0: torch.Tensor,
                   y0: torch.Tensor, steps: int, rtol: float = RTOL, batched: bool = False
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Iterate ``step`` from the pairs ``(x0[i], y0[i])`` (shapes ``(B, n)``) for ``steps``
    steps; return the distances ``d[t, i]`` (``t = 0..steps``) and the rounding floor
    ``rtol * max(||x_t||, ||y_t||, 1)`` with the same shape. ``batched``: ``step`` already
    maps a batch ``(B, n)`` to ``(B, n)`` row by row (no ``vmap``: faster for matrix code)."""
    g = step if batched else vmap(step)
    b = x0.shape[0]

    def f2(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = g(torch.cat([x, y]))  # one call for both trajectories of every pair
        return z[:b], z[b:]

    x, y = x0, y0
    ds, floors = [], []
    for t in range(steps + 1):
        ds.append(torch.linalg.vector_norm(x - y, dim=-1))
        scale = torch.maximum(torch.linalg.vector_norm(x, dim=-1),
                              torch.linalg.vector_norm(y, dim=-1))
        floors.append(rtol * torch.clamp(torch.nan_to_num(scale, nan=math.inf), min=1.0))
        if t < steps:
            x, y = f2(x, y)
    return (torch.stack(ds).detach().cpu().numpy(), torch.stack(floors).detach().cpu().numpy())


def _fit(d: np.ndarray, floor: np.ndarray) -> tuple[float, float, int]:
    """Rate, worst one-step ratio and points used for one pair's distances."""
    ok = np.isfinite(d) & (d > floor)
    n = int(np.argmin(ok)) if not ok.all() else d.size  # the measurable prefix
    if n < 2:
        if n == 1 and not np.isfinite(d[1]):
            return math.inf, math.inf, n
        return (0.0, 0.0, n) if n == 1 else (math.nan, math.nan, n)
    t = np.arange(n, dtype=float)
    logd = np.log(d[:n])
    slope = float(np.polyfit(t, logd, 1)[0])
    worst = float(np.exp(np.max(np.diff(logd))))
    if n < d.size and not np.isfinite(d[n]):  # it overflowed after the prefix: diverging
        worst = math.inf
    return math.exp(slope), worst, n


def _estimate(d: np.ndarray, floor: np.ndarray, interval: bool = True) -> RateEstimate:
    fits = [_fit(d[:, i], floor[:, i]) for i in range(d.shape[1])]
    rates = np.array([f[0] for f in fits])
    worst = np.array([f[1] for f in fits])
    used = np.array([f[2] for f in fits])
    good = rates[~np.isnan(rates)]
    median = float(np.median(good)) if good.size else math.nan
    if interval and good.size > 1:
        idx = list(range(good.size))
        interval = bootstrap_interval([idx], lambda ii: float(np.median(good[ii])))
    else:
        interval = (median, median)
    return RateEstimate(rates, median, interval, worst, used)


def empirical_contraction_rate(step: Callable[[torch.Tensor], torch.Tensor],
                               x0: torch.Tensor, y0: torch.Tensor, steps: int,
                               rtol: float = RTOL, batched: bool = False) -> RateEstimate:
    """The contraction rate of ``step`` measured on the pairs ``(x0[i], y0[i])`` (shapes
    ``(B, n)``, iterated together, batched): per pair :math:`e^{\\text{slope}}` of
    :math:`\\log\\|x_t - y_t\\|`, with the median and its 95% interval over pairs
    (``batched``: as in :func:`pair_distances`)."""
    if steps < 1:
        raise ValueError("steps must be at least 1")
    d, floor = pair_distances(step, x0, y0, steps, rtol, batched)
    return _estimate(d, floor)


def contraction_threshold(step_of_eta: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
                          x0: torch.Tensor, y0: torch.Tensor, etas: Sequence[float],
                          steps: int, rtol: float = RTOL, batched: bool = False) -> float:
    """The first step size of the sweep ``etas`` (sorted increasingly) at which the median
    rate over the pairs ``(x0[i], y0[i])`` reaches 1 (the iteration stops contracting);
    ``inf`` when every step size of the sweep contracts. All step sizes run at once.
    ``batched``: ``step_of_eta(x, eta)`` maps a batch ``(B, n)`` with step sizes ``(B,)``."""
    etas_np = np.asarray(etas, dtype=float)
    if etas_np.ndim != 1 or not np.all(np.diff(etas_np) > 0):
        raise ValueError("etas must be a strictly increasing 1-d sequence")
    if steps < 1:
        raise ValueError("steps must be at least 1")
    eta_t = torch.as_tensor(etas_np, dtype=x0.dtype, device=x0.device)
    k, (b, n) = eta_t.numel(), x0.shape
    # flatten (eta, pair) into one batch: step sizes ride along as a state column
    xs = torch.cat([x0.repeat(k, 1), eta_t.repeat_interleave(b)[:, None]], dim=1)
    ys = torch.cat([y0.repeat(k, 1), eta_t.repeat_interleave(b)[:, None]], dim=1)

    def step(s: torch.Tensor) -> torch.Tensor:
        if batched:
            return torch.cat([step_of_eta(s[:, :n], s[:, n]), s[:, n:]], dim=1)
        return torch.cat([step_of_eta(s[:n], s[n]), s[n:]])

    d, floor = pair_distances(step, xs, ys, steps, rtol, batched)
    for j in range(k):
        est = _estimate(d[:, j * b:(j + 1) * b], floor[:, j * b:(j + 1) * b], interval=False)
        if not est.median < 1.0:  # >= 1, inf or nan (no measurable contraction)
            return float(etas_np[j])
    return math.inf
