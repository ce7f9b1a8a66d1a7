"""Tests of the chapter gd_contraction: the checks can fail, the derivation is exact, the
experiment measures what the certificate says on small systems."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from boundbook.chapters.gd_contraction import claims, derivation, experiment, protocol
from boundbook.core.claims import Verdict, decide, mutate


def _system(worst_scale=1.0, control=1.1):
    """A hand-made kappa = 10 quadratic system: ratios exactly at the factor."""
    mu, L = 1.0, 10.0
    etas = [u * 2 / L for u in (0.25, 0.5, 0.95)]
    q = [max(abs(1 - e * mu), abs(1 - e * L)) for e in etas]
    return {"name": "hand", "mu": mu, "L": L, "etas": etas,
            "worst": [[worst_scale * x, 0.5 * x] for x in q], "eq_worst": [[x] for x in q],
            "control_worst": [control], "control_eq_worst": [control]}


def _m(**kw):
    return {"systems": [_system(**kw)], "sympy_matches": True}


@pytest.mark.parametrize("claim", claims.CLAIMS, ids=lambda c: c.id)
def test_checks_can_fail(claim):
    assert decide(claim, _m()).verdict == Verdict.TIGHT
    assert decide(claim, _m(worst_scale=1.01)).verdict == Verdict.VIOLATED
    assert decide(claim, _m(control=0.99)).verdict == Verdict.INCONCLUSIVE
    assert not claim.control(_m(), claim.constants).ok
    assert all(r.caught for r in mutate(claim, _m()))
    bad = {**_m(), "sympy_matches": False}
    assert not claim.check(bad, claim.constants).ok


def test_reads_match_measurements():
    assert set(protocol.READS) == {c.id for c in claims.CLAIMS}
    m = _m()
    assert set(m) == set(protocol.READS["gdc-quadratic-factor"])


def test_derivation_is_exact():
    d = derivation.derive()
    assert d.matches
    assert d.gd.best_rate_matches and d.gd.critical_step_matches


def test_small_quadratic_run_attains_the_factor():
    r = experiment.run_quadratic(6, 10.0, protocol.units, 1.05, 4, 80, (0.9, 1.1, 1.3), 0)
    assert np.all(r.worst.max(axis=1) <= r.certified * (1 + 1e-9))
    assert np.allclose(r.eq_worst.max(axis=1), r.certified, rtol=1e-9)
    assert r.control_eq_worst.max() == pytest.approx(1.1, rel=1e-9)
    m = protocol.measurements([r], [copy.deepcopy(r)], True)
    ev = decide(claims.CLAIMS[0], m["gdc-quadratic-factor"])
    assert ev.verdict == Verdict.TIGHT


def test_logistic_constants_bound_the_hessian_at_zero():
    X, y = experiment.digits_design()
    mu, L = experiment.logistic_constants(X, 0.1)
    H0 = X.T @ X / (4 * X.shape[0])  # at w = 0 every p_i = 1/2
    import torch

    top = float(torch.linalg.eigvalsh(H0)[-1]) + 0.1
    assert top == pytest.approx(L, rel=1e-12)
    assert mu == 0.1
