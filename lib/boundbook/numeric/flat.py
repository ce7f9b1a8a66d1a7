"""Flat views of parameter dictionaries (one implementation for every toolkit and chapter).

A network's parameters are a dict ``name -> tensor``; Lanczos, JVP directions and hand-written
optimisers want one vector :math:`\theta \\in \\mathbb{R}^P`, the concatenation of the
flattened tensors in dict order. :func:`params_to_flat` and :func:`flat_to_params` are that
map and its inverse; :func:`flatten` returns both for a dict (or a single tensor).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import torch
from torch import Tensor

__all__ = ["flat_to_params", "flatten", "params_to_flat"]


def params_to_flat(params: Mapping[str, Tensor]) -> Tensor:
    """Concatenate a parameter dict into one flat vector (dict order).

    Parameters
    ----------
    params : named tensors.

    Returns
    -------
    Tensor
        1-D, length = total number of elements.
    """
    if not params:
        raise ValueError("params is empty")
    return torch.cat([p.reshape(-1) for p in params.values()])


def flat_to_params(vec: Tensor, like: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """Split a flat vector into tensors shaped like ``like`` (inverse of :func:`params_to_flat`).

    Parameters
    ----------
    vec : 1-D tensor with as many elements as ``like`` in total.
    like : named tensors giving names, order and shapes.

    Returns
    -------
    dict of str to Tensor
    """
    if not isinstance(vec, Tensor) or vec.ndim != 1:
        raise ValueError("vec must be a 1-D tensor")
    total = sum(p.numel() for p in like.values())
    if vec.numel() != total:
        raise ValueError(
            f"flat direction has {vec.numel()} entries but the parameters have {total}"
        )
    out, offset = {}, 0
    for name, p in like.items():
        out[name] = vec[offset : offset + p.numel()].reshape(p.shape)
        offset += p.numel()
    return out


def flatten(params: Mapping[str, Tensor] | Tensor
            ) -> tuple[Tensor, Callable[[Tensor], dict[str, Tensor] | Tensor]]:
    """One flat vector for ``params`` and the inverse map (shapes and key order kept)."""
    if isinstance(params, Tensor):
        shape = params.shape
        return params.reshape(-1), lambda vec: vec.reshape(shape)
    like = dict(params)
    return params_to_flat(like), lambda vec: flat_to_params(vec, like)
