"""Step-size sweeps: many runs of one update rule at once, with divergence recorded as data.

A sweep runs a pure update :math:`s_{t+1} = \\mathrm{step}(s_t, \\eta)` for every step size
:math:`\\eta` in a grid (and every starting point, when ``theta0`` is a batch), batched with
``torch.func.vmap`` so a grid of 64 step sizes costs one batched call per step instead of 64
Python loops. The state :math:`s` is one flat tensor; momentum methods pack
:math:`[\\theta, m]` into it (:func:`momentum_state`, :func:`momentum_loss`).

Divergence is a measurement, not an exception: a run *diverges* at the first step where its
loss is non-finite or exceeds ``blowup`` times its initial loss; from then on its state is
frozen (so no inf/NaN spreads through the batch) and ``diverged_at`` records the step. A run
*grew* when its final loss exceeds its initial loss (a finer test near the edge, where growth
is slow: at :math:`\\eta = (1 + \\epsilon) \\cdot 2/\\lambda` the unstable component grows like
:math:`(1 + 2\\epsilon)^t`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch.func import grad, vmap

from boundbook.numeric.divergence import BLOWUP

Step = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
Loss = Callable[[torch.Tensor], torch.Tensor]

__all__ = [
    "SweepResult",
    "Threshold",
    "divergence_threshold",
    "ema_momentum_step",
    "gd_step",
    "heavy_ball_step",
    "momentum_loss",
    "momentum_state",
    "sam_step",
    "step_size_sweep",
]


@dataclass(frozen=True)
class SweepResult:
    """Outcome of :func:`step_size_sweep`.

    Arrays are indexed ``[seed, eta]`` (``seed`` has length 1 for a single start):
    ``diverged`` (bool), ``diverged_at`` (first divergent step, -1 if never), ``grew``
    (final loss > initial loss), ``initial_loss``, ``final_loss`` (for a diverged run: its last
    loss before divergence), ``losses`` ``[record, seed, eta]`` every ``record_every`` steps
    (frozen after divergence), and ``recorded_steps``.
    """

    etas: np.ndarray
    diverged: np.ndarray
    diverged_at: np.ndarray
    grew: np.ndarray
    initial_loss: np.ndarray
    final_loss: np.ndarray
    losses: np.ndarray
    recorded_steps: np.ndarray
    steps: int
    blowup: float

    def first_divergent(self, criterion: str = "diverged") -> np.ndarray:
        """Per start, the smallest step size that diverged (``inf`` if none did)."""
        flags = self._flags(criterion)
        out = np.full(flags.shape[0], np.inf)
        for s in range(flags.shape[0]):
            hit = np.flatnonzero(flags[s])
            if hit.size:
                out[s] = self.etas[hit[0]]
        return out

    def _flags(self, criterion: str) -> np.ndarray:
        if criterion == "diverged":
            return self.diverged
        if criterion == "grew":
            return self.grew | self.diverged
        raise ValueError(f"criterion must be 'diverged' or 'grew', got {criterion!r}")


def step_size_sweep(step: Step, loss: Loss, theta0: torch.Tensor,
                    etas: Sequence[float] | torch.Tensor | np.ndarray, steps: int, *,
                    blowup: float = BLOWUP, record_every: int = 1) -> SweepResult:
    """Run ``step`` from ``theta0`` for ``steps`` steps at every step size in ``etas``.

    ``theta0`` is one flat starting state ``[dim]`` or a batch ``[n_starts, dim]``; every start
    is run at every step size (one vmapped batch of ``n_starts * len(etas)`` runs).
    """
    if steps < 1 or record_every < 1:
        raise ValueError("steps and record_every must be positive")
    starts = theta0.detach()[None] if theta0.dim() == 1 else theta0.detach()
    n_s = starts.shape[0]
    eta = torch.as_tensor(np.asarray(etas, dtype=np.float64), dtype=starts.dtype,
                          device=starts.device).reshape(-1)
    n_e = eta.numel()
    state = starts[:, None, :].expand(n_s, n_e, starts.shape[1]).reshape(n_s * n_e, -1).clone()
    eta_b = eta.repeat(n_s)
    batched_step, batched_loss = vmap(step), vmap(loss)
    loss0 = batched_loss(state)
    level = blowup * loss0.abs().clamp_min(torch.finfo(state.dtype).tiny)
    diverged = ~torch.isfinite(loss0)
    at = torch.where(diverged, 0, -1)
    cur = torch.where(diverged, torch.zeros_like(loss0), loss0)
    records, rec_steps = [cur.clone()], [0]
    for t in range(1, steps + 1):
        new = batched_step(state, eta_b)
        new_loss = batched_loss(new)
        bad = ~torch.isfinite(new_loss) | (new_loss > level) | \
            ~torch.isfinite(new).all(dim=1)
        fresh = bad & ~diverged
        at = torch.where(fresh, t, at)
        diverged = diverged | bad
        state = torch.where(diverged[:, None], state, new)
        cur = torch.where(diverged, cur, new_loss)
        if t % record_every == 0 or t == steps:
            records.append(cur.clone())
            rec_steps.append(t)

    def shaped(x: torch.Tensor) -> np.ndarray:
        return x.detach().cpu().numpy().reshape(n_s, n_e)

    l0 = torch.where(torch.isfinite(loss0), loss0, torch.zeros_like(loss0))
    return SweepResult(
        etas=eta.cpu().numpy().astype(np.float64), diverged=shaped(diverged),
        diverged_at=shaped(at).astype(np.int64), grew=shaped(cur > l0) | shaped(diverged),
        initial_loss=shaped(l0).astype(np.float64), final_loss=shaped(cur).astype(np.float64),
        losses=np.stack([shaped(r) for r in records]).astype(np.float64),
        recorded_steps=np.asarray(rec_steps), steps=int(steps), blowup=float(blowup))


@dataclass(frozen=True)
class Threshold:
    """The divergence threshold bracketed by sweeps: ``last_stable < eta* <= first_diverged``.

    ``found`` is False when nothing in ``[lo, hi]`` diverged (``first_diverged`` is then
    ``hi`` and ``estimate`` is ``nan``); ``estimate`` is the bracket's midpoint.
    """

    last_stable: float
    first_diverged: float
    found: bool
    sweeps: tuple[SweepResult, ...]

    @property
    def estimate(self) -> float:
        return 0.5 * (self.last_stable + self.first_diverged) if self.found else float("nan")

    @property
    def width(self) -> float:
        return self.first_diverged - self.last_stable


def divergence_threshold(step: Step, loss: Loss, theta0: torch.Tensor, lo: float, hi: float,
                         *, n: int = 64, rounds: int = 2, steps: int = 1000,
                         blowup: float = BLOWUP, criterion: str = "diverged") -> Threshold:
    """Bracket the smallest divergent step size in ``[lo, hi]`` (one start ``theta0``).

    Round 1 sweeps ``n`` evenly spaced step sizes; each further round sweeps ``n`` points
    inside the bracket [last stable, first divergent] of the previous round, so the bracket
    shrinks by about ``n`` per round. ``criterion``: ``"diverged"`` (blow-up) or ``"grew"``.
    """
    if theta0.dim() != 1:
        raise ValueError("divergence_threshold takes one start (a 1-D state)")
    a, b = float(lo), float(hi)
    sweeps: list[SweepResult] = []
    last_stable, first_div, found = a, b, False
    for _ in range(max(1, rounds)):
        grid = np.linspace(a, b, n)
        res = step_size_sweep(step, loss, theta0, grid, steps, blowup=blowup,
                              record_every=steps)
        sweeps.append(res)
        flags = res._flags(criterion)[0]
        hit = np.flatnonzero(flags)
        if hit.size == 0:
            last_stable = float(grid[-1])
            break
        found = True
        i = int(hit[0])
        first_div = float(grid[i])
        last_stable = float(grid[i - 1]) if i > 0 else float(a)
        if i == 0:
            break
        a, b = last_stable, first_div
    return Threshold(last_stable, first_div if found else float(hi), found, tuple(sweeps))


def gd_step(loss: Loss) -> Step:
    """Gradient descent, :math:`\\theta \\leftarrow \\theta - \\eta \\nabla L(\\theta)`."""
    g = grad(loss)

    def step(theta: torch.Tensor, eta: torch.Tensor) -> torch.Tensor:
        return theta - eta * g(theta)

    return step


def sam_step(loss: Loss, rho: float, normalised: bool = False) -> Step:
    """Sharpness-aware minimisation, :math:`\\theta \\leftarrow \\theta - \\eta\\nabla L(\\theta +
    \\rho\\,\\nabla L(\\theta))` (unnormalised) or with :math:`\\rho\\,g/\\|g\\|` (normalised)."""
    g = grad(loss)

    def step(theta: torch.Tensor, eta: torch.Tensor) -> torch.Tensor:
        d = g(theta)
        if normalised:
            d = d / d.norm().clamp_min(torch.finfo(d.dtype).tiny)
        return theta - eta * g(theta + rho * d)

    return step


def momentum_state(theta0: torch.Tensor) -> torch.Tensor:
    """Pack ``[theta, m = 0]`` (last dimension doubled) for the momentum updates."""
    return torch.cat([theta0, torch.zeros_like(theta0)], dim=-1)


def momentum_loss(loss: Loss) -> Loss:
    """The loss of the ``theta`` half of a packed momentum state."""
    return lambda state: loss(state[: state.shape[-1] // 2])


def ema_momentum_step(loss: Loss, beta: float, precond: torch.Tensor | None = None) -> Step:
    """EMA momentum with a frozen diagonal preconditioner (Adam's update with P fixed):
    :math:`m \\leftarrow \\beta m + (1-\\beta)\\nabla L(\\theta)`,
    :math:`\\theta \\leftarrow \\theta - \\eta P^{-1} m`. State ``[theta, m]``."""
    g = grad(loss)

    def step(state: torch.Tensor, eta: torch.Tensor) -> torch.Tensor:
        theta, m = state.chunk(2)
        m = beta * m + (1 - beta) * g(theta)
        upd = m if precond is None else m / precond
        return torch.cat([theta - eta * upd, m])

    return step


def heavy_ball_step(loss: Loss, beta: float) -> Step:
    """Heavy ball as in ``torch.optim.SGD(momentum=beta)``: :math:`v \\leftarrow \\beta v +
    \\nabla L(\\theta)`, :math:`\\theta \\leftarrow \\theta - \\eta v`. State ``[theta, v]``."""
    g = grad(loss)

    def step(state: torch.Tensor, eta: torch.Tensor) -> torch.Tensor:
        theta, v = state.chunk(2)
        v = beta * v + g(theta)
        return torch.cat([theta - eta * v, v])

    return step
