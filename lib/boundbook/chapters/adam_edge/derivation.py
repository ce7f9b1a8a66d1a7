"""Derivation of the chapter adam_edge (sympy): the frozen-preconditioner edge.

With its preconditioner :math:`P` held fixed, Adam is EMA momentum on :math:`P^{-1}H`:
:math:`m^+ = \\beta_1 m + (1-\\beta_1)\\nabla L`, :math:`\\theta^+ = \\theta - \\eta P^{-1}m^+`.
On one eigendirection of :math:`P^{-1}H` (eigenvalue :math:`a`) this is a linear map of the
state :math:`(\\theta, m)`; :func:`boundbook.symbolic.quadratic.momentum_derivation` builds its
matrix from the update rule, takes the characteristic polynomial and solves for the :math:`a`
at which a root crosses :math:`z = -1` (the only crossing possible for :math:`a, \\eta > 0`),
with Jury's conditions for the whole stability region. The result is
:math:`(2 + 2\\beta_1)/((1-\\beta_1)\\eta)`, :math:`38/\\eta` at :math:`\\beta_1 = 0.9`, the
abstract's number; the heavy-ball convention (:math:`v^+ = \\beta v + g`) gives
:math:`(2 + 2\\beta)/\\eta` instead. The general formula is derived here, not quoted.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from boundbook.symbolic.quadratic import EdgeDerivation, beta, eta, momentum_derivation

__all__ = ["FrozenEdgeDerivation", "frozen_edge"]


@dataclass(frozen=True)
class FrozenEdgeDerivation:
    """``ema``: Adam's (EMA momentum) edge derivation; ``heavy_ball``: the heavy-ball one;
    ``at_09``: :math:`\\eta \\cdot` the EMA edge at :math:`\\beta_1 = 9/10` (exactly 38)."""

    ema: EdgeDerivation
    heavy_ball: EdgeDerivation
    at_09: sp.Expr


def frozen_edge() -> FrozenEdgeDerivation:
    """The frozen-preconditioner edge of Adam and, for contrast, of heavy-ball momentum."""
    d = momentum_derivation("ema")
    at_09 = sp.nsimplify(d.edge.subs(beta, sp.Rational(9, 10)) * eta)
    return FrozenEdgeDerivation(d, momentum_derivation("heavy_ball"), at_09)
