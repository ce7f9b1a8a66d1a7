"""The nonlinear experiments of the chapter "One natural-gradient step is a Kalman update"
(torch, float64; plain dataclasses out).

**The model (ours).** A state :math:`x \\in \\mathbb R^2`, a Gaussian prior
:math:`N(m_0, \\Sigma_0)` and one squared-range measurement :math:`y = \\|x\\|^2 + v`,
:math:`v \\sim N(0, R)` (a sensor at the origin; :math:`y` drawn from the model with
:math:`x` from the prior). The negative log-likelihood
:math:`\\ell(x) = (y - \\|x\\|^2)^2/(2R)` is a quartic polynomial, so every expectation under a
Gaussian :math:`q = N(m, \\Sigma)` is exact in closed form (derived in sympy in
:mod:`boundbook.chapters.kalman_natural_gradient.derivation`), with
:math:`s = \\|m\\|^2 + \\operatorname{tr}\\Sigma - y`:

- :math:`E_q[\\ell] = (s^2 + 2\\operatorname{tr}\\Sigma^2 + 4m^\\top\\Sigma m)/(2R)`,
- :math:`E_q[\\nabla\\ell] = (2/R)(s\\,m + 2\\Sigma m)`,
- :math:`E_q[\\nabla^2\\ell] = (1/R)(4(\\Sigma + mm^\\top) + 2s\\,I)`, indefinite when :math:`s` is
  negative enough (the measured range exceeds the predicted one),
- the Gauss-Newton term :math:`E_q[\\nabla h^\\top R^{-1}\\nabla h] = (4/R)(\\Sigma + mm^\\top)`
  (:math:`h(x) = \\|x\\|^2`), positive semi-definite.

**The NANO iteration** (natural-gradient descent with step :math:`\\beta` in the natural
parameters, the chapter's form; at :math:`\\beta = 1` also the companion code's):
:math:`\\Lambda_{k+1} = (1 - \\beta)\\Lambda_k + \\beta(\\Lambda_0 + E_{q_k}[\\nabla^2\\ell])`
(or the Gauss-Newton term in its place),
:math:`m_{k+1} = m_k - \\beta\\Lambda_{k+1}^{-1}(E_{q_k}[\\nabla\\ell] + \\Lambda_0(m_k - m_0))`,
:math:`\\Lambda = \\Sigma^{-1}`. Its fixed points with the exact
Hessian are exactly the stationary points of
:math:`J(q) = E_q[\\ell] + \\mathrm{KL}(q \\,\\|\\, N(m_0, \\Sigma_0))` (Bonnet's and Price's
identities, checked in sympy); with the Gauss-Newton term they are not.

- :func:`run_positive_definite`: from the prior, ``iterations`` unit steps of both forms; the
  smallest eigenvalue of :math:`\\Sigma_0^{1/2}\\Lambda_k\\Sigma_0^{1/2}` (the precision relative
  to the prior's) over the iterations, and the first iteration where it is not positive.
- :func:`run_local`: the optimal Gaussian approximation :math:`q^\\star` (a strict local
  minimiser of :math:`J`: a stationary point found by Newton's method on the exact map's
  fixed-point equation, kept only where the gradient and the Hessian of :math:`J` itself say
  it is a strict local minimum), the spectral radius of the exact NANO map's Jacobian at
  :math:`q^\\star` for each step (local convergence iff it is below 1; above 1 the fixed point
  is unstable), and unit-step iterations of both forms from starts 10% away from
  :math:`q^\\star`.

Everything is batched over the instances (``vmap`` for the Newton method and the Jacobians).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch.func import grad, hessian, jacrev, vmap

D = torch.float64
FORMS = ("exact", "gauss-newton")
SALT = 424_242


# ----------------------------------------------------------------------------- the model
def range_instances(n: int, seed: int, R: float) -> tuple[torch.Tensor, ...]:
    """``n`` instances: prior mean at distance U(1, 3) from the sensor in a uniform direction,
    prior standard deviations log-uniform on [0.3, 1] along a uniformly rotated frame, the
    measurement drawn from the model. Returns ``m0 (n, 2), P0 (n, 2, 2), y (n,)``."""
    g = torch.Generator().manual_seed(SALT + 7_919 * (seed + 1))
    r0 = 1 + 2 * torch.rand(n, generator=g, dtype=D)
    phi = 2 * math.pi * torch.rand(n, generator=g, dtype=D)
    m0 = torch.stack([r0 * torch.cos(phi), r0 * torch.sin(phi)], -1)
    sd = torch.exp(math.log(0.3) - math.log(0.3) * torch.rand(n, 2, generator=g, dtype=D))
    th = 2 * math.pi * torch.rand(n, generator=g, dtype=D)
    c, s = torch.cos(th), torch.sin(th)
    Q = torch.stack([torch.stack([c, -s], -1), torch.stack([s, c], -1)], -2)
    P0 = Q @ torch.diag_embed(sd**2) @ Q.transpose(-1, -2)
    x = m0 + (torch.linalg.cholesky(P0) @ torch.randn(n, 2, 1, generator=g, dtype=D))[..., 0]
    y = (x**2).sum(-1) + math.sqrt(R) * torch.randn(n, generator=g, dtype=D)
    return m0, P0, y


def _outer(m: torch.Tensor) -> torch.Tensor:
    return m.unsqueeze(-1) * m.unsqueeze(-2)


def _tr(A: torch.Tensor) -> torch.Tensor:
    return A.diagonal(dim1=-2, dim2=-1).sum(-1)


def expected_loss(m: torch.Tensor, P: torch.Tensor, y: torch.Tensor, R: float) -> torch.Tensor:
    """:math:`E_q[\\ell]` in closed form (batched)."""
    s = (m**2).sum(-1) + _tr(P) - y
    mPm = (m.unsqueeze(-2) @ P @ m.unsqueeze(-1))[..., 0, 0]
    return (s**2 + 2 * _tr(P @ P) + 4 * mPm) / (2 * R)


def expected_derivatives(m: torch.Tensor, P: torch.Tensor, y: torch.Tensor, R: float
                         ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """:math:`E_q[\\nabla\\ell]`, :math:`E_q[\\nabla^2\\ell]` and the Gauss-Newton term
    (batched)."""
    s = (m**2).sum(-1) + _tr(P) - y
    Pm = (P @ m.unsqueeze(-1))[..., 0]
    g = (2 / R) * (s.unsqueeze(-1) * m + 2 * Pm)
    gn = (4 / R) * (P + _outer(m))
    eye = torch.eye(m.shape[-1], dtype=m.dtype)
    return g, gn + (2 / R) * s[..., None, None] * eye, gn


def objective(m: torch.Tensor, P: torch.Tensor, m0: torch.Tensor, P0: torch.Tensor,
              y: torch.Tensor, R: float) -> torch.Tensor:
    """:math:`J(q) = E_q[\\ell] + \\mathrm{KL}(q \\,\\|\\, N(m_0, \\Sigma_0))` (batched)."""
    L0inv = torch.linalg.inv(P0)
    d = (m - m0).unsqueeze(-1)
    kl = 0.5 * (_tr(L0inv @ P) + (d.transpose(-1, -2) @ L0inv @ d)[..., 0, 0] - m.shape[-1]
                + torch.logdet(P0) - torch.logdet(P))
    return expected_loss(m, P, y, R) + kl


def nano_step(m: torch.Tensor, Lam: torch.Tensor, m0: torch.Tensor, Lam0: torch.Tensor,
              y: torch.Tensor, R: float, form: str, step: float = 1.0
              ) -> tuple[torch.Tensor, torch.Tensor]:
    """One NANO step in (mean, precision) coordinates (module docstring); ``form`` ``"exact"``
    (expected Hessian) or ``"gauss-newton"``. The new precision may be indefinite: the caller
    checks."""
    P = torch.linalg.inv(Lam)
    g, hess, gn = expected_derivatives(m, P, y, R)
    H = hess if form == "exact" else gn
    Lam1 = (1 - step) * Lam + step * (Lam0 + H)
    Lam1 = (Lam1 + Lam1.transpose(-1, -2)) / 2
    rhs = g + (Lam0 @ (m - m0).unsqueeze(-1))[..., 0]
    return m - step * torch.linalg.solve(Lam1, rhs.unsqueeze(-1))[..., 0], Lam1


def relative_min_eig(Lam: torch.Tensor, P0: torch.Tensor) -> torch.Tensor:
    """:math:`\\lambda_{\\min}(L_0^\\top\\Lambda L_0)`, :math:`P_0 = L_0L_0^\\top`: the precision
    in units of the prior's (positive iff :math:`\\Lambda` is positive definite)."""
    L0 = torch.linalg.cholesky(P0)
    return torch.linalg.eigvalsh(L0.transpose(-1, -2) @ Lam @ L0)[..., 0]


