"""The experiments of the chapter "Gradient descent as a contraction" (torch, float64, CPU).

Two systems, one protocol. For each step size of a grid fixed in units of the certificate's
critical step :math:`2/L` (:data:`boundbook.chapters.gd_contraction.protocol` settings), pairs
of gradient-descent trajectories are iterated together (batched) and their distance recorded:

- **quadratics** :math:`\\tfrac12 x^\\top A x` with a log-uniform spectrum from :math:`\\mu = 1`
  to :math:`L = \\kappa` (both ends included): random pairs, and *equality pairs* whose
  difference lies along the eigenvector of the end that attains the factor;
- **ridge logistic regression** on scikit-learn's digits (even against odd digits, all 1797
  images, pixels divided by 16, constant pixels dropped, a column of ones for the intercept):
  :math:`f(w) = \\tfrac1n\\sum_i \\ell(y_i x_i^\\top w) + \\tfrac\\lambda2\\|w\\|^2`. Its Hessian is
  :math:`\\tfrac1n X^\\top D X + \\lambda I` with :math:`D = \\mathrm{diag}(p_i(1-p_i))`,
  :math:`0 \\le p(1-p) \\le 1/4`, so everywhere :math:`\\mu = \\lambda` and
  :math:`L = \\lambda + \\|X\\|_2^2/(4n)` bound its spectrum. Random pairs start from
  :math:`\\mathcal N(0, I)`; the *equality pairs* start at :math:`w \\approx 0` (where
  :math:`p = 1/2`, so the top curvature *is* :math:`L`), separated by :math:`10^{-4}` along the
  top eigenvector of :math:`X^\\top X`.

Per pair: the fitted rate (:func:`boundbook.numeric.contraction.empirical_contraction_rate`) and
the worst one-step ratio :math:`\\|x_{t+1}-y_{t+1}\\|/\\|x_t-y_t\\|` (what the certificate bounds).
The curvature actually met along the logistic trajectories is measured from the Jacobians of
the GD map (:func:`boundbook.numeric.contraction.update_jacobians`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from boundbook.numeric.contraction import (
    contraction_threshold,
    empirical_contraction_rate,
    gd_contraction_factor,
    update_jacobians,
)

D = torch.float64


@dataclass(frozen=True)
class SystemResult:
    """One system's measurements on the step grid (index ``[eta]`` or ``[eta, pair]``).

    ``eta_units``: steps in units of ``2/L``; ``certified``: the factor
    max(|1 - eta mu|, |1 - eta L|); ``rates``/``worst``: fitted rates and worst one-step ratios
    of the random pairs; ``eq_worst``: worst one-step ratio of the equality pairs;
    ``control_*``: the same at ``control_units`` x 2/L."""

    name: str
    mu: float
    L: float
    eta_units: np.ndarray
    certified: np.ndarray
    rates: np.ndarray
    worst: np.ndarray
    eq_worst: np.ndarray
    control_units: float
    control_certified: float
    control_rates: np.ndarray
    control_worst: np.ndarray
    control_eq_worst: np.ndarray
    threshold_units: float
    curvature_range: tuple[float, float]


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _with_eta(x: torch.Tensor, etas: torch.Tensor) -> torch.Tensor:
    """Every pair once per step size, the step size riding along as a last state column."""
    k, b = etas.numel(), x.shape[0]
    return torch.cat([x.repeat(k, 1), etas.repeat_interleave(b)[:, None]], dim=1)


def _measure(name: str, grad, mu: float, L: float, pairs: tuple[torch.Tensor, torch.Tensor],
             eq_pairs: tuple[torch.Tensor, torch.Tensor], units: np.ndarray,
             control_units: float, steps: int, threshold_grid: np.ndarray,
             curvature_range: tuple[float, float]) -> SystemResult:
    """``grad`` maps a batch ``(B, n)`` to its gradients; all step sizes run at once."""
    x0, y0 = pairs
    n, b = x0.shape[1], x0.shape[0]
    all_units = np.array([*units, control_units], dtype=float)
    etas = torch.tensor(all_units * 2 / L, dtype=D)
    k = etas.numel()

    def step(z: torch.Tensor) -> torch.Tensor:
        x, eta = z[:, :n], z[:, n:]
        return torch.cat([x - eta * grad(x), eta], dim=1)

    est = empirical_contraction_rate(step, _with_eta(x0, etas), _with_eta(y0, etas), steps,
                                     batched=True)
    ex, ey = eq_pairs
    eq = empirical_contraction_rate(step, _with_eta(ex, etas), _with_eta(ey, etas), steps,
                                    batched=True)
    rates, worst = est.rates.reshape(k, b), est.worst_step.reshape(k, b)
    eq_worst = eq.worst_step.reshape(k, ex.shape[0])
    cert = np.array([gd_contraction_factor(mu, L, float(u) * 2 / L) for u in units])
    th = contraction_threshold(lambda x, eta: x - eta[:, None] * grad(x), x0[:2], y0[:2],
                               threshold_grid * 2 / L, steps, batched=True)
    return SystemResult(
        name, mu, L, np.asarray(units, float), cert, rates[:-1], worst[:-1], eq_worst[:-1],
        control_units, float(gd_contraction_factor(mu, L, control_units * 2 / L)), rates[-1],
        worst[-1], eq_worst[-1], th * L / 2, curvature_range)


# ------------------------------------------------------------------------- quadratics
def quadratic(dim: int, kappa: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A random rotation of a log-uniform spectrum from 1 to kappa (ends included):
    ``(A, eigenvectors)`` with eigenvalues ascending."""
    lam = torch.logspace(0, float(np.log10(kappa)), dim, dtype=D)
    Q, _ = torch.linalg.qr(torch.randn(dim, dim, dtype=D, generator=_gen(seed)))
    return Q @ torch.diag(lam) @ Q.T, Q


