"""Packed step-size sweeps: several quadratics and momentum methods in one vmapped batch, and
the divergence bracket of each.

**Packing.** To sweep several quadratics (or several momentum settings) in one vmapped batch,
each run carries, frozen in its state, which quadratic it is on (a one-hot vector), its
method and its own affine step-size map :math:`\\eta = \\eta_{lo} + u\\,w` of the shared grid
:math:`u \\in [0, 1]`; only :math:`x` and the momentum buffer are updated (:class:`Pack`). The
update uses the quadratic's gradient :math:`A x` in closed form, which halves the cost of a
step against autodiff; the tests check that it reproduces the library's
:func:`boundbook.numeric.sweep.gd_step` and ``heavy_ball_step`` (``torch.func.grad``) to
rounding.

**Bracketing** (:func:`bracket_thresholds`): the *measured threshold* of a setting is the
midpoint of the bracket [largest stable step, smallest divergent step] after ``rounds`` sweeps
of ``n`` step sizes, each sweep inside the previous bracket (as
:func:`boundbook.numeric.sweep.divergence_threshold` does). Divergence is the harness's rule
(:mod:`boundbook.numeric.divergence`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from boundbook.chapters.gd_quadratic.quadratics import Quadratic
from boundbook.numeric.sweep import step_size_sweep

__all__ = ["DTYPE", "METHODS", "Brackets", "Pack", "Setting", "bracket_thresholds"]

DTYPE = torch.float64


METHODS = ("gd", "heavy_ball", "nesterov")


@dataclass(frozen=True)
class Setting:
    """One family of runs: a method with momentum ``beta`` on quadratic number ``quad``."""

    quad: int
    method: str
    beta: float = 0.0

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {self.method!r}")


@dataclass(frozen=True)
class Pack:
    """Quadratics and momentum methods in one vmapped batch.

    State ``[x (D) | v (D) | one-hot (q) | beta | nesterov | eta_lo | eta_width]``; the update
    is PyTorch's ``SGD(momentum=beta, nesterov=...)`` on the selected quadratic:
    :math:`g = A_q x`, :math:`v^+ = \\beta v + g`, :math:`x^+ = x - \\eta d` with
    :math:`d = v^+` (heavy ball; gradient descent when :math:`\\beta = 0`) or
    :math:`d = g + \\beta v^+` (Nesterov), and :math:`\\eta = \\eta_{lo} + u\\,\\eta_{width}`
    for the sweep's grid value :math:`u`. Everything after ``v`` is frozen.
    """

    A: torch.Tensor  # [q, D, D], zero-padded
    X0: torch.Tensor  # [q, D]

    @property
    def q(self) -> int:
        return int(self.A.shape[0])

    @property
    def D(self) -> int:
        return int(self.A.shape[1])

    @classmethod
    def of(cls, quads: Sequence[Quadratic]) -> Pack:
        D = max(q.dim for q in quads)
        A = torch.zeros(len(quads), D, D, dtype=DTYPE)
        X0 = torch.zeros(len(quads), D, dtype=DTYPE)
        for i, q in enumerate(quads):
            A[i, : q.dim, : q.dim] = torch.as_tensor(q.A, dtype=DTYPE)
            X0[i, : q.dim] = torch.as_tensor(q.x0, dtype=DTYPE)
        return cls(A, X0)

    def _parts(self, s: torch.Tensor) -> tuple[torch.Tensor, ...]:
        D, q = self.D, self.q
        return s[:D], s[D: 2 * D], s[2 * D: 2 * D + q], s[2 * D + q:]

    def loss(self, s: torch.Tensor) -> torch.Tensor:
        """:math:`\\tfrac12 x^\\top A_q x` (the minimiser is 0, :math:`L^* = 0`)."""
        x, _, onehot, _ = self._parts(s)
        return 0.5 * (onehot @ (self.A @ x)) @ x

    def step(self, s: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        x, v, onehot, rest = self._parts(s)
        beta, nesterov, lo, width = rest[0], rest[1], rest[2], rest[3]
        g = onehot @ (self.A @ x)  # the gradient of 1/2 x^T A_q x
        v = beta * v + g
        direction = v + nesterov * (g + beta * v - v)
        return torch.cat([x - (lo + u * width) * direction, v, s[2 * self.D:]])

    def starts(self, settings: Sequence[Setting], lo: Sequence[float], width: Sequence[float],
               x0: torch.Tensor | None = None) -> torch.Tensor:
        """Packed starts; ``x0`` ``[k, D]`` overrides the quadratics' own starting points."""
        eye = torch.eye(self.q, dtype=DTYPE)
        xs = [self.X0[st.quad] for st in settings] if x0 is None else list(x0)
        rows = [torch.cat([x, torch.zeros(self.D, dtype=DTYPE), eye[st.quad],
                           torch.tensor([st.beta, float(st.method == "nesterov"), a, w],
                                        dtype=DTYPE)])
                for st, x, a, w in zip(settings, xs, lo, width, strict=True)]
        return torch.stack(rows)


