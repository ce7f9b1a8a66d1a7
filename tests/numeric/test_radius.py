"""Tests of the Taylor-radius computations (boundbook.numeric.radius)."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from boundbook.numeric.radius import (
    DEFAULT_SERIES_ORDER,
    batch_taylor_radius,
    binary_taylor_radius,
    exact_radius,
    log_partition_taylor_coefficients,
    root_test_radius,
    series_radius_estimate,
    taylor_radius,
)


def test_taylor_radius_kinds():
    a_np = np.array([[0.0, 1.0, -1.0], [2.0, 2.0, 2.0]])
    r_np = taylor_radius(a_np)
    assert isinstance(r_np, np.ndarray)
    assert r_np[0] == pytest.approx(math.pi / 2)
    assert np.isinf(r_np[1])
    r_t = taylor_radius(torch.tensor(a_np))
    assert isinstance(r_t, torch.Tensor)
    assert torch.isinf(r_t[1])
    assert r_t[0].item() == pytest.approx(math.pi / 2)
    assert taylor_radius(a_np, dim=0).shape == (3,)


def test_sign_invariance():
    a = np.random.default_rng(0).normal(size=(4, 7))
    np.testing.assert_allclose(taylor_radius(a), taylor_radius(-a))
    assert batch_taylor_radius(a) == pytest.approx(batch_taylor_radius(-a))


def test_batch_taylor_radius():
    a = np.array([[0.0, 1.0], [0.0, 4.0], [1.0, 1.5]])
    assert batch_taylor_radius(a) == pytest.approx(math.pi / 4)
    assert batch_taylor_radius(torch.tensor(a)) == pytest.approx(math.pi / 4)
    assert batch_taylor_radius(a) == pytest.approx(float(taylor_radius(a).min()))
    assert math.isinf(batch_taylor_radius(np.ones((2, 3))))
    with pytest.raises(ValueError):
        batch_taylor_radius(np.ones(3))


def test_binary_taylor_radius_kinds():
    assert binary_taylor_radius(0.0, 2.0) == pytest.approx(math.pi / 2)
    assert binary_taylor_radius(3.0, -1.0) == pytest.approx(math.sqrt(9 + math.pi**2))
    assert math.isinf(binary_taylor_radius(1.0, 0.0))
    r = binary_taylor_radius(np.array([0.0, 3.0]), np.array([1.0, 2.0]))
    np.testing.assert_allclose(r, [math.pi, math.sqrt(9 + math.pi**2) / 2])
    rt = binary_taylor_radius(torch.tensor([0.0, 3.0]), torch.tensor([1.0, 2.0]))
    assert isinstance(rt, torch.Tensor)
    np.testing.assert_allclose(rt.numpy(), r, rtol=1e-6)


@pytest.mark.parametrize(
    "delta,Delta", [(-5.0, 0.1), (-2.0, 1.0), (0.0, 3.0), (1.5, 10.0), (5.0, 0.7)]
)
def test_exact_radius_binary(delta, Delta):
    # F = exp(delta) + exp(Delta t): integer slopes (1, 0) with scale Delta
    assert exact_radius([0.0, delta], [1, 0], Delta) == pytest.approx(
        binary_taylor_radius(delta, Delta), rel=1e-10
    )
    # sign of the slopes and order of the classes do not matter
    assert exact_radius([delta, 0.0], [-1, 0], Delta) == pytest.approx(
        binary_taylor_radius(delta, Delta), rel=1e-10
    )


@pytest.mark.parametrize(
    "delta,Delta", [(-5.0, 0.1), (-2.5, 10.0), (0.0, 1.0), (0.3, 7.0), (5.0, 2.0)]
)
def test_root_test_matches_binary_closed_form(delta, Delta):
    est = series_radius_estimate([delta, 0.0], [Delta, 0.0], order=DEFAULT_SERIES_ORDER)
    assert est == pytest.approx(binary_taylor_radius(delta, Delta), rel=0.02)


def test_root_test_matches_exact_multiclass():
    z, m, s = [0.5, -1.0, 0.2, 1.0], [2, -1, 0, 1], 0.8
    est = series_radius_estimate(z, [s * k for k in m])
    assert est == pytest.approx(exact_radius(z, m, s), rel=0.02)


def test_coefficients_low_order():
    # log(e^{0} + e^{t}) = log 2 + t/2 + t^2/8 - t^4/192 + ...
    c = log_partition_taylor_coefficients([0.0, 0.0], [1.0, 0.0], order=4)
    expected = [math.log(2), 0.5, 0.125, 0.0, -1 / 192]
    np.testing.assert_allclose([float(x) for x in c], expected, atol=1e-15)


def test_coefficients_match_precision():
    lo = log_partition_taylor_coefficients([0.3, -1.0, 2.0], [-4.0, 1.0, 5.0], 80, dps=40)
    hi = log_partition_taylor_coefficients([0.3, -1.0, 2.0], [-4.0, 1.0, 5.0], 80, dps=100)
    for a, b in zip(lo[1:], hi[1:], strict=True):
        assert abs(float(a) - float(b)) <= 1e-20 * abs(float(b)) + 1e-300


def test_root_test_radius_geometric():
    # -log(1 - t/R) has c_n = R^-n / n, so the corrected root test is exact
    R = 2.5
    coeffs = [0.0] + [R ** (-n) / n for n in range(1, 41)]
    assert root_test_radius(coeffs) == pytest.approx(R, rel=1e-12)
    assert math.isinf(root_test_radius([1.0, 0.0, 0.0]))


def test_exact_radius_validation():
    with pytest.raises(ValueError, match="integer"):
        exact_radius([0.0, 1.0], [0.5, 1], 1.0)
    with pytest.raises(ValueError, match="scale"):
        exact_radius([0.0, 1.0], [0, 1], 0.0)
    with pytest.raises(ValueError, match="scale"):
        exact_radius([0.0, 1.0], [0, 1], -2.0)
    with pytest.raises(ValueError):
        exact_radius([0.0, 1.0], [0, 1, 2], 1.0)
    assert math.isinf(exact_radius([0.0, 1.0, 2.0], [3, 3, 3], 1.0))
    assert exact_radius([0.0, 1.0], np.array([0.0, 2.0]), 1.0) > 0  # integral floats accepted


def test_tight_case_and_negative_control():
    # equal logits at the extreme slopes, third class far below: the binary delta = 0 case
    scale = 0.7
    z, m = [0.0, 0.0, -30.0], [-2, 2, 1]
    rho_a = float(taylor_radius(np.array(m) * scale))
    rho = exact_radius(z, m, scale)
    assert rho == pytest.approx(rho_a, rel=1e-6)
    assert 1.1 * rho_a > rho  # the bound is attained, not loose by 10%
    # the zero sits on the imaginary axis at distance pi / Delta_a: F(i rho) = 0
    t = 1j * rho

    def big_f(tt: complex) -> complex:
        return sum(np.exp(zk + scale * mk * tt) for zk, mk in zip(z, m, strict=True))

    assert abs(big_f(t)) < 1e-9
    # negative control: moving the logits apart makes the bound loose
    loose = exact_radius([3.0, 0.0, -30.0], m, scale)
    assert loose > 1.1 * rho_a


@settings(deadline=None, max_examples=50)
@given(
    data=st.data(),
    n=st.integers(min_value=2, max_value=6),
    scale=st.floats(min_value=0.1, max_value=5.0),
)
def test_lower_bound_property(data, n, scale):
    z = data.draw(st.lists(st.floats(-5, 5), min_size=n, max_size=n))
    m = data.draw(
        st.lists(st.integers(-6, 6), min_size=n, max_size=n).filter(lambda v: len(set(v)) > 1)
    )
    rho_a = float(taylor_radius(np.array(m, dtype=float) * scale))
    rho = exact_radius(z, m, scale)
    assert math.isfinite(rho)
    assert rho_a <= rho * (1 + 1e-7)  # slack for np.roots near (rare) double roots
