"""Hutchinson's trace and stochastic Lanczos quadrature against dense results (float64)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.func import functional_call

import boundbook
from boundbook.numeric.density import operator_density, spectral_density
from boundbook.numeric.hessian import dense_hessian
from boundbook.numeric.threads import single_thread
from boundbook.numeric.trace import hutchinson_trace, operator_trace, rademacher


@pytest.fixture(autouse=True)
def _one_thread():
    with single_thread():
        yield


def mlp_problem(seed: int = 0):
    torch.manual_seed(seed)
    net = torch.nn.Sequential(torch.nn.Linear(5, 9), torch.nn.Tanh(),
                              torch.nn.Linear(9, 3)).double()
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(40, 5, generator=gen, dtype=torch.float64)
    y = torch.randn(40, 3, generator=gen, dtype=torch.float64)
    params = {k: v.detach() for k, v in net.named_parameters()}

    def loss(p):
        return torch.nn.functional.mse_loss(functional_call(net, p, (x,)), y)

    return params, loss, dense_hessian(loss, params)


def random_symmetric(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(n, n, generator=gen, dtype=torch.float64))
    lam = torch.randn(n, generator=gen, dtype=torch.float64)
    lam[:3] += torch.tensor([6.0, 4.0, 3.0])  # outliers over a bulk, some of it negative
    return (q * lam) @ q.T, lam


def hutchinson_sd(h: torch.Tensor) -> float:
    """The standard deviation of one Rademacher probe: sqrt(2 sum_{i != j} H_ij^2)."""
    off = (h ** 2).sum() - (torch.diagonal(h) ** 2).sum()
    return float(torch.sqrt(2 * off))


# ------------------------------------------------------------------ Hutchinson


def test_rademacher_probes_are_plus_minus_one_on_the_requested_device():
    v = rademacher(1000, generator=torch.Generator().manual_seed(0), dtype=torch.float64,
                   device="cpu")
    assert set(v.unique().tolist()) == {-1.0, 1.0} and abs(float(v.mean())) < 0.1


def test_a_diagonal_hessian_is_estimated_exactly():
    d = torch.linspace(-1.0, 3.0, 37, dtype=torch.float64)
    est = hutchinson_trace(lambda th: 0.5 * (d * th * th).sum(),
                           torch.zeros(37, dtype=torch.float64), 5)
    assert abs(est.estimate - float(d.sum())) < 1e-12 and est.stderr < 1e-12


def test_mlp_trace_within_its_interval_and_the_stderr_matches_theory():
    params, loss, h = mlp_problem()
    est = hutchinson_trace(loss, params, 400, seed=1)
    exact = float(torch.trace(h))
    assert abs(est.estimate - exact) <= 4 * est.stderr
    assert est.stderr == pytest.approx(hutchinson_sd(h) / 20, rel=0.2)
    lo, hi = est.interval()
    assert lo < est.estimate < hi and est.n_probes == len(est.samples) == 400
    assert boundbook.hutchinson_trace(loss, params, 3).n_probes == 3


def test_the_95_percent_interval_covers_about_95_percent():
    h, lam = random_symmetric(60, seed=2)
    exact = float(lam.sum())
    covered = sum(
        int(lo <= exact <= hi)
        for lo, hi in (operator_trace(lambda v: h @ v, 60, 40, seed=s).interval()
                       for s in range(200)))
    assert 0.88 <= covered / 200 <= 0.99


def test_tol_stops_once_the_standard_error_is_small_enough():
    h, lam = random_symmetric(80, seed=3)
    est = operator_trace(lambda v: h @ v, 80, 5000, tol=0.05, min_probes=10, seed=0)
    assert 10 <= est.n_probes < 5000 and est.stderr <= 0.05 * abs(est.estimate)
    with pytest.raises(ValueError):
        operator_trace(lambda v: h @ v, 80, 0)


# ------------------------------------------------------------------ SLQ


def test_each_probe_is_a_gauss_quadrature_exact_to_degree_2m_minus_1():
    h, _ = random_symmetric(50, seed=4)
    steps, probes = 4, 3
    dens = operator_density(lambda v: h @ v, 50, probes, steps, seed=7)
    gen = torch.Generator().manual_seed(7)
    for i in range(probes):
        v = rademacher(50, generator=gen, dtype=torch.float64, device="cpu")
        hv = v.clone()
        for p in range(1, 2 * steps):
            hv = h @ hv
            exact = float(v @ hv) / 50  # q^T H^p q, q = v / sqrt(n)
            quad = float((dens.weights[i] * dens.nodes[i] ** p).sum())
            assert quad == pytest.approx(exact, rel=1e-9, abs=1e-9)
    assert dens.n_matvec == probes * steps
    np.testing.assert_allclose(dens.weights.sum(axis=1), 1.0, rtol=1e-12)


def test_full_krylov_space_gives_the_exact_eigenvalues():
    h, lam = random_symmetric(30, seed=5)
    dens = operator_density(lambda v: h @ v, 30, 2, 30, seed=0)
    np.testing.assert_allclose(np.sort(dens.nodes[0]), np.sort(lam.numpy()), atol=1e-9)
    # the quadrature is then exact for any f, here exp: q^T exp(H) q
    v = rademacher(30, generator=torch.Generator().manual_seed(0), dtype=torch.float64,
                   device="cpu")
    exact = float(v @ torch.linalg.matrix_exp(h) @ v) / 30
    assert float((dens.weights[0] * np.exp(dens.nodes[0])).sum()) == pytest.approx(exact,
                                                                                 rel=1e-9)


def test_smoothed_density_matches_the_dense_spectrum():
    h, lam = random_symmetric(400, seed=6)
    dens = operator_density(lambda v: h @ v, 400, 20, 60, seed=1)
    grid = np.linspace(-5.0, 8.0, 1301)
    sigma = 0.25
    got = dens.density(grid, sigma)
    z = (grid[:, None] - lam.numpy()[None]) / sigma
    want = (np.exp(-0.5 * z * z) / (sigma * np.sqrt(2 * np.pi))).mean(axis=1)
    dx = grid[1] - grid[0]
    assert abs(got.sum() * dx - 1.0) < 1e-3
    assert np.abs(got - want).sum() * dx < 0.08  # L1 distance of two densities (max 2)
    cdf = dens.cdf(np.array([-10.0, 0.0, 10.0]))
    assert cdf[0] == 0.0 and cdf[2] == pytest.approx(1.0)
    assert cdf[1] == pytest.approx(float((lam <= 0).double().mean()), abs=0.05)


def test_mlp_traces_from_slq_agree_with_the_dense_hessian():
    params, loss, h = mlp_problem(seed=1)
    dens = spectral_density(loss, params, 60, 25, seed=3)
    ev = np.linalg.eigvalsh(h.numpy())
    for f in (lambda z: z, lambda z: z ** 2, lambda z: np.abs(z)):
        est, se = dens.trace(f)
        exact = float(f(ev).sum())
        assert abs(est - exact) <= 4 * se + 1e-9 * abs(exact)
    assert dens.dim == ev.size and boundbook.spectral_density(loss, params, 1, 3).n_matvec == 3
    with pytest.raises(ValueError):
        spectral_density(loss, params, 0, 3)