# -------------------------------------------------------------- positive definiteness
@dataclass(frozen=True)
class PDResult:
    """Per form: ``min_eig[form]`` ``(n,)`` the smallest relative precision eigenvalue over the
    iterations up to the first loss of positive definiteness (included); ``first_loss[form]``
    ``(n,)`` the iteration (1-based) where it is first <= 0, 0 if never; ``prior_eig``: the
    relative precision eigenvalue of one unit step from the prior, exact form."""

    n: int
    iterations: int
    R: float
    min_eig: dict[str, np.ndarray]
    first_loss: dict[str, np.ndarray]

    def lost(self, form: str) -> int:
        return int((self.first_loss[form] > 0).sum())


def run_positive_definite(cfg: object) -> PDResult:
    n, K, R = cfg.nl_instances, cfg.nl_iterations, cfg.nl_R  # type: ignore[attr-defined]
    m0, P0, y = range_instances(n, cfg.seed, R)  # type: ignore[attr-defined]
    Lam0 = torch.linalg.inv(P0)
    min_eig, first = {}, {}
    for form in FORMS:
        m, Lam = m0.clone(), Lam0.clone()
        alive = torch.ones(n, dtype=torch.bool)
        low = torch.full((n,), math.inf, dtype=D)
        loss = torch.zeros(n, dtype=torch.long)
        for k in range(1, K + 1):
            m1, Lam1 = nano_step(m, Lam, m0, Lam0, y, R, form)
            ev = relative_min_eig(Lam1, P0)
            low = torch.where(alive, torch.minimum(low, ev), low)
            newly = alive & (ev <= 0)
            loss = torch.where(newly, torch.full_like(loss, k), loss)
            alive = alive & ~newly
            keep = alive[:, None]
            m = torch.where(keep, m1, m)
            Lam = torch.where(keep[..., None], Lam1, Lam)
        min_eig[form], first[form] = low.numpy(), loss.numpy()
    return PDResult(n=n, iterations=K, R=R, min_eig=min_eig, first_loss=first)


