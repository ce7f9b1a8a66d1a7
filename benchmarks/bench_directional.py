"""Ratio benchmarks for the radius machinery, each against its baseline in the same run.

1. a = J_z v for a whole sample set: our forward-mode product (dual numbers, one JVP for all
   K = 10 logits) vs a plain forward pass (the paper: ~1.5 forwards), vs ``torch.func.jvp``
   (the same product through the functional transform), vs reverse mode with one backward
   per class (for class k, the double-backward trick gives ``J_k v`` for every sample at once:
   two backward passes), and vs ``jacrev`` over the parameters (one backward row per sample
   and class; measured on 256 samples, scaled to the whole set).
2. The one-step loss along a direction at 40 step sizes: one ``vmap`` over stacked parameter
   points vs a Python loop of 40 forward passes.

Prints ratios (baseline time / our time), which transfer across machines better than seconds.
Run: ``.venv/bin/python benchmarks/bench_directional.py [--device cuda] [--repeats N]``.
"""

from __future__ import annotations

import argparse

import torch
from timing import paired_times, ratio_record, times
from torch.func import functional_call, jvp, vmap

from boundbook.numeric.directional import (
    directional_logit_derivatives_reference,
    flat_to_params,
    logits_and_directional_derivatives,
    params_of,
    params_to_flat,
)
from boundbook.numeric.threads import single_thread
from boundbook.problems.data import load_digits_split
from boundbook.problems.models import mlp


def per_class_reverse(model: torch.nn.Module, x: torch.Tensor, v: dict) -> torch.Tensor:
    """``a = J_z v`` by reverse mode, one class at a time: ``J_k v = d/du [(J_k^T u) . v]``,
    a backward pass for ``J_k^T u`` (kept differentiable) and one more for its derivative in
    ``u``."""
    params = {k: p.detach().requires_grad_() for k, p in params_of(model).items()}
    z = functional_call(model, params, (x,))
    cols = []
    for k in range(z.shape[1]):
        u = torch.zeros(z.shape[0], dtype=z.dtype, device=z.device, requires_grad=True)
        g = torch.autograd.grad(z[:, k], list(params.values()), grad_outputs=u,
                                create_graph=True, retain_graph=True)
        s = sum((gi * v[name]).sum() for gi, name in zip(g, params, strict=True))
        cols.append(torch.autograd.grad(s, u, retain_graph=True)[0])
    return torch.stack(cols, dim=1)


def run(repeats: int = 10, device: str = "cpu", log=print) -> list[dict]:
    dev = device
    split = load_digits_split(device=dev)
    x, y = split.x_train, split.y_train
    model = mlp([64, 128, 128, 10], activation="gelu", layernorm=True, seed=0).to(dev)
    params = params_of(model)
    v = torch.randn(params_to_flat(params).numel(), generator=torch.Generator().manual_seed(0))
    v = (v / v.norm()).to(dev)
    v_dict = flat_to_params(v, params)

    def func_jvp() -> object:
        def f(p: dict[str, torch.Tensor]) -> torch.Tensor:
            return functional_call(model, p, (x,))
        return jvp(f, (params,), (v_dict,))

    a_ours = logits_and_directional_derivatives(model, x, v)[1]
    torch.testing.assert_close(per_class_reverse(model, x, v_dict), a_ours, rtol=1e-3,
                               atol=1e-4)
    t = paired_times({"forward": lambda: model(x),
                      "ours": lambda: logits_and_directional_derivatives(model, x, v),
                      "func_jvp": func_jvp,
                      "per_class": lambda: per_class_reverse(model, x, v_dict)}, repeats, dev)
    t_jac = times(lambda: directional_logit_derivatives_reference(model, x[:256], v), 3, dev)
    scale = x.shape[0] / 256  # jacrev on the whole set, extrapolated linearly
    n = x.shape[0]
    config = {"model": "digits MLP 64-128-128-10, GELU, LayerNorm", "samples": n,
              "classes": 10, "device": dev}
    recs = [
        ratio_record("JVP for all logits / one forward pass", t["ours"], t["forward"],
                     group="directional", meaning="our JVP time / forward-pass time (cost)",
                     config={**config, "paper": 1.5}),
        ratio_record("torch.func.jvp / our dual-number JVP", t["func_jvp"], t["ours"],
                     group="directional", meaning="torch.func.jvp time / our time",
                     config=config),
        ratio_record("one backward per class / one JVP for all K=10 logits", t["per_class"],
                     t["ours"], group="directional",
                     meaning="per-class reverse-mode time / our JVP time", config=config),
        ratio_record("jacrev (per sample and class) / one JVP",
                     [s * scale for s in t_jac], t["ours"][: len(t_jac)], group="directional",
                     meaning="jacrev time (256 samples, scaled to the set) / our JVP time",
                     config={**config, "measured_samples": 256}),
    ]

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
    with single_thread():  # as the chapters run it (numeric/threads.py)
        t2 = paired_times({"loop": lambda: [loss_at(p) for p in points],
                           "vmap": lambda: vmap(loss_at)(points)}, repeats, dev)
    recs.append(ratio_record("loop of 40 losses / one vmap", t2["loop"], t2["vmap"],
                             group="directional", meaning="loop time / vmap time",
                             config={**config, "step_sizes": 40, "torch_threads": 1}))
    for r in recs:
        log(f"{r['name']:<55} {r['ratio']['median']:7.2f}  "
            f"[{r['ratio']['min']:.2f}, {r['ratio']['max']:.2f}]")
    return recs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--repeats", type=int, default=10)
    args = ap.parse_args()
    run(args.repeats, args.device)


if __name__ == "__main__":
    main()
