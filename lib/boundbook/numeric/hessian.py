"""Hessian-vector products and the top of the Hessian spectrum (sharpness) by Lanczos.

The *sharpness* of a loss :math:`L` at parameters :math:`\\theta` is the largest eigenvalue of
its Hessian, :math:`S(\\theta) = \\lambda_{\\max}(\\nabla^2 L(\\theta))`. Gradient descent with step
:math:`\\eta` is linearly stable at a minimum iff :math:`S \\le 2/\\eta` (see
:mod:`boundbook.symbolic.quadratic`), so every stable-step chapter measures it.

We never form the Hessian. A Hessian-vector product (HVP) comes in two modes
(:func:`hvp_operator`): ``"reverse"`` (reverse-over-reverse: the gradient's graph is built once
at :math:`\\theta` and every product is one backward pass through it) and ``"forward"``
(forward-over-reverse: ``torch.func.jvp`` of ``torch.func.grad``, which composes with
``vmap``; :func:`hvp` is this mode on structured parameters). Reverse is the default: on every
model ``make bench`` measures it is the faster of the two on the CPU (1.2-2.0 gradients per
product on the digits MLPs from 10k to 1M parameters, against 3.1-4.3 for forward mode; see
the book's performance page), and unlike a timing-based choice it gives the same bits on
every machine. ``mode="auto"`` times both on the problem at hand and keeps the faster (cached
per loss function, size, dtype and device). Forward mode works with ``torch.nn.MSELoss``,
``HuberLoss`` and ``SoftMarginLoss`` too: their fused kernels have no usable forward-mode
derivative in torch 2.13 ("ZeroTensors are immutable"), so forward products run them as the
equivalent elementwise formulas (:class:`forward_safe_losses`).

A large batch can be cut into chunks (``data`` and ``chunk_size``): the loss is then
``loss_fn(params, *batch)``, the mean over the rows of ``batch``, and a product sums the
chunks' products weighted by their share of the rows, so memory scales with the chunk, not
the batch.

Lanczos with full re-orthogonalisation (:func:`lanczos`) builds a Krylov basis
:math:`q_1, \\dots, q_m` (rows of one preallocated buffer that doubles when full; float64 even
for float32 products) and the tridiagonal :math:`T_m = Q_m^\\top H Q_m`; its extreme
eigenvalues (Ritz values :math:`\\theta_1 \\ge \\theta_2 \\ge \\dots`) converge to those of
:math:`H` far faster than power iteration. ``tol`` bounds the *relative eigenvalue error*.
Every Ritz value is a lower bound, :math:`\\theta_j \\le \\lambda_j`; the question is how far
below. From a random start, the top one gets an upper bound: since
:math:`\\|\\chi_m(H) q_1\\| = \\beta_1 \\cdots \\beta_m` for the characteristic polynomial
:math:`\\chi_m` of :math:`T_m`, an eigenvalue above the :math:`U` where :math:`|\\chi_m(U)| =
\\beta_1 \\cdots \\beta_m / \\delta` would need a component below :math:`\\delta` in the start
vector, which for :math:`\\delta = \\varepsilon \\sqrt{\\pi / 2n}` happens with probability at
most :math:`\\varepsilon` (``risk``, 1e-3). Lanczos stops when :math:`U - \\theta_1 \\le`
``tol`` :math:`|\\theta_1|`: with probability :math:`1 - \\varepsilon` the error is below
``tol``, whatever the gap. So a close second eigenvalue (a 1% gap), often found first and
with a tiny residual, is not returned as the first: no miss in the 460 random instances of
``tests/numeric/test_lanczos_safety.py``, where the former rule (relative residual below
``tol``) returned it in 10 of 80.
The price: up to about twice the products an oracle that knew the answer would use
(1.5-2x on the tests' spectra and the benchmarks' MLPs at ``tol=1e-3``). Warm starts
(``v0``) and the lower Ritz values, which the bound does not cover, use the larger of the
residual estimate :math:`\\min(r_j, r_j^2/\\delta_j)` (:math:`r_j = \\beta_m |e_m^\\top s_j|`,
:math:`\\delta_j` the distance to the nearest other Ritz value) and the extrapolated change
:math:`\\Delta_m \\rho / (1 - \\rho)` (:math:`\\Delta_m = \\theta_j^{(m)} - \\theta_j^{(m-1)}`,
:math:`\\rho` the largest of the last two ratios of changes, infinite unless the changes
shrink twice in a row).

``params`` may be a tensor or a dict of tensors; ``loss_fn`` maps the same structure to a
scalar. Every tensor stays on the parameters' device (the seeded start vector is drawn on the
CPU once, so the same seed gives the same start on every device, then moved).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import torch
import torch.nn.functional as F
from scipy.linalg import eigh_tridiagonal
from torch.func import grad, jvp
from torch.overrides import TorchFunctionMode

from boundbook.numeric.flat import flatten

Params = torch.Tensor | Mapping[str, torch.Tensor]
LossFn = Callable[..., torch.Tensor]
Data = Sequence[torch.Tensor] | None

MODES = ("reverse", "forward", "auto")

__all__ = [
    "MODES",
    "Spectrum",
    "auto_mode_choice",
    "dense_hessian",
    "flatten",
    "forward_safe_losses",
    "hessian_spectrum",
    "hvp",
    "hvp_operator",
    "krylov_tridiagonal",
    "lanczos",
    "preconditioned_sharpness",
    "sharpness",
    "tridiagonal_eigh",
]


# ------------------------------------------------------------------ losses in forward mode

def _reduce(x: torch.Tensor, reduction: str) -> torch.Tensor:
    if reduction == "mean":
        return x.mean()
    if reduction == "sum":
        return x.sum()
    if reduction == "none":
        return x
    raise ValueError(f"{reduction} is not a valid value for reduction")


def _legacy(size_average: bool | None, reduce: bool | None, reduction: str) -> str:
    if size_average is None and reduce is None:
        return reduction
    from torch.nn import _reduction

    return _reduction.legacy_get_string(size_average, reduce)


def _mse(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    d = torch.sub(*torch.broadcast_tensors(input, target))
    sq = d * d
    reduction = _legacy(size_average, reduce, reduction)
    if weight is not None:
        sq = sq * weight
        if reduction == "mean":
            return sq.sum() / weight.sum()
    return _reduce(sq, reduction)


def _huber(input, target, reduction="mean", delta=1.0, weight=None):
    d = torch.sub(*torch.broadcast_tensors(input, target))
    a = d.abs()
    loss = torch.where(a < delta, 0.5 * d * d, delta * (a - 0.5 * delta))
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


def _soft_margin(input, target, size_average=None, reduce=None, reduction="mean"):
    return _reduce(F.softplus(-input * target), _legacy(size_average, reduce, reduction))


_COMPOSITE = {F.mse_loss: _mse, F.huber_loss: _huber, F.soft_margin_loss: _soft_margin}


class forward_safe_losses(TorchFunctionMode):  # noqa: N801 (used as a context manager)
    """Within this context, ``F.mse_loss``, ``F.huber_loss`` and ``F.soft_margin_loss`` (and
    their ``nn`` modules) run as elementwise formulas with the same value, whose
    forward-over-reverse derivatives torch 2.13 can take. Every other call passes through."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        fn = _COMPOSITE.get(func, func)
        return fn(*args, **(kwargs or {}))


