r"""Measurements behind the radius claims of "Ghosts of Softmax" (exact, no training).

* :func:`binary_root_test_cases` -- for a grid of logit gaps :math:`\delta` and slope gaps
  :math:`\Delta`, the radius of the binary CE along a line measured by the root test on 200
  Taylor coefficients (:func:`boundbook.numeric.radius.series_radius_estimate`), to compare
  with :math:`\sqrt{\delta^2+\pi^2}/\Delta`.
* :func:`multiclass_bound_ratios` -- random instances (logits, integer slopes times a scale)
  and their exact radius :math:`\rho^*` (the nearest complex zero of
  :math:`F(t) = \sum_k e^{z_k + a_k t}`), returned as ratios :math:`\rho^* / (\pi/\Delta_a)`,
  which Thm 4.6 says are :math:`\ge 1`; the constructed tight instance comes first.
* :func:`partial_sum_errors` -- errors of the order-N Taylor partial sums of the binary loss
  at :math:`\tau = s\rho^*`: they shrink with N inside the radius and grow outside.
* :func:`jvp_agreement` -- :math:`a = J_z v` from one JVP against reverse mode and finite
  differences, and the same along a slightly perturbed direction (the negative control).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from typing import Any

import mpmath
import numpy as np
import torch

from boundbook.numeric.directional import (
    directional_logit_derivatives_fd,
    directional_logit_derivatives_reference,
    logits_and_directional_derivatives,
    params_of,
    params_to_flat,
)
from boundbook.numeric.radius import (
    binary_taylor_radius,
    exact_radius,
    log_partition_taylor_coefficients,
    series_radius_estimate,
    taylor_radius,
)

BINARY_GRID: tuple[tuple[float, float], ...] = (
    (2.0, 1.5), (0.0, 1.0), (0.5, 0.1), (-3.0, 2.0), (5.0, 10.0), (1.0, 0.5))
"""(delta, Delta) cases; the first is the one shown in the verdict table."""


def binary_root_test_cases(grid: Sequence[tuple[float, float]] = BINARY_GRID,
                           order: int = 200) -> list[dict[str, float]]:
    """Root-test radius of log(e^{z1 + a1 t} + e^{z2 + a2 t}) with z1 - z2 = delta,
    a1 - a2 = Delta, next to the closed form."""
    out = []
    for delta, Delta in grid:
        est = series_radius_estimate([delta, 0.0], [Delta, 0.0], order=order)
        out.append({"delta": delta, "Delta": Delta, "root_test": float(est),
                    "closed_form": float(binary_taylor_radius(delta, Delta))})
    return out


def tight_instance() -> tuple[np.ndarray, np.ndarray, float]:
    """Two classes with equal logits at the extreme slopes, a third far below: rho* = pi/Delta."""
    return np.array([1.0, 1.0, -8.0]), np.array([3, -2, 1]), 0.7


def multiclass_bound_ratios(n: int, seed: int,
                            radius: Callable[[np.ndarray], Any] = taylor_radius
                            ) -> list[float]:
    """rho*/rho_a for the tight instance and ``n`` random ones (2-6 classes, integer slopes in
    [-6, 6] times a scale in [0.1, 5], logits in [-5, 5]). ``radius`` maps the slopes a_k to
    the bound (the library's ``taylor_radius``; tests substitute a mutated one)."""
    rng = np.random.default_rng(seed)
    z, m, s = tight_instance()
    instances = [(z, m, s)]
    while len(instances) < n + 1:
        k = int(rng.integers(2, 7))
        m = rng.integers(-6, 7, size=k)
        if m.max() == m.min():
            continue
        instances.append((rng.uniform(-5, 5, size=k), m, float(rng.uniform(0.1, 5.0))))
    return [exact_radius(z, m, s) / float(radius(s * m.astype(float)))
            for z, m, s in instances]


def partial_sum_errors(delta: float, Delta: float, scales: Sequence[float],
                       orders: Sequence[int]) -> np.ndarray:
    r"""|sum_{n<=N} c_n tau^n - l(tau)| for tau = s rho*, l(t) = log(e^{delta + Delta t} + 1).

    Returns an array [len(scales), len(orders)].
    """
    n_max = max(orders)
    coeffs = log_partition_taylor_coefficients([delta, 0.0], [Delta, 0.0], n_max, dps=60)
    rho = math.sqrt(delta**2 + math.pi**2) / abs(Delta)
    out = np.zeros((len(scales), len(orders)))
    with mpmath.workdps(60):
        for i, s in enumerate(scales):
            tau = mpmath.mpf(s) * rho
            exact = mpmath.log(mpmath.exp(delta + Delta * tau) + 1)
            partial, n_done = mpmath.mpf(0), -1
            for j, order in enumerate(orders):
                for n in range(n_done + 1, order + 1):
                    partial += coeffs[n] * tau**n
                n_done = order
                out[i, j] = float(abs(partial - exact))
    return out


def jvp_agreement(model: torch.nn.Module, x: torch.Tensor, seed: int,
                  perturbation: float = 1e-3) -> dict[str, Any]:
    """a from one JVP vs reverse mode and central finite differences, in float64.

    The direction is a seeded Gaussian unit vector; the negative control takes the JVP along
    v + perturbation * u (u another unit vector) and compares it with the reference along v.
    """
    model = copy.deepcopy(model).double()  # the caller's model stays as it was
    x = x.double()
    gen = torch.Generator().manual_seed(seed)
    like = params_to_flat(params_of(model))
    v = torch.randn(like.numel(), generator=gen, dtype=torch.float64)
    u = torch.randn(like.numel(), generator=gen, dtype=torch.float64)
    v, u = v / v.norm(), u / u.norm()
    _, a = logits_and_directional_derivatives(model, x, v)
    _, a_pert = logits_and_directional_derivatives(model, x, v + perturbation * u)
    ref = directional_logit_derivatives_reference(model, x, v)
    fd = directional_logit_derivatives_fd(model, x, v)
    return {"a_jvp": a.flatten(), "a_reverse": ref.flatten(), "a_fd": fd.flatten(),
            "a_jvp_perturbed": a_pert.flatten(), "samples": int(x.shape[0]),
            "classes": int(a.shape[1])}
