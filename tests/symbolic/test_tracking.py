"""The tracking derivations: exact facts and agreement with direct iteration."""

from __future__ import annotations

import sympy as sp

from boundbook.symbolic.tracking import drift_bound_derivation, random_walk_derivation


def test_drift_bound_derivation_matches_textbook_forms():
    d = drift_bound_derivation()
    assert d.all_match
    q, delta = sp.symbols("q delta", positive=True)
    assert sp.simplify(d.steady - delta / (1 - q)) == 0
    assert sp.simplify(d.steady_aimed - q * delta / (1 - q)) == 0
    kappa = sp.Symbol("kappa", positive=True)
    assert sp.simplify(d.best_bound_kappa - delta * (kappa + 1) / 2) == 0


def test_drift_comparison_solves_its_recursion():
    d = drift_bound_derivation()
    q, delta, e0 = sp.symbols("q delta e_0", positive=True)
    t = sp.Symbol("t", integer=True, nonnegative=True)
    vals = {q: sp.Rational(3, 5), delta: sp.Rational(1, 7), e0: sp.Rational(2, 3)}
    b = vals[e0]
    for k in range(6):
        assert d.comparison.subs(vals).subs(t, k) == b
        b = vals[q] * b + vals[delta]


def test_random_walk_mse_is_a_fixed_point_and_best_step():
    r = random_walk_derivation()
    assert r.all_match
    a, eta, sigma, s = r.symbols
    vals = {a: sp.Rational(3, 2), eta: sp.Rational(1, 3), sigma: sp.Rational(1, 5),
            s: sp.Rational(1, 2)}
    v = r.mse.subs(vals)
    mult = (1 - vals[eta] * vals[a]) ** 2
    assert sp.simplify(mult * v + vals[eta] ** 2 * vals[s] ** 2 + vals[sigma] ** 2 - v) == 0
    # the best step beats its neighbours and stays below 1/a (it is 2 sigma/(sqrt(.) + a sigma))
    best = r.best_step.subs({k: vals[k] for k in (a, sigma, s)})
    f = sp.lambdify(eta, r.mse.subs({k: vals[k] for k in (a, sigma, s)}))
    b = float(best)
    assert f(b) < f(b * 1.01) and f(b) < f(b * 0.99)
    assert b < 1 / float(vals[a])
    assert r.stable_below == 2 / a
    assert r.best_step_noiseless == 1 / a and r.best_mse_noiseless == sigma**2
