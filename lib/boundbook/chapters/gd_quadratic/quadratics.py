"""The quadratics of the chapter "Gradient descent on a quadratic" (numpy, float64).

:math:`L(x) = \\tfrac12 x^\\top A x` with a *known* spectrum,
:math:`A = Q\\,\\mathrm{diag}(\\lambda)\\,Q^\\top`, :math:`Q` a Haar-random orthogonal matrix
from a seeded generator, and a standard Gaussian start :math:`x_0`; the minimiser is 0 and
:math:`L^* = 0`. The spectrum shapes are :data:`boundbook.chapters.gd_quadratic.protocol.SHAPES`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from boundbook.chapters.gd_quadratic.protocol import SHAPES

__all__ = ["Quadratic", "haar_orthogonal", "momentum_quadratic", "quadratic_suite",
           "random_quadratic", "spectrum"]


@dataclass(frozen=True)
class Quadratic:
    """:math:`\\tfrac12 x^\\top A x` with ``A = Q diag(eigenvalues) Q^T`` (float64)."""

    label: str
    shape: str
    eigenvalues: np.ndarray  # descending
    A: np.ndarray
    x0: np.ndarray
    seed: int

    @property
    def dim(self) -> int:
        return int(self.eigenvalues.size)

    @property
    def lam_max(self) -> float:
        return float(self.eigenvalues[0])

    @property
    def lam_min(self) -> float:
        return float(self.eigenvalues[-1])

    @property
    def kappa(self) -> float:
        """Condition number (rounded to 12 digits: the nominal value, not its float echo)."""
        return float(f"{self.lam_max / self.lam_min:.12g}")

    def top_share(self) -> float:
        """The top eigendirection's share of the initial loss (for the finite-horizon offset)."""
        w, V = np.linalg.eigh(self.A)
        c = V.T @ self.x0
        return float(w[-1] * c[-1] ** 2 / (c @ (w * c)))


def spectrum(shape: str, dim: int, kappa: float, lam_max: float) -> np.ndarray:
    """Eigenvalues (descending) of a given shape with the given extremes.

    ``uniform``: evenly spaced; ``log-uniform``: geometrically spaced; ``spiked``: one outlier
    at ``lam_max`` over a bulk evenly spaced in ``[lam_min, lam_max/5]``; ``clustered-top``:
    two top eigenvalues 1% apart over a geometric bulk.
    """
    lo = lam_max / kappa
    if shape == "uniform":
        lam = np.linspace(lo, lam_max, dim)
    elif shape == "log-uniform":
        lam = np.geomspace(lo, lam_max, dim)
    elif shape == "spiked":
        lam = np.append(np.linspace(lo, lam_max / 5, dim - 1), lam_max)
    elif shape == "clustered-top":
        lam = np.append(np.geomspace(lo, 0.99 * lam_max, dim - 1), lam_max)
    else:
        raise ValueError(f"shape must be one of {SHAPES}, got {shape!r}")
    return np.sort(lam)[::-1].copy()


def haar_orthogonal(dim: int, rng: np.random.Generator) -> np.ndarray:
    """A Haar-distributed orthogonal matrix (QR of a Gaussian matrix, signs fixed)."""
    q, r = np.linalg.qr(rng.standard_normal((dim, dim)))
    return q * np.sign(np.diag(r))


def random_quadratic(shape: str, dim: int, kappa: float, lam_max: float, seed: int,
                     label: str = "") -> Quadratic:
    """:math:`A = Q\\,\\mathrm{diag}(\\lambda)\\,Q^\\top` with a seeded Haar :math:`Q` and a
    standard Gaussian start :math:`x_0`."""
    rng = np.random.default_rng(seed)
    lam = spectrum(shape, dim, kappa, lam_max)
    Q = haar_orthogonal(dim, rng)
    A = (Q * lam) @ Q.T
    A = 0.5 * (A + A.T)
    x0 = rng.standard_normal(dim)
    return Quadratic(label or f"{shape}, d={dim}, κ={kappa:g}", shape, lam, A, x0, seed)


def quadratic_suite(specs: Sequence[tuple[str, int, float]], seed: int) -> list[Quadratic]:
    """One quadratic per ``(shape, dim, kappa)``; :math:`\\lambda_{\\max}` log-uniform in
    [0.5, 50] from the seed (so the critical steps span two decades)."""
    rng = np.random.default_rng([seed, 2103])
    out = []
    for i, (shape, dim, kappa) in enumerate(specs):
        lam_max = float(np.exp(rng.uniform(math.log(0.5), math.log(50.0))))
        out.append(random_quadratic(shape, dim, kappa, lam_max, seed=seed * 1000 + i))
    return out



def momentum_quadratic(seed: int, kappa: float = 10.0, lam_max: float = 4.0) -> Quadratic:
    """The rotated 2-D quadratic of the momentum experiments (eigenvalues ``lam_max`` and
    ``lam_max/kappa``)."""
    return random_quadratic("uniform", 2, kappa, lam_max, seed=seed * 1000 + 999,
                            label=f"2-D, κ={kappa:g}")
