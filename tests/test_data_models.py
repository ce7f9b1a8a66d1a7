"""Tests for boundbook.problems.data (digits split) and boundbook.problems.models (deterministic MLPs)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from boundbook.problems.data import Split, load_digits_split
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
