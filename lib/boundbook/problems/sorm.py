r"""Second-order regression models (SORM), batched: the model, its loss, gradient and Hessian.

The model of Agarwala, Pedregosa & Pennington (arXiv 2210.04860), quadratic in the parameters
:math:`\theta \in \mathbb{R}^d`:

.. math:: z(\theta) = z_0 + J\theta + \tfrac{s}{2}\,Q[\theta, \theta] \in \mathbb{R}^m,
          \qquad Q[\theta, \theta]_a = \theta^\top Q_a \theta,

with every :math:`Q_a` symmetric and :math:`s` the model's ``q_scale`` (0: the linear model).
Targets are absorbed into :math:`z_0` (:math:`z_0 = -y` for a model :math:`J\theta +
\tfrac{s}{2}Q[\theta,\theta]` fitted to :math:`y`), so :math:`z` is the residual. Closed forms
(derived and checked exactly in :mod:`boundbook.symbolic.sorm`; the tests compare them with
``torch.func``):

.. math:: J(\theta) = J + s\,Q[\theta, \cdot],\qquad
          L = \tfrac{1}{2c}\|z\|^2,\qquad \nabla L = J(\theta)^\top z / c,\qquad
          \nabla^2 L = \big(J(\theta)^\top J(\theta) + s\textstyle\sum_a z_a Q_a\big)/c,

with :math:`c = m` for ``reduction="mean"`` and :math:`c = 1` for ``"sum"``; the NTK is
:math:`J(\theta)J(\theta)^\top`.

Everything is batched: a :class:`SORM` holds ``S`` models and every function takes parameters
``theta [S, R, d]`` (``R`` parameter vectors per model, e.g. one per optimiser). Two ways of
drawing random models are provided, one per chapter convention: :func:`gaussian_draws` (one
generator for the whole batch, standard-normal targets) and :func:`seeded_models` (one
generator per model, Gaussian offsets :math:`z_0`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import torch
from torch import Tensor

__all__ = ["SORM", "gaussian_draws", "hessian", "jacobian_and_outputs", "loss", "loss_and_grad",
           "loss_grad_jacobian", "ntk_top", "seeded_models"]


@dataclass(frozen=True)
class SORM:
    """``S`` second-order regression models: ``J [S, m, d]``, ``Q [S, m, d, d]`` (symmetric in
    the last two), ``z0 [S, m]``; ``q_scale`` multiplies ``Q`` wherever it enters;
    ``reduction`` ``"mean"`` or ``"sum"`` over the outputs; ``seeds``: the seed that drew each
    model (empty when one generator drew them all)."""

    J: Tensor
    Q: Tensor
    z0: Tensor
    q_scale: float = 1.0
    reduction: str = "mean"
    seeds: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if self.reduction not in ("mean", "sum"):
            raise ValueError(f"reduction must be 'mean' or 'sum', got {self.reduction!r}")

    @property
    def size(self) -> int:
        """Number of models ``S``."""
        return int(self.J.shape[0])

    @property
    def outputs(self) -> int:
        return int(self.J.shape[1])

    @property
    def dim(self) -> int:
        return int(self.J.shape[2])

    @property
    def targets(self) -> Tensor:
        """``y = -z0`` (exact): the targets of the model written as ``J theta + ... - y``."""
        return -self.z0

    def scaled(self, q_scale: float) -> SORM:
        """The same draws with ``Q`` scaled by ``q_scale`` (0: the linear model)."""
        return replace(self, q_scale=float(q_scale))

    def select(self, index: slice | int) -> SORM:
        """A sub-batch of the models (an int keeps a batch of one)."""
        sl = slice(index, index + 1) if isinstance(index, int) else index
        seeds = self.seeds[sl] if self.seeds else ()
        return replace(self, J=self.J[sl], Q=self.Q[sl], z0=self.z0[sl], seeds=seeds)

    def zeros(self, per_model: int = 1) -> Tensor:
        """The origin ``theta = 0`` as a batch ``[S, per_model, d]``."""
        return torch.zeros(self.size, per_model, self.dim, dtype=self.J.dtype,
                           device=self.J.device)


def gaussian_draws(d: int, m: int, draws: int, seed: int, *, reduction: str = "sum",
                   dtype: torch.dtype = torch.float64, device: str = "cpu") -> SORM:
    """``draws`` models from one generator seeded with ``seed``: ``J`` with N(0, 1/d) entries,
    ``Q_a = (A_a + A_a^T)/sqrt(2)`` with ``A`` N(0, 1/d) (off-diagonal entries N(0, 1/d)),
    standard-normal targets ``y`` (``z0 = -y``); drawn in that order, in float64 on the CPU."""
    gen = torch.Generator(device="cpu").manual_seed(int(seed))
    J = torch.randn(draws, m, d, generator=gen, dtype=torch.float64) / math.sqrt(d)
    A = torch.randn(draws, m, d, d, generator=gen, dtype=torch.float64) / math.sqrt(d)
    Q = (A + A.transpose(-1, -2)) / math.sqrt(2.0)
    y = torch.randn(draws, m, generator=gen, dtype=torch.float64)
    J, Q, y = (t.to(dtype=dtype, device=device) for t in (J, Q, y))
    return SORM(J, Q, -y, reduction=reduction)


def seeded_models(dim: int, outputs: int, seeds: Sequence[int], q_scale: float,
                  z_scale: float, *, reduction: str = "mean") -> SORM:
    """One float64 model per seed, each from its own generator: ``J ~ N(0, 1/d)``,
    ``Q_a = (A + A^T)/2`` with ``A ~ N(0, (q_scale/d)^2)`` (``q_scale`` is baked into ``Q``),
    ``z0 ~ N(0, z_scale^2)``."""
    Js, Qs, zs = [], [], []
    for s in seeds:
        gen = torch.Generator().manual_seed(int(s))
        Js.append(torch.randn(outputs, dim, generator=gen, dtype=torch.float64)
                  / math.sqrt(dim))
        a = torch.randn(outputs, dim, dim, generator=gen, dtype=torch.float64) * (q_scale / dim)
        Qs.append(0.5 * (a + a.transpose(1, 2)))
        zs.append(torch.randn(outputs, generator=gen, dtype=torch.float64) * z_scale)
    return SORM(torch.stack(Js), torch.stack(Qs), torch.stack(zs), reduction=reduction,
                seeds=tuple(int(s) for s in seeds))


def jacobian_and_outputs(model: SORM, theta: Tensor) -> tuple[Tensor, Tensor]:
    """``(J(theta) [S, R, m, d], z(theta) [S, R, m])`` for parameters ``theta [S, R, d]``."""
    S, R, d = theta.shape
    m = model.outputs
    qt = torch.bmm(model.Q.reshape(S, m * d, d), theta.transpose(1, 2))
    qt = qt.reshape(S, m, d, R).permute(0, 3, 1, 2)  # Q[theta, .]
    if model.q_scale != 1.0:  # (skipped at 1: the layout of qt stays that of the bmm)
        qt = model.q_scale * qt
    z = model.z0[:, None] + ((model.J[:, None] + 0.5 * qt) @ theta[..., None])[..., 0]
    return model.J[:, None] + qt, z


def _loss(model: SORM, z: Tensor) -> Tensor:
    sq = z**2
    return 0.5 * (sq.mean(-1) if model.reduction == "mean" else sq.sum(-1))


def _grad(model: SORM, jac: Tensor, z: Tensor) -> Tensor:
    g = (jac.transpose(2, 3) @ z[..., None])[..., 0]
    return g / z.shape[-1] if model.reduction == "mean" else g


def loss(model: SORM, theta: Tensor) -> Tensor:
    """The loss ``[S, R]``."""
    return _loss(model, jacobian_and_outputs(model, theta)[1])


def loss_grad_jacobian(model: SORM, theta: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Loss ``[S, R]``, gradient ``[S, R, d]`` and Jacobian ``J(theta) [S, R, m, d]`` from one
    evaluation of the model."""
    jac, z = jacobian_and_outputs(model, theta)
    return _loss(model, z), _grad(model, jac, z), jac


def loss_and_grad(model: SORM, theta: Tensor) -> tuple[Tensor, Tensor]:
    """Loss ``[S, R]`` and gradient ``[S, R, d]`` from one evaluation of the model."""
    jac, z = jacobian_and_outputs(model, theta)
    return _loss(model, z), _grad(model, jac, z)


def hessian(model: SORM, theta: Tensor) -> Tensor:
    """The dense Hessian ``[S, R, d, d]``: ``(J(theta)^T J(theta) + s sum_a z_a Q_a) / c``."""
    jac, z = jacobian_and_outputs(model, theta)
    S, R, m, d = jac.shape
    second = (z @ model.Q.reshape(S, m, d * d)).reshape(S, R, d, d)
    if model.q_scale != 1.0:
        second = model.q_scale * second
    h = jac.transpose(2, 3) @ jac + second
    return h / m if model.reduction == "mean" else h


def ntk_top(jac: Tensor) -> Tensor:
    """Top eigenvalue of the NTK ``J(theta) J(theta)^T`` (batched over leading dimensions)."""
    return torch.linalg.eigvalsh(jac @ jac.transpose(-1, -2))[..., -1]
