"""Tests of the chapter target_networks (imports the chapter package directly; runs while it
is a draft too)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import sympy as sp

from boundbook.chapters.target_networks import claims, derivation, experiment, instance
from boundbook.core.claims import Verdict, decide, mutate


@pytest.fixture(scope="module")
def inst() -> instance.Instance:
    return instance.rescue_instance(0)


def _good() -> dict:
    return {
        "tn-composite-map": {"errors": {"exact": 1e-15, "k+1": 0.1, "1.05 gamma": 0.05},
                             "periods": [1, 2], "points": 4, "sympy_matches": True},
        "tn-rescue": {"periods": [1, 2, 3, 4, 5], "rate": [1.07, 1.04, 1.008, 0.97, 0.94],
                      "rho": [1.07, 1.04, 1.008, 0.97, 0.94], "alpha": "8/9",
                      "k_star_exact": 4, "K": 100, "exact_stable_after": True,
                      "td_unstable": True},
        "tn-step-window": {"k": 5, "predicted": [0.57, 1.9], "measured_lo": 0.566,
                           "measured_hi": 1.93, "outside": {"0.95 lo": 1.005, "1.05 hi": 1.12},
                           "inside": True},
        "tn-classic-no-rescue": {"periods": [1, 2], "gamma_c": [0.835, 0.835],
                                 "rate_above": [1.01, 1.02], "gamma_above": 0.85,
                                 "sympy_coincide": True},
    }


@pytest.mark.parametrize("claim", claims.CLAIMS, ids=lambda c: c.id)
def test_claim_holds_on_good_measurements_and_control_fails(claim) -> None:
    m = _good()[claim.id]
    ev = decide(claim, m)
    assert ev.verdict in (Verdict.HOLDS, Verdict.TIGHT)
    assert not ev.control.ok
    assert all(r.caught for r in mutate(claim, m))


def test_checks_can_fail() -> None:
    g = _good()
    c = {cl.id: cl for cl in claims.CLAIMS}
    bad = {**g["tn-rescue"], "rate": [1.07, 1.04, 0.99, 0.97, 0.94]}  # k=3 converging
    assert decide(c["tn-rescue"], bad).verdict != Verdict.HOLDS
    bad = {**g["tn-step-window"], "measured_hi": 2.2}
    assert decide(c["tn-step-window"], bad).verdict == Verdict.VIOLATED
    bad = {**g["tn-classic-no-rescue"], "gamma_c": [0.835, 0.9]}
    assert decide(c["tn-classic-no-rescue"], bad).verdict == Verdict.VIOLATED
    bad = {**g["tn-composite-map"], "errors": {"exact": 1e-6, "k+1": 0.1, "1.05 gamma": 0.05}}
    assert decide(c["tn-composite-map"], bad).verdict == Verdict.VIOLATED


def test_control_of_rescue_fails_only_past_the_boundary() -> None:
    c = {cl.id: cl for cl in claims.CLAIMS}["tn-rescue"]
    m = {**_good()["tn-rescue"], "rate": [1.07, 1.04, 0.99, 0.97, 0.94]}
    assert c.control(m, c.constants).ok  # k* - 1 converging: the control passes


def test_instance_rule(inst) -> None:
    a = inst.arrays()
    M, B, g = a["M"], a["B"], a["gamma"]
    assert np.linalg.eigvals(g * B - M).real.max() >= instance.TD_MARGIN
    assert np.abs(np.linalg.eigvals(np.linalg.solve(M, g * B))).max() <= instance.FQE_MARGIN
    assert inst.step == 1 / Fraction(float(np.trace(M))).limit_denominator(10**6)


def test_composite_map_derivation(inst) -> None:
    cm = derivation.composite_map(inst, kmax=3)
    assert cm.matches and cm.td_matches


def test_float_closed_form_equals_sympy(inst) -> None:
    m = derivation.matrices(inst)
    a = sp.Rational(inst.step.numerator, inst.step.denominator)
    exact = np.array(derivation.closed_form(m["M"], m["B"], m["gamma"], a, 5), dtype=float)
    arr = inst.arrays()
    flt = experiment.closed_form(arr["M"], arr["B"], arr["gamma"], float(inst.step), 5)
    assert np.allclose(exact, flt, rtol=1e-13, atol=1e-14)


def test_periods_and_window(inst) -> None:
    per = derivation.periods(inst, 30)
    assert per.td_unstable and per.fitted_stable and per.inner_stable
    assert per.k_star == 4 and not per.stable[2] and all(per.stable[3:])
    win = derivation.step_window(inst, 5)
    lo, hi = win.floats
    assert win.inside and lo < float(inst.step) < hi


def test_classic_thresholds_coincide() -> None:
    cl = derivation.classic_thresholds(instance.classic_instance())
    assert cl.gamma_td == cl.gamma_fitted == sp.Rational(5, 6)
    assert cl.coincide and cl.no_rescue


def test_schur_stable_exact() -> None:
    assert derivation.schur_stable(sp.Matrix([[sp.Rational(1, 2), 0], [0, sp.Rational(-1, 2)]]))
    assert not derivation.schur_stable(sp.Matrix([[1, 0], [0, 0]]))
    assert not derivation.schur_stable(sp.Matrix([[0, -1], [1, 0]]))  # |lambda| = 1


def test_small_experiment_runs(inst) -> None:
    comp = experiment.composite_check(inst, [1, 3], 2, 0)
    assert comp.errors["exact"] < 1e-12 < comp.errors["k+1"]
    per = experiment.period_sweep(inst, 5, 200, 2, 0)
    assert np.allclose(per.rate, per.rho, rtol=5e-3)
    assert per.rate[0] > 1 and per.rate[3] < 1
