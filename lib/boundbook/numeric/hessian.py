"""Hessian-vector products and the top of the Hessian spectrum (sharpness) by Lanczos.

The *sharpness* of a loss :math:`L` at parameters :math:`\\theta` is the largest eigenvalue of
its Hessian, :math:`S(\\theta) = \\lambda_{\\max}(\\nabla^2 L(\\theta))`. Gradient descent with step
:math:`\\eta` is linearly stable at a minimum iff :math:`S \\le 2/\\eta` (see
:mod:`boundbook.symbolic.quadratic`), so every stable-step chapter measures it.

We never form the Hessian: a Hessian-vector product
:math:`Hv = \\tfrac{d}{d\\epsilon}\\nabla L(\\theta + \\epsilon v)|_0` is one
forward-mode derivative of the reverse-mode gradient
(``torch.func.jvp`` of ``torch.func.grad``, "forward-over-reverse"), costing a few gradients.
Lanczos with full re-orthogonalisation builds a Krylov basis :math:`q_1, \\dots, q_m` and the
tridiagonal :math:`T_m = Q_m^\\top H Q_m`; its extreme eigenvalues (Ritz values) converge to
those of :math:`H` far faster than power iteration (the error decays like
:math:`\\exp(-4m\\sqrt{\\text{gap}})` rather than :math:`(\\lambda_2/\\lambda_1)^{2m}`). A Ritz pair
:math:`(\\theta_j, y_j)` is accepted when its residual :math:`\\|H y_j - \\theta_j y_j\\| =
\\beta_m |e_m^\\top s_j|` is below ``tol`` times :math:`|\\theta_j|`; the eigenvalue error is then
of order residual²/gap, far below ``tol``.

``params`` may be a tensor or a dict of tensors; ``loss_fn`` maps the same structure to a
scalar. Write MSE losses as ``((out - y) ** 2).mean()``: with torch 2.13 forward-over-reverse
through ``torch.nn.MSELoss`` fails ("ZeroTensors are immutable").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import torch
from torch.func import grad, jvp

from boundbook.numeric.flat import flatten

Params = torch.Tensor | Mapping[str, torch.Tensor]
LossFn = Callable[[Params], torch.Tensor]

__all__ = [
    "Spectrum",
    "dense_hessian",
    "flatten",
    "hessian_spectrum",
    "hvp",
    "hvp_operator",
    "lanczos",
    "preconditioned_sharpness",
    "sharpness",
]


def _flat_loss(loss_fn: LossFn, params: Params) -> tuple[torch.Tensor, Callable]:
    flat, unflatten = flatten(params)
    return flat.detach(), lambda theta: loss_fn(unflatten(theta))


def hvp(loss_fn: LossFn, params: Params, v: Params) -> Params:
    """Hessian-vector product :math:`\\nabla^2 L(\\theta)\\,v` by forward-over-reverse AD.

    ``v`` has the structure of ``params``; so does the result.
    """
    return jvp(grad(loss_fn), (params,), (v,))[1]


def hvp_operator(loss_fn: LossFn, params: Params, mode: str = "forward"
                 ) -> tuple[Callable, int, torch.Tensor]:
    """The Hessian as an operator on flat vectors: ``(matvec, dim, flat_params)``.

    ``mode="forward"``: each ``matvec(v)`` is one forward-over-reverse product (``torch.func``;
    composes with ``vmap``). ``mode="reverse"``: reverse-over-reverse with ``torch.autograd``;
    the gradient's graph is built once at ``params`` and reused by every product, which on
    small networks is about three times faster per product (measured on the edge-of-stability
    chapter's MLP); not for use under ``vmap``. Use the operator with :func:`lanczos`.
    """
    theta, flat_loss = _flat_loss(loss_fn, params)
    if mode == "reverse":
        point = theta.detach().clone().requires_grad_(True)
        with torch.enable_grad():
            g_point = torch.autograd.grad(flat_loss(point), point, create_graph=True)[0]

        def matvec_rev(v: torch.Tensor) -> torch.Tensor:
            return torch.autograd.grad(g_point, point, v.to(theta.dtype),
                                       retain_graph=True)[0].detach()

        return matvec_rev, theta.numel(), theta
    if mode != "forward":
        raise ValueError(f"mode must be 'forward' or 'reverse', got {mode!r}")
    g = grad(flat_loss)

    def matvec(v: torch.Tensor) -> torch.Tensor:
        return jvp(g, (theta,), (v.to(theta.dtype),))[1]

    return matvec, theta.numel(), theta


@dataclass(frozen=True)
class Spectrum:
    """Top eigenvalues from Lanczos.

    ``eigenvalues`` are descending; ``n_matvec`` is the number of operator products used
    (Hessian-vector products for :func:`hessian_spectrum`); ``converged`` says every requested
    Ritz pair met the residual test; ``residuals`` are the relative residuals
    :math:`\\|Hy - \\theta y\\|/|\\theta|`; ``eigenvectors`` is ``[k, dim]`` (unit rows).
    """

    eigenvalues: list[float]
    n_matvec: int
    converged: bool
    residuals: list[float]
    eigenvectors: torch.Tensor


def lanczos(matvec: Callable[[torch.Tensor], torch.Tensor], dim: int, k: int = 1, *,
            tol: float = 1e-3, max_iter: int = 100, seed: int = 0,
            dtype: torch.dtype = torch.float64, device: str | torch.device = "cpu",
            v0: torch.Tensor | None = None) -> Spectrum:
    """The ``k`` largest (algebraic) eigenvalues of a symmetric operator given by ``matvec``.

    Lanczos with full re-orthogonalisation (twice, for float32 safety), started from ``v0`` or
    a seeded Gaussian vector; stops when the ``k`` top Ritz pairs have relative residual
    below ``tol``, when the Krylov space is exhausted (exact in at most ``dim`` steps), or after
    ``max_iter`` products.
    """
    if k < 1 or k > dim:
        raise ValueError(f"k must be in 1..{dim}, got {k}")
    if v0 is None:
        gen = torch.Generator(device="cpu").manual_seed(int(seed))
        v0 = torch.randn(dim, generator=gen, dtype=torch.float64)
    q = (v0 / v0.norm()).to(dtype=dtype, device=device)
    basis = [q]
    alphas: list[float] = []
    betas: list[float] = []
    n = 0
    limit = min(int(max_iter), dim)
    evals, resid, vecs, converged = [], [], None, False
    while n < limit:
        w = matvec(basis[-1]).to(dtype)
        n += 1
        alpha = float(torch.dot(w, basis[-1]))
        alphas.append(alpha)
        Q = torch.stack(basis)
        for _ in range(2):  # full re-orthogonalisation
            w = w - Q.T @ (Q @ w)
        beta = float(w.norm())
        m = len(alphas)
        T = torch.diag(torch.tensor(alphas, dtype=torch.float64))
        if m > 1:
            off = torch.tensor(betas, dtype=torch.float64)
            T = T + torch.diag(off, 1) + torch.diag(off, -1)
        theta, S = torch.linalg.eigh(T)
        order = torch.argsort(theta, descending=True)[: min(k, m)]
        evals = [float(theta[i]) for i in order]
        resid = [beta * abs(float(S[-1, i])) / max(abs(float(theta[i])), 1e-300)
                 for i in order]
        vecs = (S[:, order].T.to(dtype=dtype, device=device) @ Q)
        exhausted = beta <= 1e-12 * max(1.0, max(abs(a) for a in alphas))
        if m >= k and (exhausted or max(resid) < tol):
            converged = True
            break
        if exhausted:
            break
        betas.append(beta)
        basis.append(w / beta)
    return Spectrum(evals, n, converged, resid, vecs)


def hessian_spectrum(loss_fn: LossFn, params: Params, k: int = 1, *, tol: float = 1e-3,
                     max_iter: int = 100, seed: int = 0, v0: torch.Tensor | None = None,
                     mode: str = "forward") -> Spectrum:
    """The ``k`` largest Hessian eigenvalues of ``loss_fn`` at ``params`` (Lanczos on HVPs).

    ``v0`` warm-starts Lanczos (e.g. the previous top eigenvector along a trajectory);
    ``mode`` picks the HVP (:func:`hvp_operator`).
    """
    matvec, dim, theta = hvp_operator(loss_fn, params, mode)
    return lanczos(matvec, dim, k, tol=tol, max_iter=max_iter, seed=seed, dtype=theta.dtype,
                   device=theta.device, v0=v0)


def sharpness(loss_fn: LossFn, params: Params, *, tol: float = 1e-3, max_iter: int = 100,
              seed: int = 0, v0: torch.Tensor | None = None, mode: str = "forward") -> float:
    """:math:`\\lambda_{\\max}(\\nabla^2 L(\\theta))`, the largest Hessian eigenvalue."""
    return hessian_spectrum(loss_fn, params, 1, tol=tol, max_iter=max_iter, seed=seed, v0=v0,
                            mode=mode).eigenvalues[0]


def preconditioned_sharpness(loss_fn: LossFn, params: Params, precond: Params, *,
                             tol: float = 1e-3, max_iter: int = 100, seed: int = 0) -> float:
    """:math:`\\lambda_{\\max}(P^{-1} H)` for a positive diagonal preconditioner ``precond``.

    ``precond`` holds the diagonal of :math:`P` in the structure of ``params`` (for Adam,
    :math:`\\sqrt{\\hat v} + \\epsilon`). :math:`P^{-1}H` is similar to the symmetric
    :math:`P^{-1/2} H P^{-1/2}`, whose top eigenvalue Lanczos computes.
    """
    matvec, dim, theta = hvp_operator(loss_fn, params)
    p, _ = flatten(precond)
    s = p.detach().to(theta.dtype).rsqrt()
    if not bool(torch.all(torch.isfinite(s))):
        raise ValueError("preconditioner must be positive and finite")
    spec = lanczos(lambda v: s * matvec(s * v), dim, 1, tol=tol, max_iter=max_iter, seed=seed,
                   dtype=theta.dtype, device=theta.device)
    return spec.eigenvalues[0]


def dense_hessian(loss_fn: LossFn, params: Params) -> torch.Tensor:
    """The full ``[dim, dim]`` Hessian (for tests and tiny problems only)."""
    theta, flat_loss = _flat_loss(loss_fn, params)
    return torch.func.hessian(flat_loss)(theta)
