"""Tests of the chapter decentralised_streaming (imports the chapter package directly; runs
while the chapter is a draft)."""

from __future__ import annotations

import numpy as np
import pytest

from boundbook.chapters.decentralised_streaming import claims

CLAIM = {c.id: c for c in claims.CHAPTER.claims}


def _slopes(main: list[float], ctrl: list[float], half: float = 0.02, **extra: object) -> dict:
    iv = lambda xs: [[x - half, x + half] for x in xs]  # noqa: E731
    return {"graphs": ["ring", "complete"], "slopes": main, "slopes_interval": iv(main),
            "control_slopes": ctrl, "control_slopes_interval": iv(ctrl), **extra}


def test_rate_check_control_and_mutations() -> None:
    c = CLAIM["dstream-fixed-point-rate"]
    m = _slopes([-1.02, -0.99], [0.0, -0.01, -0.14], control_labels=["a", "b", "c"])
    assert c.check(m, c.constants).ok
    assert not c.control(m, c.constants).ok
    for mut in c.mutations:
        assert not c.check(m, mut.apply(c.constants)).ok
    assert not c.check(_slopes([-0.5, -1.0], [0.0], control_labels=["a"]), c.constants).ok
    assert c.check(_slopes([-1.09, -1.0], [0, 0, 0], 0.03, control_labels=["a"] * 3),
                   c.constants).undecided


def _bias(main: list[float], ctrl: list[float], avg: float = 1e-16) -> dict:
    return _slopes(main, ctrl, avg_bias=[avg] * 4, max_bias=[1.0, 0.5, 0.3, 0.2])


def test_bias_check_control_and_mutation() -> None:
    c = CLAIM["dstream-heterogeneity-bias"]
    m = _bias([0.0, 0.001], [-0.51, -0.5])
    assert c.check(m, c.constants).ok
    assert not c.control(m, c.constants).ok
    assert not c.check(m, c.mutations[0].apply(c.constants)).ok
    assert not c.check(_bias([0.0, 0.0], [-0.5, -0.5], avg=1e-6), c.constants).ok


def _floor_measurements(scale: float = 1.0, half: float = 0.004) -> dict:
    lams = np.linalg.eigvalsh(_ring_W(8)).tolist()
    gammas = [0.9, 0.99]
    fl = [claims.predicted_floor(lams, 0.1, 1.0, 2, 1.0, g) * scale for g in gammas]
    return {"graphs": ["ring"], "gammas": gammas, "eigvals": [lams], "alpha": 0.1, "a": 1.0,
            "K": 2, "noise": 1.0, "floors": [fl],
            "floors_interval": [[[f * (1 - half), f * (1 + half)] for f in fl]],
            "sympy_matches": True}


def test_floor_check_control_and_mutations() -> None:
    c = CLAIM["dstream-discounted-floor"]
    m = _floor_measurements()
    assert c.check(m, c.constants).ok
    assert not c.control(m, c.constants).ok
    for mut in c.mutations:
        assert not c.check(m, mut.apply(c.constants)).ok
    assert not c.check(_floor_measurements(1.1), c.constants).ok
    assert c.check(_floor_measurements(1.018, 0.01), c.constants).undecided


def _bound_measurements(excess: float = 0.0) -> dict:
    l2 = 0.8
    return {"graph": ["ring"] * 3, "alpha": [0.1] * 3, "a": 1.0, "G": [1.0] * 3,
            "lambda2": [l2] * 3, "equality": [False, False, True],
            "bias": [0.1 / 0.3 * 0.5, 0.1 / 0.3 * 0.9, 0.1 / 0.3 * (1 + excess)],
            "sympy_matches": True}


def test_bound_check_control_and_mutations() -> None:
    c = CLAIM["dstream-bias-bound"]
    m = _bound_measurements()
    out = c.check(m, c.constants)
    assert out.ok and out.slack == pytest.approx(0.1) and abs(out.equality) < 1e-12
    assert not c.control(m, c.constants).ok
    for mut in c.mutations:
        assert not c.check(m, mut.apply(c.constants)).ok
    assert not c.check(_bound_measurements(1e-6), c.constants).ok


def _ring_W(n: int) -> np.ndarray:
    W = np.zeros((n, n))
    for i in range(n):
        W[i, i] = W[i, (i + 1) % n] = W[i, (i - 1) % n] = 1 / 3
    return W


def test_derivation_exact_and_closed_form_agrees() -> None:
    import sympy as sp

    from boundbook.chapters.decentralised_streaming import derivation as D

    d = D.floor_derivation()
    assert d.all_match, d.flags()
    f = sp.lambdify((D.q, D.p, D.s, D.c), d.closed_form)
    rng = np.random.default_rng(0)
    for _ in range(20):
        lam, alpha, K, c = rng.uniform(-0.3, 1), rng.uniform(0.01, 0.5), int(rng.integers(1, 4)), \
            rng.uniform(0.01, 0.5)
        q, p = (lam - alpha) ** K, alpha / (1 - lam + alpha)
        assert claims.mode_variance(lam, alpha, 1.0, K, 0.7, c) == pytest.approx(f(q, p, 0.7, c))


