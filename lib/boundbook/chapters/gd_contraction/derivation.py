"""The sympy derivations of the chapter "Gradient descent as a contraction" (exact; no floats).

The contraction factor, its critical and best steps and the best rate come from the shared
:func:`boundbook.symbolic.contraction.gd_contraction_derivation`; the logistic curvature bound
:math:`p(1-p) \\le 1/4` from :func:`boundbook.symbolic.contraction.activation_slope_bounds`
(the sigmoid's slope is :math:`p(1-p)`)."""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from boundbook.symbolic.contraction import (
    ContractionDerivation,
    activation_slope_bounds,
    gd_contraction_derivation,
)


@dataclass(frozen=True)
class Derived:
    gd: ContractionDerivation
    logistic_curvature: sp.Expr

    @property
    def matches(self) -> bool:
        return self.gd.all_match and self.logistic_curvature == sp.Rational(1, 4)

    def lines(self) -> list[str]:
        d = self.gd
        return [f"factor q(eta) = {d.factor}",
                f"contracts iff eta < {d.critical_step} (== 2/L exactly: "
                f"{d.critical_step_matches})",
                f"best step {d.best_step} (== 2/(mu+L): {d.best_step_matches})",
                f"rate there {d.best_rate} = {d.rate_kappa} (exact: {d.rate_kappa_matches})",
                f"sup p(1-p) = {self.logistic_curvature} (== 1/4: "
                f"{self.logistic_curvature == sp.Rational(1, 4)})"]


def derive() -> Derived:
    return Derived(gd_contraction_derivation(), activation_slope_bounds()["sigmoid"])
