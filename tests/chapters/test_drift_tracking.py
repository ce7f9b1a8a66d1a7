"""Tests of the chapter drift_tracking: the checks can fail, the derivation's exact facts, small
experiment runs. Imports the chapter package directly (it runs while a draft)."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from boundbook.chapters.drift_tracking import claims, protocol
from boundbook.core.claims import decide, mutate

C = {c.id: c for c in claims.CLAIMS}


def _drift_m(worst=1.0, other=0.8, q=0.5, delta=0.1):
    b = delta / (1 - q)
    return {"delta": delta, "q": [q, q], "family": ["worst-case", "random"],
            "labels": ["w", "r"], "max_error": [[worst * b], [other * b, 0.5 * other * b]],
            "max_error_aimed": [[worst * q * b], [other * q * b, 0.1 * q * b]],
            "sympy_matches": True}


def test_drift_bound_check_control_and_mutations():
    c = C["drift-bound"]
    ev = decide(c, _drift_m())
    assert ev.main.ok and not ev.control.ok
    assert ev.main.slack == pytest.approx(0.2) and ev.main.equality == pytest.approx(0.0)
    assert ev.verdict.value == "holds"
    assert decide(c, _drift_m(other=0.95)).verdict.value == "tight"
    assert decide(c, _drift_m(other=1.01)).verdict.value == "violated"
    assert all(r.caught for r in mutate(c, _drift_m()))


def _mse_m(scale=1.0, width=0.01):
    eta = [0.1, 0.5, 1.0, 1.8]
    meas = [scale * claims.rw_mse(e, 1.0, 0.1, 0.0) for e in eta]
    aimed = [scale * claims.rw_mse_aimed(e, 1.0, 0.1, 0.0) for e in eta]
    return {"a": 1.0, "sigma": 0.1, "eta": eta, "grad_noise": [0.0] * 4, "measured": meas,
            "interval": [[x * (1 - width), x * (1 + width)] for x in meas],
            "measured_aimed": aimed,
            "interval_aimed": [[x * (1 - width), x * (1 + width)] for x in aimed],
            "sympy_matches": True}


def test_rw_mse_check_control_undecided_and_mutation():
    c = C["drift-rw-mse"]
    ev = decide(c, _mse_m())
    assert ev.main.ok and not ev.control.ok and ev.verdict.value == "holds"
    assert decide(c, _mse_m(scale=1.2)).verdict.value == "violated"
    # an interval across the 5% edge, with no point decisively out: inconclusive
    assert decide(c, _mse_m(scale=1.045, width=0.02)).verdict.value == "inconclusive"
    assert all(r.caught for r in mutate(c, _mse_m()))


def _best_m(argmin, half=0.002):
    return {"a": 1.0, "sigma": 0.1, "grad_noise": 0.5, "argmin": argmin,
            "interval": [argmin - half, argmin + half], "sympy_matches": True}


def test_best_step_check_control_and_mutations():
    c = C["drift-rw-best-step"]
    star = claims.rw_best_step(1.0, 0.1, 0.5)
    ev = decide(c, _best_m(star))
    assert ev.main.ok and not ev.control.ok and ev.verdict.value == "holds"
    assert decide(c, _best_m(0.23)).verdict.value == "violated"
    assert decide(c, _best_m(0.1 / 0.5)).verdict.value == "inconclusive"  # the OU answer
    assert decide(c, _best_m(star * 1.05, half=0.01)).verdict.value == "inconclusive"
    assert all(r.caught for r in mutate(c, _best_m(star)))


def test_plain_forms_equal_the_sympy_derivation():
    from boundbook.chapters.drift_tracking import derivation

    d = derivation.derive()
    assert d.matches
    assert claims.rw_best_step(2.0, 0.3, 0.0) == pytest.approx(0.5)
    assert math.isinf(claims.drift_bound(0.1, 1.0))


def test_small_experiment_runs_and_measures_the_contract():
    from boundbook.chapters.drift_tracking import experiment

    cfg = replace(protocol.settings("quick", 0), drift_seeds=4, drift_steps=120, rw_seeds=8,
                  rw_steps=400, rw_burn_in=100, best_seeds=8, best_steps=400,
                  best_burn_in=100, Ls=(4.0,), step_fractions=(0.5, 0.9))
    drift = experiment.run_drift_bound(cfg)
    rw = experiment.run_random_walk(cfg)
    best = experiment.run_best_step(cfg, protocol.best_step(cfg))
    m = protocol.measurements(drift, rw, best, True)
    for cid, keys in protocol.READS.items():
        assert set(m[cid]) == set(keys)
    for inst in drift.family("worst-case"):
        assert inst.ratio.max() <= 1 + 1e-9 and inst.ratio.max() > 0.99
    assert decide(C["drift-bound"], m["drift-bound"]).main.ok
