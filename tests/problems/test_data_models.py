"""Tests for boundbook.problems: data (digits split), models (deterministic MLPs), digits (the
digits regression problem) and sorm (second-order regression models)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from boundbook.numeric.hessian import dense_hessian
from boundbook.problems import sorm
from boundbook.problems.data import Split, load_digits_split
from boundbook.problems.digits import digits_regression
from boundbook.problems.models import mlp


@pytest.fixture(scope="module")
def split() -> Split:
    return load_digits_split()


def test_split_shapes_and_ranges(split: Split) -> None:
    assert split.x_train.shape == (1437, 64)
    assert split.x_test.shape == (360, 64)
    assert split.y_train.shape == (1437,) and split.y_test.shape == (360,)
    assert split.x_train.dtype == torch.float32 and split.y_train.dtype == torch.int64
    assert float(split.x_train.min()) >= 0.0 and float(split.x_train.max()) <= 1.0
    assert float(split.x_train.max()) == 1.0  # pixels / 16 reaches 1
    assert split.n_features == 64 and split.n_classes == 10


def test_split_is_stratified(split: Split) -> None:
    n_tr = np.bincount(split.y_train.numpy(), minlength=10)
    n_te = np.bincount(split.y_test.numpy(), minlength=10)
    total = n_tr + n_te
    # every class keeps its share: test count within one sample of 20 % of the class size
    assert np.all(np.abs(n_te - 0.2 * total) <= 1.0)
    assert total.sum() == 1797


def test_split_deterministic_and_seeded() -> None:
    a, b = load_digits_split(seed=3), load_digits_split(seed=3)
    c = load_digits_split(seed=4)
    assert torch.equal(a.x_train, b.x_train) and torch.equal(a.y_test, b.y_test)
    assert not torch.equal(a.x_train, c.x_train)


def test_split_dtype_and_fraction() -> None:
    s = load_digits_split(test_fraction=0.3, dtype=torch.float64)
    assert s.x_train.dtype == torch.float64
    assert s.x_test.shape[0] == 540


def _params(model: nn.Module) -> list[torch.Tensor]:
    return [p.detach() for p in model.parameters()]


def test_mlp_same_seed_identical() -> None:
    a = mlp([64, 128, 10], seed=5)
    b = mlp([64, 128, 10], seed=5)
    assert all(torch.equal(p, q) for p, q in zip(_params(a), _params(b), strict=True))


def test_mlp_different_seed_differs() -> None:
    a = mlp([64, 128, 10], seed=0)
    b = mlp([64, 128, 10], seed=1)
    assert not torch.equal(_params(a)[0], _params(b)[0])


def test_mlp_does_not_touch_global_rng() -> None:
    state = torch.get_rng_state()
    mlp([64, 32, 32, 10], seed=0, layernorm=True)
    assert torch.equal(state, torch.get_rng_state())
    # and does not depend on it
    torch.manual_seed(123)
    a = mlp([8, 4, 3], seed=2)
    torch.manual_seed(456)
    b = mlp([8, 4, 3], seed=2)
    assert all(torch.equal(p, q) for p, q in zip(_params(a), _params(b), strict=True))


def test_mlp_structure_and_init_scale() -> None:
    m = mlp([64, 128, 128, 10], activation="tanh", layernorm=True)
    kinds = [type(x).__name__ for x in m]
    assert kinds == ["Linear", "LayerNorm", "Tanh", "Linear", "LayerNorm", "Tanh", "Linear"]
    w = m[0].weight.detach()
    bound = 1 / np.sqrt(64)
    assert float(w.abs().max()) <= bound
    assert abs(float(w.std()) - bound / np.sqrt(3)) < 0.01  # U(-b, b) has std b/sqrt(3)
    out = m(torch.zeros(5, 64))
    assert out.shape == (5, 10) and out.dtype == torch.float32


def test_mlp_relu_gelu_and_dtype() -> None:
    assert isinstance(mlp([4, 3, 2], activation="relu")[1], nn.ReLU)
    assert isinstance(mlp([4, 3, 2])[1], nn.GELU)
    assert mlp([4, 3, 2], dtype=torch.float64)[0].weight.dtype == torch.float64
    with pytest.raises(ValueError):
        mlp([4, 3, 2], activation="swish")


# ----------------------------------------------------------------------------- digits problem


def test_digits_regression_equals_the_model_forward_bit_for_bit() -> None:
    from torch.func import functional_call, grad, vmap

    p = digits_regression(24, (5, 4), seed=2)
    model = mlp([64, 5, 4, 10], activation="tanh", seed=2, dtype=torch.float64)
    split = load_digits_split(seed=2, dtype=torch.float64)
    assert torch.equal(p.x, split.x_train[:24]) and p.n_train == 24
    assert p.layers == ("0", "2", "4") and p.dim == sum(q.numel() for q in model.parameters())
    ref = 0.5 * ((model(p.x) - p.y) ** 2).sum(1).mean()
    assert torch.equal(p.loss_of(p.params), ref)
    assert torch.equal(p.loss(p.theta0), ref)
    thetas = p.theta0 + 0.1 * torch.randn(3, p.dim, dtype=torch.float64,
                                          generator=torch.Generator().manual_seed(0))

    def via_module(theta: torch.Tensor) -> torch.Tensor:
        from boundbook.numeric.flat import flat_to_params

        out = functional_call(model, flat_to_params(theta, p.params), (p.x,))
        return 0.5 * ((out - p.y) ** 2).sum(dim=1).mean()

    assert torch.equal(vmap(grad(p.loss))(thetas), vmap(grad(via_module))(thetas))


# ----------------------------------------------------------------------------- SORM


@pytest.mark.parametrize(("reduction", "q_scale"), [("mean", 1.0), ("sum", 0.6), ("sum", 0.0)])
def test_sorm_closed_forms_match_autodiff(reduction: str, q_scale: float) -> None:
    from torch.func import grad

    models = sorm.gaussian_draws(6, 4, 2, seed=3, reduction=reduction).scaled(q_scale)
    theta = torch.randn(2, 3, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    loss, g = sorm.loss_and_grad(models, theta)
    H = sorm.hessian(models, theta)
    jac, z = sorm.jacobian_and_outputs(models, theta)
    for s in range(2):
        J, Q, y = models.J[s], q_scale * models.Q[s], models.targets[s]

        def f(th: torch.Tensor, J=J, Q=Q, y=y) -> torch.Tensor:
            r = J @ th + 0.5 * torch.einsum("ade,d,e->a", Q, th, th) - y
            return 0.5 * (r @ r) / (len(y) if reduction == "mean" else 1)

        for r in range(3):
            th = theta[s, r]
            assert loss[s, r].item() == pytest.approx(f(th).item(), rel=1e-13)
            assert torch.allclose(g[s, r], grad(f)(th), rtol=1e-12, atol=1e-14)
            assert torch.allclose(H[s, r], dense_hessian(f, th), rtol=1e-10, atol=1e-12)
            assert torch.allclose(jac[s, r], J + Q @ th, rtol=1e-13, atol=1e-14)
            top = torch.linalg.eigvalsh(jac[s, r] @ jac[s, r].T)[-1]
            assert sorm.ntk_top(jac)[s, r].item() == pytest.approx(top.item(), rel=1e-12)
    assert torch.equal(sorm.loss_grad_jacobian(models, theta)[2], jac)
    assert torch.equal(sorm.loss(models, theta), loss)


def test_sorm_draws_are_seeded_and_symmetric() -> None:
    a = sorm.gaussian_draws(5, 3, 4, seed=0)
    b = sorm.gaussian_draws(5, 3, 4, seed=0)
    assert torch.equal(a.Q, b.Q) and torch.equal(a.Q, a.Q.transpose(-1, -2))
    assert torch.equal(a.targets, -a.z0) and a.reduction == "sum" and a.size == 4
    m = sorm.seeded_models(5, 3, [7, 8], q_scale=2.0, z_scale=1.5)
    one = sorm.seeded_models(5, 3, [8], q_scale=2.0, z_scale=1.5)
    assert m.seeds == (7, 8) and m.reduction == "mean"
    assert torch.equal(m.select(1).J, one.J) and m.select(1).seeds == (8,)  # one per seed
    assert m.zeros(3).shape == (2, 3, 5)
    with pytest.raises(ValueError, match="reduction"):
        sorm.SORM(a.J, a.Q, a.z0, reduction="max")

