"""Tests of the chapter rnn_gradients: the checks can fail, the derivation is exact, small
experiment runs measure what the bound says."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from boundbook.chapters.rnn_gradients import claims, derivation, experiment, protocol
from boundbook.core.claims import Verdict, decide, mutate
from boundbook.numeric.contraction import update_jacobians


def _inst(family, s, log_rate, act="tanh", rho=None):
    g = 1.0 if act == "tanh" else 0.25
    return {"family": family, "act": act, "s": s, "sigma1": s / g,
            "rho": (s / g) / 2 if rho is None else rho,
            "log_prod": [T * log_rate for T in (50, 200)]}


def _m(aligned_rate=None, ce=True, control_not=0, random_above=-0.5):
    inst = [_inst("random", 0.5, math.log(0.2)), _inst("random", 2.0, random_above),
            _inst("random", 2.0, random_above, act="sigmoid"),
            _inst("aligned", 0.5, math.log(0.5) if aligned_rate is None else aligned_rate,
                  rho=0.5),
            _inst("aligned", 1.05, math.log(1.05), rho=1.05),
            _inst("aligned", 0.9, math.log(0.9), act="sigmoid", rho=3.6)]
    if ce:
        inst.append({"family": "counterexample", "act": "tanh", "s": 16.0, "sigma1": 16.0,
                     "rho": 0.0, "log_prod": [T * math.log(2.0) for T in (50, 200)]})
    return {"horizons": [50, 200], "instances": inst, "sympy_matches": True,
            "control_nets": 4, "control_not_exploding": control_not}


def _for(claim, m):
    return {k: m[k] for k in protocol.READS[claim.id]}


BOUND, NECESSARY = claims.CLAIMS


def test_bound_claim_and_failures():
    """The singular-value bound holds; its spectral-radius reading (a second-hand quote of the
    paper's wording, tested as a mutation, not as an erratum) fails on the counterexample."""
    assert decide(BOUND, _for(BOUND, _m())).verdict in (Verdict.HOLDS, Verdict.TIGHT)
    spectral = {**BOUND.constants, "radius": "spectral"}
    assert not BOUND.check(_for(BOUND, _m()), spectral).ok
    assert decide(BOUND, _for(BOUND, _m(ce=False))).verdict == Verdict.HOLDS  # far below
    # an instance above the bound: violated
    assert decide(BOUND, _for(BOUND, _m(aligned_rate=math.log(0.52)))).verdict == \
        Verdict.VIOLATED
    assert not BOUND.control(_for(BOUND, _m()), BOUND.constants).ok
    assert all(r.caught for r in mutate(BOUND, _for(BOUND, _m())))


def test_necessary_claim_can_fail():
    m = _for(NECESSARY, _m())
    assert decide(NECESSARY, m).verdict == Verdict.HOLDS
    # every random net above the bar explodes: 'not sufficient' is not shown
    assert not NECESSARY.check(_for(NECESSARY, _m(random_above=0.1)), NECESSARY.constants).ok
    # control: aligned nets just past the bar that do not explode would pass it
    assert decide(NECESSARY, _for(NECESSARY, _m(control_not=4))).verdict == \
        Verdict.INCONCLUSIVE
    assert all(r.caught for r in mutate(NECESSARY, m))


def test_derivation_is_exact():
    d = derivation.derive()
    assert d.matches
    assert d.W_singular == 16


def test_jacobians_match_the_closed_form_and_aligned_nets_attain_the_bound():
    gen = torch.Generator().manual_seed(0)
    W = torch.randn(5, 5, dtype=torch.float64, generator=gen)
    x = torch.randn(3, 5, dtype=torch.float64, generator=gen)
    J = update_jacobians(lambda h: W @ torch.tanh(h), x)
    assert torch.allclose(J, W[None] * (1 - torch.tanh(x) ** 2)[:, None, :])
    for act in experiment.ACTS:
        inst = experiment.aligned_net(act, 1.3, 6, (10, 20), gen)
        assert inst.log_prod[20] == pytest.approx(20 * math.log(1.3), rel=1e-10)


def test_counterexample_grows_like_two_to_the_t():
    ce = experiment.counterexample((10, 20))
    assert ce.rho == 0.0 and ce.sigma1 == pytest.approx(16.0)
    assert ce.log_prod[20] - ce.log_prod[10] == pytest.approx(10 * math.log(2), rel=1e-9)


def test_small_run_decides():
    cfg = protocol.Settings("quick", 0, 8, 2, 1, (0.5, 1.05, 3.0), (20, 40))
    res = experiment.run(cfg)
    m = protocol.measurements(res, True)
    assert decide(BOUND, m["rnn-jacobian-bound"]).verdict in (Verdict.HOLDS, Verdict.TIGHT)
    assert np.all(experiment.explode_fraction(res, "tanh", "aligned") == [0, 1, 1])
