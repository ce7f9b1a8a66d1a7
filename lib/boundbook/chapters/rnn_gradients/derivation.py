"""The sympy derivations of the chapter "Exploding and vanishing gradients in RNNs" (exact).

- gamma: :func:`boundbook.symbolic.contraction.activation_slope_bounds` (1 for tanh, 1/4 for
  the sigmoid), derived from the derivative's critical points and limits;
- the product bound on the scalar RNN :math:`x_t = w\\sigma(x_{t-1})`: the derivative of the
  T-fold composition is :math:`\\prod_t w\\sigma'(x_{t-1})`, bounded by :math:`(\\gamma|w|)^T`
  (checked for T = 3 symbolically: the product's factors, each bounded by gamma |w|);
- the counterexample to the printed statement: :math:`W = [[8,8],[-8,-8]]` is nilpotent
  (spectral radius 0, largest singular value 16), the Jacobian at
  :math:`x^* = (0, \\operatorname{artanh}\\tfrac12)` is :math:`J = [[8,6],[-8,-6]]` with
  :math:`J^2 = 2J`, and :math:`x^*` is a fixed point for :math:`b = x^* - W\\tanh x^*`."""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from boundbook.symbolic.contraction import activation_slope_bounds


@dataclass(frozen=True)
class Derived:
    gamma_tanh: sp.Expr
    gamma_sigmoid: sp.Expr
    scalar_chain: sp.Expr
    scalar_chain_matches: bool
    W_nilpotent: bool
    W_singular: sp.Expr
    jacobian: sp.Matrix
    jacobian_square_is_2J: bool
    fixed_point: bool

    @property
    def matches(self) -> bool:
        return (self.gamma_tanh == 1 and self.gamma_sigmoid == sp.Rational(1, 4)
                and self.scalar_chain_matches and self.W_nilpotent and self.W_singular == 16
                and self.jacobian_square_is_2J and self.fixed_point)

    def lines(self) -> list[str]:
        return [f"gamma(tanh) = {self.gamma_tanh}, gamma(sigmoid) = {self.gamma_sigmoid}",
                f"d x_3 / d x_0 (scalar, tanh) = {self.scalar_chain} "
                f"(the product of w sigma'(x_t): {self.scalar_chain_matches})",
                f"W = [[8, 8], [-8, -8]]: W^2 = 0: {self.W_nilpotent}; "
                f"largest singular value {self.W_singular}",
                f"J = W diag(tanh'(x*)) = {self.jacobian.tolist()}, J^2 = 2J: "
                f"{self.jacobian_square_is_2J}; x* fixed: {self.fixed_point}"]


def derive() -> Derived:
    g = activation_slope_bounds()
    w, x0 = sp.symbols("w x0", real=True)
    xs = [x0]
    for _ in range(3):
        xs.append(w * sp.tanh(xs[-1]))
    chain = sp.diff(xs[-1], x0)
    product = sp.Mul(*[w * (1 - sp.tanh(x) ** 2) for x in xs[:-1]])
    chain_ok = sp.simplify(chain.rewrite(sp.tanh) - product) == 0
    W = sp.Matrix([[8, 8], [-8, -8]])
    svals = [sp.sqrt(e) for e in (W.T * W).eigenvals()]
    xstar = sp.Matrix([0, sp.atanh(sp.Rational(1, 2))])
    th = xstar.applyfunc(sp.tanh)
    J = W * sp.diag(*[sp.simplify(1 - t ** 2) for t in th])
    b = xstar - W * th
    fixed = sp.simplify(W * th + b - xstar) == sp.zeros(2, 1)
    return Derived(g["tanh"], g["sigmoid"], chain, bool(chain_ok), W * W == sp.zeros(2, 2),
                   sp.Max(*svals), J, sp.simplify(J * J - 2 * J) == sp.zeros(2, 2),
                   bool(fixed))
