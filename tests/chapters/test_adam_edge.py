"""The Adam edge chapter: derivation, experiment functions, and checks that can fail."""

from __future__ import annotations

import copy

import pytest
import torch

from boundbook.chapters.adam_edge import claims, derivation, protocol
from boundbook.chapters.adam_edge import experiment as ae
from boundbook.chapters.adam_edge.claims import THRESHOLD, rises
from boundbook.core.chapter import get
from boundbook.core.claims import Verdict, decide, mutate
from boundbook.core.stats import clopper_pearson
from boundbook.numeric.sweep import ema_momentum_step, momentum_state
from boundbook.problems.models import mlp
from boundbook.symbolic import quadratic as q
from boundbook.symbolic.quadratic import ema_momentum_edge, momentum_derivation

CHAPTER = get("adam_edge")


def test_threshold_is_38_over_eta_at_beta_09():
    assert momentum_derivation("ema").matches
    assert ema_momentum_edge(0.01, 0.9) == pytest.approx(3800.0, rel=1e-12)
    assert ema_momentum_edge(0.01, 0.0) == pytest.approx(200.0, rel=1e-12)


@pytest.mark.parametrize(("eta", "beta"), [(0.01, 0.9), (3e-3, 0.9), (1.0, 0.0), (0.2, 0.5),
                                          (1e-3, 0.999)])
def test_plain_thresholds_in_claims_equal_the_sympy_derivations(eta, beta):
    # exactly: the same expressions as the lambdified derivations
    assert claims.ema_edge(eta, beta) == ema_momentum_edge(eta, beta)
    assert claims.heavy_ball_edge(eta, beta) == q.heavy_ball_edge(eta, beta)
    assert claims.gd_edge(eta) == q.gd_edge(eta)
    exact = derivation.frozen_edge().ema.edge.subs({q.eta: eta, q.beta: beta})
    assert claims.ema_edge(eta, beta) == pytest.approx(float(exact.evalf(30)), rel=1e-12)


def test_chapter_derivation_gives_38_over_eta():
    fe = derivation.frozen_edge()
    assert fe.ema.matches and fe.heavy_ball.matches and fe.at_09 == 38


def test_closed_form_frozen_step_equals_the_shared_update():
    H, P, th = ae.frozen_problem(6, 2)
    state = momentum_state(th) + 0.1
    eta = torch.tensor(0.3, dtype=torch.float64)
    a = ae.frozen_adam_step(H, P, 0.9)(state, eta)
    b = ema_momentum_step(lambda x: 0.5 * x @ H @ x, 0.9, P)(state, eta)
    assert torch.allclose(a, b, rtol=1e-13, atol=1e-14)


def test_top_preconditioned_is_the_dense_eigenvalue():
    H, P, _ = ae.frozen_problem(8, 3)
    dense = torch.linalg.eigvals(torch.diag(1 / P) @ H).real.max().item()
    assert ae.top_preconditioned(H, P) == pytest.approx(dense, rel=1e-10)


def test_frozen_edge_matches_the_formula():
    H, P, th = ae.frozen_problem(10, 0)
    e = ae.frozen_edge(H, P, th, 0.9, steps=300, n=256, rounds=3, factors=(0.95, 1.05),
                       control_steps=1000)
    assert abs(e.measured_step / e.predicted_step - 1) < 1e-6
    assert e.converged_below and e.diverged_above


def test_digits_loss_is_the_model_forward():
    problem = ae.digits_problem(32, 8, seed=1)
    params, loss_fn = problem.params, problem.loss_of
    model = mlp([64, 8, 10], activation="tanh", seed=1, dtype=torch.float64)
    assert all(torch.equal(params[k], v) for k, v in model.named_parameters())
    from boundbook.problems.data import load_digits_split

    split = load_digits_split(seed=1, device="cpu")  # the same seed as the model
    x = split.x_train[:32].double()
    y = torch.nn.functional.one_hot(split.y_train[:32], 10).double()
    ref = 0.5 * ((model(x) - y) ** 2).sum(1).mean()
    assert loss_fn(params).item() == pytest.approx(ref.item(), rel=1e-14)


