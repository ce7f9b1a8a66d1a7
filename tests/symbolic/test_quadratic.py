"""Stable-step edges derived by sympy from the update rules; lambdified values."""

from __future__ import annotations

import math

import pytest
import sympy as sp

from boundbook.symbolic import quadratic as q


def test_gd_edge_is_two_over_eta_and_stability_set():
    d = q.gd_derivation()
    assert d.matches and sp.simplify(d.edge - 2 / q.eta) == 0
    assert sp.simplify(d.polynomial - (q.z - 1 + q.eta * q.lam)) == 0
    assert q.critical_step(4.0) == 0.5 and q.gd_edge(0.1) == pytest.approx(20.0)


@pytest.mark.parametrize("kind,value", [("ema", 38.0), ("heavy_ball", 3.8)])
def test_momentum_edges(kind, value):
    d = q.momentum_derivation(kind)
    assert d.matches
    # at the edge z = -1 is a root; just below it both roots are inside the unit disc
    at = {q.eta: 1, q.beta: sp.Rational(9, 10)}
    assert sp.simplify(d.polynomial.subs(q.z, -1).subs(q.a, d.edge.subs(at)).subs(at)) == 0
    assert float(d.edge.subs(at)) == pytest.approx(value)
    below = sp.Poly(d.polynomial.subs(at).subs(q.a, 0.99 * float(d.edge.subs(at))), q.z)
    assert max(abs(complex(r)) for r in below.nroots()) < 1


def test_ema_edge_numeric_is_38_over_eta():
    assert q.ema_momentum_edge(0.01, 0.9) == pytest.approx(3800.0)
    assert q.heavy_ball_edge(0.1, 0.0) == pytest.approx(q.gd_edge(0.1))


def test_sam_edge_limits_and_series():
    d = q.sam_derivation()
    assert d.matches
    series = sp.series(d.edge, q.rho, 0, 2).removeO()
    assert sp.simplify(series - (2 / q.eta - 4 * q.rho / q.eta**2)) == 0
    assert sp.limit(d.edge, q.rho, 0) == 2 / q.eta
    eta, rho = 0.05, 0.05
    lam = q.sam_edge(eta, rho)
    assert eta * lam * (1 + rho * lam) == pytest.approx(2.0)
    assert q.sam_edge(eta, 0.0) == pytest.approx(q.gd_edge(eta))


def test_normalised_sam_is_rho_over_grad_norm():
    assert q.sam_derivation(True).matches
    assert q.normalised_sam_edge(0.05, 0.1, 2.0) == pytest.approx(q.sam_edge(0.05, 0.05))
    assert math.isclose(q.normalised_sam_edge(0.05, 0.1, 1e12), 40.0, rel_tol=1e-6)


def test_mutated_constant_changes_the_edge():
    """The check can fail: a 2.2 in place of 2 is not what the derivation gives."""
    assert sp.simplify(q.gd_derivation().edge - sp.Rational(11, 5) / q.eta) != 0
