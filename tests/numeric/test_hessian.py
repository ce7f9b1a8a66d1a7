"""Lanczos sharpness against dense eigendecompositions (float64), with the HVP budget."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.func import functional_call

import boundbook
import boundbook.numeric.hessian as hessian_mod
from boundbook.numeric.hessian import (
    auto_mode_choice,
    dense_hessian,
    flatten,
    forward_safe_losses,
    hessian_spectrum,
    hvp,
    hvp_operator,
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
    a, loss = random_quadratic(300, seed=3, spectrum="power")
    top = float(np.linalg.eigvalsh(a.numpy())[-1])
    loose = hessian_spectrum(loss, torch.zeros(300, dtype=torch.float64), tol=1e-3)
    tight = hessian_spectrum(loss, torch.zeros(300, dtype=torch.float64), tol=1e-10)
    assert loose.n_matvec < tight.n_matvec
    # tol bounds the relative eigenvalue error, and so does the reported estimate
    assert 0 <= top - loose.eigenvalues[0] <= loose.errors[0] * top <= 1e-3 * top
    assert abs(tight.eigenvalues[0] - top) <= 1e-10 * top


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


# ------------------------------------------------------------------ modes, losses, chunks


def nn_loss_problem(criterion, seed: int = 0):
    """A tiny MLP under a torch.nn criterion, as a loss of (params) and of (params, x, y)."""
    torch.manual_seed(seed)
    net = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.Tanh(),
                              torch.nn.Linear(8, 3)).double()
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(30, 5, generator=gen, dtype=torch.float64)
    y = torch.randn(30, 3, generator=gen, dtype=torch.float64)
    if isinstance(criterion, torch.nn.SoftMarginLoss):
        y = y.sign()
    params = {k: v.detach() for k, v in net.named_parameters()}

    def batch_loss(p, xb, yb):
        return criterion(functional_call(net, p, (xb,)), yb)

    return params, (lambda p: batch_loss(p, x, y)), batch_loss, (x, y)


CRITERIA = [torch.nn.MSELoss(), torch.nn.MSELoss(reduction="sum"), torch.nn.HuberLoss(delta=0.5),
            torch.nn.SoftMarginLoss(), torch.nn.SmoothL1Loss()]


@pytest.mark.parametrize("criterion", CRITERIA, ids=lambda c: f"{type(c).__name__}")
def test_forward_mode_works_with_torch_nn_losses(criterion):
    """torch 2.13 cannot take forward-over-reverse derivatives of the fused MSE, Huber and
    soft-margin kernels ("ZeroTensors are immutable"); forward mode now runs them as formulas."""
    params, loss, _, _ = nn_loss_problem(criterion)
    v = {k: torch.randn(p.shape, generator=torch.Generator().manual_seed(1),
                        dtype=torch.float64) for k, p in params.items()}
    fwd, dim, _ = hvp_operator(loss, params, "forward")
    rev, _, _ = hvp_operator(loss, params, "reverse")
    flat_v, _ = flatten(v)
    torch.testing.assert_close(fwd(flat_v), rev(flat_v))
    torch.testing.assert_close(flatten(hvp(loss, params, v))[0], rev(flat_v))
    top_f = hessian_spectrum(loss, params, tol=1e-10, mode="forward").eigenvalues[0]
    top_r = hessian_spectrum(loss, params, tol=1e-10, mode="reverse").eigenvalues[0]
    assert abs(top_f - top_r) <= 1e-9 * abs(top_r)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_forward_safe_losses_keep_the_values(reduction):
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(7, 3, generator=gen, dtype=torch.float64)
    b = torch.randn(7, 3, generator=gen, dtype=torch.float64)
    w = torch.rand(7, 3, generator=gen, dtype=torch.float64)
    F = torch.nn.functional
    cases = [lambda: F.mse_loss(a, b, reduction=reduction),
             lambda: F.mse_loss(a, b, reduction=reduction, weight=w),
             lambda: F.huber_loss(a, b, reduction=reduction, delta=0.7),
             lambda: F.huber_loss(a, b, reduction=reduction, weight=w),
             lambda: F.soft_margin_loss(a, b.sign(), reduction=reduction)]
    for case in cases:
        native = case()
        with forward_safe_losses():
            composite = case()
        torch.testing.assert_close(composite, native)


def test_auto_mode_times_both_once_and_caches_the_choice(monkeypatch):
    params, loss = tiny_mlp(seed=5)
    calls = []
    real_probe = hessian_mod._probe

    def counting_probe(op, v, repeats=2):
        calls.append(op)
        return real_probe(op, v, repeats)

    monkeypatch.setattr(hessian_mod, "_probe", counting_probe)
    monkeypatch.setattr(hessian_mod, "_AUTO_CHOICE", {})
    auto = hessian_spectrum(loss, params, tol=1e-10, mode="auto")
    assert len(calls) == 2  # both modes timed once
    assert auto_mode_choice(loss, params) in ("forward", "reverse")
    again = hessian_spectrum(loss, params, tol=1e-10, mode="auto")
    assert len(calls) == 2  # cached: no new probe
    rev = hessian_spectrum(loss, params, tol=1e-10, mode="reverse")
    assert abs(auto.eigenvalues[0] - rev.eigenvalues[0]) <= 1e-9 * rev.eigenvalues[0]
    assert again.eigenvalues == auto.eigenvalues


@pytest.mark.parametrize("mode", ["reverse", "forward"])
@pytest.mark.parametrize("chunk_size", [1, 7, 30, None])
def test_chunked_products_equal_the_full_batch(mode, chunk_size):
    params, loss, batch_loss, data = nn_loss_problem(torch.nn.MSELoss())
    full, dim, _ = hvp_operator(loss, params, mode)
    chunked, _, _ = hvp_operator(batch_loss, params, mode, data=data, chunk_size=chunk_size)
    v = torch.randn(dim, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    torch.testing.assert_close(chunked(v), full(v), rtol=1e-12, atol=1e-13)
    dense = dense_hessian(batch_loss, params, data=data)
    torch.testing.assert_close(dense, dense_hessian(loss, params))
    spec = hessian_spectrum(batch_loss, params, 2, tol=1e-10, mode=mode, data=data,
                            chunk_size=chunk_size)
    ref = np.linalg.eigvalsh(dense.numpy())[::-1][:2]
    np.testing.assert_allclose(spec.eigenvalues, ref, rtol=RTOL)


def test_chunks_are_validated():
    params, _, batch_loss, (x, y) = nn_loss_problem(torch.nn.MSELoss())
    with pytest.raises(ValueError, match="rows"):
        hvp_operator(batch_loss, params, data=(x, y[:-1]), chunk_size=4)
    with pytest.raises(ValueError, match="chunk_size"):
        hvp_operator(batch_loss, params, data=(x, y), chunk_size=0)
    with pytest.raises(ValueError, match="at least one"):
        hvp_operator(batch_loss, params, data=(), chunk_size=4)


def test_basis_grows_past_its_first_allocation_and_stays_orthonormal():
    # a dense uniform spectrum at tol 1e-12 needs far more than the 32 rows first allocated
    a, _ = random_quadratic(200, seed=12, spectrum="uniform")
    calls = []

    def matvec(v):
        calls.append(1)
        return a @ v

    spec = lanczos(matvec, 200, k=3, tol=1e-12, max_iter=150)
    assert spec.n_matvec > 64 and spec.converged and len(calls) == spec.n_matvec
    dense = np.linalg.eigvalsh(a.numpy())[::-1][:3]
    np.testing.assert_allclose(spec.eigenvalues, dense, rtol=1e-10)
    vecs = spec.eigenvectors
    torch.testing.assert_close(vecs @ vecs.T, torch.eye(3, dtype=torch.float64), atol=1e-8,
                               rtol=0)
    torch.testing.assert_close(vecs @ a, torch.tensor(spec.eigenvalues)[:, None] * vecs,
                               atol=1e-6, rtol=0)


def test_forward_hvp_composes_with_vmap():
    params, loss = tiny_mlp()
    dim = flatten(params)[0].numel()
    vs = torch.randn(4, dim, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    _, unflatten = flatten(params)
    batched = torch.func.vmap(lambda v: flatten(hvp(loss, params, unflatten(v)))[0])(vs)
    torch.testing.assert_close(batched, vs @ dense_hessian(loss, params))


def test_float32_models_get_a_float64_recurrence():
    """A float32 dot product over ~10^5 entries is off by ~1e-6: the Lanczos recurrence runs in
    float64 on float32 products, so tol=1e-6 holds against the float64 model's eigenvalue."""
    def model(dtype):
        torch.manual_seed(0)
        net = torch.nn.Sequential(torch.nn.Linear(20, 200), torch.nn.Tanh(),
                                  torch.nn.Linear(200, 200), torch.nn.Tanh(),
                                  torch.nn.Linear(200, 5)).to(dtype)
        gen = torch.Generator().manual_seed(0)
        x = torch.randn(300, 20, generator=gen, dtype=torch.float64).to(dtype)
        y = torch.randn(300, 5, generator=gen, dtype=torch.float64).to(dtype)
        params = {k: v.detach() for k, v in net.named_parameters()}
        return params, lambda p: torch.nn.functional.mse_loss(functional_call(net, p, (x,)), y)

    p64, loss64 = model(torch.float64)
    truth = hessian_spectrum(loss64, p64, tol=1e-11, max_iter=200).eigenvalues[0]
    p32, loss32 = model(torch.float32)
    spec = hessian_spectrum(loss32, p32, tol=1e-6, max_iter=200)
    assert spec.converged and spec.eigenvectors.dtype == torch.float32
    assert abs(spec.eigenvalues[0] - truth) <= 1e-6 * truth
