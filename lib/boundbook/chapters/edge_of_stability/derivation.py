"""Derivations of the chapter edge_of_stability (sympy), from the book's symbolic toolkits.

- :func:`gd_edge`: gradient descent on :math:`\\tfrac12\\lambda\\theta^2` multiplies the iterate
  by :math:`1 - \\eta\\lambda`; the edge is :math:`\\lambda = 2/\\eta`
  (:func:`boundbook.symbolic.quadratic.gd_derivation`).
- :func:`sorm_identities`: the three exact identities of the second-order regression model
  (:mod:`boundbook.symbolic.sorm`): its Hessian :math:`J(\\theta)^\\top J(\\theta) + \\sum_i r_i
  Q_i`, the one-step maps of the residual and of the NTK eigenvalue for one output, and the
  constant NTK of the linear model (:math:`Q = 0`). These identities are derived here; the
  paper's own two-dimensional reduction was not transcribed.
"""

from __future__ import annotations

from dataclasses import dataclass

from boundbook.symbolic.quadratic import EdgeDerivation, gd_derivation
from boundbook.symbolic.sorm import (
    HessianDerivation,
    ScalarStep,
    hessian_derivation,
    linear_derivation,
    scalar_step_derivation,
)

__all__ = ["SormIdentities", "gd_edge", "sorm_identities"]


def gd_edge() -> EdgeDerivation:
    """GD's one-step map on a quadratic, its stability condition and its edge (exact)."""
    return gd_derivation()


@dataclass(frozen=True)
class SormIdentities:
    """``hessian``: the SORM Hessian identity (generic d = m = 2 instance); ``step``: the
    scalar-output one-step maps of the residual and the NTK eigenvalue; ``constant_ntk``: with
    Q = 0 the NTK does not depend on the parameters."""

    hessian: HessianDerivation
    step: ScalarStep
    constant_ntk: bool


def sorm_identities() -> SormIdentities:
    """The chapter's SORM identities, each checked exactly by sympy."""
    return SormIdentities(hessian_derivation(), scalar_step_derivation(), linear_derivation())