@dataclass(frozen=True)
class Brackets:
    """Per setting, the divergence bracket ``last_stable < eta_c <= first_diverged``.

    ``found`` is False when no bracket was established (nothing diverged in the range, or a
    later round's lowest step already diverged). ``grid_etas`` / ``grid_diverged``: the first
    round's step sizes and outcomes (for figures); ``runs``: total runs swept.
    """

    last_stable: np.ndarray
    first_diverged: np.ndarray
    found: np.ndarray
    grid_etas: np.ndarray
    grid_diverged: np.ndarray
    rounds: int
    runs: int

    @property
    def estimate(self) -> np.ndarray:
        return np.where(self.found, 0.5 * (self.last_stable + self.first_diverged), np.nan)


def bracket_thresholds(pack: Pack, settings: Sequence[Setting], lo: np.ndarray,
                       hi: np.ndarray, *, n: int, rounds: int, steps: int, first_steps: int,
                       blowup: float) -> Brackets:
    """Bracket the smallest divergent step of every setting, all settings in one vmapped
    sweep per round, each round inside the previous bracket (``n`` steps sizes per setting).

    The first round runs only ``first_steps`` steps, to place the bracket: a run that
    diverges within them diverges within ``steps``, but one that survives them may not, so
    the next round starts two grid points below the last survivor. Later rounds run the full
    ``steps``; if the lowest step of such a round diverges, the setting has no bracket.
    """
    lo, hi = np.asarray(lo, float).copy(), np.asarray(hi, float).copy()
    k = lo.size
    last, first, found = lo.copy(), hi.copy(), np.zeros(k, bool)
    active = np.ones(k, bool)
    u = np.linspace(0.0, 1.0, n)
    grid_e = grid_d = None
    runs = 0
    for r in range(rounds):
        horizon = first_steps if r == 0 else steps
        res = step_size_sweep(pack.step, pack.loss, pack.starts(settings, lo, hi - lo), u,
                              horizon, blowup=blowup, record_every=horizon)
        runs += res.diverged.size
        etas = lo[:, None] + u[None, :] * (hi - lo)[:, None]
        if r == 0:
            grid_e, grid_d = etas, res.diverged.copy()
        for i in np.flatnonzero(active):
            hit = np.flatnonzero(res.diverged[i])
            j = int(hit[0]) if hit.size else -1
            if j <= 0:  # nothing diverged, or the bracket's low end already did
                found[i], active[i] = False, False
                continue
            found[i] = True
            first[i] = etas[i, j]
            back = 2 if (r == 0 and first_steps < steps) else 1
            last[i] = etas[i, max(j - back, 0)]
            lo[i], hi[i] = last[i], first[i]
        if not active.any():
            break
    if rounds == 1 and first_steps < steps:
        raise ValueError("one round with a shorter first horizon brackets nothing")
    return Brackets(last, first, found, grid_e, grid_d, rounds, runs)
