r"""Hand-written optimiser updates, as pure tensor operations (one implementation).

Adam (Kingma & Ba, bias-corrected), on a flat vector or on each tensor of a parameter dict:

.. math::
    m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t,\qquad
    v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2,

.. math::
    P_t = \sqrt{v_t/(1-\beta_2^t)} + \epsilon,\qquad
    \theta_t = \theta_{t-1} - \eta\,\frac{m_t/(1-\beta_1^t)}{P_t}.

:func:`adam_moments_` updates the moments in place with the same kernels as
``torch.optim.Adam`` (``mul_``/``add_`` and ``addcmul_``); :func:`adam_preconditioner` is
:math:`P_t` (the diagonal preconditioner whose :math:`P^{-1}H` the Adam chapter measures);
:func:`adam_update` is the step :math:`\eta\,\hat m_t / P_t`.
"""

from __future__ import annotations

from torch import Tensor

__all__ = ["adam_moments_", "adam_preconditioner", "adam_update"]


def adam_moments_(m: Tensor, v: Tensor, g: Tensor, beta1: float, beta2: float) -> None:
    """In place: ``m <- beta1 m + (1 - beta1) g``, ``v <- beta2 v + (1 - beta2) g*g``."""
    m.mul_(beta1).add_(g, alpha=1 - beta1)
    v.mul_(beta2).addcmul_(g, g, value=1 - beta2)


def adam_preconditioner(v: Tensor, t: int, beta2: float, eps: float) -> Tensor:
    """:math:`P_t = \\sqrt{v_t / (1 - \\beta_2^t)} + \\epsilon` at step ``t >= 1``."""
    return (v / (1 - beta2**t)).sqrt() + eps


def adam_update(m: Tensor, v: Tensor, t: int, lr: float, beta1: float, beta2: float,
                eps: float) -> Tensor:
    """The Adam step :math:`\\eta\\,(m_t/(1-\\beta_1^t)) / P_t` (subtract it from the
    parameters)."""
    return lr * (m / (1 - beta1**t)) / adam_preconditioner(v, t, beta2, eps)
