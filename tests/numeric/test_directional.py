"""Tests of the directional logit derivatives (boundbook.numeric.directional)."""

import math

import pytest
import torch
from torch import nn

from boundbook.numeric.directional import (
    directional_logit_derivatives,
    directional_logit_derivatives_fd,
    directional_logit_derivatives_reference,
    flat_to_params,
    jvp_cost_ratio,
    logits_and_directional_derivatives,
    params_of,
    params_to_flat,
)
from boundbook.numeric.radius import batch_taylor_radius


def make_mlp(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(8, 16), nn.GELU(), nn.LayerNorm(16), nn.Linear(16, 4)).double()


@pytest.fixture
def setup():
    model = make_mlp()
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(5, 8, dtype=torch.float64, generator=gen)
    v = {k: torch.randn(p.shape, dtype=p.dtype, generator=gen) for k, p in params_of(model).items()}
    return model, x, v


def test_jvp_matches_reference_and_fd(setup):
    model, x, v = setup
    z, a = logits_and_directional_derivatives(model, x, v)
    assert z.shape == a.shape == (5, 4)
    with torch.no_grad():
        torch.testing.assert_close(z, model(x), rtol=0, atol=1e-12)
    ref = directional_logit_derivatives_reference(model, x, v)
    fd = directional_logit_derivatives_fd(model, x, v)
    torch.testing.assert_close(a, ref, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(a, fd, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(ref, fd, rtol=1e-5, atol=1e-5)
    assert a.abs().max() > 1e-3  # non-trivial


def test_dict_and_flat_agree(setup):
    model, x, v = setup
    flat = params_to_flat(v)
    assert flat.ndim == 1 and flat.numel() == sum(p.numel() for p in model.parameters())
    back = flat_to_params(flat, params_of(model))
    assert list(back) == [k for k, _ in model.named_parameters()]
    for k in v:
        torch.testing.assert_close(back[k], v[k])
    a_dict = directional_logit_derivatives(model, x, v)
    a_flat = directional_logit_derivatives(model, x, flat)
    torch.testing.assert_close(a_dict, a_flat, rtol=0, atol=0)
    torch.testing.assert_close(
        directional_logit_derivatives_reference(model, x, flat), a_dict, rtol=1e-10, atol=1e-10
    )


def test_linearity_and_sign(setup):
    model, x, v = setup
    flat = params_to_flat(v)
    a = directional_logit_derivatives(model, x, flat)
    torch.testing.assert_close(directional_logit_derivatives(model, x, -2.5 * flat), -2.5 * a)
    assert batch_taylor_radius(a) == pytest.approx(batch_taylor_radius(-a))


def test_output_layer_only_direction(setup):
    # moving only the last bias by c * ones shifts every logit equally: zero spread
    model, x, v = setup
    w = {k: torch.zeros_like(p) for k, p in v.items()}
    w["3.bias"] = torch.ones(4, dtype=torch.float64)
    a = directional_logit_derivatives(model, x, w)
    torch.testing.assert_close(a, torch.ones(5, 4, dtype=torch.float64))
    assert math.isinf(batch_taylor_radius(a))


def test_bad_directions_raise(setup):
    model, x, v = setup
    flat = params_to_flat(v)
    with pytest.raises(ValueError, match="entries"):
        directional_logit_derivatives(model, x, flat[:-1])
    with pytest.raises(ValueError, match="1-D"):
        directional_logit_derivatives(model, x, flat.reshape(1, -1))
    bad = dict(v)
    bad["0.weight"] = torch.zeros(3, 3, dtype=torch.float64)
    with pytest.raises(ValueError, match="shape"):
        directional_logit_derivatives(model, x, bad)
    missing = dict(v)
    del missing["3.bias"]
    with pytest.raises(ValueError, match="keys"):
        directional_logit_derivatives(model, x, missing)
    extra = dict(v)
    extra["nope"] = torch.zeros(1)
    with pytest.raises(ValueError, match="keys"):
        directional_logit_derivatives_reference(model, x, extra)


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_batchnorm_buffers_untouched(mode):
    torch.manual_seed(3)
    model = nn.Sequential(nn.Linear(6, 10), nn.BatchNorm1d(10), nn.Tanh(), nn.Linear(10, 3))
    model = model.double()
    getattr(model, mode)()
    with torch.no_grad():
        model[1].running_mean.uniform_(-1, 1)
        model[1].running_var.uniform_(0.5, 2)
    before = {k: b.clone() for k, b in model.named_buffers()}
    x = torch.randn(7, 6, dtype=torch.float64)
    flat = torch.randn(sum(p.numel() for p in model.parameters()), dtype=torch.float64)
    a = directional_logit_derivatives(model, x, flat)
    torch.testing.assert_close(
        a, directional_logit_derivatives_reference(model, x, flat), rtol=1e-8, atol=1e-8
    )
    torch.testing.assert_close(
        a, directional_logit_derivatives_fd(model, x, flat), rtol=1e-5, atol=1e-5
    )
    for k, b in model.named_buffers():
        assert torch.equal(b, before[k]), k


def test_float32_model_accepts_float64_direction():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 16), nn.GELU(), nn.Linear(16, 4))
    x = torch.randn(5, 8)
    flat = torch.randn(sum(p.numel() for p in model.parameters()), dtype=torch.float64)
    a = directional_logit_derivatives(model, x, flat)
    assert a.dtype == torch.float32
    torch.testing.assert_close(
        a, directional_logit_derivatives_reference(model, x, flat.float()), rtol=1e-4, atol=1e-4
    )


def test_jvp_cost_ratio_runs(setup):
    model, x, v = setup
    ratio = jvp_cost_ratio(model, x, v, repeats=3)
    assert math.isfinite(ratio) and ratio > 0