def test_functional_adam_matches_torch_optim_adam():
    problem = ae.digits_problem(32, 8, seed=0)
    params, loss_fn = problem.params, problem.loss_of
    run = ae.train_adam(params, loss_fn, eta=1e-2, steps=20, every=10, beta1=0.9, beta2=0.999,
                        eps=1e-12)
    leaves = {k: v.clone().requires_grad_() for k, v in params.items()}
    opt = torch.optim.Adam(leaves.values(), lr=1e-2, betas=(0.9, 0.999), eps=1e-12)
    losses = []
    for t in range(1, 21):
        opt.zero_grad()
        loss = loss_fn(leaves)
        if t == 1 or t % 10 == 0:
            losses.append(loss.item())
        loss.backward()
        opt.step()
    assert run.loss.tolist() == pytest.approx(losses, rel=1e-10)


@pytest.fixture(scope="module")
def quick():
    """A reduced run: beta1 in (0, 0.9), 1500 Adam steps."""
    cfg = protocol.settings("quick", 0)
    cfg = protocol.AdamSettings(**{**cfg.__dict__, "betas": (0.0, 0.9), "train_steps": 1500})
    H, P, th = ae.frozen_problem(cfg.quad_dim, 0)
    edges = [ae.frozen_edge(H, P, th, b, steps=cfg.quad_steps, n=cfg.quad_grid,
                            rounds=cfg.quad_rounds, factors=cfg.control_factors,
                            control_steps=cfg.control_steps) for b in cfg.betas]
    return protocol.measurements(edges, ae.network_runs(cfg), cfg)


def test_claims_hold_on_a_reduced_run(quick):
    for c in CHAPTER.claims:
        ev = decide(c, quick[c.id])
        assert ev.verdict in (Verdict.HOLDS, Verdict.TIGHT), (c.id, ev.main)
        assert not ev.control.ok
        assert all(r.caught for r in mutate(c, quick[c.id])), c.id


def test_checks_fail_on_doctored_measurements(quick):
    m = copy.deepcopy(quick["adam-frozen-edge"])
    m["cases"][-1]["measured_step"] *= 1 + 1e-4
    assert decide(CHAPTER.claim("adam-frozen-edge"), m).verdict == Verdict.VIOLATED
    m = copy.deepcopy(quick["adam-frozen-edge"])
    for c in m["cases"]:
        c["diverged_above"] = False
    assert decide(CHAPTER.claim("adam-frozen-edge"), m).verdict == Verdict.INCONCLUSIVE
    p = copy.deepcopy(quick["adam-preconditioned-plateau"])
    p["runs"][0]["preconditioned"] = [0.5 * x for x in p["runs"][0]["preconditioned"]]
    assert decide(CHAPTER.claim("adam-preconditioned-plateau"), p).verdict == Verdict.VIOLATED
    p = copy.deepcopy(quick["adam-preconditioned-plateau"])
    for run in p["runs"]:  # sitting at 0.7 x the threshold: the lower control band passes
        run["preconditioned"] = [0.7 * x for x in run["preconditioned"]]
    assert decide(CHAPTER.claim("adam-preconditioned-plateau"), p).verdict == \
        Verdict.INCONCLUSIVE
    r = copy.deepcopy(quick["adam-raw-sharpness-rises"])
    for run in r["runs"]:
        run["raw"] = [run["raw"][len(run["raw"]) // 2]] * len(run["raw"])  # flat raw sharpness
    ev = decide(CHAPTER.claim("adam-raw-sharpness-rises"), r)  # 0 of n cannot refute "can"
    assert ev.verdict == Verdict.INCONCLUSIVE and ev.main.undecided
    assert ev.main.interval == pytest.approx(clopper_pearson(0, len(r["runs"])))


def test_rise_is_a_count_over_every_run(quick):
    m = quick["adam-raw-sharpness-rises"]
    ev = decide(CHAPTER.claim("adam-raw-sharpness-rises"), m)
    k = sum(x >= 1.1 for x in rises(m, "raw", THRESHOLD))
    assert ev.main.ok == (k >= 1)
    assert ev.main.interval == pytest.approx(clopper_pearson(k, len(m["runs"])))
    assert all(f"eta {r['eta']:g}" in ev.main.note for r in m["runs"])


def test_claim_ids_and_sources():
    for c in CHAPTER.claims:
        assert c.id.startswith("adam-") and c.family == "stable-step"
        assert c.source.bibkey == "cohen2022adaptive"
