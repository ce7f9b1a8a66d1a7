"""The Hessian's spectral density by stochastic Lanczos quadrature (SLQ).

The spectral measure :math:`\\mu = \\frac1n \\sum_i \\delta_{\\lambda_i}` of an :math:`n \\times n`
symmetric :math:`H` satisfies :math:`\\int f\\,d\\mu = \\frac1n \\operatorname{tr} f(H) =
\\mathbb{E}[q^\\top f(H) q]` for :math:`q = v/\\sqrt n`, :math:`v` Rademacher. For one probe,
:math:`m` Lanczos steps from :math:`q` give the tridiagonal :math:`T_m = S \\Theta S^\\top`, and
:math:`q^\\top f(H) q \\approx \\sum_k \\tau_k f(\\theta_k)` with nodes :math:`\\theta_k` (Ritz
values) and weights :math:`\\tau_k = S_{1k}^2` (Gauss quadrature: exact for polynomials of
degree up to :math:`2m-1`). Averaging the probes' quadratures estimates :math:`\\mu`; smoothing
each node with a Gaussian of width :math:`\\sigma` gives a density (Ghorbani, Krishnan and
Xiao 2019; Lin, Saad and Yang 2016), and :meth:`SpectralDensity.trace` gives
:math:`\\operatorname{tr} f(H)` with a standard error over the probes.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from boundbook.numeric.hessian import (
    Data,
    LossFn,
    Params,
    hvp_operator,
    krylov_tridiagonal,
    tridiagonal_eigh,
)
from boundbook.numeric.trace import rademacher

__all__ = ["SpectralDensity", "operator_density", "spectral_density"]


@dataclass(frozen=True)
class SpectralDensity:
    """Gauss quadratures of the spectral measure, one row per probe.

    ``nodes`` and ``weights`` are ``[n_probes, steps]`` (a probe whose Krylov space was
    exhausted early is padded with weight 0); each row's weights sum to 1. ``dim`` is the
    operator's size, ``n_matvec`` the products used.
    """

    nodes: np.ndarray
    weights: np.ndarray
    dim: int
    n_matvec: int

    def trace(self, f: Callable[[np.ndarray], np.ndarray]) -> tuple[float, float]:
        """:math:`\\operatorname{tr} f(H)` and its standard error over the probes."""
        per_probe = self.dim * (self.weights * f(self.nodes)).sum(axis=1)
        n = per_probe.size
        se = float(per_probe.std(ddof=1) / math.sqrt(n)) if n > 1 else float("nan")
        return float(per_probe.mean()), se

    def density(self, grid: np.ndarray, sigma: float) -> np.ndarray:
        """The spectral density smoothed by a Gaussian of width ``sigma`` at ``grid`` (it
        integrates to 1 over the real line)."""
        grid = np.asarray(grid, dtype=np.float64)
        z = (grid[:, None, None] - self.nodes[None]) / sigma
        kern = np.exp(-0.5 * z * z) / (sigma * math.sqrt(2 * math.pi))
        return (kern * self.weights[None]).sum(axis=2).mean(axis=1)

    def cdf(self, grid: np.ndarray) -> np.ndarray:
        """The estimated fraction of eigenvalues at or below each point of ``grid``."""
        grid = np.asarray(grid, dtype=np.float64)
        below = self.nodes[None] <= grid[:, None, None]
        return (below * self.weights[None]).sum(axis=2).mean(axis=1)


def _quadrature(alphas: list[float], betas: list[float]) -> tuple[np.ndarray, np.ndarray]:
    theta, s = tridiagonal_eigh(alphas, betas)
    return theta, s[0] ** 2


def operator_density(matvec: Callable[[torch.Tensor], torch.Tensor], dim: int,
                     n_probes: int = 10, steps: int = 80, *, seed: int = 0,
                     dtype: torch.dtype = torch.float64,
                     device: torch.device | str = "cpu") -> SpectralDensity:
    """SLQ for the symmetric operator ``matvec``: ``n_probes`` Rademacher probes (drawn on
    ``device``), ``steps`` Lanczos steps each (full re-orthogonalisation)."""
    if n_probes < 1 or steps < 1:
        raise ValueError("n_probes and steps must be positive")
    steps = min(int(steps), dim)
    gen = torch.Generator(device=device).manual_seed(int(seed))
    nodes = np.zeros((n_probes, steps))
    weights = np.zeros((n_probes, steps))
    used = 0
    for i in range(n_probes):
        v = rademacher(dim, generator=gen, dtype=dtype, device=device)
        alphas, betas = krylov_tridiagonal(matvec, v.double(), steps)  # recurrence in float64
        used += len(alphas)
        th, w = _quadrature(alphas, betas)
        nodes[i, : th.size] = th
        nodes[i, th.size:] = th[-1]
        weights[i, : w.size] = w / w.sum()
    return SpectralDensity(nodes, weights, dim, used)


def spectral_density(loss_fn: LossFn, params: Params, n_probes: int = 10, steps: int = 80, *,
                     seed: int = 0, mode: str = "reverse", data: Data = None,
                     chunk_size: int | None = None) -> SpectralDensity:
    """The Hessian's spectral density at ``params`` by SLQ (``mode``, ``data`` and
    ``chunk_size`` as in :func:`boundbook.numeric.hessian.hvp_operator`)."""
    matvec, dim, theta = hvp_operator(loss_fn, params, mode, data=data, chunk_size=chunk_size)
    return operator_density(matvec, dim, n_probes, steps, seed=seed, dtype=theta.dtype,
                            device=theta.device)
