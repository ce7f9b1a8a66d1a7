"""The sympy derivation of gradient descent's contraction factor, against closed forms."""

from __future__ import annotations

import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from boundbook.symbolic.contraction import gd_contraction_derivation

pos = st.floats(min_value=1e-3, max_value=1e3, allow_nan=False, allow_infinity=False)


def test_derivation_matches_textbook_forms_exactly():
    d = gd_contraction_derivation()
    mu, L, eta = d.symbols
    assert d.all_match
    assert sp.simplify(d.best_step - 2 / (mu + L)) == 0
    assert sp.simplify(d.critical_step - 2 / L) == 0
    assert sp.simplify(d.best_rate - (L - mu) / (L + mu)) == 0
    assert sp.simplify(d.multiplier - (1 - eta * sp.Symbol("lambda", positive=True))) == 0


def test_factor_at_best_step_is_the_best_rate():
    d = gd_contraction_derivation()
    mu, L, eta = d.symbols
    at_best = d.factor.subs({mu: 1, L: 9, eta: d.best_step.subs({mu: 1, L: 9})})
    assert sp.nsimplify(at_best) == sp.Rational(8, 10)


@settings(max_examples=60, deadline=None)
@given(mu=pos, ratio=st.floats(min_value=1.0, max_value=1e3), u=st.floats(0.01, 3.0))
def test_factor_is_the_max_over_the_interval(mu, ratio, u):
    """The derived factor equals max |1 - eta lam| over a fine grid of lam in [mu, L]."""
    d = gd_contraction_derivation()
    L = mu * ratio
    eta = u / L
    f = sp.lambdify(d.symbols, d.factor)
    grid = [mu + (L - mu) * k / 200 for k in range(201)]
    assert abs(f(mu, L, eta) - max(abs(1 - eta * lam) for lam in grid)) <= 1e-12 * (1 + u)
    # contracts iff eta < 2/L; at the best step no other step does better
    assert (f(mu, L, eta) < 1) == (u < 2) or abs(u - 2) < 1e-9
    best = 2 / (mu + L)
    assert f(mu, L, best) <= f(mu, L, eta) + 1e-12


def test_activation_slope_bounds():
    from boundbook.symbolic.contraction import activation_slope_bounds

    g = activation_slope_bounds()
    assert g["tanh"] == 1 and g["sigmoid"] == sp.Rational(1, 4)
