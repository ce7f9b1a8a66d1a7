"""Tests of the chapter small_gain_nash (imports the package directly: runs as a draft)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from boundbook.chapters.small_gain_nash import claims


def _claim(cid: str):
    return next(c for c in claims.CLAIMS if c.id == cid)


def test_closed_forms_match_sympy() -> None:
    import sympy as sp

    from boundbook.chapters.small_gain_nash import derivation as d

    x = d.sgn_derivation()
    assert x.all_match
    vals = {d.mu1: 1.3, d.mu2: 0.7, d.L12: 4.0, d.L21: 0.1}
    lo, hi = claims.timescale_band(1.3, 0.7, 4.0, 0.1)
    num = sorted(float(sp.N(e.subs(vals))) for e in x.printed_band)
    assert num == pytest.approx([lo, hi], rel=1e-12)
    m = float(sp.N(x.margin.subs({**vals, d.w1: 1.0, d.w2: 30.0})))
    assert claims.sgn_margin(1.3, 0.7, 4.0, 0.1, 1.0, 30.0) == pytest.approx(m, rel=1e-12)
    ex = x.example
    a = claims.sgn_margin(1, 1, 10, 0.05, 1, 200)
    assert a == pytest.approx(float(ex["alpha_star"]), rel=1e-12)
    assert claims.euler_step_bound(a, float(ex["beta"])) == pytest.approx(0.20101, abs=1e-5)
    assert float(ex["h_true"]) == pytest.approx(1.17157, abs=1e-5)
    assert math.isnan(claims.timescale_band(1, 1, 10, 0.105)[0])  # past the small gain


def _monotone(alpha_true: float, out: float) -> dict:
    a = claims.sgn_margin(1, 1, 10, 0.05, 1, 200)
    return {"mu1": [1.0], "mu2": [1.0], "L12": [10.0], "L21": [0.05], "equality": [True],
            "game": [0], "ratio": [200.0], "alpha_true": [alpha_true],
            "flow_log_norm": [[0.0, -a]], "times": [0.0, 1.0], "euclid": [-4.0],
            "out_game": [0], "out_alpha_true": [out], "sympy_matches": True}


def test_monotone_check_control_and_mutation() -> None:
    c = _claim("sgn-monotone")
    a = claims.sgn_margin(1, 1, 10, 0.05, 1, 200)
    good = _monotone(a, -0.02)
    assert c.check(good, c.constants).ok
    assert not c.control(good, c.constants).ok
    assert c.control(_monotone(a, 0.1), c.constants).ok
    assert not c.check(_monotone(0.9 * a, -0.02), c.constants).ok
    assert not c.check(good, {**c.constants, "half": 0.55}).ok
    assert not c.check(good, {**c.constants, "normalise": False}).ok


def _band(edges, past: float) -> dict:
    return {"mu1": [1.0], "mu2": [1.0], "L12": [10.0], "L21": [0.05], "equality": [True],
            "measured": [list(edges)], "past_max_alpha": [past], "scan_lo": 1e-3,
            "scan_hi": 1e7, "scan_size": 201, "sympy_matches": True}


def test_band_check_control_and_mutation() -> None:
    c = _claim("sgn-band")
    edges = claims.timescale_band(1, 1, 10, 0.05)
    good = _band(edges, -0.02)
    assert c.check(good, c.constants).ok
    assert not c.control(good, c.constants).ok
    assert c.control(_band(edges, 0.01), c.constants).ok
    assert not c.check(_band((edges[0] * 1.01, edges[1]), -0.02), c.constants).ok
    assert not c.check(good, {**c.constants, "denominator": "L12"}).ok


def _euler(factor: float, past_med: float, ci) -> dict:
    a = claims.sgn_margin(1, 1, 10, 0.05, 1, 200)
    beta = 1 + 1 / math.sqrt(2)
    h = 0.1 * 2 * a / beta**2
    return {"mu1": [1.0], "mu2": [1.0], "L12": [10.0], "L21": [0.05], "equality": [True],
            "ratio": [200.0], "game": [0], "mult": [0.1], "h": [h], "beta": [beta],
            "factor": [factor], "pair_rate_max": [factor], "pair_worst_step": [factor],
            "past_median": [past_med], "past_interval": [ci], "sympy_matches": True}


def test_euler_rate_check_control_and_mutation() -> None:
    c = _claim("sgn-euler-rate")
    a = claims.sgn_margin(1, 1, 10, 0.05, 1, 200)
    beta = 1 + 1 / math.sqrt(2)
    h = 0.1 * 2 * a / beta**2
    exact = 1 - h * a  # the example's factor (symmetric weighted matrix)
    good = _euler(exact, 1.0005, (1.0004, 1.0006))
    assert c.check(good, c.constants).ok
    ctrl = c.control(good, c.constants)
    assert not ctrl.ok and not ctrl.undecided
    assert c.control(_euler(exact, 0.99, (0.98, 0.995)), c.constants).ok
    assert c.control(_euler(exact, 0.999, (0.99, 1.01)), c.constants).undecided
    assert not c.check(_euler(claims.euler_factor_bound(h, a, beta) * 1.001, 1.0005,
                              (1.0004, 1.0006)), c.constants).ok
    assert not c.check(good, {**c.constants, "two": 2.2}).ok


def test_step_check_control_and_mutation() -> None:
    c = _claim("sgn-euler-step")
    a = claims.sgn_margin(1, 1, 10, 0.05, 1, 200)
    beta = 1 + 1 / math.sqrt(2)
    m = {"labels": ["scalar λ=1"], "alpha_star": [a], "beta": [beta], "measured": [1.1734],
         "closed": [4 - 2 * math.sqrt(2)], "example": "scalar λ=1", "above": 1.05,
         "above_median": [1.1], "above_interval": [(1.099, 1.101)], "sympy_matches": True}
    out = c.check(m, c.constants)
    assert out.ok and out.slack == pytest.approx(1.1734 / 0.20101 - 1, rel=1e-3)
    assert not c.control(m, c.constants).ok
    assert c.control({**m, "above_median": [0.99], "above_interval": [(0.98, 0.995)]},
                     c.constants).ok
    assert not c.check(m, {**c.constants, "c": 12.0}).ok
    assert not c.check({**m, "measured": [1.30]}, c.constants).ok  # sweep off by > 2%


def test_small_experiment_runs() -> None:
    from boundbook.chapters.small_gain_nash import experiment, games, protocol
    from boundbook.core.claims import Verdict, decide

    gs = [games.scalar_game(1.0), games.random_game(1.0, 2, 0, 0)]
    past = games.past_bound_games(2, 0, 1.05)
    cert = experiment.certificate(gs, 3, np.linspace(0, 2, 5), 1.05)
    assert np.all(cert.alpha_true > 0)
    band = experiment.band_edges(gs, np.geomspace(1e-3, 1e7, 81), 6)
    assert band.measured[0] == pytest.approx(band.certified[0], rel=1e-6)
    pband = experiment.band_edges(past, np.geomspace(1e-3, 1e7, 81), 6)
    assert np.all(pband.max_alpha < 0)
    eu = experiment.euler_rates(gs, (0.5, 1.0, 2.0), 4, 60, 0)
    assert np.all(eu.factor <= experiment.certified_factor(eu) + 1e-12)
    pe = experiment.euler_rates(past, (1.0,), 4, 400, 0, h_ref=[0.2, 0.2])
    st = experiment.step_thresholds(gs[:1], 4, 300, 24, 0, 1.05)
    assert st.measured[0] == pytest.approx(st.closed[0], rel=0.02)
    m = protocol.measurements(cert=cert, band=band, past_band=pband, euler=eu, past_euler=pe,
                              steps=st, sympy_matches=True)
    for c in claims.CLAIMS:
        assert set(m[c.id]) == set(protocol.READS[c.id])
        assert decide(c, m[c.id]).verdict in (Verdict.HOLDS, Verdict.TIGHT)
