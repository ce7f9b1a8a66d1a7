"""Lanczos's stopping rule on hard spectra: ``tol`` bounds the relative eigenvalue error, and a
close second eigenvalue (a 1% gap) or a cluster is never returned as the first.

Each instance draws a random orthogonal eigenbasis and a random start (float64). A *miss* is a
returned top eigenvalue whose true relative error exceeds ``tol``, or an unconverged run.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.func import functional_call

from boundbook.numeric.hessian import dense_hessian, hessian_spectrum, lanczos
from boundbook.numeric.threads import single_thread

N = 200


@pytest.fixture(autouse=True)
def _one_thread():
    """Thousands of tiny products: a second OpenMP thread only spins (numeric/threads.py)."""
    with single_thread():
        yield


def instance(kind: str, seed: int, n: int = N) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(n, n, generator=gen, dtype=torch.float64))
    u = torch.rand(n, generator=gen, dtype=torch.float64)
    if kind == "gap":  # top two 1% apart, the bulk below 0.9
        lam = 0.9 * u
        lam[:2] = torch.tensor([1.0, 0.99])
    elif kind == "gap_on_bulk":  # the bulk reaches up to just under the second
        lam = (1.2 * u - 0.2).clamp(max=0.985)
        lam[:2] = torch.tensor([1.0, 0.99])
    elif kind == "cluster":  # six eigenvalues within 2% of the top
        lam = 0.9 * u
        lam[:6] = torch.tensor([1.0, 0.99, 0.988, 0.985, 0.982, 0.98])
    elif kind == "outliers":  # deep-learning shape: three outliers over a bulk near zero
        lam = 0.02 * torch.randn(n, generator=gen, dtype=torch.float64)
        lam[:3] = torch.tensor([1.0, 0.99, 0.7])
    else:
        raise ValueError(kind)
    return (q * lam) @ q.T, lam


def misses(kind: str, count: int, tol: float, first_seed: int = 0) -> tuple[int, int, int]:
    """(misses, estimates below the true error, largest number of products)."""
    bad = under = most = 0
    for seed in range(first_seed, first_seed + count):
        a, lam = instance(kind, seed)
        top = float(lam.max())
        spec = lanczos(lambda v, a=a: a @ v, N, 1, tol=tol, max_iter=N, seed=seed)
        err = (top - spec.eigenvalues[0]) / top
        bad += int(err > tol or not spec.converged)
        under += int(err > spec.errors[0])
        most = max(most, spec.n_matvec)
    return bad, under, most


def test_two_hundred_instances_at_a_one_percent_gap_never_miss():
    bad, under, most = misses("gap", 200, 1e-3)
    assert bad == 0 and under == 0 and most < N


@pytest.mark.parametrize("kind,count", [("gap_on_bulk", 60), ("cluster", 60),
                                        ("outliers", 100)])
def test_clustered_and_outlier_spectra_never_miss(kind, count):
    bad, under, most = misses(kind, count, 1e-3, first_seed=1000)
    assert bad == 0 and under == 0 and most < N


def test_tight_tolerance_on_a_one_percent_gap():
    bad, under, _ = misses("gap", 40, 1e-6, first_seed=2000)
    assert bad == 0 and under == 0


def test_a_residual_test_alone_would_have_returned_the_second_eigenvalue():
    """Why the rule is not the residual alone: stopping at the first step whose top Ritz pair
    has relative residual below 1e-3 (the former rule) returns a value more than 1e-3 below
    the top eigenvalue on 10 of these 80 instances (a mix of the top two: a tiny residual,
    an error near the 1% gap); the rule above misses none of them."""
    wrong = 0
    for kind in ("gap", "outliers"):
        for seed in range(40):
            a, _ = instance(kind, seed)
            for m in range(1, 60):
                spec = lanczos(lambda v, a=a: a @ v, N, 1, tol=0.0, max_iter=m, seed=seed)
                if spec.residuals[0] < 1e-3:
                    wrong += int((1.0 - spec.eigenvalues[0]) > 1e-3)
                    break
            safe = lanczos(lambda v, a=a: a @ v, N, 1, tol=1e-3, max_iter=N, seed=seed)
            assert 1.0 - safe.eigenvalues[0] <= 1e-3
    assert wrong >= 8


def test_error_estimate_bounds_the_true_error_on_an_mlp():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(6, 12), torch.nn.Tanh(),
                              torch.nn.Linear(12, 3)).double()
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(50, 6, generator=gen, dtype=torch.float64)
    y = torch.randn(50, 3, generator=gen, dtype=torch.float64)
    params = {k: v.detach() for k, v in net.named_parameters()}

    def loss(p):
        return ((functional_call(net, p, (x,)) - y) ** 2).mean()

    top = float(np.linalg.eigvalsh(dense_hessian(loss, params).numpy())[-1])
    for tol in (1e-1, 1e-2, 1e-3, 1e-5):
        for seed in range(5):
            spec = hessian_spectrum(loss, params, tol=tol, seed=seed)
            err = (top - spec.eigenvalues[0]) / top
            assert spec.converged and -1e-12 <= err <= spec.errors[0] <= tol


def test_warm_start_still_converges_with_the_heuristic_estimates():
    a, lam = instance("gap", 7)
    cold = lanczos(lambda v: a @ v, N, 1, tol=1e-8, max_iter=N, seed=0)
    warm = lanczos(lambda v: a @ v, N, 1, tol=1e-8, max_iter=N, v0=cold.eigenvectors[0])
    assert warm.converged and warm.n_matvec < cold.n_matvec
    assert abs(warm.eigenvalues[0] - 1.0) <= 1e-8