# ------------------------------------------------------------------ Hessian-vector products

def _flat_loss(loss_fn: LossFn, params: Params) -> tuple[torch.Tensor, Callable]:
    flat, unflatten = flatten(params)
    return flat.detach(), lambda theta, *batch: loss_fn(unflatten(theta), *batch)


def hvp(loss_fn: LossFn, params: Params, v: Params) -> Params:
    """Hessian-vector product :math:`\\nabla^2 L(\\theta)\\,v` by forward-over-reverse AD.

    ``v`` has the structure of ``params``; so does the result. Composes with ``vmap``.
    """
    with forward_safe_losses():
        return jvp(grad(loss_fn), (params,), (v,))[1]


def _chunks(data: Data, chunk_size: int | None) -> list[tuple[tuple[torch.Tensor, ...], float]]:
    """``[(batch, weight)]``: row slices of ``data`` (views) and their share of the rows."""
    if data is None:
        return [((), 1.0)]
    data = tuple(data)
    if not data:
        raise ValueError("data must hold at least one tensor")
    n = int(data[0].shape[0])
    if any(int(d.shape[0]) != n for d in data):
        raise ValueError("every tensor in data needs the same number of rows")
    size = n if chunk_size is None else int(chunk_size)
    if size < 1:
        raise ValueError(f"chunk_size must be positive, got {chunk_size}")
    if size >= n:
        return [(data, 1.0)]
    return [(tuple(d[i:i + size] for d in data), (min(i + size, n) - i) / n)
            for i in range(0, n, size)]


