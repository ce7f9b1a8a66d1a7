"""Tests of the edge-of-stability chapter: SORM derivations, experiments, and the checks.

The checks are exercised on small hand-made measurement dictionaries (so each can be shown to
pass and to fail); the experiments on tiny problems against closed forms.
"""

from __future__ import annotations

import copy
import json
import math

import numpy as np
import pytest
import sympy as sp
import torch

from boundbook.chapters.edge_of_stability import claims as ch
from boundbook.chapters.edge_of_stability import derivation, protocol
from boundbook.chapters.edge_of_stability import experiment as ex
from boundbook.core.claims import Verdict, decide, mutate
from boundbook.core.ledger import to_jsonable
from boundbook.numeric.hessian import dense_hessian, hvp, hvp_operator
from boundbook.symbolic import sorm

# ----------------------------------------------------------------------------- symbolic


def test_sorm_hessian_identity_and_its_failure():
    assert sorm.hessian_derivation().jacobian_matches
    assert sorm.hessian_derivation().matches
    assert not sorm.hessian_derivation(residual_term=False).matches  # the check can fail


def test_scalar_step_maps_and_doctored_ones():
    s = sorm.scalar_step_derivation()
    assert s.residual_matches and s.ntk_matches
    assert sp.simplify(s.edge - 2 / sorm.eta) == 0
    r, lam, jqj, qj2, eta = sorm.r_sym, sorm.lam_sym, sorm.jqj_sym, sorm.qj2_sym, sorm.eta
    wrong_ntk = lam - eta * r * jqj + eta**2 * r**2 * qj2  # factor 2 dropped
    wrong_res = (1 - eta * lam) * r + eta**2 * r**2 * jqj  # factor 1/2 dropped
    assert sorm.scalar_step_check(sorm.RESIDUAL_NEXT, wrong_ntk) == (True, False)
    assert sorm.scalar_step_check(wrong_res, sorm.NTK_NEXT) == (False, True)


def test_linear_model_has_constant_ntk():
    assert sorm.linear_derivation()


def test_chapter_derivation_wraps_the_toolkits():
    assert derivation.gd_edge().matches
    ids = derivation.sorm_identities()
    assert ids.hessian.matches and ids.step.residual_matches and ids.step.ntk_matches
    assert ids.constant_ntk


# ----------------------------------------------------------------------------- experiments


@pytest.fixture(scope="module")
def tiny():
    return ex.digits_problem(n_train=24, width=5, seed=0)


