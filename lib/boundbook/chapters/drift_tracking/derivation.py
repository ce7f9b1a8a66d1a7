"""The sympy derivations of the chapter "Online gradient descent on a drifting target" (exact; no
floats).

The derivations themselves live in the toolkit (:mod:`boundbook.symbolic.tracking`, shared with
the other tracking chapters); here they are compared exactly with the plain-Python forms the
checks use (:mod:`boundbook.chapters.drift_tracking.claims`), evaluated on sympy symbols.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from boundbook.chapters.drift_tracking import claims
from boundbook.symbolic.tracking import (
    DriftBoundDerivation,
    RandomWalkDerivation,
    drift_bound_derivation,
    random_walk_derivation,
)


@dataclass(frozen=True)
class Derived:
    """The toolkit's derivations and the exact comparisons of the checks' plain forms with
    them."""

    drift: DriftBoundDerivation
    rw: RandomWalkDerivation
    plain_bound_matches: bool
    plain_mse_matches: bool
    plain_aimed_matches: bool
    plain_best_matches: bool
    ou_limit_matches: bool

    @property
    def matches(self) -> bool:
        return (self.drift.all_match and self.rw.all_match and self.plain_bound_matches
                and self.plain_mse_matches and self.plain_aimed_matches
                and self.plain_best_matches and self.ou_limit_matches)

    def table(self) -> list[tuple[str, str]]:
        rows = [("transient bound b_t", self.drift.comparison),
                ("steady bound (current)", self.drift.steady),
                ("steady bound (aimed)", self.drift.steady_aimed),
                ("best step for the bound", self.drift.best_step),
                ("bound at the best step", self.drift.best_bound_kappa),
                ("random-walk MSE (current)", self.rw.mse),
                ("random-walk MSE (aimed)", sp.factor(self.rw.mse_aimed)),
                ("best step (MSE)", self.rw.best_step),
                ("best step, s = 0", self.rw.best_step_noiseless)]
        return [(k, f"${sp.latex(v)}$") for k, v in rows]

def derive() -> Derived:
    d, r = drift_bound_derivation(), random_walk_derivation()
    a, eta, sigma, s = r.symbols
    q, delta = sp.symbols("q delta", positive=True)
    one, two, four, third = sp.Integer(1), sp.Integer(2), sp.Integer(4), sp.Rational(1, 3)
    plain_bound = all(
        sp.simplify(claims.drift_bound(delta, qq, one, one) - d.steady.subs(q, qq)) == 0
        and sp.simplify(claims.drift_bound(delta, qq, one, one, aimed=True)
                        - d.steady_aimed.subs(q, qq)) == 0
        for qq in (third, sp.Rational(9, 10)))
    mse = sp.simplify(claims.rw_mse(eta, a, sigma, s, two) - r.mse) == 0
    aimed = sp.simplify(claims.rw_mse_aimed(eta, a, sigma, s, two) - r.mse_aimed) == 0
    best = sp.simplify(sp.radsimp(claims.rw_best_step(a, sigma, s, two, four, sqrt=sp.sqrt)
                                  - r.best_step)) == 0
    # the OU form is the small-step limit: mse / ou -> 1 as eta -> 0
    ou = sp.limit(r.mse / claims.rw_ou_mse(eta, a, sigma, s), eta, 0) == 1
    return Derived(drift=d, rw=r, plain_bound_matches=bool(plain_bound),
                   plain_mse_matches=bool(mse), plain_aimed_matches=bool(aimed),
                   plain_best_matches=bool(best), ou_limit_matches=bool(ou))
