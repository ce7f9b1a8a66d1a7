"""The vector fields of the chapter "Neural contractive dynamical systems" (torch, float64).

Every field is built the NCDS way: a matrix field :math:`\\hat J(x)` is parametrised and the
vector field is recovered by integrating it along the segment from the equilibrium
:math:`x_0 = 0`,

.. math:: f(x) = \\int_0^1 \\hat J(t x)\\,x\\,dt

(Gauss-Legendre quadrature, :data:`NODES` nodes, positive weights). Three families, drawn from
the same seeded generator (:func:`draw`):

- ``ncds``: :math:`\\hat J = -(J_\\theta^\\top J_\\theta + \\epsilon I)`, :math:`J_\\theta` the
  Jacobian of a random 2 -> 2 tanh network :math:`h(x) = W_2\\tanh(W_1x + b_1)` (width
  :data:`WIDTH`; :math:`W_1, b_1 \\sim N(0, 1)`, :math:`W_2 \\sim N(0, 1/\\text{width})`);
- ``hessian``: the integrable case, :math:`\\hat J = -(\\nabla^2\\psi + \\epsilon I)` with the
  convex :math:`\\psi(x) = \\sum_j c_j\\,\\mathrm{softplus}(w_j^\\top x + b_j)`, :math:`c_j > 0`
  (itself of the NCDS form :math:`J_\\theta^\\top J_\\theta` with
  :math:`J_\\theta = \\mathrm{diag}(\\sqrt{c_j\\sigma'_j})W`), so :math:`f = -\\nabla\\psi +
  \\nabla\\psi(0) - \\epsilon x`;
- ``flipped``: the sign-flipped :math:`\\hat J = +J_\\theta^\\top J_\\theta - \\epsilon I` (same
  networks as ``ncds``), where contraction must fail.

:math:`\\hat J` is evaluated in closed form (batched); the *true* Jacobian of :math:`f` is taken
by autograd through the quadrature.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

DTYPE = torch.float64
WIDTH = 16
NODES = 32
FAMILIES = ("ncds", "hessian", "flipped")

_nodes, _weights = np.polynomial.legendre.leggauss(NODES)
T_NODES = torch.tensor((_nodes + 1) / 2, dtype=DTYPE)
T_WEIGHTS = torch.tensor(_weights / 2, dtype=DTYPE)


@dataclass(frozen=True)
class Field:
    """One parametrised Jacobian field and its integrated vector field."""

    family: str
    eps: float
    W1: torch.Tensor
    b1: torch.Tensor
    W2: torch.Tensor  # (out, width) for ncds/flipped; c (width,) for hessian

    def jhat(self, x: torch.Tensor) -> torch.Tensor:
        """:math:`\\hat J(x)` for points ``x`` of shape ``(..., 2)``; returns ``(..., 2, 2)``."""
        z = x @ self.W1.T + self.b1
        eye = torch.eye(2, dtype=DTYPE)
        if self.family == "hessian":
            s = torch.sigmoid(z)
            curv = self.W2 * s * (1 - s)  # c_j sigma'(z_j)
            H = torch.einsum("...j,ja,jb->...ab", curv, self.W1, self.W1)
            return -(H + self.eps * eye)
        Jt = torch.einsum("oj,...j,ja->...oa", self.W2, 1 - torch.tanh(z) ** 2, self.W1)
        G = Jt.transpose(-1, -2) @ Jt
        sign = -1.0 if self.family == "ncds" else 1.0
        return sign * G - self.eps * eye

    def f(self, x: torch.Tensor) -> torch.Tensor:
        """:math:`f(x) = \\sum_i w_i\\,\\hat J(t_i x)\\,x` (``x``: ``(..., 2)``)."""
        pts = T_NODES.reshape(-1, *([1] * (x.dim() - 1)), 1) * x.unsqueeze(0)
        J = self.jhat(pts)  # (nodes, ..., 2, 2)
        Jbar = torch.einsum("n,n...ab->...ab", T_WEIGHTS, J)
        return (Jbar @ x.unsqueeze(-1)).squeeze(-1)


def draw(family: str, seed: int, eps: float) -> Field:
    """The field of ``family`` from the generator seeded with ``seed`` (the ``ncds`` and
    ``flipped`` fields of one seed share their network)."""
    if family not in FAMILIES:
        raise ValueError(f"family must be one of {FAMILIES}, got {family!r}")
    g = torch.Generator().manual_seed(int(seed))
    W1 = torch.randn(WIDTH, 2, generator=g, dtype=DTYPE)
    b1 = torch.randn(WIDTH, generator=g, dtype=DTYPE)
    W2 = torch.randn(2, WIDTH, generator=g, dtype=DTYPE) / math.sqrt(WIDTH)
    if family == "hessian":
        W2 = W2.abs().sum(0)  # c_j > 0, one per unit
    return Field(family, float(eps), W1, b1, W2)