def _accumulate(parts: Callable[[tuple, float], torch.Tensor], chunks) -> torch.Tensor:
    out = None
    for batch, weight in chunks:
        hv = parts(batch, weight)
        if len(chunks) == 1:
            return hv
        out = hv.mul_(weight) if out is None else out.add_(hv, alpha=weight)
    return out


class _Structure:
    """The parameters as a list of tensors, and back: products split a flat vector into views
    shaped like the parameters and concatenate the results once, so autograd differentiates
    with respect to the parameter tensors themselves (a flat leaf sliced into them costs a
    zero-filled full-size buffer per tensor in every backward pass, ~9% of a product)."""

    def __init__(self, params: Params):
        if isinstance(params, torch.Tensor):
            self.names, self.tensors = None, [params.detach()]
        else:
            self.names = list(params)
            self.tensors = [params[k].detach() for k in self.names]
        self.sizes = [t.numel() for t in self.tensors]

    def rebuild(self, tensors: Sequence[torch.Tensor]) -> Params:
        return tensors[0] if self.names is None else dict(zip(self.names, tensors, strict=True))

    def split(self, v: torch.Tensor) -> list[torch.Tensor]:
        return [c.view_as(t) for c, t in zip(torch.split(v, self.sizes), self.tensors,
                                               strict=True)]

    @staticmethod
    def cat(parts: Sequence[torch.Tensor]) -> torch.Tensor:
        return torch.cat([p.reshape(-1) for p in parts])


def _forward_operator(loss_fn, st: _Structure, theta, chunks):
    primal = st.rebuild(st.tensors)

    def matvec(v: torch.Tensor) -> torch.Tensor:
        tangent = st.rebuild(st.split(v.to(theta.dtype)))

        def part(batch, _weight):
            out = jvp(grad(lambda p: loss_fn(p, *batch)), (primal,), (tangent,))[1]
            return st.cat([out] if st.names is None else [out[k] for k in st.names])

        with forward_safe_losses():
            return _accumulate(part, chunks)

    return matvec


def _second_backward(g, leaves, v_parts) -> list[torch.Tensor]:
    """``sum_i d(g_i . v_i) / d(leaves)``; a ``g_i`` that does not depend on the parameters
    (a loss linear in them) contributes nothing."""
    live = [i for i, gi in enumerate(g) if gi.requires_grad]
    if not live:
        return [torch.zeros_like(leaf) for leaf in leaves]
    return list(torch.autograd.grad([g[i] for i in live], leaves, [v_parts[i] for i in live],
                                    retain_graph=True, allow_unused=True,
                                    materialize_grads=True))


def _reverse_operator(loss_fn, st: _Structure, theta, chunks):
    def gradient(leaves, batch):
        with torch.enable_grad():
            return torch.autograd.grad(loss_fn(st.rebuild(leaves), *batch), leaves,
                                       create_graph=True, allow_unused=True,
                                       materialize_grads=True)

    if len(chunks) == 1:  # build the gradient's graph once, reuse it for every product
        leaves = [t.clone().requires_grad_(True) for t in st.tensors]
        g = gradient(leaves, chunks[0][0])

        def matvec_once(v: torch.Tensor) -> torch.Tensor:
            return st.cat(_second_backward(g, leaves, st.split(v.to(theta.dtype)))).detach()

        return matvec_once

    def matvec(v: torch.Tensor) -> torch.Tensor:  # chunked: one graph at a time
        parts_v = st.split(v.to(theta.dtype))

        def part(batch, _weight):
            leaves = [t.clone().requires_grad_(True) for t in st.tensors]
            return st.cat(_second_backward(gradient(leaves, batch), leaves, parts_v)).detach()

        return _accumulate(part, chunks)

    return matvec


_AUTO_CHOICE: dict[tuple, str] = {}
WINDOW = 3


def _fn_key(fn: Callable) -> object:
    inner = getattr(fn, "func", fn)  # functools.partial
    inner = getattr(inner, "__func__", inner)  # bound method
    return getattr(inner, "__code__", None) or id(inner)


