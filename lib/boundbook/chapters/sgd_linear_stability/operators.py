"""Exact mean-square thresholds of SGD at an interpolating minimum (float64).

The model is over-parameterised linear regression, :math:`f_i(\\theta) = x_i^\\top\\theta`,
with ``n < d`` examples, per-example loss :math:`\\ell_i = \\tfrac12(x_i^\\top\\theta - y_i)^2`
and :math:`L = \\tfrac1n\\sum_i\\ell_i` (mean over examples, with the factor one half: the
thresholds below scale with this normalisation). At an interpolating :math:`\\theta^*` the
per-example gradients of the model are :math:`g_i = x_i`, the per-example Hessians
:math:`H_i = g_ig_i^\\top` and :math:`H = G^\\top G/n`.

- :func:`make_instances`: per-example gradient matrices ``G`` (n x d) with different geometry,
  all scaled to :math:`\\mathrm{Tr}H = 1`;
- :func:`mean_square_operator`: the map :math:`\\Sigma \\mapsto \\mathbb E[(I - \\eta H_S)
  \\Sigma(I - \\eta H_S)] = \\Sigma - 2\\eta\\,\\mathcal C\\Sigma + \\eta^2\\mathcal D\\Sigma` on
  the row space of ``G`` (the null space of :math:`H` never moves), on symmetric matrices (``svec``
  coordinates, an isometry), with the sampling model's :math:`(\\alpha, \\beta)` from
  :mod:`boundbook.chapters.sgd_linear_stability.derivation`;
- :func:`bisect_thresholds`: the largest :math:`\\eta` with spectral radius :math:`\\le 1`, by
  bisection on the radius, batched over operators of one size (one Cholesky call per step);
- :func:`closed_form_threshold`: Mulayoff & Michaeli's :math:`2/\\lambda_{\\max}(\\mathcal C^{-1}
  \\mathcal D)` (their Thm 3), computed independently of the bisection;
- :func:`threshold_table`: both, with the bounds' ingredients, for a plan of
  (instance, sampling, batch sizes).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from boundbook.chapters.sgd_linear_stability.derivation import noise_coefficients, trace_bound
from boundbook.numeric.hessian import dense_hessian
from boundbook.numeric.threads import single_thread
from boundbook.symbolic.quadratic import critical_step

DTYPE = torch.float64
INSTANCES: tuple[str, ...] = ("orthogonal", "gaussian", "spread", "aligned", "coherent")
LABELS = {
    "orthogonal": "orthogonal, equal norms",
    "gaussian": "Gaussian rows",
    "spread": "Gaussian rows, norms spread 1/3-3",
    "aligned": "half shared direction",
    "coherent": "identical directions (coherent)",
}


# --------------------------------------------------------------------------- instances
@dataclass(frozen=True)
class Instance:
    """Per-example gradients ``G`` (n x d) of one over-parameterised regression problem."""

    name: str
    G: torch.Tensor

    @property
    def n(self) -> int:
        return int(self.G.shape[0])

    @property
    def d(self) -> int:
        return int(self.G.shape[1])

    @property
    def label(self) -> str:
        return LABELS[self.name]


def make_instances(n: int, d: int, seed: int,
                   names: Sequence[str] = INSTANCES) -> dict[str, Instance]:
    """Instances with :math:`\\mathrm{Tr}H = \\tfrac1n\\sum\\|g_i\\|^2 = 1`:

    ``orthogonal``: n orthonormal rows (the tight case of the trace bound); ``gaussian``: iid
    entries; ``spread``: Gaussian directions with norms log-uniform over a factor 9;
    ``aligned``: each row half a shared direction (random sign), half its own; ``coherent``:
    every row the same direction up to sign (rank-one :math:`H`, all :math:`H_i` equal).
    """
    if n >= d:
        raise ValueError(f"need n < d for interpolation with a null space, got n={n}, d={d}")
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(n, d, generator=gen, dtype=DTYPE)
    u = torch.randn(d, generator=gen, dtype=DTYPE)
    u = u / u.norm()
    signs = torch.randint(0, 2, (n, 1), generator=gen).to(DTYPE) * 2 - 1
    norms = torch.exp(torch.empty(n, 1, dtype=DTYPE).uniform_(-math.log(3), math.log(3),
                                                               generator=gen))
    q, _ = torch.linalg.qr(torch.randn(d, d, generator=gen, dtype=DTYPE))
    zn = z / z.norm(dim=1, keepdim=True)
    raw = {
        "orthogonal": q[:, :n].T.contiguous(),
        "gaussian": z,
        "spread": zn * norms,
        "aligned": math.sqrt(0.5) * signs * u + math.sqrt(0.5) * zn,
        "coherent": signs * u,
    }
    out = {}
    for name in names:
        G = raw[name]
        out[name] = Instance(name, G / torch.sqrt((G**2).sum() / n))  # Tr H = 1
    return out


def hessian_check(inst: Instance) -> float:
    """max |Hessian of the torch loss 0.5 mean((G theta - y)^2) - G^T G/n|: the loss we run
    SGD on has exactly the Hessian the operators are built from (autodiff, float64)."""
    y = torch.zeros(inst.n, dtype=DTYPE)
    with single_thread():
        H = dense_hessian(lambda th: 0.5 * ((inst.G @ th - y) ** 2).mean(),
                          torch.zeros(inst.d, dtype=DTYPE))
    return float((H - inst.G.T @ inst.G / inst.n).abs().max())


# --------------------------------------------------------------------------- operator
def svec_basis(r: int) -> torch.Tensor:
    """Orthonormal basis (r^2 x r(r+1)/2) of vec(symmetric r x r matrices)."""
    cols = []
    for i in range(r):
        for j in range(i, r):
            e = torch.zeros(r, r, dtype=DTYPE)
            if i == j:
                e[i, i] = 1.0
            else:
                e[i, j] = e[j, i] = 1 / math.sqrt(2)
            cols.append(e.reshape(-1))
    return torch.stack(cols, 1)


@dataclass(frozen=True)
class MeanSquareOperator:
    """:math:`\\mathcal Q(\\eta) = I - 2\\eta\\,C + \\eta^2 D` on svec(symmetric) of the row space.

    ``C`` is :math:`\\tfrac12(H\\oplus H)`, ``D`` is :math:`\\alpha H\\otimes H + \\beta\\tfrac1n
    \\sum_i H_i\\otimes H_i`, both compressed to the ``rank``-dimensional row space of ``G``
    (``basis``: its orthonormal rows) and to symmetric matrices (``svec``)."""

    sampling: str
    batch: int
    n: int
    rank: int
    alpha: float
    beta: float
    C: torch.Tensor
    D: torch.Tensor
    H: torch.Tensor
    basis: torch.Tensor
    svec: torch.Tensor
    trace_h: float
    trace_h2: float
    lam_max: float
    m4: float

    def matrix(self, eta: float | torch.Tensor) -> torch.Tensor:
        eta = torch.as_tensor(eta, dtype=DTYPE)[..., None, None]
        eye = torch.eye(self.C.shape[0], dtype=DTYPE)
        return eye - 2 * eta * self.C + eta**2 * self.D


def mean_square_operator(G: torch.Tensor, sampling: str, batch: int) -> MeanSquareOperator:
    """The mean-square map of linearised SGD with batches of size ``batch`` drawn by
    ``sampling`` (``"with"``, ``"without"`` or ``"bernoulli"``)."""
    n = G.shape[0]
    _, s, vh = torch.linalg.svd(G, full_matrices=False)
    rank = int((s > 1e-10 * s[0]).sum())
    basis = vh[:rank]
    Gr = G @ basis.T  # n x rank: the gradients in row-space coordinates
    H = Gr.T @ Gr / n
    eye = torch.eye(rank, dtype=DTYPE)
    P = svec_basis(rank)
    C = 0.5 * (torch.kron(H, eye) + torch.kron(eye, H))
    K = torch.stack([torch.kron(g, g) for g in Gr], 1)  # columns vec(H_i)
    alpha, beta = noise_coefficients(sampling, n, batch)
    D = alpha * torch.kron(H, H) + beta * (K @ K.T) / n
    norms2 = (Gr**2).sum(1)
    return MeanSquareOperator(
        sampling, int(batch), n, rank, alpha, beta, P.T @ C @ P, P.T @ D @ P, H, basis, P,
        trace_h=float(H.trace()), trace_h2=float((H @ H).trace()),
        lam_max=float(torch.linalg.eigvalsh(H)[-1]), m4=float((norms2**2).mean()))


def spectral_radius(op: MeanSquareOperator, etas: torch.Tensor | float) -> torch.Tensor:
    """Spectral radius of :math:`\\mathcal Q(\\eta)` (symmetric: largest |eigenvalue|)."""
    ev = torch.linalg.eigvalsh(op.matrix(etas))
    return ev.abs().amax(-1)


def closed_form_threshold(op: MeanSquareOperator) -> float:
    """Mulayoff & Michaeli, Thm 3: :math:`\\eta^*_{\\rm var} = 2/\\lambda_{\\max}(C^\\dagger D)`
    (``C`` is invertible on the row space), via :math:`C^{-1/2} D C^{-1/2}`."""
    ev, V = torch.linalg.eigh(op.C)
    ci = V @ torch.diag(ev.rsqrt()) @ V.T
    return 2.0 / float(torch.linalg.eigvalsh(ci @ op.D @ ci)[-1])


def bisect_thresholds(ops: Sequence[MeanSquareOperator], iters: int = 40) -> list[float]:
    """Largest step with spectral radius < 1, by bisection on [0, 2/lambda_max(H)] (GD's
    threshold bounds it: the mean must be stable).

    The radius test is exact and cheap: for the symmetric :math:`\\mathcal Q`,
    :math:`\rho(\\mathcal Q) < 1` iff both :math:`I - \\mathcal Q` and :math:`I + \\mathcal Q`
    are positive definite, i.e. iff both Cholesky factorisations succeed (three times faster
    than an eigendecomposition). Operators of one size are bisected in lockstep, one batched
    call per step."""
    out: list[float] = [math.nan] * len(ops)
    groups: dict[int, list[int]] = {}
    for i, op in enumerate(ops):
        groups.setdefault(op.C.shape[0], []).append(i)
    for idx in groups.values():
        C = torch.stack([ops[i].C for i in idx])
        D = torch.stack([ops[i].D for i in idx])
        eye = torch.eye(C.shape[-1], dtype=DTYPE)
        lo = torch.zeros(len(idx), dtype=DTYPE)
        hi = torch.tensor([critical_step(ops[i].lam_max) for i in idx], dtype=DTYPE)
        for _ in range(iters):
            mid = 0.5 * (lo + hi)
            m = mid[:, None, None]
            Q = eye - 2 * m * C + m**2 * D
            info = torch.linalg.cholesky_ex(torch.cat([eye - Q, eye + Q])).info
            stable = (info[: len(idx)] == 0) & (info[len(idx):] == 0)
            lo = torch.where(stable, mid, lo)
            hi = torch.where(stable, hi, mid)
        for k, i in enumerate(idx):
            out[i] = float(0.5 * (lo[k] + hi[k]))
    return out


@dataclass(frozen=True)
class ThresholdTable:
    """One row per (instance, sampling, batch): thresholds and the quantities of the bounds."""

    rows: list[dict[str, Any]]

    def select(self, **match: Any) -> list[dict[str, Any]]:
        return [r for r in self.rows if all(r[k] == v for k, v in match.items())]

    def get(self, **match: Any) -> dict[str, Any]:
        rows = self.select(**match)
        if len(rows) != 1:
            raise KeyError(f"{len(rows)} rows match {match}")
        return rows[0]


def threshold_table(instances: Mapping[str, Instance],
                    plan: Sequence[tuple[str, str, Sequence[int]]],
                    iters: int = 40, probe: float = 0.02) -> ThresholdTable:
    """Thresholds for every (instance, sampling, batch sizes) of ``plan``: by bisection
    (``eta_bisect``) and by the closed form (``eta_closed``), the spectral radius at
    ``(1 -+ probe)`` times the bisected threshold, and the bounds' ingredients."""
    with single_thread():
        return _threshold_table(instances, plan, iters, probe)


