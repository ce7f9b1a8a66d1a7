"""The tracking toolkit against closed forms: problems, runs, steady states, Kalman and the
natural-gradient step."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from boundbook.numeric.contraction import gd_contraction_factor
from boundbook.numeric.tracking import (
    drift_bound,
    euclidean_gradient_step,
    gd_step,
    kalman_update,
    linear_drift_quadratic,
    metropolis_weights,
    natural_gradient_step,
    random_walk_mse,
    random_walk_quadratic,
    steady_state,
    streaming_network,
    track,
    worst_case_drift,
)

D = torch.float64


# -------------------------------------------------------------------------- problems
def test_random_walk_problem_shapes_spectrum_and_seed_independence():
    p = random_walk_quadratic(4, 0.5, 3.0, 0.2, 50, seeds=5)
    assert p.centres.shape == (5, 51, 4) and p.steps == 50 and p.n_seeds == 5
    assert torch.allclose(torch.linalg.eigvalsh(p.A), torch.linspace(0.5, 3.0, 4, dtype=D))
    assert torch.all(p.centres[:, 0] == 0)
    # a seed's draws do not depend on the other seeds in the batch
    q = random_walk_quadratic(4, 0.5, 3.0, 0.2, 50, seeds=[3])
    assert torch.equal(q.centres[0], p.centres[3])
    inc = (p.centres[:, 1:] - p.centres[:, :-1]).flatten()
    assert abs(float(inc.std()) - 0.2) < 0.03


def test_linear_drift_has_exact_step_length_and_direction():
    for direction in ("min", "max", "fixed-random", "random"):
        p = linear_drift_quadratic(3, 1.0, 5.0, 0.3, 20, seeds=4, direction=direction)
        inc = p.centres[:, 1:] - p.centres[:, :-1]
        assert torch.allclose(torch.linalg.vector_norm(inc, dim=-1), torch.full((4, 20), 0.3,
                                                                                 dtype=D))
    p = linear_drift_quadratic(3, 1.0, 5.0, 0.3, 4, direction="min", alternate=True)
    u = p.eigvecs[:, 0]
    inc = p.centres[0, 1:] - p.centres[0, :-1]
    assert torch.allclose(inc @ u, torch.tensor([0.3, -0.3, 0.3, -0.3], dtype=D))
    with pytest.raises(ValueError):
        linear_drift_quadratic(3, 1.0, 5.0, 0.3, 4, direction="sideways")


def test_metropolis_weights_are_doubly_stochastic_and_symmetric():
    for graph in ("ring", "complete"):
        net = streaming_network(7, graph)
        W = net.W
        assert torch.allclose(W, W.T)
        assert torch.allclose(W.sum(0), torch.ones(7, dtype=D))
        assert bool((W >= 0).all())
    ring = streaming_network(6, "ring").W
    assert float(ring[0, 1]) == pytest.approx(1 / 3) and float(ring[0, 3]) == 0.0
    assert streaming_network(5, "complete").beta2 == pytest.approx(0.0, abs=1e-12)
    assert 0 < streaming_network(8, "ring").beta2 < 1
    adj = torch.tensor([[0, 1, 0], [1, 0, 1], [0, 1, 0]])
    W = metropolis_weights(adj)
    assert float(W[0, 0]) == pytest.approx(1 - 1 / 3)


def test_streaming_samples_centre_on_agent_means():
    net = streaming_network(4, "ring", dim=2, heterogeneity=2.0, noise=0.5)
    xs = net.samples(4000, seeds=2)
    assert xs.shape == (2, 4000, 4, 2)
    assert torch.allclose(xs.mean((0, 1)), net.means, atol=0.05)
    same = streaming_network(4, "ring", heterogeneity=0.0)
    assert torch.all(same.means == 0)


# ------------------------------------------------------------------------------ runs
def test_equality_case_attains_the_drift_bound():
    mu, L, delta = 0.5, 4.0, 0.1
    for eta in (0.1, 0.3, 0.45):  # below, near and above 2/(mu + L)
        d, alt = worst_case_drift(mu, L, eta)
        p = linear_drift_quadratic(3, mu, L, delta, 600, direction=d, alternate=alt)
        run = track(gd_step(eta), p)
        q = gd_contraction_factor(mu, L, eta)
        t = np.arange(601)
        assert np.allclose(run.error[0], delta * (1 - q**t) / (1 - q), rtol=1e-9, atol=1e-14)
        assert run.error[0, -1] == pytest.approx(drift_bound(mu, L, eta, delta), rel=1e-9)
        assert run.aimed[0, -1] == pytest.approx(drift_bound(mu, L, eta, delta, aimed=True),
                                                 rel=1e-9)


@settings(max_examples=15, deadline=None)
@given(st.floats(0.1, 1.0), st.floats(1.0, 6.0), st.floats(0.05, 0.95), st.integers(0, 99))
def test_random_drift_never_exceeds_the_bound(mu, L, frac, seed):
    eta = frac * 2 / L
    p = linear_drift_quadratic(4, mu, L, 0.2, 80, seeds=[seed], direction="random")
    run = track(gd_step(eta), p)
    b = drift_bound(mu, L, eta, 0.2)
    assert run.error.max() <= b * (1 + 1e-12)
    assert run.aimed.max() <= drift_bound(mu, L, eta, 0.2, aimed=True) * (1 + 1e-12) + 1e-15


def test_batched_step_equals_vmapped_step_and_x0():
    p = random_walk_quadratic(3, 0.5, 2.0, 0.1, 30, seeds=4)
    r1 = track(gd_step(0.3), p, record_x=True)
    r2 = track(lambda x, g, t: x - 0.3 * g, p, batched=True)
    assert np.allclose(r1.error, r2.error) and np.allclose(r1.aimed, r2.aimed)
    assert r1.x.shape == (4, 31, 3)
    r3 = track(gd_step(0.3), p, x0=torch.ones(3, dtype=D))
    assert r3.error[0, 0] == pytest.approx(math.sqrt(3))
    # a schedule indexed by t under vmap
    etas = torch.full((30,), 0.3, dtype=D)
    r4 = track(lambda x, g, t: x - etas[t] * g, p)
    assert np.allclose(r4.error, r1.error)


def test_random_walk_steady_state_matches_the_exact_mse():
    p = random_walk_quadratic(3, 0.5, 2.0, 0.1, 3000, seeds=64, grad_noise=0.2)
    run = track(gd_step(0.4), p)
    ss = steady_state(run, 200, statistic="mse")
    exact = random_walk_mse(p.eigvals.numpy(), 0.4, 0.1, 0.2)
    assert ss.interval[0] <= ss.value <= ss.interval[1]
    assert abs(ss.value / exact - 1) < 0.05
    aimed = steady_state(run, 200, statistic="mse", which="aimed")
    assert abs(aimed.value / random_walk_mse(p.eigvals.numpy(), 0.4, 0.1, 0.2, aimed=True)
               - 1) < 0.05
    assert ss.n_seeds == 64 and ss.per_seed.shape == (64,)
    mx = steady_state(run, 200, statistic="max")
    assert mx.value >= steady_state(run, 200).value
    with pytest.raises(ValueError):
        steady_state(run, 200, statistic="median")
    assert random_walk_mse([1.0], 2.5, 0.1) == math.inf


def test_drift_bound_closed_form_and_tensors():
    assert drift_bound(1.0, 3.0, 0.5, 0.2) == pytest.approx(0.2 / (1 - 0.5))
    assert drift_bound(1.0, 3.0, 0.7, 0.2) == math.inf  # q = 1.1
    t = drift_bound(torch.tensor([1.0]), torch.tensor([3.0]), torch.tensor([0.5, 0.7]), 0.2)
    assert float(t[0]) == pytest.approx(0.4) and math.isinf(float(t[1]))


# --------------------------------------------------------------- Kalman / natural gradient
def _instance(seed, d=4, k=2):
    g = torch.Generator().manual_seed(seed)
    m = torch.randn(d, generator=g, dtype=D)
    X = torch.randn(d, d, generator=g, dtype=D)
    P = X @ X.T + 0.5 * torch.eye(d, dtype=D)
    H = torch.randn(k, d, generator=g, dtype=D)
    Y = torch.randn(k, k, generator=g, dtype=D)
    R = Y @ Y.T + 0.3 * torch.eye(k, dtype=D)
    y = torch.randn(k, generator=g, dtype=D)
    return m, P, H, R, y


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 5), st.integers(1, 4))
def test_unit_natural_gradient_step_is_the_kalman_update(seed, d, k):
    m, P, H, R, y = _instance(seed, d, k)
    km, kP = kalman_update(m, P, H, R, y)
    for form in ("natural", "nano-code"):
        nm, nP = natural_gradient_step(m, P, H, R, y, form=form)
        assert torch.allclose(nm, km, atol=1e-9, rtol=1e-9)
        assert torch.allclose(nP, kP, atol=1e-9, rtol=1e-9)
    # the posterior is a fixed point of further unit steps
    nm2, nP2 = natural_gradient_step(km, kP, H, R, y, prior=(m, P))
    assert torch.allclose(nm2, km, atol=1e-9) and torch.allclose(nP2, kP, atol=1e-9)


def test_other_steps_and_euclidean_gradient_miss_the_kalman_update():
    m, P, H, R, y = _instance(1)
    km, kP = kalman_update(m, P, H, R, y)
    for step in (0.5, 2.0):
        for form in ("natural", "nano-code"):
            nm, nP = natural_gradient_step(m, P, H, R, y, step=step, form=form)
            assert float((nm - km).abs().max() + (nP - kP).abs().max()) > 1e-3
    em, eP = euclidean_gradient_step(m, P, H, R, y)
    assert float((em - km).abs().max() + (eP - kP).abs().max()) > 1e-3
    with pytest.raises(ValueError):
        natural_gradient_step(m, P, H, R, y, form="other")


def test_kalman_update_is_the_dense_bayesian_posterior():
    # a 2-d prior, scalar measurement: posterior moments by quadrature on a dense grid
    m = torch.tensor([0.3, -0.5], dtype=D)
    P = torch.tensor([[1.0, 0.4], [0.4, 0.7]], dtype=D)
    H = torch.tensor([[1.0, -2.0]], dtype=D)
    R = torch.tensor([[0.6]], dtype=D)
    y = torch.tensor([1.1], dtype=D)
    g = torch.linspace(-7, 7, 1401, dtype=D)
    X = torch.stack(torch.meshgrid(g + m[0], g + m[1], indexing="ij"), -1).reshape(-1, 2)
    d = X - m
    logp = -0.5 * (d @ torch.linalg.inv(P) * d).sum(-1)
    r = y - X @ H.T
    logp = logp - 0.5 * (r**2).sum(-1) / R[0, 0]
    w = torch.exp(logp - logp.max())
    w = w / w.sum()
    mean = w @ X
    dc = X - mean
    cov = (dc * w[:, None]).T @ dc
    km, kP = kalman_update(m, P, H, R, y)
    assert torch.allclose(km, mean, atol=1e-8)
    assert torch.allclose(kP, cov, atol=1e-8)
    nm, nP = natural_gradient_step(m, P, H, R, y)
    assert torch.allclose(nm, mean, atol=1e-8) and torch.allclose(nP, cov, atol=1e-8)


def test_kalman_update_batches():
    insts = [_instance(s) for s in range(3)]
    stacked = [torch.stack([inst[i] for inst in insts]) for i in range(5)]
    bm, bP = kalman_update(*stacked)
    for i, inst in enumerate(insts):
        km, kP = kalman_update(*inst)
        assert torch.allclose(bm[i], km) and torch.allclose(bP[i], kP)