def _auto_key(loss_fn: LossFn, theta: torch.Tensor, chunks) -> tuple:
    return (_fn_key(loss_fn), theta.numel(), theta.dtype, theta.device.type, len(chunks),
            tuple(tuple(t.shape) for t in chunks[0][0]))


def _probe(op: Callable, v: torch.Tensor, repeats: int = 2) -> float:
    op(v)  # warm-up
    best = float("inf")
    for _ in range(repeats):
        if v.device.type == "cuda":
            torch.cuda.synchronize(v.device)
        t0 = time.perf_counter()
        op(v)
        if v.device.type == "cuda":
            torch.cuda.synchronize(v.device)
        best = min(best, time.perf_counter() - t0)
    return best


def hvp_operator(loss_fn: LossFn, params: Params, mode: str = "reverse", *, data: Data = None,
                 chunk_size: int | None = None) -> tuple[Callable, int, torch.Tensor]:
    """The Hessian as an operator on flat vectors: ``(matvec, dim, flat_params)``.

    ``mode="reverse"`` (default): reverse-over-reverse with ``torch.autograd``; the gradient's
    graph is built once at ``params`` and each product is one backward pass through it (with
    several chunks, each product rebuilds one chunk's graph at a time); not for use under
    ``vmap``. ``mode="forward"``: each product is a forward-over-reverse ``torch.func`` product
    (composes with ``vmap``, keeps no graph between products). ``mode="auto"``: time both on
    this problem (two products each after a warm-up) and keep the faster; the choice is cached
    per (loss function's code, size, dtype, device, chunks), so later calls pay nothing.

    With ``data`` (tensors sharing their first dimension), the loss is
    ``loss_fn(params, *batch)``, the mean over the rows of ``batch``, and products run over
    chunks of ``chunk_size`` rows (all rows when ``None``). ``matvec`` returns a tensor on
    ``flat_params.device``; it does not move its input between devices.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    st = _Structure(params)
    theta = st.cat(st.tensors)
    chunks = _chunks(data, chunk_size)
    dim = theta.numel()
    if mode == "auto":
        key = _auto_key(loss_fn, theta, chunks)
        choice = _AUTO_CHOICE.get(key)
        if choice is None:
            gen = torch.Generator(device="cpu").manual_seed(0)
            v = torch.randn(dim, generator=gen, dtype=torch.float64, device="cpu")
            v = v.to(theta.device, theta.dtype)
            ops = {m: (_reverse_operator if m == "reverse" else _forward_operator)(
                loss_fn, st, theta, chunks) for m in ("reverse", "forward")}
            times = {m: _probe(op, v) for m, op in ops.items()}
            choice = min(times, key=times.get)
            _AUTO_CHOICE[key] = choice
            return ops[choice], dim, theta
        mode = choice
    build = _reverse_operator if mode == "reverse" else _forward_operator
    return build(loss_fn, st, theta, chunks), dim, theta


def auto_mode_choice(loss_fn: LossFn, params: Params, *, data: Data = None,
                     chunk_size: int | None = None) -> str:
    """The mode ``mode="auto"`` uses for this problem (probing it if not yet cached)."""
    _, _, theta = hvp_operator(loss_fn, params, "auto", data=data, chunk_size=chunk_size)
    return _AUTO_CHOICE[_auto_key(loss_fn, theta, _chunks(data, chunk_size))]


# ------------------------------------------------------------------ Lanczos

@dataclass(frozen=True)
class Spectrum:
    """Top eigenvalues from Lanczos.

    ``eigenvalues`` are descending; ``n_matvec`` is the number of operator products used
    (Hessian-vector products for :func:`hessian_spectrum`); ``converged`` says every requested
    Ritz value met ``tol``; ``residuals`` are the relative residuals
    :math:`\\|Hy - \\theta y\\|/|\\theta|`; ``eigenvectors`` is ``[k, dim]`` (unit rows, on the
    operator's device); ``errors`` are the estimated relative eigenvalue errors (the quantity
    ``tol`` bounds).
    """

    eigenvalues: list[float]
    n_matvec: int
    converged: bool
    residuals: list[float]
    eigenvectors: torch.Tensor
    errors: list[float] = field(default_factory=list)


class _Krylov:
    """Lanczos with full re-orthogonalisation (classical Gram-Schmidt, repeated when the
    first pass cancels more than a factor sqrt(2): "twice is enough", Daniel-Gragg-Kaufman-
    Stewart) on a preallocated basis: ``Q[:m]`` are the basis rows; the buffer doubles when
    full."""

    def __init__(self, matvec: Callable, q1: torch.Tensor, max_steps: int):
        self.matvec, self.max_steps = matvec, max_steps
        cap = min(max_steps + 1, 32)
        self.Q = torch.empty((cap, q1.numel()), dtype=q1.dtype, device=q1.device)
        self.Q[0] = q1
        self.m = 0  # products done; Q[:m+1] holds the basis and the next vector
        self.alphas: list[float] = []
        self.betas: list[float] = []

    def step(self) -> float:
        """One product; returns the new beta (the norm of the next, unnormalised vector)."""
        m, Q = self.m, self.Q
        q = Q[m]
        w = self.matvec(q).to(Q.dtype)
        self.m = m = m + 1
        alpha = float(torch.dot(w, q))
        self.alphas.append(alpha)
        w = w - alpha * q  # the three-term recurrence, then the full re-orthogonalisation
        if m > 1:
            w = w - self.betas[-1] * Q[m - 2]
        basis = Q[:m]
        norm_before = float(w.norm())
        w = w - basis.T @ (basis @ w)
        beta = float(w.norm())
        if beta < 0.7071 * norm_before:  # cancellation: orthogonalise again (DGKS)
            w = w - basis.T @ (basis @ w)
            beta = float(w.norm())
        self.betas.append(beta)
        if beta > 0:
            if m >= Q.shape[0]:
                grown = torch.empty((min(2 * Q.shape[0], self.max_steps + 1), Q.shape[1]),
                                    dtype=Q.dtype, device=Q.device)
                grown[:m] = Q[:m]
                self.Q = Q = grown
            Q[m] = w / beta
        return beta

    def ritz(self) -> tuple[np.ndarray, np.ndarray]:
        """Eigenvalues (descending) and eigenvectors of ``T_m`` (float64, on the CPU: it is
        ``m x m``; LAPACK's tridiagonal solver, which starts no thread pool)."""
        theta, s = tridiagonal_eigh(self.alphas, self.betas[: self.m - 1])
        return theta[::-1], s[:, ::-1]


def tridiagonal_eigh(alphas: Sequence[float], betas: Sequence[float]
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (ascending) and eigenvectors of the symmetric tridiagonal matrix with
    diagonal ``alphas`` and off-diagonal ``betas``."""
    return eigh_tridiagonal(np.asarray(alphas, dtype=np.float64),
                            np.asarray(betas, dtype=np.float64))


def krylov_tridiagonal(matvec: Callable[[torch.Tensor], torch.Tensor], v: torch.Tensor,
                       steps: int) -> tuple[list[float], list[float]]:
    """``steps`` Lanczos steps from ``v`` (normalised here): the tridiagonal's diagonal
    ``alphas`` and off-diagonal ``betas`` (``len(betas) == len(alphas) - 1``; fewer steps when
    the Krylov space is exhausted, where the quadrature is exact). For stochastic Lanczos
    quadrature (:mod:`boundbook.numeric.density`)."""
    kr = _Krylov(matvec, v / v.norm(), steps)
    scale = 0.0
    while kr.m < steps:
        beta = kr.step()
        scale = max(scale, abs(kr.alphas[-1]), beta)
        if beta <= 1e-12 * max(scale, 1e-300):
            break
    return kr.alphas, kr.betas[: kr.m - 1]


def _ritz_errors(theta: np.ndarray, resid: np.ndarray, history: list[np.ndarray], k: int,
                 noise: float) -> list[float]:
    """Absolute error estimates of the top ``k`` Ritz values (descending ``theta``): the larger
    of the residual estimate and the extrapolated change (see the module docstring)."""
    m = theta.size
    out = []
    for j in range(min(k, m)):
        r = float(resid[j])
        gap = float(np.abs(np.delete(theta, j) - theta[j]).min()) if m > 1 else 0.0
        e_res = min(r, r * r / gap) if gap > 0 else r
        e_chg = float("inf")
        if len(history) >= WINDOW and history[-WINDOW].size > j:
            seq = [float(h[j]) for h in history[-WINDOW:]] + [float(theta[j])]
            d = [abs(b - a) for a, b in zip(seq[:-1], seq[1:], strict=True)]
            if d[-1] <= noise:
                e_chg = 0.0
            elif all(d1 < d0 for d0, d1 in zip(d[:-1], d[1:], strict=True)):
                rho = max(d1 / d0 for d0, d1 in zip(d[:-1], d[1:], strict=True))
                e_chg = d[-1] * rho / (1.0 - rho)
        out.append(max(e_res, e_chg))
    return out


def _top_upper_bound(theta: np.ndarray, betas: list[float], log_delta: float) -> float:
    """``U - theta_1`` for the largest ``U >= theta_1`` with ``|chi_m(U)| = prod(betas) /
    delta``, ``chi_m`` the characteristic polynomial of ``T_m`` (roots ``theta``,
    descending). Since ``||chi_m(H) q_1|| = beta_1 ... beta_m``, an eigenvalue above ``U``
    would have a component below ``delta`` in the start vector."""
    d = np.log(np.maximum(theta[0] - theta[1:], 1e-300))  # log(theta_1 - theta_j), j >= 2
    c = float(np.log(np.asarray(betas, dtype=np.float64)).sum()) - log_delta
    u = c - float(d.sum())  # log(U - theta_1) at the linearised root: an upper start
    for _ in range(100):  # Newton on a convex increasing function, from the right
        e = np.logaddexp(u, d)  # log(U - theta_j), j >= 2
        g = u + float(e.sum()) - c
        step = g / (1.0 + float(np.exp(u - e).sum()))
        u -= step
        if abs(step) <= 1e-12 * max(1.0, abs(u)):
            break
    return math.exp(min(u, 700.0))


def lanczos(matvec: Callable[[torch.Tensor], torch.Tensor], dim: int, k: int = 1, *,
            tol: float = 1e-3, max_iter: int = 100, seed: int = 0,
            dtype: torch.dtype = torch.float64, device: str | torch.device | None = None,
            v0: torch.Tensor | None = None, risk: float = 1e-3,
            precision: torch.dtype | None = None) -> Spectrum:
    """The ``k`` largest (algebraic) eigenvalues of a symmetric operator given by ``matvec``.

    Lanczos with full re-orthogonalisation, started from ``v0`` or a seeded Gaussian vector
    (drawn on the CPU, then moved to ``device``: the same start on every device). Stops when
    the estimated relative error of each of the top ``k`` Ritz values is below ``tol`` (see the
    module docstring; at least three products unless the Krylov space is exhausted), when the
    Krylov space is exhausted (exact), or after ``max_iter`` products. ``device`` defaults to
    ``v0``'s, else the CPU; the basis lives there and ``matvec`` must return tensors there.
    ``dtype`` is the basis's and the recurrence's; ``precision`` (default ``dtype``) the
    operator's, whose rounding sets the floor: errors below ``4 eps`` of the largest Ritz value
    count as converged. ``risk`` bounds the probability (over the random start) that an
    eigenvalue above the returned one is missed by more than ``tol``.
    """
    if k < 1 or k > dim:
        raise ValueError(f"k must be in 1..{dim}, got {k}")
    if device is None:
        device = v0.device if v0 is not None else torch.device("cpu")
    random_start = v0 is None
    if random_start:
        gen = torch.Generator(device="cpu").manual_seed(int(seed))
        v0 = torch.randn(dim, generator=gen, dtype=torch.float64, device="cpu")
    # P(|c_1| < delta) <= delta sqrt(2 dim / pi) for a uniformly random unit start
    log_delta = math.log(risk * math.sqrt(math.pi / (2 * dim)))
    q = v0.to(device=device, dtype=torch.float64)
    q = (q / q.norm()).to(dtype)
    limit = min(int(max_iter), dim)
    kr = _Krylov(matvec, q, limit)
    eps = float(torch.finfo(precision or dtype).eps)
    history: list[np.ndarray] = []
    evals: list[float] = []
    resid_rel: list[float] = []
    errs: list[float] = []
    converged = False
    S = None
    while kr.m < limit:
        beta = kr.step()
        m = kr.m
        theta, S = kr.ritz()
        resid = beta * np.abs(S[-1])
        scale = max(float(np.abs(theta).max()), 1e-300)
        noise = 4 * eps * scale
        exhausted = beta <= 1e-12 * max(scale, max(kr.betas[:-1], default=0.0))
        kk = min(k, m)
        if exhausted:
            abs_err = [0.0] * kk
        else:
            abs_err = _ritz_errors(theta, resid, history, k, noise)
            if random_start:
                abs_err[0] = _top_upper_bound(theta, kr.betas, log_delta)
        history = (history + [theta])[-WINDOW:]
        evals = [float(x) for x in theta[:kk]]
        denom = [max(abs(x), 1e-300) for x in evals]
        resid_rel = [float(resid[j]) / denom[j] for j in range(kk)]
        errs = [max(e, noise) / d for e, d in zip(abs_err, denom, strict=True)]
        ok = all(e <= max(tol * d, noise) for e, d in zip(abs_err, denom, strict=True))
        if m >= k and (exhausted or ok):
            converged = True
            break
        if exhausted:
            break
    m = kr.m
    ritz = torch.from_numpy(S[:, : min(k, m)].T.copy())
    vecs = ritz.to(dtype=dtype, device=kr.Q.device) @ kr.Q[:m]
    return Spectrum(evals, m, converged, resid_rel, vecs, errs)


def hessian_spectrum(loss_fn: LossFn, params: Params, k: int = 1, *, tol: float = 1e-3,
                     max_iter: int = 100, seed: int = 0, v0: torch.Tensor | None = None,
                     mode: str = "reverse", data: Data = None,
                     chunk_size: int | None = None) -> Spectrum:
    """The ``k`` largest Hessian eigenvalues of ``loss_fn`` at ``params`` (Lanczos on HVPs).

    ``tol`` bounds the relative eigenvalue error (estimated, see :func:`lanczos`). The
    recurrence runs in float64 whatever the parameters' dtype (a float32 dot product over a
    million entries alone is off by ~1e-5); the products in the parameters' dtype. ``v0``
    warm-starts Lanczos (e.g. the previous top eigenvector along a trajectory); ``mode``,
    ``data`` and ``chunk_size`` choose the HVP (:func:`hvp_operator`).
    """
    matvec, dim, theta = hvp_operator(loss_fn, params, mode, data=data, chunk_size=chunk_size)
    spec = lanczos(matvec, dim, k, tol=tol, max_iter=max_iter, seed=seed, dtype=torch.float64,
                   device=theta.device, v0=v0, precision=theta.dtype)
    return replace(spec, eigenvectors=spec.eigenvectors.to(theta.dtype))


def sharpness(loss_fn: LossFn, params: Params, *, tol: float = 1e-3, max_iter: int = 100,
              seed: int = 0, v0: torch.Tensor | None = None, mode: str = "reverse",
              data: Data = None, chunk_size: int | None = None) -> float:
    """:math:`\\lambda_{\\max}(\\nabla^2 L(\\theta))`, the largest Hessian eigenvalue."""
    return hessian_spectrum(loss_fn, params, 1, tol=tol, max_iter=max_iter, seed=seed, v0=v0,
                            mode=mode, data=data, chunk_size=chunk_size).eigenvalues[0]


def preconditioned_sharpness(loss_fn: LossFn, params: Params, precond: Params, *,
                             tol: float = 1e-3, max_iter: int = 100, seed: int = 0,
                             mode: str = "reverse") -> float:
    """:math:`\\lambda_{\\max}(P^{-1} H)` for a positive diagonal preconditioner ``precond``.

    ``precond`` holds the diagonal of :math:`P` in the structure of ``params`` (for Adam,
    :math:`\\sqrt{\\hat v} + \\epsilon`). :math:`P^{-1}H` is similar to the symmetric
    :math:`P^{-1/2} H P^{-1/2}`, whose top eigenvalue Lanczos computes.
    """
    matvec, dim, theta = hvp_operator(loss_fn, params, mode)
    p, _ = flatten(precond)
    s = p.detach().to(device=theta.device, dtype=theta.dtype).rsqrt()
    if not bool(torch.all(torch.isfinite(s))):
        raise ValueError("preconditioner must be positive and finite")
    spec = lanczos(lambda v: s * matvec(s * v), dim, 1, tol=tol, max_iter=max_iter, seed=seed,
                   dtype=torch.float64, device=theta.device, precision=theta.dtype)
    return spec.eigenvalues[0]


def dense_hessian(loss_fn: LossFn, params: Params, *, data: Data = None) -> torch.Tensor:
    """The full ``[dim, dim]`` Hessian (for tests and tiny problems only)."""
    theta, flat_loss = _flat_loss(loss_fn, params)
    batch = () if data is None else tuple(data)
    with forward_safe_losses():
        return torch.func.hessian(lambda th: flat_loss(th, *batch))(theta)