# ----------------------------------------------------------------- local convergence
def _unpack(theta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(m, log-Cholesky of Sigma) -> (m, Sigma), one instance: theta = (m1, m2, a, b, c),
    L = [[e^a, 0], [b, e^c]]."""
    L = torch.stack([torch.stack([torch.exp(theta[2]), torch.zeros_like(theta[2])]),
                     torch.stack([theta[3], torch.exp(theta[4])])])
    return theta[:2], L @ L.T


def _j_theta(theta: torch.Tensor, m0: torch.Tensor, P0: torch.Tensor, y: torch.Tensor,
             R: float) -> torch.Tensor:
    m, P = _unpack(theta)
    return objective(m, P, m0, P0, y, R)


def _coords(m: torch.Tensor, Lam: torch.Tensor) -> torch.Tensor:
    return torch.stack([m[..., 0], m[..., 1], Lam[..., 0, 0], Lam[..., 0, 1], Lam[..., 1, 1]],
                       -1)


def _uncoords(u: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    Lam = torch.stack([torch.stack([u[..., 2], u[..., 3]], -1),
                       torch.stack([u[..., 3], u[..., 4]], -1)], -2)
    return u[..., :2], Lam


def _map(u: torch.Tensor, m0: torch.Tensor, Lam0: torch.Tensor, y: torch.Tensor, R: float,
         form: str, step: float) -> torch.Tensor:
    """The NANO map in coordinates u = (m1, m2, Lam11, Lam12, Lam22), one instance."""
    m, Lam = _uncoords(u)
    m1, Lam1 = nano_step(m, Lam, m0, Lam0, y, R, form, step)
    return _coords(m1, Lam1)


def _residual(u: torch.Tensor, m0: torch.Tensor, Lam0: torch.Tensor, y: torch.Tensor,
              R: float) -> torch.Tensor:
    return _map(u, m0, Lam0, y, R, "exact", 1.0) - u


def stationary_gaussian(m0: torch.Tensor, P0: torch.Tensor, y: torch.Tensor, R: float,
                        warm: int, newton: int
                        ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor,
                                   torch.Tensor]:
    """A stationary point of :math:`J` per instance: ``warm`` unit Gauss-Newton NANO steps
    from the prior (they keep the precision positive definite), then ``newton`` Newton steps
    on the fixed-point equation of the exact NANO map, :math:`\\Phi(u) - u = 0` (whose
    solutions are the stationary points of :math:`J`). Returns ``m*, Lambda*``, the
    fixed-point residual, and the gradient norm and smallest Hessian eigenvalue of :math:`J`
    at the point (autograd on the closed form of :math:`J` in (m, log-Cholesky)
    coordinates; ``nan`` where the precision is not positive definite). A strict local
    minimiser has gradient ~0 and a positive smallest eigenvalue."""
    Lam0 = torch.linalg.inv(P0)
    m, Lam = m0.clone(), Lam0.clone()
    for _ in range(warm):
        m, Lam = nano_step(m, Lam, m0, Lam0, y, R, "gauss-newton")
    u = _coords(m, Lam)
    F = vmap(_residual, in_dims=(0, 0, 0, 0, None))
    JF = vmap(jacrev(_residual), in_dims=(0, 0, 0, 0, None))
    for _ in range(newton):
        u = u - torch.linalg.solve(JF(u, m0, Lam0, y, R),
                                   F(u, m0, Lam0, y, R).unsqueeze(-1))[..., 0]
    resid = torch.linalg.vector_norm(F(u, m0, Lam0, y, R), dim=-1)
    m, Lam = _uncoords(u)
    pd = torch.linalg.eigvalsh(Lam)[:, 0] > 0
    safe = torch.where(pd[:, None, None], Lam, Lam0)
    L = torch.linalg.cholesky(torch.linalg.inv(safe))
    theta = torch.cat([m, torch.log(L[:, 0, 0:1]), L[:, 1, 0:1], torch.log(L[:, 1, 1:2])], 1)
    g = vmap(grad(_j_theta), in_dims=(0, 0, 0, 0, None))(theta, m0, P0, y, R)
    H = vmap(hessian(_j_theta), in_dims=(0, 0, 0, 0, None))(theta, m0, P0, y, R)
    nan = torch.full_like(resid, math.nan)
    return (m, Lam, resid, torch.where(pd, torch.linalg.vector_norm(g, dim=-1), nan),
            torch.where(pd, torch.linalg.eigvalsh(H)[:, 0], nan))


def map_spectral_radius(m: torch.Tensor, Lam: torch.Tensor, m0: torch.Tensor,
                        Lam0: torch.Tensor, y: torch.Tensor, R: float, form: str,
                        step: float) -> torch.Tensor:
    """The spectral radius of the NANO map's Jacobian at ``(m, Lam)`` (batched; invariant
    under a change of coordinates)."""
    J = vmap(jacrev(_map), in_dims=(0, 0, 0, 0, None, None, None))(
        _coords(m, Lam), m0, Lam0, y, R, form, step)
    return torch.linalg.eigvals(J).abs().max(-1).values


def _distance(m: torch.Tensor, Lam: torch.Tensor, ms: torch.Tensor, Ls: torch.Tensor,
              Ps: torch.Tensor) -> torch.Tensor:
    """A scale-free distance to (m*, Lam*): the mean in units of Sigma*, the precision
    relative to Lam* (Frobenius), combined."""
    Lc = torch.linalg.cholesky(Ps)
    dm = torch.linalg.solve_triangular(Lc, (m - ms).unsqueeze(-1), upper=False)[..., 0]
    dL = Lc.transpose(-1, -2) @ (Lam - Ls) @ Lc
    return torch.sqrt((dm**2).sum(-1) + (dL**2).sum((-1, -2)))


@dataclass(frozen=True)
class LocalResult:
    """``n`` instances; ``minima``: those where the stationary point found
    (:func:`stationary_gaussian`) is a strict local minimiser of :math:`J` (fixed-point
    residual <= 1e-10, gradient norm <= 1e-8, smallest Hessian eigenvalue > 0): the optimal
    Gaussian approximation :math:`q^\\star`, and only these enter; ``saddles``: stationary
    points that are not minima (left out). ``radius[step]``: the spectral radius of the exact
    NANO map's Jacobian at :math:`q^\\star` per minimum (local convergence iff < 1);
    ``distance[form]`` ``(minima, iterations + 1)``: the distance to :math:`q^\\star` along
    the unit-step iterations of each form from starts ``perturbation`` away, relative to the
    start (``inf`` once non-finite)."""

    n: int
    minima: int
    saddles: int
    steps: tuple[float, ...]
    iterations: int
    perturbation: float
    radius: dict[float, np.ndarray]
    distance: dict[str, np.ndarray]
    residual_max: float
    grad_norm_max: float


def run_local(cfg: object) -> LocalResult:
    n, R = cfg.nl_instances, cfg.nl_R  # type: ignore[attr-defined]
    steps = tuple(dict.fromkeys((1.0, *cfg.nl_steps)))  # type: ignore[attr-defined]
    K, eps = cfg.nl_local_iterations, cfg.nl_perturbation  # type: ignore[attr-defined]
    m0, P0, y = range_instances(n, cfg.seed, R)  # type: ignore[attr-defined]
    ms, Ls, resid, gnorm, hmin = stationary_gaussian(
        m0, P0, y, R, cfg.nl_warm, cfg.nl_newton)  # type: ignore[attr-defined]
    stationary = (resid <= 1e-10) & (gnorm <= 1e-8)
    minima = stationary & (hmin > 0)
    idx = minima.nonzero()[:, 0]
    m0, y, ms, Ls = m0[idx], y[idx], ms[idx], Ls[idx]
    Lam0 = torch.linalg.inv(P0[idx])
    Ps = torch.linalg.inv(Ls)
    radius = {b: map_spectral_radius(ms, Ls, m0, Lam0, y, R, "exact", b).numpy()
              for b in steps}
    g = torch.Generator().manual_seed(SALT + 31 * (cfg.seed + 1))  # type: ignore[attr-defined]
    u = torch.randn(len(idx), 2, generator=g, dtype=D)
    u = u / torch.linalg.vector_norm(u, dim=-1, keepdim=True)
    S = torch.randn(len(idx), 2, 2, generator=g, dtype=D)
    S = (S + S.transpose(-1, -2)) / 2
    S = S / torch.linalg.matrix_norm(S, ord=2)[:, None, None]
    Lc = torch.linalg.cholesky(Ps)
    Lci = torch.linalg.inv(Lc)
    start_m = ms + eps * (Lc @ u.unsqueeze(-1))[..., 0]
    start_L = Ls + eps * Lci.transpose(-1, -2) @ S @ Lci  # Lam* (I + eps S) in Sigma* units
    distance = {}
    for form in FORMS:
        m, Lam = start_m.clone(), start_L.clone()
        d0 = _distance(m, Lam, ms, Ls, Ps)
        rows = [torch.ones_like(d0)]
        for _ in range(K):
            m, Lam = nano_step(m, Lam, m0, Lam0, y, R, form)
            d = _distance(m, Lam, ms, Ls, Ps) / d0
            rows.append(torch.nan_to_num(d, nan=math.inf))
        distance[form] = torch.stack(rows, 1).numpy()
    return LocalResult(n=n, minima=len(idx), saddles=int((stationary & ~minima).sum()),
                       steps=steps, iterations=K, perturbation=eps, radius=radius,
                       distance=distance, residual_max=float(resid[idx].max()),
                       grad_norm_max=float(gnorm[idx].max()))