def run_quadratic(dim: int, kappa: float, units, control_units: float,
                  pairs: int, steps: int, threshold_grid, seed: int) -> SystemResult:
    """``units``: a function (mu, L) -> the step grid in units of 2/L."""
    A, Q = quadratic(dim, kappa, seed)
    mu, L = 1.0, float(kappa)
    units = units(mu, L)
    threshold_grid = np.asarray(threshold_grid, float)
    g = _gen(seed + 1)
    x0 = torch.randn(pairs, dim, dtype=D, generator=g)
    y0 = torch.randn(pairs, dim, dtype=D, generator=g)

    # equality pairs: half along the eigenvector of mu, half along that of L (the end that
    # attains the factor depends on the step: below 2/(mu+L) it is mu, above it L)
    half = pairs // 2
    scale = torch.linspace(0.1, 1.0, half, dtype=D)[:, None]
    ey = torch.cat([x0[:half] + scale * Q[:, 0], x0[:half] + scale * Q[:, -1]])
    return _measure(f"quadratic d={dim}, kappa={kappa:g}", lambda x: x @ A, mu, L, (x0, y0),
                    (torch.cat([x0[:half], x0[:half]]), ey), units, control_units, steps,
                    threshold_grid, (mu, L))


# ------------------------------------------------------------------ logistic regression
def digits_design() -> tuple[torch.Tensor, torch.Tensor]:
    """Digits, even (y = -1) against odd (y = +1), pixels / 16, constant pixels dropped, a
    column of ones appended: ``(X, y)``."""
    from sklearn.datasets import load_digits

    data = load_digits()
    X = data.data / 16.0
    X = X[:, X.std(axis=0) > 0]
    X = np.hstack([X, np.ones((X.shape[0], 1))])
    y = np.where(data.target % 2 == 1, 1.0, -1.0)
    return torch.tensor(X, dtype=D), torch.tensor(y, dtype=D)


def logistic_constants(X: torch.Tensor, ridge: float) -> tuple[float, float]:
    """The certificate's constants: mu = ridge, L = ridge + ||X||_2^2 / (4n)."""
    n = X.shape[0]
    return ridge, ridge + float(torch.linalg.matrix_norm(X, ord=2)) ** 2 / (4 * n)


def run_logistic(ridge: float, units, control_units: float, pairs: int,
                 steps: int, threshold_grid, seed: int) -> SystemResult:
    """``units``: a function (mu, L) -> the step grid in units of 2/L."""
    X, y = digits_design()
    n, dim = X.shape
    mu, L = logistic_constants(X, ridge)
    units = units(mu, L)
    threshold_grid = np.asarray(threshold_grid, float)

    Z = (y[:, None] * X).contiguous()  # rows y_i x_i
    Zt = Z.T.contiguous()

    def grad(w):  # a batch of weight vectors (B, dim)
        return -(torch.sigmoid(-(w @ Zt)) @ Z) / n + ridge * w

    g = _gen(seed + 2)
    x0 = torch.randn(pairs, dim, dtype=D, generator=g)
    y0 = torch.randn(pairs, dim, dtype=D, generator=g)
    top = torch.linalg.eigh(X.T @ X)[1][:, -1]
    small = 1e-6 * torch.randn(pairs, dim, dtype=D, generator=g)

    # the curvature met along the random pairs' trajectories at the best step:
    # Jacobians of the GD map are I - eta H
    eta = 2 / (mu + L)
    pts, x = [], x0
    for t in range(steps):
        if t % max(1, steps // 10) == 0:
            pts.append(x)
        x = x - eta * grad(x)
    J = update_jacobians(lambda w: w - eta * grad(w[None])[0], torch.cat(pts))
    H = (torch.eye(dim, dtype=D) - J) / eta
    ev = torch.linalg.eigvalsh((H + H.transpose(-1, -2)) / 2)
    curv = (float(ev[:, 0].min()), float(ev[:, -1].max()))
    return _measure(f"logistic regression on digits (ridge {ridge:g})", grad, mu, L,
                    (x0, y0), (small, small + 1e-4 * top), units, control_units, steps,
                    threshold_grid, curv)


def run(cfg) -> tuple[list[SystemResult], list[SystemResult]]:
    """Every system of the settings ``cfg`` (:func:`boundbook.chapters.gd_contraction.
    protocol.settings`): the quadratics, then the logistic regressions."""
    from boundbook.chapters.gd_contraction.protocol import units

    quads = [run_quadratic(d, k, units, cfg.control_units, cfg.pairs, cfg.steps,
                           cfg.threshold_grid, cfg.seed + i)
             for i, (d, k) in enumerate(cfg.quadratics)]
    logit = [run_logistic(r, units, cfg.control_units, cfg.pairs, cfg.steps,
                          cfg.threshold_grid, cfg.seed) for r in cfg.ridges]
    return quads, logit
