"""The SAM edge chapter: derivations, experiment functions, and checks that can fail."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from torch.func import grad

from boundbook.chapters.sam_edge import claims, derivation, protocol
from boundbook.chapters.sam_edge import experiment as se
from boundbook.chapters.sam_edge.derivation import radius_for_fraction, sam_facts
from boundbook.core.chapter import get
from boundbook.core.claims import Verdict, decide, mutate
from boundbook.numeric.hessian import dense_hessian
from boundbook.problems import sorm
from boundbook.problems.digits import digits_regression
from boundbook.symbolic import quadratic as q
from boundbook.symbolic.quadratic import normalised_sam_edge, sam_edge

CHAPTER = get("sam_edge")


def test_symbolic_facts_are_exact():
    fx = sam_facts()
    assert fx.limit_is_gd and fx.series_matches and fx.multiplier_below_one
    assert fx.normalised_matches and fx.radius_check


@pytest.mark.parametrize("fraction", [0.3, 0.65, 0.8, 1.0])
def test_radius_for_fraction_puts_the_edge_there(fraction):
    eta = 0.7
    assert sam_edge(eta, radius_for_fraction(eta, fraction)) == pytest.approx(
        fraction * 2 / eta, rel=1e-12)


def test_normalised_edge_is_unnormalised_with_rho_over_g():
    assert normalised_sam_edge(0.1, 0.05, 0.2) == pytest.approx(sam_edge(0.1, 0.25), rel=1e-12)


@pytest.mark.parametrize(("eta", "rho"), [(0.1, 0.05), (0.05, 0.01), (0.2, 0.01), (0.7, 3.0),
                                         (1e-3, 1e-4), (0.3, 0.0)])
def test_plain_edge_in_claims_equals_the_sympy_derivation(eta, rho):
    assert claims.sam_edge(eta, rho) == sam_edge(eta, rho)  # exactly: the same expression
    assert claims.sam_edge(eta, rho) == pytest.approx(
        float(derivation.edge_derivation().edge.subs({q.eta: eta, q.rho: rho}).evalf(30))
        if rho else 2 / eta, rel=1e-12)


def test_closed_form_step_equals_autograd_step():
    H, th = se.quadratic(6, 1)
    c = torch.tensor(3.0, dtype=torch.float64)
    a = se.curvature_step(H, 0.1, 0.05)(th, c)
    b = se.autograd_curvature_step(H, 0.1, 0.05)(th, c)
    assert torch.allclose(a, b, rtol=1e-13, atol=1e-13)
    assert torch.linalg.eigvalsh(H)[-1].item() == pytest.approx(1.0, rel=1e-12)


def test_critical_curvature_matches_the_edge():
    H, th = se.quadratic(10, 0)
    e = se.critical_curvature(H, th, 0.1, 0.05, steps=200, n=256, rounds=3,
                              control_factor=1.02)
    assert abs(e.measured / sam_edge(0.1, 0.05) - 1) < 1e-6
    assert e.sam_diverged_past and not e.gd_diverged_past


def test_regression_model_closed_forms_match_autodiff():
    models = sorm.seeded_models(7, 5, [3, 4], q_scale=10.0, z_scale=1.5)
    theta = torch.randn(2, 3, 7, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    loss, g = sorm.loss_and_grad(models, theta)
    H = sorm.hessian(models, theta)
    for s in range(2):
        one = models.select(s)

        def f(th, one=one):
            return sorm.loss(one, th[None, None])[0, 0]

        for r in range(3):
            assert torch.allclose(g[s, r], grad(f)(theta[s, r]), rtol=1e-12, atol=1e-14)
            assert torch.allclose(H[s, r], dense_hessian(f, theta[s, r]), rtol=1e-10,
                                  atol=1e-12)
            assert loss[s, r].item() == pytest.approx(f(theta[s, r]).item(), rel=1e-13)


def test_divergence_is_recorded_not_nan():
    models = sorm.seeded_models(6, 6, [0], q_scale=10.0, z_scale=1.5)
    res = se.train(models, np.array([50.0]), [se.Method("GD", 0.0)], steps=30, every=10)
    assert res.diverged_at[0, 0] >= 0
    row = protocol.plateau_table(res, "GD")[0]
    assert row["plateau_median"] is None


def test_batched_digits_loss_and_gradient_match_each_problem():
    probs = [digits_regression(40, (8, 8), s) for s in (0, 1)]
    batch = se.BatchedDigits(probs)
    gen = torch.Generator().manual_seed(0)
    theta = torch.stack([p.theta0 for p in probs])[:, None].expand(2, 3, -1).clone()
    theta = theta + 0.1 * torch.randn(theta.shape, generator=gen, dtype=torch.float64)
    loss, g = batch.loss_and_grad(theta)
    for s_, p in enumerate(probs):
        for r in range(3):
            assert loss[s_, r].item() == pytest.approx(p.loss(theta[s_, r]).item(), rel=1e-13)
            assert torch.allclose(g[s_, r], grad(p.loss)(theta[s_, r]), rtol=1e-11,
                                  atol=1e-14)


def test_mlp_training_is_sam_and_gd():
    """One recorded step of train_mlp equals the SAM / GD update written out."""
    methods = se.mlp_methods((0.65,))
    res = se.train_mlp([3], n_train=40, width=8, eta=0.1, methods=methods, steps=1, every=1)
    p = digits_regression(40, (8, 8), 3)
    g = grad(p.loss)
    th0 = p.theta0
    for r, m in enumerate(methods):
        rho = m.rho_over_eta * 0.1
        th1 = th0 - 0.1 * g(th0 + rho * g(th0))
        assert res.loss[1, 0, r] == pytest.approx(p.loss(th1).item(), rel=1e-12)
        lam = torch.linalg.eigvalsh(dense_hessian(p.loss, th1))[-1].item()
        assert res.sharpness[1, 0, r] == pytest.approx(lam, rel=1e-3)
    assert res.rhos[0] == 0.0
    assert sam_edge(0.1, float(res.rhos[1])) == pytest.approx(0.65 * 2 / 0.1, rel=1e-12)


@pytest.fixture(scope="module")
def quick():
    """A reduced run of the chapter's experiments (2 regression models, 600 steps; 2 digits
    MLPs, 800 steps)."""
    cfg = protocol.settings("quick", 0)
    cfg = protocol.SamSettings(**{**cfg.__dict__, "model_seeds": (0, 1), "train_steps": 600,
                                  "quad_pairs": ((0.1, 0.05),), "mlp_seeds": (0, 1),
                                  "mlp_steps": 800})
    H, th = se.quadratic(cfg.quad_dim, 0)
    edges = [se.critical_curvature(H, th, e, r, steps=cfg.quad_steps, n=cfg.quad_grid,
                                   rounds=cfg.quad_rounds, control_factor=1.02)
             for e, r in cfg.quad_pairs]
    res = se.regression_experiment(cfg)
    mlp = se.mlp_experiment(cfg)
    return protocol.measurements(edges, res, mlp, cfg)


def test_claims_hold_on_a_reduced_run(quick):
    for cid in ("sam-quadratic-edge", "sam-self-stabilisation",
                "sam-self-stabilisation-large-radius-mlp"):
        ev = decide(CHAPTER.claim(cid), quick[cid])
        assert ev.verdict == Verdict.HOLDS, (cid, ev.main)
        assert not ev.control.ok
        assert all(r.caught for r in mutate(CHAPTER.claim(cid), quick[cid])), cid
    ev = decide(CHAPTER.claim("sam-normalised-edge"), quick["sam-normalised-edge"])
    assert ev.main.ok and not ev.control.ok


def test_monte_carlo_claims_carry_intervals(quick):
    for c in CHAPTER.claims:
        ev = decide(c, quick[c.id])
        if c.monte_carlo:
            assert ev.main.interval is not None and ev.control.interval is not None, c.id
        assert ev.main.slack is not None, c.id


def test_stored_intervals_are_the_runs_intervals(quick):
    """The intervals in the measurements are a function of its runs (recomputed here)."""
    for cid in ("sam-self-stabilisation", "sam-self-stabilisation-large-radius",
                "sam-self-stabilisation-large-radius-mlp"):
        m = quick[cid]
        again = protocol._plateau_claim(cid, m["runs"], m["fraction"], m["model"])
        assert again["intervals"] == m["intervals"]
    m = quick["sam-normalised-edge"]
    assert protocol.plateau_intervals("sam-normalised-edge", m["runs"], lambda r, k, f:
                                      claims.normalised_ratios(r, k, use_norm=f)
                                      ) == m["intervals"]


def _doctored(cid, m, runs):
    return protocol._plateau_claim(cid, runs, m["fraction"], m["model"])


def test_quadratic_check_fails_on_a_doctored_edge(quick):
    m = copy.deepcopy(quick["sam-quadratic-edge"])
    m["cases"][0]["measured"] *= 1 + 1e-4
    assert decide(CHAPTER.claim("sam-quadratic-edge"), m).verdict == Verdict.VIOLATED
    m = copy.deepcopy(quick["sam-quadratic-edge"])
    m["cases"][0]["gd_diverged_past"] = True  # then the edge would not be SAM's own
    assert decide(CHAPTER.claim("sam-quadratic-edge"), m).verdict == Verdict.VIOLATED
    m = copy.deepcopy(quick["sam-quadratic-edge"])
    for c in m["cases"]:
        c["sam_diverged_past"] = False  # the control would pass: no power
    assert decide(CHAPTER.claim("sam-quadratic-edge"), m).verdict == Verdict.INCONCLUSIVE


@pytest.mark.parametrize("cid", ["sam-self-stabilisation",
                                 "sam-self-stabilisation-large-radius-mlp"])
def test_plateau_checks_fail_on_doctored_plateaus(quick, cid):
    m = quick[cid]
    runs = copy.deepcopy(m["runs"])
    for r in runs:
        r["plateau_median"] *= 1.25
    assert decide(CHAPTER.claim(cid), _doctored(cid, m, runs)).verdict == Verdict.VIOLATED
    runs = copy.deepcopy(m["runs"])
    runs[0]["plateau_median"] *= 1.25  # one draw far off: the interval straddles 1.1
    ev = decide(CHAPTER.claim(cid), _doctored(cid, m, runs))
    assert ev.verdict in (Verdict.INCONCLUSIVE, Verdict.VIOLATED)
    runs = copy.deepcopy(m["runs"])
    runs[0]["plateau_median"] = None  # a diverged run
    assert decide(CHAPTER.claim(cid), _doctored(cid, m, runs)).verdict == Verdict.VIOLATED


def test_normalised_check_fails_on_doctored_plateaus(quick):
    n = copy.deepcopy(quick["sam-normalised-edge"])
    for r in n["runs"]:
        r["sharpness"] = [0.7 * x for x in r["sharpness"]]
    n["intervals"] = protocol.plateau_intervals(
        "sam-normalised-edge", n["runs"],
        lambda r, k, f: claims.normalised_ratios(r, k, use_norm=f))
    assert decide(CHAPTER.claim("sam-normalised-edge"), n).verdict == Verdict.VIOLATED


def test_missing_interval_is_an_error(quick):
    m = copy.deepcopy(quick["sam-self-stabilisation"])
    m["intervals"]["check"] = {}
    with pytest.raises(KeyError, match="bootstrap interval"):
        decide(CHAPTER.claim("sam-self-stabilisation"), m)


def test_claim_ids_and_sources():
    for c in CHAPTER.claims:
        assert c.id.startswith("sam-") and c.family == "stable-step"
        assert c.source.bibkey in ("agarwala2023sam", "long2023sam")
        assert c.source.version == {"agarwala2023sam": "v1", "long2023sam": "v5"}[
            c.source.bibkey]
        assert c.mutations
        assert c.kind and c.provenance
    assert CHAPTER.claim("sam-quadratic-edge").provenance == "derived"
    assert CHAPTER.claim("sam-quadratic-edge").kind == "threshold"
