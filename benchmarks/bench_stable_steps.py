"""Ratio benchmarks for the stable-step machinery, each against its baseline in the same run.

1. Sharpness of a small MLP's loss: Lanczos (:func:`boundbook.numeric.hessian.hessian_spectrum`)
   vs power iteration on the same HVPs, to the same true relative accuracy (1e-6 against a
   dense eigendecomposition): the ratio of HVPs and of time.
2. A 64-step-size sweep of gradient descent on a quadratic: one ``vmap``-batched sweep
   (:func:`boundbook.numeric.sweep.step_size_sweep`) vs a Python loop over the step sizes.

(The cost of one HVP in gradients, for both modes, is measured on the digits MLPs in
``bench_hessian.py``.) Prints ratios (baseline / ours), which transfer across machines better
than seconds. Run: ``.venv/bin/python benchmarks/bench_stable_steps.py [--device cuda]``.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from timing import paired_times, ratio_record
from torch.func import functional_call

from boundbook.numeric.hessian import dense_hessian, hessian_spectrum, hvp_operator
from boundbook.numeric.sweep import gd_step, step_size_sweep
from boundbook.numeric.threads import single_thread


def power_iteration(matvec, dim: int, target: float, rtol: float, dtype, device,
                    max_iter: int = 20_000) -> int:
    """HVPs power iteration needs to reach ``rtol`` of ``target`` (the dense top eigenvalue)."""
    gen = torch.Generator().manual_seed(0)
    v = torch.randn(dim, generator=gen, dtype=torch.float64).to(dtype=dtype, device=device)
    v = v / v.norm()
    for i in range(1, max_iter + 1):
        w = matvec(v)
        est = float(torch.dot(v, w))
        if abs(est - target) <= rtol * abs(target):
            return i
        v = w / w.norm()
    return max_iter


def run(repeats: int = 5, device: str = "cpu", log=print) -> list[dict]:
    dev, dt = device, torch.float64
    torch.manual_seed(0)  # nn.Linear's default init draws from the global generator
    gen = torch.Generator().manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(16, 32), torch.nn.Tanh(),
                              torch.nn.Linear(32, 4)).to(dt).to(dev)
    x = torch.randn(200, 16, generator=gen, dtype=dt).to(dev)
    y = torch.randn(200, 4, generator=gen, dtype=dt).to(dev)
    params = {k: v.detach() for k, v in net.named_parameters()}

    def loss(p):
        return ((functional_call(net, p, (x,)) - y) ** 2).mean()

    top = float(torch.linalg.eigvalsh(dense_hessian(loss, params))[-1])
    # the loosest tol whose answer is within 1e-6 of the dense value
    tol = next(t for t in (1e-2, 1e-3, 1e-4, 1e-5, 1e-6)
               if abs(hessian_spectrum(loss, params, tol=t).eigenvalues[0] - top) <= 1e-6 * top)
    spec = hessian_spectrum(loss, params, tol=tol)
    matvec, dim, _ = hvp_operator(loss, params)
    n_power = power_iteration(matvec, dim, top, 1e-6, dt, dev)
    t = paired_times({"lanczos": lambda: hessian_spectrum(loss, params, tol=tol),
                      "power": lambda: power_iteration(matvec, dim, top, 1e-6, dt, dev)},
                     repeats, dev)
    config = {"model": "MLP 16-32-4 tanh, MSE, 200 samples", "parameters": dim,
              "dtype": "float64", "true_error": 1e-6, "lanczos_tol": tol,
              "power_stops": "oracle (at the first iterate within 1e-6 of the dense value)"}
    recs = [ratio_record("power iteration / Lanczos, sharpness to 1e-6", t["power"],
                         t["lanczos"], group="stable steps",
                         meaning="power-iteration time / Lanczos time", config=config,
                         extra={"products": {"lanczos": spec.n_matvec, "power": n_power},
                                "lanczos_error": abs(spec.eigenvalues[0] - top) / top})]

    n = 50
    q, _ = torch.linalg.qr(torch.randn(n, n, generator=gen, dtype=dt))
    a = (q @ torch.diag(torch.linspace(0.1, 5.0, n, dtype=dt)) @ q.T).to(dev)

    def qloss(th):
        return 0.5 * th @ a @ th

    x0 = torch.ones(n, dtype=dt, device=dev)
    etas = np.linspace(0.05, 0.6, 64)
    steps = 300

    def batched():
        step_size_sweep(gd_step(qloss), qloss, x0, etas, steps, record_every=steps)

    def looped():
        step = gd_step(qloss)
        for e in etas:
            th, eta = x0.clone(), torch.tensor(e, dtype=dt, device=dev)
            for _ in range(steps):
                th = step(th, eta)
                if not torch.isfinite(qloss(th)):
                    break

    with single_thread():  # as the chapters run it (numeric/threads.py)
        batched()
        t2 = paired_times({"vmap": batched, "loop": looped}, max(2, repeats // 2), dev,
                          warmup=False)
    recs.append(ratio_record("loop / vmap, 64 step sizes x 300 GD steps", t2["loop"],
                             t2["vmap"], group="stable steps",
                             meaning="loop time / vmapped sweep time",
                             config={"quadratic_dim": n, "step_sizes": 64, "steps": steps,
                                     "torch_threads": 1}))
    for r in recs:
        log(f"{r['name']:<50} {r['ratio']['median']:7.2f}  "
            f"[{r['ratio']['min']:.2f}, {r['ratio']['max']:.2f}]")
    log(f"  Lanczos {spec.n_matvec} HVPs, power iteration {n_power} HVPs")
    return recs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    run(args.repeats, args.device)


if __name__ == "__main__":
    main()
