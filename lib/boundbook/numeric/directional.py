"""Directional logit derivatives ``a = J_z v`` by one forward-mode JVP (Sao, arXiv 2603.13552).

For a model ``z = f_theta(x)`` and a parameter-space direction ``v``, the slopes
``a_k(x) = d z_k(theta + t v) / dt |_{t=0} = grad_theta z_k(x) . v`` feed the Taylor-radius
bounds of :mod:`boundbook.numeric.radius`. The paper computes them for a whole batch with one
``torch.func.jvp`` of ``theta -> functional_call(model, theta, (x,))`` (quoted at about 1.5
forward passes); we make the same forward-mode product with dual numbers
(``torch.autograd.forward_ad``), which is faster. Reverse mode (``jacrev``) and central
finite differences are provided as independent reference paths for tests. Buffers (e.g.
BatchNorm statistics) are passed through ``functional_call`` as copies of their current
values, so the model's state is never mutated.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Mapping

import torch
import torch.autograd.forward_ad as fwAD
from torch import Tensor, nn
from torch.func import functional_call, jacrev

from boundbook.numeric.flat import flat_to_params, params_to_flat

__all__ = [
    "directional_logit_derivatives",
    "directional_logit_derivatives_fd",
    "directional_logit_derivatives_reference",
    "flat_to_params",
    "jvp_cost_ratio",
    "logits_and_directional_derivatives",
    "params_of",
    "params_to_flat",
]

Direction = Mapping[str, Tensor] | Tensor


def params_of(model: nn.Module) -> dict[str, Tensor]:
    """Detached named parameters of ``model``, in ``named_parameters()`` order.

    Parameters
    ----------
    model : the network.

    Returns
    -------
    dict of str to Tensor
    """
    return {name: p.detach() for name, p in model.named_parameters()}


def _direction_dict(v: Direction, params: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """Validate ``v`` against ``params`` and return it as a dict matching dtype and device."""
    if isinstance(v, Tensor):
        if v.ndim != 1:
            raise ValueError(
                f"a tensor direction must be flat (1-D, named_parameters order); "
                f"got shape {tuple(v.shape)}"
            )
        v = flat_to_params(v, params)
    elif isinstance(v, Mapping):
        missing = [k for k in params if k not in v]
        extra = [k for k in v if k not in params]
        if missing or extra:
            raise ValueError(
                f"direction keys do not match model.named_parameters(): "
                f"missing {missing}, unexpected {extra}"
            )
        for name, p in params.items():
            if not isinstance(v[name], Tensor) or v[name].shape != p.shape:
                shape = tuple(v[name].shape) if isinstance(v[name], Tensor) else type(v[name])
                raise ValueError(
                    f"direction entry {name!r} has shape {shape}, "
                    f"parameter has shape {tuple(p.shape)}"
                )
    else:
        raise TypeError(f"direction must be a dict of tensors or a flat tensor, got {type(v)}")
    return {name: v[name].detach().to(dtype=p.dtype, device=p.device) for name, p in params.items()}


def _buffers_of(model: nn.Module) -> dict[str, Tensor]:
    return {name: b.detach() for name, b in model.named_buffers()}


def _copies(tensors: Mapping[str, Tensor]) -> dict[str, Tensor]:
    return {name: b.clone() for name, b in tensors.items()}


def logits_and_directional_derivatives(
    model: nn.Module, x: Tensor, v: Direction
) -> tuple[Tensor, Tensor]:
    """Logits ``z`` and slopes ``a = J_z v`` from one forward-mode pass.

    The parameters become dual numbers ``theta + eps v`` (``torch.autograd.forward_ad``) and
    one call of the network carries both ``z`` and ``a`` -- the same product as
    ``torch.func.jvp``, without its functional-transform overhead (1.1x to 1.4x faster on the
    chapter's small MLPs; ``benchmarks/bench_directional.py``).

    Parameters
    ----------
    model : the network; its buffers are used at their current values (copies).
    x : input batch.
    v : direction, a dict keyed like ``model.named_parameters()`` or a flat vector in that order.

    Returns
    -------
    (Tensor, Tensor)
        ``z`` and ``a``, both ``[batch, classes]``.
    """
    params = params_of(model)
    tangent = _direction_dict(v, params)
    buffers = _buffers_of(model)
    with fwAD.dual_level():
        dual = {k: fwAD.make_dual(p, tangent[k]) for k, p in params.items()}
        # buffer copies: BatchNorm in train mode updates its running statistics in place
        out = functional_call(model, (dual, _copies(buffers)), (x,))
        z, a = fwAD.unpack_dual(out)
    if a is None:  # the output does not depend on the parameters at all
        a = torch.zeros_like(z)
    return z, a


def directional_logit_derivatives(model: nn.Module, x: Tensor, v: Direction) -> Tensor:
    """Slopes ``a = J_z v`` (``[batch, classes]``) by one JVP; see
    :func:`logits_and_directional_derivatives`."""
    return logits_and_directional_derivatives(model, x, v)[1]


def directional_logit_derivatives_reference(model: nn.Module, x: Tensor, v: Direction) -> Tensor:
    """Slopes ``a = J_z v`` by reverse mode: ``jacrev`` in the parameters, contracted with ``v``.

    Parameters
    ----------
    model, x, v : as in :func:`logits_and_directional_derivatives`.

    Returns
    -------
    Tensor
        ``[batch, classes]``.
    """
    params = params_of(model)
    tangent = _direction_dict(v, params)
    buffers = _buffers_of(model)

    def f(p: dict[str, Tensor]) -> Tensor:
        # fresh copies inside the transform: BatchNorm in train mode updates its running
        # statistics in place, which torch.func forbids on captured tensors
        return functional_call(model, (p, _copies(buffers)), (x,))

    jac = jacrev(f)(params)
    out = None
    for name, vt in tangent.items():
        term = torch.tensordot(jac[name], vt, dims=vt.ndim)
        out = term if out is None else out + term
    return out


def directional_logit_derivatives_fd(
    model: nn.Module, x: Tensor, v: Direction, eps: float = 1e-6
) -> Tensor:
    """Slopes ``a`` by central differences ``(z(theta + eps v) - z(theta - eps v)) / (2 eps)``.

    Parameters
    ----------
    model, x, v : as in :func:`logits_and_directional_derivatives`.
    eps : step (use float64 models for ``eps = 1e-6``).

    Returns
    -------
    Tensor
        ``[batch, classes]``.
    """
    params = params_of(model)
    tangent = _direction_dict(v, params)
    buffers = _buffers_of(model)
    with torch.no_grad():
        plus = {k: p + eps * tangent[k] for k, p in params.items()}
        minus = {k: p - eps * tangent[k] for k, p in params.items()}
        z_plus = functional_call(model, (plus, _copies(buffers)), (x,))
        z_minus = functional_call(model, (minus, _copies(buffers)), (x,))
    return (z_plus - z_minus) / (2 * eps)


def jvp_cost_ratio(model: nn.Module, x: Tensor, v: Direction, repeats: int = 20) -> float:
    """Median wall time of the JVP call over that of a plain ``no_grad`` forward pass.

    The forward pass goes through ``functional_call`` with the same parameters and buffer
    copies as the JVP, so both timings carry the same bookkeeping.

    Parameters
    ----------
    model, x, v : as in :func:`logits_and_directional_derivatives`.
    repeats : timed calls of each (after one warm-up call each).

    Returns
    -------
    float
        The paper quotes about 1.5.
    """
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")

    def time_it(fn) -> float:
        fn()
        samples = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn()
            samples.append(time.perf_counter() - t0)
        return statistics.median(samples)

    params = params_of(model)
    buffers = _buffers_of(model)

    def forward() -> None:
        # same set-up as the JVP path (detached params, buffer copies, functional_call), so the
        # ratio measures the forward-mode AD overhead and the model's buffers stay untouched
        with torch.no_grad():
            functional_call(model, (params, _copies(buffers)), (x,))

    t_jvp = time_it(lambda: logits_and_directional_derivatives(model, x, v))
    t_fwd = time_it(forward)
    return t_jvp / t_fwd
