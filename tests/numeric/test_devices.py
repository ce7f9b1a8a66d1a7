"""No silent CPU fallback: the spectrum, trace and density toolkits keep every vector on the
parameters' device.

Without a GPU we fake one the other way round: the parameters stay on the CPU while torch's
*default* device is ``meta`` (tensors without values), so any tensor a toolkit function makes
without naming the parameters' device lands on ``meta`` and the computation fails. Host copies
(``.cpu()``, ``.numpy()``, ``.tolist()``) of parameter-sized vectors are trapped as well; and
the Hessian-vector products run on ``meta`` parameters end to end. With CUDA present, the same
functions also run on the GPU.
"""

from __future__ import annotations

import pytest
import torch
from torch.func import functional_call
from torch.overrides import TorchFunctionMode

from boundbook.numeric.density import spectral_density
from boundbook.numeric.hessian import (
    hessian_spectrum,
    hvp_operator,
    preconditioned_sharpness,
    sharpness,
)
from boundbook.numeric.threads import single_thread
from boundbook.numeric.trace import hutchinson_trace


@pytest.fixture(autouse=True)
def _one_thread():
    with single_thread():
        yield


def problem(device: str = "cpu"):
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(6, 10), torch.nn.Tanh(),
                              torch.nn.Linear(10, 3)).double().to(device)
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(40, 6, generator=gen, dtype=torch.float64).to(device)
    y = torch.randn(40, 3, generator=gen, dtype=torch.float64).to(device)
    params = {k: v.detach() for k, v in net.named_parameters()}
    crit = torch.nn.MSELoss()

    def batch_loss(p, xb, yb):
        return crit(functional_call(net, p, (xb,)), yb)

    return params, (lambda p: batch_loss(p, x, y)), batch_loss, (x, y)


def run_everything(params, loss, batch_loss, data) -> dict[str, float]:
    out = {}
    for mode in ("reverse", "forward", "auto"):
        spec = hessian_spectrum(loss, params, 2, tol=1e-8, mode=mode)
        assert spec.eigenvectors.device == next(iter(params.values())).device
        out[f"top_{mode}"] = spec.eigenvalues[0]
        out[f"chunked_{mode}"] = sharpness(batch_loss, params, tol=1e-8, mode=mode, data=data,
                                           chunk_size=16)
        out[f"trace_{mode}"] = hutchinson_trace(loss, params, 8, mode=mode).estimate
        out[f"slq_{mode}"] = spectral_density(loss, params, 2, 6, mode=mode).trace(
            lambda z: z)[0]
    pre = {k: torch.ones_like(v) * 2 for k, v in params.items()}
    out["precond"] = preconditioned_sharpness(loss, params, pre, tol=1e-8)
    return out


class HostCopyTrap(TorchFunctionMode):
    """Fails on a host copy of a tensor with at least ``size`` elements."""

    def __init__(self, size: int):
        super().__init__()
        self.size = size

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if func in (torch.Tensor.cpu, torch.Tensor.numpy, torch.Tensor.tolist):
            if args and isinstance(args[0], torch.Tensor) and args[0].numel() >= self.size:
                raise AssertionError(f"{func.__name__} of a {args[0].numel()}-vector")
        return func(*args, **(kwargs or {}))


def test_nothing_relies_on_the_default_device_or_copies_vectors_to_the_host():
    params, loss, batch_loss, data = problem()
    dim = sum(p.numel() for p in params.values())
    reference = run_everything(params, loss, batch_loss, data)
    torch.set_default_device("meta")
    try:
        with HostCopyTrap(dim):
            faked = run_everything(params, loss, batch_loss, data)
    finally:
        torch.set_default_device(None)
    assert faked == pytest.approx(reference, rel=1e-12)


def test_the_trap_and_the_fake_device_do_catch_a_fallback():
    params, loss, _, _ = problem()
    dim = sum(p.numel() for p in params.values())
    matvec, _, _ = hvp_operator(loss, params)
    with HostCopyTrap(dim), pytest.raises(AssertionError, match="numpy"):
        matvec(torch.ones(dim, dtype=torch.float64)).numpy()
    torch.set_default_device("meta")
    try:
        with pytest.raises((RuntimeError, NotImplementedError)):
            float(matvec(torch.ones(dim, dtype=torch.float64)).sum())  # ones() on meta
    finally:
        torch.set_default_device(None)


@pytest.mark.parametrize("mode", ["reverse", "forward"])
@pytest.mark.parametrize("chunk_size", [None, 16])
def test_products_stay_on_the_parameters_device(mode, chunk_size):
    params, _, batch_loss, data = problem("meta")
    matvec, dim, theta = hvp_operator(batch_loss, params, mode, data=data,
                                      chunk_size=chunk_size)
    out = matvec(torch.empty(dim, dtype=torch.float64, device="meta"))
    assert theta.device.type == "meta" and out.device.type == "meta" and out.shape == (dim,)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_on_a_gpu_everything_stays_there():
    cpu = run_everything(*problem("cpu"))
    gpu = run_everything(*problem("cuda"))
    for key in ("top_reverse", "top_forward", "chunked_reverse", "precond"):
        assert gpu[key] == pytest.approx(cpu[key], rel=1e-8)
