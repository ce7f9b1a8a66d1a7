"""The sympy derivations of the chapter "Neural contractive dynamical systems" (exact).

1. **What the construction guarantees.** For any real matrix :math:`A` and
   :math:`\\epsilon > 0`, :math:`\\hat J = -(A^\\top A + \\epsilon I)` is symmetric and
   :math:`v^\\top \\hat J v = -\\|Av\\|^2 - \\epsilon\\|v\\|^2 \\le -\\epsilon\\|v\\|^2`
   (:func:`symmetric_part`). With :math:`f(x) = \\int_0^1 \\hat J(tx)\\,x\\,dt`,
   :math:`x^\\top f(x) = \\int_0^1 x^\\top \\hat J(tx) x\\,dt \\le -\\epsilon\\|x\\|^2`: the
   equilibrium 0 is globally exponentially stable at rate :math:`\\epsilon` (any quadrature
   with positive weights keeps it).
2. **What it does not.** The true Jacobian of the integrated field is
   :math:`\\partial f/\\partial x = \\int_0^1 \\hat J(tx)\\,dt + \\int_0^1 t\\,
   (\\partial_x\\hat J(tx))[x]\\,dt`, which equals :math:`\\hat J(x)` when :math:`\\hat J` is
   integrable (a Hessian: :func:`integrable_identity` checks it on a polynomial potential) and
   not otherwise. The exact counterexample (:func:`counterexample`): the "network"
   :math:`h(x) = x_1x_2`, :math:`J_\\theta = \\nabla h^\\top`, gives
   :math:`f(x) = -\\tfrac23 x_1x_2\\,(x_2, x_1) - \\epsilon x` whose Jacobian at
   :math:`(1, 1)` has the eigenvalue :math:`\\tfrac23 - \\epsilon > 0` for
   :math:`\\epsilon < 2/3`, while :math:`\\hat J(1, 1)` has eigenvalues :math:`-\\epsilon` and
   :math:`-2 - \\epsilon`.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

x1, x2, t = sp.symbols("x1 x2 t", real=True)
eps = sp.Symbol("epsilon", positive=True)
X = sp.Matrix([x1, x2])


def integrate_field(Jhat: sp.Matrix) -> sp.Matrix:
    """:math:`f(x) = \\int_0^1 \\hat J(tx)\\,x\\,dt` exactly."""
    Jt = Jhat.subs({x1: t * x1, x2: t * x2}, simultaneous=True)
    return (Jt * X).applyfunc(lambda e: sp.integrate(sp.expand(e), (t, 0, 1)))


def symmetric_part() -> bool:
    """:math:`v^\\top\\hat Jv + \\|Av\\|^2 + \\epsilon\\|v\\|^2 = 0` identically for a generic
    2x2 ``A`` and vector ``v``."""
    a = sp.Matrix(2, 2, sp.symbols("a0:4", real=True))
    v = sp.Matrix(sp.symbols("v0:2", real=True))
    J = -(a.T * a + eps * sp.eye(2))
    expr = (v.T * J * v)[0] + (a * v).dot(a * v) + eps * v.dot(v)
    return bool(sp.expand(expr) == 0 and J == J.T)


def equilibrium_identity() -> bool:
    """:math:`x^\\top f(x) = \\int_0^1 x^\\top\\hat J(tx)x\\,dt` on the counterexample field
    and :math:`x^\\top f(x) + \\epsilon\\|x\\|^2 \\le 0` (it is minus a sum of squares)."""
    Jhat = _counter_jhat()
    f = integrate_field(Jhat)
    lhs = sp.expand((X.T * f)[0] + eps * X.dot(X))
    return bool(sp.expand(lhs + sp.Rational(2, 3) * (2 * x1 * x2) ** 2 / 2) == 0)


def integrable_identity() -> bool:
    """For :math:`\\hat J = -\\nabla^2\\phi` (:math:`\\phi` a polynomial), the integrated field
    is :math:`-\\nabla\\phi + \\nabla\\phi(0)` and its Jacobian is :math:`\\hat J` exactly."""
    phi = x1**4 / 12 + x1**2 * x2**2 / 2 + x2**4 / 6 + x1 * x2 + eps * (x1**2 + x2**2) / 2
    grad = sp.Matrix([sp.diff(phi, v) for v in (x1, x2)])
    Jhat = -sp.hessian(phi, (x1, x2))
    f = integrate_field(Jhat)
    same_f = sp.simplify(f + grad - grad.subs({x1: 0, x2: 0})) == sp.zeros(2, 1)
    same_J = sp.simplify(f.jacobian(X) - Jhat) == sp.zeros(2, 2)
    return bool(same_f and same_J)


def _counter_jhat() -> sp.Matrix:
    g = sp.Matrix([[x2, x1]])  # J_theta of h = x1 x2
    return -(g.T * g + eps * sp.eye(2))


@dataclass(frozen=True)
class Counterexample:
    """The exact counterexample: ``f``, its true Jacobian, the eigenvalues of its symmetric
    part and of :math:`\\hat J` at ``point``."""

    f: sp.Matrix
    true_jacobian: sp.Matrix
    point: tuple[int, int]
    true_eigs: list[sp.Expr]
    jhat_eigs: list[sp.Expr]
    printed_fails: bool  # the largest true eigenvalue exceeds -eps (for every eps < 2/3 + ...)


def counterexample(point: tuple[int, int] = (1, 1)) -> Counterexample:
    Jhat = _counter_jhat()
    f = sp.simplify(integrate_field(Jhat))
    Jf = sp.simplify(f.jacobian(X))
    at = {x1: point[0], x2: point[1]}
    sym = (Jf.subs(at) + Jf.subs(at).T) / 2
    true_eigs = sorted(sym.eigenvals(), key=lambda e: float(e.subs(eps, sp.Rational(1, 10))))
    jhat_eigs = sorted(Jhat.subs(at).eigenvals(),
                       key=lambda e: float(e.subs(eps, sp.Rational(1, 10))))
    fails = sp.simplify(true_eigs[-1] - (sp.Rational(2, 3) - eps)) == 0
    return Counterexample(f, Jf, point, true_eigs, jhat_eigs, bool(fails))


def symbolic_flags() -> dict:
    """The exact facts the checks read (plain types)."""
    ce = counterexample()
    return {"symmetric_part": symmetric_part(), "equilibrium": equilibrium_identity(),
            "integrable": integrable_identity(), "counterexample": ce.printed_fails,
            "counter_eig": str(ce.true_eigs[-1])}
