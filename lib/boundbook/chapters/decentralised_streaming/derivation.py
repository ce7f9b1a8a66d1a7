"""The sympy derivations of the chapter "Decentralised gradient descent with streaming data"
(exact; no floats). All of it is the book's own (the paper's theorems were not read).

**One eigenmode.** With equal curvatures :math:`a` and :math:`W` symmetric, everything
decouples over the eigenvectors :math:`v_k` of :math:`W` (eigenvalue :math:`\\lambda`). One
DGD update on the mode is :math:`x \\mapsto mx + \\alpha az` with :math:`m = \\lambda - \\alpha a`;
its fixed point is :math:`pz`, :math:`p = \\alpha a/(1 - \\lambda + \\alpha a)`, and ``K`` updates
give :math:`x_K = m^Kx + (1 - m^K)pz`, so the fixed-point error :math:`e = x - pz` obeys
:math:`e_t = q(e_{t-1} - p(z_t - z_{t-1}))`, :math:`q = m^K` (checked for K = 1..4).

**The discounted floor.** With :math:`u = z - m_{\\rm mean}`, :math:`c = 1 - \\gamma`, noise
:math:`w` of variance :math:`s^2`: :math:`u' = (1-c)u + cw`, :math:`e' = qe + qpcu - qpcw`.
The stationary second moments solve three linear equations (the mode's discrete Lyapunov
equation); sympy solves them and finds
:math:`E e^2 = 2c^2q^2p^2s^2/((2-c)(1+q)(1-q+cq))`, compared exactly with the closed form of
:func:`boundbook.chapters.decentralised_streaming.claims.mode_variance`; its leading term for
small :math:`c` is :math:`c^2q^2p^2s^2/(1-q^2)`.

**The bias bound.** :math:`p(\\lambda)` is increasing in :math:`\\lambda` with :math:`p(1) = 1`,
so :math:`\\|(P - J)z\\| \\le p(\\lambda_2)\\|z - \\mathbf 1\\bar z\\| = \\alpha G/(1 - \\lambda_2 +
\\alpha a)`, :math:`G = a\\|z - \\mathbf 1\\bar z\\|`. Checked exactly on the 4-agent ring
(Metropolis weights 1/3, :math:`\\alpha = 1/10`, :math:`a = 1`): :math:`P\\mathbf 1 = \\mathbf
1`, :math:`\\mathbf 1^\\top(P - J) = 0` (the network-average bias vanishes), and equality for a
Fiedler vector.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import sympy as sp

lam, al, a, s, c = sp.symbols("lambda alpha a s c", positive=True)
q, p, z = sp.symbols("q p z", real=True)


def _zero(expr: sp.Expr) -> bool:
    return sp.simplify(expr) == 0


@dataclass(frozen=True)
class FloorDerivation:
    """Exact results (module docstring); each ``*_ok`` an exact comparison. ``p``: the mode's
    fixed-point gain; ``variance``: the stationary :math:`Ee^2` solved by sympy;
    ``closed_form``: the printed closed form; ``small_c``: its leading term in ``c``;
    ``ring_P``: the fixed-point matrix of the 4-agent ring."""

    p: sp.Expr
    variance: sp.Expr
    closed_form: sp.Expr
    small_c: sp.Expr
    ring_P: sp.Matrix
    fixed_point_ok: bool
    k_updates_ok: bool
    p_increasing_ok: bool
    p_consensus_ok: bool
    variance_ok: bool
    small_c_ok: bool
    ring_row_sums_ok: bool
    ring_average_bias_ok: bool
    ring_equality_ok: bool

    def flags(self) -> dict[str, bool]:
        return {k: v for k, v in self.__dict__.items() if k.endswith("_ok")}

    @property
    def all_match(self) -> bool:
        return all(self.flags().values())


def closed_form() -> sp.Expr:
    """:math:`2c^2q^2p^2s^2/((2-c)(1+q)(1-q+cq))` as printed in the chapter."""
    return 2 * c**2 * q**2 * p**2 * s**2 / ((2 - c) * (1 + q) * (1 - q + c * q))


def _ring4() -> tuple[sp.Matrix, sp.Matrix, sp.Matrix]:
    third = sp.Rational(1, 3)
    W = sp.Matrix(4, 4, lambda i, j: third if (i - j) % 4 in (0, 1, 3) else 0)
    alpha = sp.Rational(1, 10)
    P = alpha * (sp.eye(4) - W + alpha * sp.eye(4)).inv()
    return W, P, sp.Matrix([1, 0, -1, 0])


@cache
def floor_derivation() -> FloorDerivation:
    """Every derivation of the chapter (cached; exact)."""
    pg = al * a / (1 - lam + al * a)
    m = lam - al * a
    fixed_point_ok = _zero(m * pg * z + al * a * z - pg * z)
    k_ok = True
    for K in range(1, 5):
        x = sp.Symbol("x")
        xk = x
        for _ in range(K):
            xk = m * xk + al * a * z
        k_ok = k_ok and _zero(sp.expand(xk - (m**K * x + (1 - m**K) * pg * z)))
    increasing = sp.simplify(sp.diff(pg, lam)) == al * a / (1 - lam + al * a) ** 2
    consensus = _zero(pg.subs(lam, 1) - 1)

    ve, ceu, vu = sp.symbols("V_e C V_u")
    f11, f12, g1, f22, g2 = q, q * p * c, -q * p * c, 1 - c, c
    sol = sp.solve([sp.Eq(ve, f11**2 * ve + 2 * f11 * f12 * ceu + f12**2 * vu + g1**2 * s**2),
                    sp.Eq(ceu, f11 * f22 * ceu + f12 * f22 * vu + g1 * g2 * s**2),
                    sp.Eq(vu, f22**2 * vu + g2**2 * s**2)], [ve, ceu, vu], dict=True)[0]
    variance = sp.factor(sol[ve])
    cf = closed_form()
    small = sp.limit(cf / c**2, c, 0)

    W, P, fiedler = _ring4()
    one = sp.ones(4, 1)
    J = one * one.T / 4
    lam2 = sp.Rational(1, 3)
    alpha = sp.Rational(1, 10)
    bias = (P - J) * fiedler
    bound = alpha * 1 * fiedler.norm() / (1 - lam2 + alpha)
    return FloorDerivation(
        p=pg, variance=variance, closed_form=cf, small_c=small, ring_P=P,
        fixed_point_ok=fixed_point_ok, k_updates_ok=k_ok, p_increasing_ok=bool(increasing),
        p_consensus_ok=consensus, variance_ok=_zero(variance - cf),
        small_c_ok=_zero(small - q**2 * p**2 * s**2 / (1 - q**2)),
        ring_row_sums_ok=P * one == one,
        ring_average_bias_ok=(one.T * (P - J)) == sp.zeros(1, 4),
        ring_equality_ok=_zero(bias.norm() - bound))