def test_hvp_operator_matches_shared_hvp_and_dense_hessian(tiny):
    theta = tiny.theta0.clone()
    v = torch.randn(tiny.dim, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    ours = hvp_operator(tiny.loss, theta, mode="reverse")[0](v)
    shared = hvp(tiny.loss, theta, v)
    dense = dense_hessian(tiny.loss, theta) @ v
    assert torch.allclose(ours, shared, rtol=1e-10, atol=1e-12)
    assert torch.allclose(ours, dense, rtol=1e-10, atol=1e-12)


def test_train_gd_records_sharpness_and_losses(tiny):
    steps, every = 30, 10
    tr = ex.train_gd(tiny, (0.05, 1e4), steps, every, tol=1e-8, max_iter=200)
    ok, blown = tr.runs
    assert ok.steps == [0, 10, 20, 30] and ok.diverged_at == -1
    top = float(torch.linalg.eigvalsh(dense_hessian(tiny.loss, tiny.theta0))[-1])
    assert math.isclose(ok.sharpness[0], top, rel_tol=1e-8)
    assert len(ok.losses) == steps + 1 and ok.final_loss == ok.losses[-1]
    assert sum(ok.ups) == int(np.sum(np.diff(ok.losses) > 0))
    assert ok.loss == [ok.losses[s] for s in ok.steps]
    assert blown.diverged_at >= 0  # divergence is data ...
    text = json.dumps(to_jsonable([r.record() for r in tr.runs]))
    assert "NaN" not in text and "Infinity" not in text  # ... never NaN in a record


def test_train_gd_is_deterministic(tiny):
    a = ex.train_gd(tiny, (0.1, 0.3), 20, 5)
    b = ex.train_gd(tiny, (0.1, 0.3), 20, 5)
    assert [r.record() for r in a.runs] == [r.record() for r in b.runs]


def test_sorm_step_and_ntk_against_a_direct_computation():
    draws = ex.sorm_draws(d=6, m=3, draws=2, seed=0)
    res = ex.sorm_ensemble(draws, q_scale=0.7, eta=0.1, steps=1)
    J, Q, y = draws.J[1], 0.7 * draws.Q[1], draws.targets[1]
    assert math.isclose(res.lam[0, 1], float(torch.linalg.eigvalsh(J @ J.T)[-1]), rel_tol=1e-12)
    theta1 = -0.1 * J.T @ (-y)  # one GD step from theta = 0 (residual -y)
    jac = J + Q @ theta1
    assert math.isclose(res.lam[1, 1], float(torch.linalg.eigvalsh(jac @ jac.T)[-1]),
                        rel_tol=1e-12)
    r1 = J @ theta1 + 0.5 * torch.einsum("mde,d,e->m", Q, theta1, theta1) - y
    assert math.isclose(res.loss[1, 1], float(0.5 * r1 @ r1), rel_tol=1e-12)


def test_sorm_linear_model_does_not_sharpen():
    draws = ex.sorm_draws(d=20, m=4, draws=3, seed=0)
    lin = ex.sorm_ensemble(draws, 0.0, 0.5, 50)
    assert np.allclose(lin.lam, lin.lam[0], rtol=1e-12)
    quad = ex.sorm_ensemble(draws, 0.6, 0.5, 50)
    assert not np.allclose(quad.lam, quad.lam[0], rtol=1e-3)


def test_quadratic_control_diverges_exactly_past_two():
    q = ex.quadratic_control(400)
    assert np.array_equal(q.diverged, q.eta_lambda > 2.0 + 1e-9)
    assert np.all(q.diverged_at[q.diverged] > 0) and np.all(q.diverged_at[~q.diverged] == -1)


def test_divergence_sweep_finds_where_the_network_diverges(tiny):
    d = ex.divergence_sweep(tiny, (1.1, 200.0), 30)
    assert d.diverged_at[0] == -1 and d.diverged_at[1] >= 0 and d.first_diverging() == 1
    assert d.etas == pytest.approx(np.array([1.1, 200.0]) * 2 / d.s0)
    run = ch.diverging_run(d.record())
    assert run["eta"] == d.etas[1] and run["diverged_at"] == d.diverged_at[1]
    e = ex.divergence_edge(tiny, (1.25, 200.0), 1.5, 30)
    assert list(e.rel[:2]) == [1.25, 1.875] and np.all(np.diff(e.rel) > 0)


def test_settings_modes():
    quick, full = protocol.settings("quick", 0), protocol.settings("full", 3)
    assert full.seed == 3
    assert full.steps > quick.steps and full.sorm_draws > quick.sorm_draws
    assert 0.0 in quick.sorm_q_scales and 0.0 not in quick.sorm_declared
    assert set(full.sorm_declared) == set(full.sorm_q_scales) - {0.0}


# ----------------------------------------------------------------------------- checks


def _run(eta, sharp, loss, ups, total=300, diverged_at=-1):
    steps = [int(i * total / (len(sharp) - 1)) for i in range(len(sharp))]
    return {"eta": eta, "steps": steps, "sharpness": sharp, "loss": loss, "ups": ups,
            "final_loss": loss[-1] * 0.9, "total_steps": total, "diverged_at": diverged_at}


def _measured():
    eos = [_run(0.2, [6.0, 8.0, 10.3, 9.9, 10.1, 10.2, 10.0], [1, .8, .6, .5, .45, .4, .35],
                [0, 0, 10, 12, 15, 11, 0]),
           _run(0.1, [5.0, 12.0, 19.0, 20.5, 20.2, 20.1, 19.9], [1, .7, .5, .4, .35, .3, .28],
                [0, 0, 0, 9, 8, 10, 0])]
    runs = {"runs": eos}
    diverging = {"rel": [1.25, 1.5], "etas": [0.4, 0.5], "s0": 6.0, "loss0": 1.0,
                 "diverged_at": [-1, 5], "last_loss": [0.5, 100.0], "steps": 100}

    def model(q, finals):
        n = len(finals)
        return {"eta": 0.5, "q_scale": q, "lam_initial": [1.6] * n, "lam_final": finals,
                "lam_max": [max(f, 4.4) for f in finals], "loss_initial": [4.0] * n,
                "loss_final": [0.0] * n, "diverged_at": [-1] * n, "steps": 100}

    declared = [model(0.4, [3.9, 3.95, 3.8, 4.1, 3.92] * 2), model(0.6, [4.0, 3.85] * 5)]
    linear = {**model(0.0, [1.6] * 10), "lam_max": [1.6] * 10}
    return json.loads(json.dumps(to_jsonable({
        "eos-progressive-sharpening": runs, "eos-plateau": runs,
        "eos-self-stabilisation": {**runs, "diverging": diverging},
        "eos-nonmonotone-descent": runs,
        "eos-sorm-sharpening": {"model": declared, "linear": linear}})))


def test_every_claim_decides_and_its_mutations_are_caught():
    m = _measured()
    for claim in ch.CHAPTER.claims:
        ev = decide(claim, m[claim.id])
        assert ev.verdict in (Verdict.HOLDS, Verdict.TIGHT), (claim.id, ev.main, ev.control)
        assert not ev.control.ok
        caught = [r.caught for r in mutate(claim, m[claim.id])]
        assert all(caught) or (claim.mutation_exempt and any(caught)), claim.id


def _doctor(m, claim_id, edit):
    m = copy.deepcopy(m)
    edit(m[claim_id])
    return decide(ch.CHAPTER.claim(claim_id), m[claim_id])


def test_each_check_can_fail():
    m = _measured()

    def no_reach(d):  # the 0.1 run never reaches 20
        d["runs"][1]["sharpness"] = [5.0, 8.0, 11.0, 14.0, 16.0, 18.0, 19.0]

    def starts_at_edge(d):
        d["runs"][0]["sharpness"][0] = 9.5

    def off_plateau(d):
        d["runs"][0]["sharpness"][-3:] = [12.5, 12.4, 12.6]

    def rising_loss(d):
        d["runs"][0]["final_loss"] = 2.0

    def monotone(d):
        d["runs"][1]["ups"] = [0] * 7

    def no_sharpening(d):
        for rec in d["model"]:
            rec["lam_final"] = [2.0] * 10

    assert _doctor(m, "eos-progressive-sharpening", no_reach).verdict == Verdict.VIOLATED
    assert _doctor(m, "eos-progressive-sharpening", starts_at_edge).verdict == Verdict.VIOLATED
    assert _doctor(m, "eos-plateau", off_plateau).verdict == Verdict.VIOLATED
    assert _doctor(m, "eos-self-stabilisation", rising_loss).verdict == Verdict.VIOLATED
    assert _doctor(m, "eos-nonmonotone-descent", monotone).verdict == Verdict.VIOLATED
    assert _doctor(m, "eos-nonmonotone-descent", rising_loss).verdict == Verdict.VIOLATED
    assert _doctor(m, "eos-sorm-sharpening", no_sharpening).verdict == Verdict.VIOLATED


def test_control_without_power_is_inconclusive():
    m = _measured()

    def nothing_diverges(d):  # the largest step size survives: the test has no power
        d["diverging"]["diverged_at"] = [-1, -1]
        d["diverging"]["last_loss"] = [0.5, 0.4]

    def on_the_perturbed_edge(d):  # medians at 1.2 x the edge: the perturbed band passes
        for r in d["runs"]:
            r["sharpness"][-3:] = [1.2 * 2 / r["eta"]] * 3

    def ups_before_the_edge(d):
        d["runs"][0]["ups"][0] = 50
        d["runs"][1]["ups"][0] = 50

    def half_in_band(d):  # 10 of 20 pairs: the interval straddles 1/2
        d["model"][1]["lam_final"] = [8.0] * 10

    assert _doctor(m, "eos-self-stabilisation", nothing_diverges).verdict == \
        Verdict.INCONCLUSIVE
    assert _doctor(m, "eos-plateau", on_the_perturbed_edge).verdict == Verdict.INCONCLUSIVE
    assert _doctor(m, "eos-nonmonotone-descent", ups_before_the_edge).verdict == \
        Verdict.INCONCLUSIVE
    ev = _doctor(m, "eos-sorm-sharpening", half_in_band)
    assert ev.verdict == Verdict.INCONCLUSIVE and ev.main.undecided
    assert ev.main.interval == pytest.approx(ch.clopper_pearson(10, 20))


def test_sorm_count_and_its_interval():
    m = _measured()["eos-sorm-sharpening"]
    ev = decide(ch.CHAPTER.claim("eos-sorm-sharpening"), m)
    assert ev.verdict == Verdict.HOLDS and ev.main.measured == 1.0
    assert ev.main.interval == pytest.approx(ch.clopper_pearson(20, 20))
    assert ev.control.interval is not None and not ev.control.ok
    few = copy.deepcopy(m)
    few["model"][0]["lam_final"] = [8.0] * 10
    few["model"][1]["lam_final"] = [4.0] * 3 + [8.0] * 7  # 3 of 20
    assert decide(ch.CHAPTER.claim("eos-sorm-sharpening"), few).verdict == Verdict.VIOLATED


def test_helpers():
    run = _run(0.2, [5.0, 8.0, 10.3, 9.9], [1, .8, .6, .5], [0, 2, 3, 0], total=30)
    assert ch.entry_index(run, 2.0) == 2 and ch.entry_index(run, 2.5) is None
    assert ch.up_fraction(run, 2.0) == 3 / 10
    assert ch.plateau_ratios([run], 2.0) == [pytest.approx(1.01)]
    s = ch.sorm_summary({"eta": 0.5, "lam_initial": [1.0, 1.0, 1.0], "lam_final": [4.0, 3.0, 9.0],
                         "lam_max": [5.0, 3.0, 9.0], "diverged_at": [-1, -1, 7]}, 2.0)
    assert s["median_final"] == 1.0 and s["crossed"] == 2 and s["settled_above"] == 1
