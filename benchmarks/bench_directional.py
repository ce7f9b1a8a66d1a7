"""Ratio benchmarks for the radius machinery, each against its baseline in the same run.

1. a = J_z v for a whole sample set: our forward-mode product (dual numbers) vs
   ``torch.func.jvp`` (the same product through the functional transform), vs reverse mode
   (``jacrev`` over the parameters, contracted with v), and vs a plain forward pass (the
   paper: ~1.5 forwards).
2. The one-step loss along a direction at 40 step sizes: one ``vmap`` over stacked parameter
   points vs a Python loop of 40 forward passes.

Prints ratios (baseline time / our time), which transfer across machines better than seconds.
Run: ``.venv/bin/python benchmarks/bench_directional.py [--device cuda]``.
"""

from __future__ import annotations

import argparse

import torch
from timing import timed
from torch.func import functional_call, jvp, vmap

from boundbook.numeric.directional import (
    directional_logit_derivatives_reference,
    flat_to_params,
    logits_and_directional_derivatives,
    params_of,
    params_to_flat,
)
from boundbook.problems.data import load_digits_split
from boundbook.problems.models import mlp


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--repeats", type=int, default=10)
    args = ap.parse_args()
    dev = args.device
    split = load_digits_split(device=dev)
    x, y = split.x_train, split.y_train
    model = mlp([64, 128, 128, 10], activation="gelu", layernorm=True, seed=0).to(dev)
    params = params_of(model)
    v = torch.randn(params_to_flat(params).numel(), generator=torch.Generator().manual_seed(0))
    v = (v / v.norm()).to(dev)

    t_fwd = timed(lambda: model(x), args.repeats, dev)
    t_jvp = timed(lambda: logits_and_directional_derivatives(model, x, v), args.repeats, dev)
    def func_jvp() -> object:
        def f(p: dict[str, torch.Tensor]) -> torch.Tensor:
            return functional_call(model, p, (x,))
        return jvp(f, (params,), (flat_to_params(v, params),))

    t_func = timed(func_jvp, args.repeats, dev)
    t_rev = timed(lambda: directional_logit_derivatives_reference(model, x[:256], v), 3, dev)
    t_rev *= x.shape[0] / 256  # reverse mode on the whole set, extrapolated linearly

    taus = torch.linspace(0.0, 1.0, 40, device=dev)
    flat = params_to_flat(params)
    names = list(params)
    sizes = [p.numel() for p in params.values()]

    def unflatten(vec: torch.Tensor) -> dict[str, torch.Tensor]:
        parts = torch.split(vec, sizes)
        return {n: t.view_as(params[n]) for n, t in zip(names, parts, strict=True)}

    def loss_at(vec: torch.Tensor) -> torch.Tensor:
        z = functional_call(model, unflatten(vec), (x,))
        return torch.nn.functional.cross_entropy(z, y)

    points = flat[None, :] + taus[:, None] * v[None, :]
    t_loop = timed(lambda: [loss_at(p) for p in points], args.repeats, dev)
    t_vmap = timed(lambda: vmap(loss_at)(points), args.repeats, dev)

    print(f"device {dev}, {x.shape[0]} samples, {flat.numel()} parameters")
    print(f"JVP / forward pass                 : {t_jvp / t_fwd:6.2f}  (paper: ~1.5)")
    print(f"torch.func.jvp / dual-number JVP   : {t_func / t_jvp:6.2f}x speed-up")
    print(f"reverse mode / JVP (same a_k)      : {t_rev / t_jvp:6.1f}x speed-up")
    print(f"loop of 40 losses / one vmap       : {t_loop / t_vmap:6.2f}x speed-up")


if __name__ == "__main__":
    main()