def _threshold_table(instances: Mapping[str, Instance],
                     plan: Sequence[tuple[str, str, Sequence[int]]],
                     iters: int, probe: float) -> ThresholdTable:
    keys, ops = [], []
    for name, sampling, batches in plan:
        for b in batches:
            keys.append((name, sampling, int(b)))
            ops.append(mean_square_operator(instances[name].G, sampling, int(b)))
    etas = bisect_thresholds(ops, iters)
    rows = []
    for (name, sampling, b), op, eta in zip(keys, ops, etas, strict=True):
        probes = torch.tensor([(1 - probe) * eta, (1 + probe) * eta], dtype=DTYPE)
        rad = spectral_radius(op, probes)
        eq16 = 2 * op.trace_h / (op.alpha * op.trace_h2 + op.beta * op.m4)
        rows.append({
            "instance": name, "sampling": sampling, "B": b, "n": op.n, "rank": op.rank,
            "eta_bisect": eta, "eta_closed": closed_form_threshold(op),
            "trace_h": op.trace_h, "lam_max": op.lam_max, "trace_h2": op.trace_h2,
            "m4": op.m4, "alpha": op.alpha, "beta": op.beta,
            "gd": critical_step(op.lam_max),
            "trace_bound": trace_bound(op.trace_h, op.n, b, sampling),
            "eq16": eq16 if math.isfinite(eq16) else math.inf,
            "rho_below": float(rad[0]), "rho_above": float(rad[1]), "probe": probe,
        })
    return ThresholdTable(rows)