def test_floor_equals_full_state_lyapunov() -> None:
    """The mode sum against the stationary covariance of the full state (e, z - m), solved as
    a dense linear system (no eigen-decomposition)."""
    n, alpha, a, K, s, gamma = 6, 0.2, 1.0, 3, 0.5, 0.9
    W = _ring_W(n)
    c = 1 - gamma
    Mk = np.linalg.matrix_power(W - alpha * a * np.eye(n), K)
    P = alpha * a * np.linalg.inv(np.eye(n) - W + alpha * a * np.eye(n))
    F = np.block([[Mk, c * Mk @ P], [np.zeros((n, n)), (1 - c) * np.eye(n)]])
    G = np.vstack([-c * Mk @ P, c * np.eye(n)])
    Q = s**2 * G @ G.T
    vec = np.linalg.solve(np.eye(4 * n * n) - np.kron(F, F), Q.reshape(-1))
    Sigma = vec.reshape(2 * n, 2 * n)
    pred = claims.predicted_floor(np.linalg.eigvalsh(W), alpha, a, K, s, gamma)
    assert pred == pytest.approx(np.sqrt(np.trace(Sigma[:n, :n])), rel=1e-10)


def test_small_run_matches_model_and_fixed_point() -> None:
    import torch

    from boundbook.chapters.decentralised_streaming import experiment as E
    from boundbook.numeric.tracking import streaming_network

    net = streaming_network(5, "ring", noise=1.0, seed=1)
    m = net.means[:, 0]
    P = E.fixed_point_matrix(net.W, 0.2, 1.0)
    z = torch.randn(5, dtype=torch.float64)
    assert torch.allclose(net.W @ (P @ z) - 0.2 * (P @ z - z), P @ z)  # a DGD fixed point
    x = net.samples(301, range(400))[..., 0]
    runs = E.run_configs(net.W, "ring", [(x, m.numpy(), None), (x, m.numpy(), 0.9)],
                         0.2, 1.0, 2, 1.0)
    for r in runs:
        ratio = r.e2.mean(0)[[9, 99, 299]] / r.expected_e2[[9, 99, 299]]
        assert np.all(np.abs(ratio - 1) < 0.25), ratio
        assert r.avg_bias < 1e-13
    times = E.fit_times(20, 300, 20)
    s, (lo, hi) = E.slope_with_interval(runs[0].e2, times)
    assert lo <= s <= hi and -1.2 < s < -0.8


def test_bias_instances_equality() -> None:
    from boundbook.chapters.decentralised_streaming import experiment as E

    inst = E.bias_instances("ring", 8, (0.1,), 1.0, 30, 0) + E.bias_instances(
        "complete", 8, (0.1,), 1.0, 5, 0)
    for b in inst:
        bound = claims.bias_bound(b.alpha, b.G, b.lambda2, 1.0)
        assert b.bias <= bound * (1 + 1e-12)
        if b.equality:
            assert b.bias == pytest.approx(bound, rel=1e-10)


def _floor_exists(slopes: list[float], ctrl: list[float], floors: list[list[float]],
                  half: float = 0.02, fhalf: float = 0.001) -> dict:
    iv = lambda xs: [[x - half, x + half] for x in xs]  # noqa: E731
    return {"labels": [f"r{i}" for i in range(len(slopes))], "slopes": slopes,
            "slopes_interval": iv(slopes), "control_labels": ["u"] * len(ctrl),
            "control_slopes": ctrl, "control_slopes_interval": iv(ctrl),
            "graphs": ["ring"] * len(floors), "gammas": [0.9, 0.95, 0.99], "floors": floors,
            "floors_interval": [[[f - fhalf, f + fhalf] for f in row] for row in floors]}


def test_floor_exists_check_control_and_mutations() -> None:
    c = CLAIM["dstream-floor-controlled-by-discount"]
    m = _floor_exists([-0.01, 0.003], [-1.02, -1.0], [[0.12, 0.06, 0.014]])
    assert c.check(m, c.constants).ok
    assert not c.control(m, c.constants).ok
    for mut in c.mutations:
        assert not c.check(m, mut.apply(c.constants)).ok
    # a decaying error, or a floor that grows with gamma, fails
    assert not c.check(_floor_exists([-0.5, 0.0], [-1.0], [[0.12, 0.06, 0.014]]),
                       c.constants).ok
    assert not c.check(_floor_exists([0.0, 0.0], [-1.0], [[0.012, 0.06, 0.14]]),
                       c.constants).ok
    # ordered estimates with overlapping intervals: undecided
    assert c.check(_floor_exists([0.0, 0.0], [-1.0], [[0.12, 0.1195, 0.01]]),
                   c.constants).undecided


def test_bias_both_check_control_and_mutation() -> None:
    c = CLAIM["dstream-bias-floor-both-weightings"]
    m = {"labels": ["a", "b", "c"], "slopes": [0.0, 0.002, -0.001],
         "slopes_interval": [[-0.01, 0.01]] * 3, "control_slopes": [-0.49, -0.5, -0.48],
         "control_slopes_interval": [[-0.52, -0.46]] * 3, "levels": [1.0, 0.9, 0.8]}
    assert c.check(m, c.constants).ok
    assert not c.control(m, c.constants).ok
    assert not c.check(m, c.mutations[0].apply(c.constants)).ok


def test_decaying_bias_matches_direct_fixed_point() -> None:
    import torch

    from boundbook.chapters.decentralised_streaming import experiment as E

    W = torch.as_tensor(_ring_W(6))
    z = torch.randn(3, 5, 6, dtype=torch.float64)
    got = E.decaying_bias(W, z, 0.3, 1.5)
    J = torch.full((6, 6), 1 / 6, dtype=torch.float64)
    for tau in range(5):
        P = E.fixed_point_matrix(W, 0.3 / (tau + 1) ** 0.5, 1.5)
        want = ((z[:, tau] @ (P - J).T) ** 2).sum(-1)
        assert torch.allclose(got[:, tau], want, rtol=1e-10)
    assert E.stationary_start(100, None) == 100
    assert E.stationary_start(100, 0.95) == 200 and E.stationary_start(100, 0.99) == 1000
