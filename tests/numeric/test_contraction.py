"""The contraction toolkit against closed forms: log norms, the GD factor, Jacobians, rates,
thresholds."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from boundbook.numeric.contraction import (
    RateEstimate,
    contraction_threshold,
    empirical_contraction_rate,
    gd_contraction_factor,
    log_norm,
    update_jacobians,
)

D = torch.float64


def rand(shape, seed):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=D)


# ------------------------------------------------------------------------------ log norm
def test_log_norm_of_symmetric_and_diagonal_matrices():
    A = rand((4, 4), 0)
    S = (A + A.T) / 2
    assert torch.allclose(log_norm(S), torch.linalg.eigvalsh(S)[-1])
    diag = torch.diag(torch.tensor([-3.0, 0.5, -1.0], dtype=D))
    assert float(log_norm(diag)) == pytest.approx(0.5)
    # a diagonal matrix is unchanged by any diagonal weighting
    assert float(log_norm(diag, weights=[1.0, 7.0, 0.1])) == pytest.approx(0.5)


def test_log_norm_weights_change_a_nonnormal_measure():
    J = torch.tensor([[-1.0, 10.0], [0.0, -1.0]], dtype=D)
    # Euclidean: -1 + 10/2; weights w = (1, 100): W J W^-1 has off-diagonal 10 * 1/10 = 1
    assert float(log_norm(J)) == pytest.approx(4.0)
    assert float(log_norm(J, weights=[1.0, 100.0])) == pytest.approx(-0.5)


def test_log_norm_blocks_expand_weights():
    J = rand((3, 5, 5), 1)
    w_blocks = torch.tensor([2.0, 0.5], dtype=D)
    w_coords = torch.tensor([2.0, 2.0, 0.5, 0.5, 0.5], dtype=D)
    assert torch.allclose(log_norm(J, w_blocks, blocks=(2, 3)), log_norm(J, w_coords))
    with pytest.raises(ValueError):
        log_norm(J, w_blocks, blocks=(2, 2))
    with pytest.raises(ValueError):
        log_norm(J, w_coords[:4])
    with pytest.raises(ValueError):
        log_norm(J, -w_coords)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 6), seed=st.integers(0, 10_000),
       logw=st.lists(st.floats(-3, 3), min_size=6, max_size=6))
def test_log_norm_properties(n, seed, logw):
    """Bounds the spectral abscissa, equals lim (||I + hJ||_w - 1)/h, is subadditive and
    shifts with the identity, batched."""
    J = rand((2, n, n), seed)
    w = torch.exp(torch.tensor(logw[:n], dtype=D))
    m = log_norm(J, w)
    assert m.shape == (2,)
    abscissa = torch.linalg.eigvals(J).real.max(dim=-1).values
    assert torch.all(m >= abscissa - 1e-9)
    s = torch.sqrt(w)
    h = 1e-7
    M = s[:, None] * (torch.eye(n, dtype=D) + h * J) / s[None, :]
    finite_diff = (torch.linalg.matrix_norm(M, ord=2) - 1) / h
    assert torch.allclose(finite_diff, m, atol=1e-5 * (1 + m.abs().max()))
    assert torch.all(log_norm(J[0] + J[1], w) <= m[0] + m[1] + 1e-9)
    assert torch.allclose(log_norm(J + 2.5 * torch.eye(n, dtype=D), w), m + 2.5)


# ----------------------------------------------------------------------- the GD factor
def test_gd_factor_closed_forms_and_types():
    assert gd_contraction_factor(1.0, 9.0, 0.2) == pytest.approx(0.8)  # 2/(mu+L): 8/10
    assert gd_contraction_factor(1.0, 9.0, 2 / 9) == pytest.approx(1.0)
    assert gd_contraction_factor(1.0, 9.0, 0.05) == pytest.approx(0.95)
    arr = gd_contraction_factor(np.array([1.0, 3.0]), 9.0, 0.2)
    assert isinstance(arr, np.ndarray) and np.allclose(arr, [0.8, 0.8])
    ten = gd_contraction_factor(torch.tensor([1.0, 3.0], dtype=D), 9.0, torch.tensor(0.1))
    assert isinstance(ten, torch.Tensor) and torch.allclose(ten, torch.tensor([0.9, 0.7], dtype=D))


@settings(max_examples=50, deadline=None)
@given(mu=st.floats(1e-2, 10), ratio=st.floats(1, 100), u=st.floats(0.01, 2.5))
def test_gd_factor_is_the_spectral_norm_of_the_quadratic_update(mu, ratio, u):
    L = mu * ratio
    eta = u / L
    lams = torch.linspace(mu, L, 7, dtype=D)
    jac = torch.eye(7, dtype=D) - eta * torch.diag(lams)
    assert float(torch.linalg.matrix_norm(jac, ord=2)) == pytest.approx(
        gd_contraction_factor(mu, L, eta), rel=1e-12, abs=1e-12)


# -------------------------------------------------------------------------- Jacobians
def test_update_jacobians_of_gd_on_a_quadratic_and_a_nonlinear_map():
    A = rand((4, 4), 2)
    H = A @ A.T + torch.eye(4, dtype=D)
    pts = rand((5, 4), 3)
    J = update_jacobians(lambda x: x - 0.1 * (H @ x), pts)
    assert J.shape == (5, 4, 4)
    assert torch.allclose(J, (torch.eye(4, dtype=D) - 0.1 * H).expand(5, 4, 4))
    W = rand((4, 4), 4)
    J2 = update_jacobians(lambda h: torch.tanh(W @ h), pts)
    expected = (1 - torch.tanh(pts @ W.T) ** 2)[:, :, None] * W[None]
    assert torch.allclose(J2, expected)


# ------------------------------------------------------------------------------ rates
def test_rate_is_exact_on_an_eigendirection():
    """x - y along the eigenvector of mu: multiplied by exactly 1 - eta mu every step."""
    lam = torch.tensor([0.5, 2.0, 4.0], dtype=D)
    eta = 0.3

    def step(x):
        return x - eta * lam * x

    x0 = rand((6, 3), 5)
    y0 = x0 + torch.tensor([1.0, 0.0, 0.0], dtype=D) * torch.linspace(0.1, 1, 6, dtype=D)[:, None]
    est = empirical_contraction_rate(step, x0, y0, 60)
    assert isinstance(est, RateEstimate) and est.n_pairs == 6
    assert np.allclose(est.rates, 1 - eta * 0.5, rtol=1e-10)
    assert np.allclose(est.worst_step, 0.85, rtol=1e-10)
    lo, hi = est.interval
    assert lo <= est.median <= hi


def test_rate_of_generic_pairs_respects_the_factor_and_approaches_it():
    lam = torch.tensor([0.5, 2.0, 4.0], dtype=D)
    eta = 0.4  # factor max(0.8, 0.6) = 0.8

    def step(x):
        return x - eta * lam * x

    est = empirical_contraction_rate(step, rand((32, 3), 6), rand((32, 3), 7), 150)
    q = gd_contraction_factor(0.5, 4.0, eta)
    assert np.all(est.worst_step <= q * (1 + 1e-10))
    assert est.median == pytest.approx(q, rel=0.01)


def test_rate_handles_rounding_floor_and_divergence():
    # fast contraction reaches the rounding floor: only the measurable prefix is fitted
    est = empirical_contraction_rate(lambda x: 0.01 * x + 1.0, rand((4, 2), 8),
                                     rand((4, 2), 9), 50)
    assert np.allclose(est.rates, 0.01, rtol=1e-4)
    assert np.all(est.used < 20)
    # growth: rate above 1
    grow = empirical_contraction_rate(lambda x: 1.5 * x, rand((4, 2), 10), rand((4, 2), 11), 30)
    assert np.allclose(grow.rates, 1.5)
    # overflow before two points: infinite rate
    boom = empirical_contraction_rate(lambda x: x * 1e300, rand((3, 2), 12) * 10,
                                      rand((3, 2), 13), 5)
    assert np.all(np.isinf(boom.rates))
    with pytest.raises(ValueError):
        empirical_contraction_rate(lambda x: x, rand((2, 2), 0), rand((2, 2), 1), 0)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), u=st.floats(0.05, 1.9))
def test_rate_never_exceeds_the_certificate_on_random_quadratics(seed, u):
    A = rand((5, 5), seed)
    H = A @ A.T / 5 + 0.2 * torch.eye(5, dtype=D)
    ev = torch.linalg.eigvalsh(H)
    mu, L = float(ev[0]), float(ev[-1])
    eta = u / L
    est = empirical_contraction_rate(lambda x: x - eta * (H @ x), rand((8, 5), seed + 1),
                                     rand((8, 5), seed + 2), 40)
    assert np.all(est.worst_step <= gd_contraction_factor(mu, L, eta) * (1 + 1e-9))


# ------------------------------------------------------------------------- threshold
def test_threshold_is_two_over_L_on_a_quadratic():
    lam = torch.tensor([0.5, 2.0, 4.0], dtype=D)
    etas = np.linspace(0.3, 0.7, 81)  # spacing 0.005 around 2/L = 0.5

    def step(x, eta):
        return x - eta * lam * x

    th = contraction_threshold(step, rand((8, 3), 14), rand((8, 3), 15), etas, 300)
    assert 0.5 <= th <= 0.5 + 0.0051
    assert contraction_threshold(step, rand((8, 3), 14), rand((8, 3), 15),
                                 np.linspace(0.1, 0.45, 8), 100) == math.inf
    with pytest.raises(ValueError):
        contraction_threshold(step, rand((2, 3), 0), rand((2, 3), 1), [0.2, 0.1], 10)


def test_threshold_of_logistic_gd_is_at_least_two_over_the_smoothness_bound():
    X = rand((40, 3), 16)
    y = (rand((40,), 17) > 0).to(D)
    lam_r = 0.1

    def grad(w):
        p = torch.sigmoid(X @ w)
        return X.T @ (p - y) / 40 + lam_r * w

    L_bound = lam_r + float(torch.linalg.matrix_norm(X, ord=2)) ** 2 / (4 * 40)
    etas = np.linspace(0.5, 3.0, 26) * 2 / L_bound
    th = contraction_threshold(lambda w, eta: w - eta * grad(w), rand((6, 3), 18),
                               rand((6, 3), 19), etas, 200)
    assert th >= 2 / L_bound


def test_batched_steps_agree_with_vmapped_ones():
    lam = torch.tensor([0.5, 2.0, 4.0], dtype=D)
    x0, y0 = rand((5, 3), 20), rand((5, 3), 21)
    a = empirical_contraction_rate(lambda x: x - 0.3 * lam * x, x0, y0, 40)
    b = empirical_contraction_rate(lambda x: x - 0.3 * lam * x, x0, y0, 40, batched=True)
    assert np.allclose(a.rates, b.rates) and np.allclose(a.worst_step, b.worst_step)
    etas = np.linspace(0.3, 0.7, 41)
    t1 = contraction_threshold(lambda x, e: x - e * lam * x, x0, y0, etas, 200)
    t2 = contraction_threshold(lambda x, e: x - e[:, None] * lam * x, x0, y0, etas, 200,
                               batched=True)
    assert t1 == t2
