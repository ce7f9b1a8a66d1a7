"""Tests of the chapter lr_schedules_shift (imports the chapter package directly; runs while
the chapter is a draft)."""

from __future__ import annotations

import numpy as np
import pytest

from boundbook.chapters.lr_schedules_shift import claims

CLAIM = {c.id: c for c in claims.CHAPTER.claims}


def _margins(opt: list[float], nos: list[float]) -> dict:
    iv = lambda xs: [[x - 0.01, x + 0.01] for x in xs]  # noqa: E731
    return {"deltas": [0.01, 0.1], "sympy_matches": True, "margin_opt": opt,
            "margin_opt_interval": iv(opt), "margin_nos": nos, "margin_nos_interval": iv(nos)}


def test_optimal_check_control_and_mutation() -> None:
    c = CLAIM["lrs-optimal-wins"]
    m = _margins([0.5, 0.02], [-0.5, -30.0])
    assert c.check(m, c.constants).ok
    assert not c.control(m, c.constants).ok
    assert not c.check(m, {**c.constants, "bar": 0.05}).ok
    assert not c.check(_margins([0.5, -0.2], [-1.0, -1.0]), c.constants).ok
    assert c.check(_margins([0.5, 0.005], [-1, -1]), c.constants).undecided


def _order(etas: list[float], best: list[float], ivs: list[list[float]]) -> dict:
    return {"deltas": [0.01, 0.03, 0.1], "sympy_matches": True, "eta_T": etas,
            "best_const": best, "best_const_interval": ivs, "sigmas": [0.5, 1, 2],
            "noise_eta_T": etas[::-1], "noise_best_const": best[::-1],
            "noise_best_const_interval": ivs[::-1]}


def test_increase_check_control_and_mutation() -> None:
    c = CLAIM["lrs-increase-with-shift"]
    m = _order([0.01, 0.03, 0.1], [0.02, 0.04, 0.09], [[0.02, 0.03], [0.04, 0.04], [0.09, 0.1]])
    assert c.check(m, c.constants).ok
    assert not c.control(m, c.constants).ok
    assert not c.check(m, {**c.constants, "direction": -1.0}).ok
    flat = _order([0.01, 0.03, 0.1], [0.03, 0.03, 0.03], [[0.03, 0.03]] * 3)
    assert not c.check(flat, c.constants).ok


def _slopes(nos: list[float], opt: list[float], half: float = 0.05) -> dict:
    iv = lambda xs: [[x - half, x + half] for x in xs]  # noqa: E731
    return {"deltas": [0.01, 0.1], "sympy_matches": True, "slope_nos": nos,
            "slope_nos_interval": iv(nos), "slope_opt": opt, "slope_opt_interval": iv(opt)}


def test_quadratic_check_control_and_mutations() -> None:
    c = CLAIM["lrs-one-over-t-quadratic"]
    m = _slopes([0.95, 1.02], [0.0, 0.01])
    assert c.check(m, c.constants).ok
    assert not c.control(m, c.constants).ok
    assert not c.check(m, {**c.constants, "exponent": 0.0}).ok
    assert not c.check(m, {**c.constants, "exponent": 2.0}).ok
    assert c.check(_slopes([0.84, 1.0], [0, 0], 0.05), c.constants).undecided


def test_derivation_exact() -> None:
    from boundbook.chapters.lr_schedules_shift.derivation import schedule_derivation

    d = schedule_derivation()
    assert d.all_match, d.flags()


def test_recursion_matches_simulation_and_greedy_is_best() -> None:
    from boundbook.chapters.lr_schedules_shift import experiment as E

    consts = np.array([0.02, 0.1])
    r = E.run_shift(0.05, 1.0, 300, 400, consts, seed=3)
    sim = r.regret.mean(1)
    assert np.all(np.abs(sim / r.expected - 1) < 0.1)
    assert r.expected[0] <= r.expected.min() + 1e-12  # the greedy schedule's expected regret
    eta, v = E.greedy_schedule(50, 1.0, 0.0)
    assert np.allclose(eta, 1 / (np.arange(50) + 2)) and np.allclose(v, 1 / (np.arange(50) + 1))


@pytest.mark.parametrize("delta", [0.01, 0.1])
def test_greedy_limit_is_delta_over_sigma(delta: float) -> None:
    from boundbook.chapters.lr_schedules_shift.experiment import greedy_schedule

    eta, _ = greedy_schedule(20000, 1.0, delta)
    assert eta[-1] == pytest.approx(2 * delta / (delta + np.sqrt(delta**2 + 4)), rel=1e-6)
