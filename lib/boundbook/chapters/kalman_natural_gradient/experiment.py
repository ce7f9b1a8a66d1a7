"""The experiments of the chapter "One natural-gradient step is a Kalman update" (torch, float64;
plain dataclasses out).

Random linear-Gaussian instances (prior :math:`N(m_0, \\Sigma_0)`, :math:`y = Hx + v`,
:math:`v \\sim N(0, R)`, dimensions drawn per instance), the same instances for the check and
every control:

- :func:`run_identity`: the largest relative difference, over instances, between the Kalman
  update (:func:`boundbook.numeric.tracking.kalman_update`) and one step from the prior of
  natural-gradient descent (:func:`boundbook.numeric.tracking.natural_gradient_step`, natural
  parameters) at each step size of a grid, of the Euclidean gradient step, and of a unit
  natural-gradient step taken in the coordinates (m, Sigma) instead of the natural parameters.
- :func:`run_contraction`: iterates of both step-size forms ("natural" and the companion code's
  "nano-code") for steps beta != 1, and the distance of their natural parameters to the
  posterior's after each iteration, relative to the distance before the first.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from boundbook.numeric.tracking import (
    euclidean_gradient_step,
    kalman_update,
    natural_gradient_step,
)

D = torch.float64


def instance(seed: int, max_dim: int) -> tuple[torch.Tensor, ...]:
    """A random linear-Gaussian instance: d in 1..max_dim, k in 1..d+1 measurements,
    Sigma_0 = X X^T / d + 0.1 I, R = Y Y^T / k + 0.1 I (moderately conditioned)."""
    g = torch.Generator().manual_seed(seed)
    d = int(torch.randint(1, max_dim + 1, (1,), generator=g))
    k = int(torch.randint(1, d + 2, (1,), generator=g))
    X = torch.randn(d, d, generator=g, dtype=D)
    Y = torch.randn(k, k, generator=g, dtype=D)
    P0 = X @ X.T / d + 0.1 * torch.eye(d, dtype=D)
    R = Y @ Y.T / k + 0.1 * torch.eye(k, dtype=D)
    return (torch.randn(d, generator=g, dtype=D), P0, torch.randn(k, d, generator=g, dtype=D),
            R, torch.randn(k, generator=g, dtype=D))


def rel_diff(a: tuple[torch.Tensor, torch.Tensor], b: tuple[torch.Tensor, torch.Tensor]
             ) -> float:
    """max(|mean_a - mean_b|, |cov_a - cov_b|) / max(1, |mean_b|, |cov_b|), entrywise maxima."""
    scale = max(1.0, float(b[0].abs().max()), float(b[1].abs().max()))
    return max(float((a[0] - b[0]).abs().max()), float((a[1] - b[1]).abs().max())) / scale


def mean_cov_natural_step(m, P, H, R, y, step=1.0):
    """A natural-gradient step taken in the coordinates (m, Sigma) (Fisher metric
    blocks Sigma^-1 and (1/2) Sigma^-1 (x) Sigma^-1): m - step Sigma grad_m J,
    Sigma - 2 step Sigma grad_Sigma J Sigma, from the prior. Not the book's parameterisation:
    shown to make the point that a finite step depends on the coordinates."""
    G = H.T @ torch.linalg.solve(R, H)
    g_m = H.T @ torch.linalg.solve(R, H @ m - y)  # at the prior the KL gradient is zero
    g_P = 0.5 * G  # (G + Sigma_0^-1 - Sigma^-1)/2 at Sigma = Sigma_0
    return m - step * P @ g_m, P - 2 * step * P @ g_P @ P


@dataclass(frozen=True)
class IdentityResult:
    """Per step size in ``steps``: the largest and smallest relative difference over the
    instances between the one-step natural-gradient update and the Kalman update
    (``natural_max``, ``natural_min``); the same for the Euclidean unit step and the unit
    natural step in (m, Sigma) coordinates; the instance dimensions."""

    n: int
    steps: tuple[float, ...]
    natural_max: tuple[float, ...]
    natural_min: tuple[float, ...]
    euclidean_max: float
    euclidean_min: float
    mean_cov_max: float
    mean_cov_min: float
    dims: tuple[tuple[int, int], ...]
    per_instance_unit: np.ndarray


def run_identity(cfg: object) -> IdentityResult:
    steps = tuple(cfg.steps)  # type: ignore[attr-defined]
    insts = [instance(cfg.seed * 100_000 + i, cfg.max_dim)  # type: ignore[attr-defined]
             for i in range(cfg.instances)]  # type: ignore[attr-defined]
    nat = np.zeros((len(insts), len(steps)))
    eu, mc = np.zeros(len(insts)), np.zeros(len(insts))
    for i, inst in enumerate(insts):
        kf = kalman_update(*inst)
        for j, beta in enumerate(steps):
            nat[i, j] = rel_diff(natural_gradient_step(*inst, step=beta), kf)
        eu[i] = rel_diff(euclidean_gradient_step(*inst), kf)
        mc[i] = rel_diff(mean_cov_natural_step(*inst), kf)
    unit = steps.index(1.0)
    return IdentityResult(
        n=len(insts), steps=steps, natural_max=tuple(float(x) for x in nat.max(0)),
        natural_min=tuple(float(x) for x in nat.min(0)), euclidean_max=float(eu.max()),
        euclidean_min=float(eu.min()), mean_cov_max=float(mc.max()),
        mean_cov_min=float(mc.min()), dims=tuple((int(x[1].shape[0]), int(x[2].shape[0]))
                                                 for x in insts),
        per_instance_unit=nat[:, unit])


def natural_params(m: torch.Tensor, P: torch.Tensor) -> torch.Tensor:
    """(Sigma^-1 m, Sigma^-1) flattened: the natural parameters up to the factor -1/2."""
    Lam = torch.linalg.inv(P)
    return torch.cat([Lam @ m, Lam.flatten()])


@dataclass(frozen=True)
class ContractionResult:
    """Per form and step beta: ``ratios[form][beta]`` = the natural-parameter distance to the
    posterior after iteration k (k = 1..iterations), divided by the distance at k = 0, the
    largest over the instances of |ratio_k / |1 - beta|^k - 1| in ``worst``, and the final
    relative covariance error in ``final_cov_error``."""

    betas: tuple[float, ...]
    iterations: int
    n: int
    ratios: dict[str, dict[float, np.ndarray]]
    final_cov_error: dict[str, dict[float, float]]


def run_contraction(cfg: object) -> ContractionResult:
    betas = tuple(cfg.contraction_betas)  # type: ignore[attr-defined]
    K = int(cfg.iterations)  # type: ignore[attr-defined]
    insts = [instance(cfg.seed * 100_000 + 50_000 + i, cfg.max_dim)  # type: ignore[attr-defined]
             for i in range(cfg.contraction_instances)]  # type: ignore[attr-defined]
    ratios: dict[str, dict[float, np.ndarray]] = {}
    final: dict[str, dict[float, float]] = {}
    for form in ("natural", "nano-code"):
        ratios[form], final[form] = {}, {}
        for beta in betas:
            rows, errs = [], []
            for m0, P0, H, R, y in insts:
                km, kP = kalman_update(m0, P0, H, R, y)
                star = natural_params(km, kP)
                d0 = float(torch.linalg.vector_norm(natural_params(m0, P0) - star))
                m, P = m0, P0
                row = []
                for _ in range(K):
                    m, P = natural_gradient_step(m, P, H, R, y, step=beta, prior=(m0, P0),
                                                 form=form)
                    row.append(float(torch.linalg.vector_norm(natural_params(m, P) - star))
                               / d0)
                rows.append(row)
                errs.append(float((P - kP).abs().max() / kP.abs().max()))
            ratios[form][beta] = np.array(rows)
            final[form][beta] = float(max(errs))
    return ContractionResult(betas=betas, iterations=K, n=len(insts), ratios=ratios,
                             final_cov_error=final)
