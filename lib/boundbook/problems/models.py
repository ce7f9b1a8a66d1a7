"""Small deterministic models for the book's CPU experiments.

Initialisation follows PyTorch's default for ``nn.Linear`` (``kaiming_uniform_(a=sqrt(5))``
for weights and ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))`` for biases, both of which reduce to
``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``), but every number is drawn on the CPU from a private
``torch.Generator`` seeded with ``seed``.  The global RNG is never touched, so the same seed
gives bit-identical parameters on every call, whatever ran before, and on every device
(the tensors are created on the CPU and then moved).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn
from torch.nn.utils import skip_init

__all__ = ["ACTIVATIONS", "mlp"]

ACTIVATIONS: dict[str, type[nn.Module]] = {"gelu": nn.GELU, "relu": nn.ReLU, "tanh": nn.Tanh}


def _init_linear_(layer: nn.Linear, gen: torch.Generator) -> None:
    bound = 1.0 / math.sqrt(layer.in_features)
    with torch.no_grad():
        w = torch.empty(layer.weight.shape, dtype=torch.float64).uniform_(
            -bound, bound, generator=gen
        )
        layer.weight.copy_(w)
        if layer.bias is not None:
            b = torch.empty(layer.bias.shape, dtype=torch.float64).uniform_(
                -bound, bound, generator=gen
            )
            layer.bias.copy_(b)


def mlp(
    sizes: Sequence[int],
    activation: str = "gelu",
    layernorm: bool = False,
    seed: int = 0,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str = "cpu",
) -> nn.Sequential:
    """Build a multilayer perceptron ``sizes[0] -> sizes[1] -> ... -> sizes[-1]``.

    Each hidden block is ``Linear -> [LayerNorm] -> activation``; the last layer is a plain
    ``Linear`` producing logits.  ``activation`` is one of ``"gelu"`` (exact, erf-based),
    ``"relu"`` or ``"tanh"``.  Parameters are drawn from ``torch.Generator().manual_seed(seed)``
    in float64 on the CPU (layer by layer, weight then bias), then cast to ``dtype`` and
    moved to ``device``: same seed -> bit-identical model.  LayerNorm starts at weight 1,
    bias 0.
    """
    sizes = [int(s) for s in sizes]
    if len(sizes) < 2:
        raise ValueError("sizes needs at least an input and an output size")
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
    gen = torch.Generator(device="cpu").manual_seed(int(seed))
    layers: list[nn.Module] = []
    for i, (d_in, d_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        # skip_init: allocate without running nn.Linear's default (global-RNG) init
        lin = skip_init(nn.Linear, d_in, d_out, dtype=torch.float64)
        _init_linear_(lin, gen)
        layers.append(lin)
        if i < len(sizes) - 2:
            if layernorm:
                layers.append(nn.LayerNorm(d_out, dtype=torch.float64))
            layers.append(ACTIVATIONS[activation]())
    return nn.Sequential(*layers).to(dtype=dtype, device=device)
