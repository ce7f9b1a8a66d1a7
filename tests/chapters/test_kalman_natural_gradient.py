"""Tests of the chapter kalman_natural_gradient: the checks can fail, the derivation's exact
facts, small experiment runs. Imports the chapter package directly (it runs while a draft)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from boundbook.chapters.kalman_natural_gradient import claims, protocol
from boundbook.core.claims import decide, mutate

C = {c.id: c for c in claims.CLAIMS}


def _ident_m(unit=1e-14, half=0.1, two=0.2, eu=1.0, mc=1.0):
    return {"n": 10, "steps": [0.5, 0.9, 1.0, 1.1, 2.0],
            "natural_max": [half, 0.05, unit, 0.05, two], "euclidean_max": eu,
            "mean_cov_max": mc, "sympy_matches": True}


def test_identity_check_control_and_mutations():
    c = C["kng-kalman-step"]
    ev = decide(c, _ident_m())
    assert ev.main.ok and not ev.control.ok and ev.verdict.value == "holds"
    assert decide(c, _ident_m(unit=1e-9)).verdict.value == "violated"
    assert decide(c, _ident_m(two=1e-14)).verdict.value == "inconclusive"  # no power
    assert decide(c, {**_ident_m(), "sympy_matches": False}).verdict.value == "violated"
    assert all(r.caught for r in mutate(c, _ident_m()))


def _rate_m(noise=0.0):
    betas = [0.25, 0.5, 1.5]
    k = np.arange(1, 6)
    nat = [[list(abs(1 - b) ** k * (1 + noise))] for b in betas]
    code = [[list(abs(1 - b) * np.ones(5))] for b in betas]
    return {"n": 1, "iterations": 5, "betas": betas, "ratios_natural": nat,
            "ratios_nano_code": code, "sympy_matches": True}


def test_rate_check_control_and_mutation():
    c = C["kng-step-contraction"]
    ev = decide(c, _rate_m())
    assert ev.main.ok and not ev.control.ok and ev.verdict.value == "holds"
    assert decide(c, _rate_m(noise=1e-3)).verdict.value == "violated"
    assert all(r.caught for r in mutate(c, _rate_m()))


def test_derivation_exact_facts():
    from boundbook.chapters.kalman_natural_gradient import derivation

    d = derivation.derive()
    assert d.matches
    assert list(d.kalman.beta_roots) == [1]


def test_small_experiment_runs_and_measures_the_contract():
    from boundbook.chapters.kalman_natural_gradient import experiment

    cfg = replace(protocol.settings("quick", 0), instances=12, contraction_instances=3,
                  iterations=6)
    ident = experiment.run_identity(cfg)
    contr = experiment.run_contraction(cfg)
    m = protocol.measurements(ident, contr, True)
    for cid, keys in protocol.READS.items():
        assert set(m[cid]) == set(keys)
    assert ident.natural_max[ident.steps.index(1.0)] < 1e-12
    assert min(ident.natural_min[0], ident.natural_min[-1], ident.euclidean_min,
               ident.mean_cov_min) > 1e-4
    for cid in protocol.READS:
        assert decide(C[cid], m[cid]).verdict.value == "holds"
