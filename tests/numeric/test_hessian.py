"""Lanczos sharpness against dense eigendecompositions (float64), with the HVP budget."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.func import functional_call

import boundbook
from boundbook.numeric.hessian import (
    dense_hessian,
    flatten,
    hessian_spectrum,
    hvp,
    lanczos,
    preconditioned_sharpness,
    sharpness,
)

RTOL = 1e-6  # the bar: dense eigvalsh agreement, float64
MAX_HVP = 50


def random_quadratic(n: int, seed: int, spectrum: str = "uniform"):
    gen = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(n, n, generator=gen, dtype=torch.float64))
    if spectrum == "uniform":
        lam = torch.rand(n, generator=gen, dtype=torch.float64) * 10
    elif spectrum == "spiked":  # one outlier: the deep-learning Hessian shape
        lam = torch.rand(n, generator=gen, dtype=torch.float64)
        lam[0] = 50.0
    else:  # power law
        lam = 10.0 / torch.arange(1, n + 1, dtype=torch.float64) ** 1.5
    a = q @ torch.diag(lam) @ q.T
    return a, lambda x: 0.5 * x @ a @ x


def tiny_mlp(seed: int = 0, activation=torch.nn.Tanh):
    torch.manual_seed(seed)
    net = torch.nn.Sequential(torch.nn.Linear(6, 10), activation(), torch.nn.Linear(10, 3))
    net = net.double()
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(40, 6, generator=gen, dtype=torch.float64)
    y = torch.randn(40, 3, generator=gen, dtype=torch.float64)
    params = {k: v.detach() for k, v in net.named_parameters()}
    return params, lambda p: ((functional_call(net, p, (x,)) - y) ** 2).mean()


@pytest.mark.parametrize("n,spectrum", [(20, "uniform"), (100, "spiked"), (300, "power"),
                                        (500, "spiked")])
def test_quadratic_top_eigenvalues_match_eigvalsh(n, spectrum):
    # the top-2 pair for spread spectra; for a spike over a dense bulk only the spike is
    # separated (the second eigenvalue sits inside the bulk, where Lanczos needs ~n products)
    k = 1 if spectrum == "spiked" else 2
    a, loss = random_quadratic(n, seed=n, spectrum=spectrum)
    spec = hessian_spectrum(loss, torch.zeros(n, dtype=torch.float64), k=k, tol=1e-8)
    dense = np.linalg.eigvalsh(a.numpy())[::-1][:k]
    assert spec.n_matvec <= MAX_HVP and spec.converged
    np.testing.assert_allclose(spec.eigenvalues, dense, rtol=RTOL)


@pytest.mark.parametrize("activation", [torch.nn.Tanh, torch.nn.GELU])
def test_mlp_sharpness_matches_dense_hessian(activation):
    params, loss = tiny_mlp(activation=activation)
    dense = np.linalg.eigvalsh(dense_hessian(loss, params).numpy())
    spec = hessian_spectrum(loss, params, k=3, tol=1e-8)
    assert spec.n_matvec <= MAX_HVP and spec.converged
    np.testing.assert_allclose(spec.eigenvalues, dense[::-1][:3], rtol=RTOL)
    assert abs(sharpness(loss, params, tol=1e-8) - dense[-1]) <= RTOL * dense[-1]


def test_hvp_matches_dense_product_and_keeps_structure():
    params, loss = tiny_mlp()
    v = {k: torch.randn_like(p) for k, p in params.items()}
    out = hvp(loss, params, v)
    assert out.keys() == params.keys()
    flat_out, _ = flatten(out)
    flat_v, _ = flatten(v)
    torch.testing.assert_close(flat_out, dense_hessian(loss, params) @ flat_v)


def test_flatten_roundtrip():
    params, _ = tiny_mlp()
    flat, unflatten = flatten(params)
    back = unflatten(flat)
    assert all(torch.equal(back[k], params[k]) for k in params)


def test_preconditioned_sharpness_is_top_eigenvalue_of_p_inverse_h():
    params, loss = tiny_mlp()
    gen = torch.Generator().manual_seed(1)
    p = {k: torch.rand(v.shape, generator=gen, dtype=torch.float64) + 0.1
         for k, v in params.items()}
    h = dense_hessian(loss, params).numpy()
    pd, _ = flatten(p)
    ref = np.max(np.linalg.eigvals(np.diag(1 / pd.numpy()) @ h).real)
    got = preconditioned_sharpness(loss, params, p, tol=1e-8)
    assert abs(got - ref) <= RTOL * ref
    with pytest.raises(ValueError):
        preconditioned_sharpness(loss, params, {k: -v for k, v in p.items()})


def test_lanczos_is_exact_once_the_krylov_space_is_exhausted():
    a = torch.diag(torch.tensor([3.0, 1.0, 1.0, 1.0], dtype=torch.float64))
    spec = lanczos(lambda v: a @ v, 4, k=1, tol=1e-14)
    assert spec.converged and spec.n_matvec <= 4 and abs(spec.eigenvalues[0] - 3) < 1e-12


def test_lanczos_rejects_bad_k():
    with pytest.raises(ValueError):
        lanczos(lambda v: v, 3, k=4)


def test_loose_tolerance_uses_fewer_products_and_still_is_close():
    a, loss = random_quadratic(300, seed=3, spectrum="spiked")
    loose = hessian_spectrum(loss, torch.zeros(300, dtype=torch.float64), tol=1e-3)
    tight = hessian_spectrum(loss, torch.zeros(300, dtype=torch.float64), tol=1e-10)
    assert loose.n_matvec < tight.n_matvec
    assert abs(loose.eigenvalues[0] - tight.eigenvalues[0]) < 1e-3 * tight.eigenvalues[0]


@settings(max_examples=15, deadline=None)
@given(n=st.integers(2, 60), seed=st.integers(0, 10_000))
def test_property_sharpness_equals_eigvalsh(n, seed):
    a, loss = random_quadratic(n, seed)
    dense = float(np.linalg.eigvalsh(a.numpy())[-1])
    spec = hessian_spectrum(loss, torch.zeros(n, dtype=torch.float64), tol=1e-10,
                            max_iter=MAX_HVP)
    assert spec.n_matvec <= MAX_HVP
    assert abs(spec.eigenvalues[0] - dense) <= RTOL * max(dense, 1e-12)


def test_public_api_exports():
    a, loss = random_quadratic(10, seed=0)
    lam = boundbook.sharpness(loss, torch.zeros(10, dtype=torch.float64), tol=1e-10)
    assert abs(boundbook.critical_step(lam) - 2 / lam) < 1e-12


def test_reverse_mode_operator_and_warm_start_agree_with_forward():
    params, loss = tiny_mlp()
    fwd = hessian_spectrum(loss, params, tol=1e-10)
    rev = hessian_spectrum(loss, params, tol=1e-10, mode="reverse")
    assert abs(fwd.eigenvalues[0] - rev.eigenvalues[0]) <= 1e-9 * fwd.eigenvalues[0]
    warm = hessian_spectrum(loss, params, tol=1e-10, v0=fwd.eigenvectors[0])
    assert warm.n_matvec < fwd.n_matvec
    assert abs(warm.eigenvalues[0] - fwd.eigenvalues[0]) <= 1e-9 * fwd.eigenvalues[0]
    with pytest.raises(ValueError):
        hessian_spectrum(loss, params, mode="sideways")
