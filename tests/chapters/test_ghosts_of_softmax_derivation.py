"""Tests of the sympy derivation of the softmax ghost radius
(boundbook.chapters.ghosts_of_softmax.derivation)."""

import math

import pytest
import sympy as sp

from boundbook.chapters.ghosts_of_softmax import derivation as S


@pytest.fixture(scope="module")
def derivation():
    return S.binary_radius_derivation()


def test_radius_matches_body_not_abstract(derivation):
    assert S.same_expression(derivation.radius, derivation.printed_body)
    assert not S.same_expression(derivation.radius, derivation.printed_abstract)
    assert sp.simplify(derivation.radius - sp.sqrt(S.delta**2 + sp.pi**2) / S.Delta) == 0


def test_abstract_form_is_numerically_different(derivation):
    vals = {S.delta: 2, S.Delta: 3}
    body = float(derivation.radius.subs(vals))
    abstract = float(derivation.printed_abstract.subs(vals))
    assert body == pytest.approx(math.sqrt(4 + math.pi**2) / 3)
    assert abs(abstract - body) > 1


def test_singularity_family(derivation):
    assert derivation.substitution_check == -1
    assert sp.simplify(derivation.principal_singularity - (-S.delta + sp.I * sp.pi) / S.Delta) == 0
    # solveset over C gives the same lattice of zeros
    lam = derivation.singularity_set.lamda
    (n,) = lam.variables
    assert sp.simplify(lam.expr.subs(n, S.m) - derivation.singularities) == 0
    assert derivation.minimisers == (-1, 0)
    # numeric spot check of a few zeros
    for k in (-3, -1, 0, 2):
        tk = complex(derivation.singularities.subs({S.m: k, S.delta: 0.7, S.Delta: 1.3}))
        assert abs(1 + complex(sp.exp(0.7 + 1.3 * tk))) < 1e-12


def test_modulus_squared_is_quadratic(derivation):
    expected = (S.delta**2 + sp.pi**2 * (2 * S.m + 1) ** 2) / S.Delta**2
    assert S.same_expression(derivation.modulus_squared, expected)


def test_minimum_over_delta(derivation):
    res = S.minimum_over_delta()
    assert res.argmin == 0
    assert S.same_expression(res.minimum, sp.pi / S.Delta)
    assert sp.ask(sp.Q.positive(res.second_derivative))


def test_same_expression():
    x = sp.Symbol("x")
    assert S.same_expression(sp.sin(x) ** 2 + sp.cos(x) ** 2, 1)
    assert not S.same_expression(x, x + 1)


def test_hessian_radius_mismatch_at_10():
    two, one = S.hessian_radius_mismatch(10.0)
    assert two == pytest.approx(2 * one)
    s = 1 / (1 + math.exp(-10))
    r = math.sqrt(100 + math.pi**2)
    assert one == pytest.approx(1 / (s * (1 - s)) / r, rel=1e-12)
    assert 4000 < two < 4300  # text: "exceeds 4000x" (2/f'' convention)
    assert 2000 < one < 2200  # Fig. 13: 22,000 vs ~10 (1/f'' convention)
    assert 1 / (s * (1 - s)) == pytest.approx(22028.5, rel=1e-4)


def test_hessian_radius_mismatch_small_margin():
    two, one = S.hessian_radius_mismatch(0.0)
    assert one == pytest.approx(4 / math.pi)
    assert two == pytest.approx(8 / math.pi)


def test_multiclass_half_plane():
    chk = S.multiclass_half_plane_check()
    assert all(chk.offsets_within_half_arc)
    assert chk.example_min_real_part > 0
    assert chk.tight_example_value == 0
    y = sp.Symbol("y", real=True)
    spread = sp.Symbol("Delta_a", positive=True)
    assert chk.condition.subs({y: 1, spread: 3}) == sp.true
    assert chk.condition.subs({y: 1.1, spread: 3}) == sp.false


def test_markdown_renderings(derivation):
    text = S.binary_radius_markdown(derivation)
    assert text.count("$$") == 8 and r"\sqrt{\delta^{2} + \pi^{2}}" in text
    half = S.half_plane_markdown(S.multiclass_half_plane_check(), S.minimum_over_delta())
    assert "(True, True, True)" in half and r"\frac{\pi}{\Delta}" in half


def test_kl_appendix_derivation():
    """App. 4: the forward KL is tau K'(tau) - K(tau) + K(0); Eq. 26's form is the reverse
    one; the sharp small-step constants are 1/(18 sqrt 3) (forward, as Eq. 29 prints) and
    1/(36 sqrt 3) (reverse, what Eqs. 26-28 prove)."""
    d = S.kl_remainder_derivation()
    assert d.score_identity == 0
    assert S.same_expression(d.p_star, (3 - sp.sqrt(3)) / 6)
    assert S.same_expression(d.third_moment_max, 1 / (6 * sp.sqrt(3)))
    assert S.same_expression(d.forward_constant, d.printed_constant)
    assert S.same_expression(d.reverse_constant, d.printed_constant / 2)
    p, tau = sp.Symbol("p", positive=True), sp.Symbol("tau", real=True)
    # the printed identity differs from the forward KL at third order: -kappa3 tau^3 / 6
    assert S.same_expression(d.printed_minus_forward_series, -d.kappa3 * tau**3 / 6)
    assert S.same_expression(d.forward_series.coeff(tau, 2), 0)
    assert "C_{" in S.kl_remainder_markdown(d)
    assert p in d.kappa3.free_symbols
