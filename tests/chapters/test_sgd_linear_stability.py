"""Tests of the SGD linear-stability chapter: sympy derivations (its ``derivation``), the plain
closed forms in ``claims`` against them, the mean-square operators and thresholds
(``operators``), the Monte-Carlo runs (``monte_carlo``), the protocol, and the claims' checks,
which must be able to fail."""

from __future__ import annotations

import copy
import dataclasses
import itertools
import json
import math

import pytest
import sympy as sp
import torch

from boundbook.chapters.sgd_linear_stability import claims as ch
from boundbook.chapters.sgd_linear_stability import derivation as S
from boundbook.chapters.sgd_linear_stability import experiment as sx
from boundbook.chapters.sgd_linear_stability import monte_carlo as mcx
from boundbook.chapters.sgd_linear_stability import operators as ops
from boundbook.chapters.sgd_linear_stability import protocol as P
from boundbook.chapters.sgd_linear_stability.claims import CHAPTER
from boundbook.core.claims import Verdict, decide, mutate
from boundbook.symbolic.quadratic import critical_step

DT = torch.float64


# --------------------------------------------------------------------------- symbolic
@pytest.mark.parametrize("sampling,batch", [("with", 2), ("with", 3), ("without", 2),
                                            ("without", 3), ("bernoulli", None)])
def test_second_moment_enumeration_matches_closed_form(sampling, batch):
    d = S.second_moment_derivation(sampling, 4, batch)
    assert d.matches and d.mean_matches
    # a wrong coefficient is caught by the same exact comparison
    Hs = sp.symbols("H1:5", commutative=False)
    Sig = sp.Symbol("Sigma", commutative=False)
    Hbar = sum(Hs, sp.Integer(0)) / 4
    wrong = sp.expand(d.alpha * Hbar * Sig * Hbar
                      + (d.beta + sp.Rational(1, 10)) * sum(h * Sig * h for h in Hs) / 4)
    assert sp.expand(d.expectation - wrong) != 0


def test_coefficients_limits():
    for s in ("without", "bernoulli"):
        al, be = S.coefficients(s)
        assert sp.simplify(be.subs(S.B, S.n)) == 0  # full batch: no noise, GD
    al, be = S.coefficients("with")
    assert (al.subs(S.B, 1), be.subs(S.B, 1)) == (0, 1)
    assert S.noise_coefficients("without", 10, 1) == pytest.approx((0.0, 1.0))


def test_trace_derivation():
    tr = S.trace_derivation()
    assert tr.matches_2B and tr.matches_2_at_B1 and not tr.matches_2
    assert sp.simplify(tr.edges["with"] - 2 * S.B / S.trH) == 0
    assert S.trace_bound(0.5, 10, 4) == pytest.approx(16.0)
    assert math.isinf(S.trace_bound(1.0, 10, 10, "bernoulli"))


def test_orthogonal_and_coherent_derivations():
    o = S.orthogonal_derivation()
    assert o.tight_at_B1 and o.bernoulli_linear and o.gap_nonnegative
    assert sp.simplify(o.identity_with - 2) == 0
    assert all(sp.simplify(v - 2) == 0 for v in o.identity.values())
    assert S.orthogonal_threshold(1.0, 16, 1) == pytest.approx(2.0)
    assert S.orthogonal_threshold(2.0, 16, 4, "bernoulli") == pytest.approx(4.0)
    c = S.coherent_derivation()
    assert c.gd_every_B == {"with": True, "without": True, "bernoulli": False}
    assert sp.simplify(c.bernoulli_factor - (1 + 1 / S.B - 1 / S.n)) == 0
    assert S.coherent_threshold(1.0, 16, 1, "bernoulli") == pytest.approx(2 / (2 - 1 / 16))
    assert S.coherent_threshold_ab(2.0, 0.5, 0.5) == pytest.approx(1.0)


@pytest.mark.parametrize("n", [2, 9, 16, 28])
def test_plain_closed_forms_equal_the_sympy_derivation(n):
    """The checks' plain forms (claims.py, no sympy) are the lambdified sympy results, to the
    last bit, and the exact sympy expressions to 1e-12."""
    for b in sorted({1, 2, max(1, n // 2), n}):
        al, be = ch.bernoulli_coefficients(n, b)
        assert (al, be) == S.noise_coefficients("bernoulli", n, b)
        ea, eb = S.coefficients("bernoulli", sp.Integer(n), sp.Integer(b))
        assert (al, be) == (float(ea), pytest.approx(float(eb), rel=1e-12, abs=1e-15))
        for a, lam in ((1.0, 1.0), (0.37, 2.5), (3.0, 0.0625)):
            for x, y in ((al, be), (1.0, 1.0 / b), (0.3, 0.05)):
                plain = ch.orthogonal_threshold_ab(a, n, x, y)
                assert plain == S.orthogonal_threshold_ab(a, n, x, y)
                exact = S.orthogonal_derivation().generic.subs(
                    {S.a: a, S.n: n, S.alpha: x, S.beta: y})
                assert plain == pytest.approx(float(exact), rel=1e-12)
                plain = ch.coherent_threshold_ab(lam, x, y)
                assert plain == S.coherent_threshold_ab(lam, x, y)
                exact = S.coherent_derivation().generic.subs(
                    {S.lam: lam, S.alpha: x, S.beta: y})
                assert plain == pytest.approx(float(exact), rel=1e-12)
            assert ch.gd_threshold(lam) == critical_step(lam)
        # with Bernoulli coefficients the generic forms are the derived Bernoulli thresholds
        assert ch.orthogonal_threshold_ab(0.37, n, al, be) == pytest.approx(
            S.orthogonal_threshold(0.37, n, b, "bernoulli"), rel=1e-12)
        assert ch.coherent_threshold_ab(2.5, al, be) == pytest.approx(
            S.coherent_threshold(2.5, n, b, "bernoulli"), rel=1e-12)


# --------------------------------------------------------------------------- operators
def _enumerated_operator(G: torch.Tensor, sampling: str, batch: int, eta: float) -> torch.Tensor:
    """E[(I - eta H_S) kron (I - eta H_S)] by enumerating every batch (no closed form)."""
    n, d = G.shape
    Hs = [torch.outer(g, g) for g in G]
    eye = torch.eye(d, dtype=DT)
    if sampling == "with":
        batches = [(1 / n**batch, [t.count(i) for i in range(n)])
                   for t in itertools.product(range(n), repeat=batch)]
    elif sampling == "without":
        subs = list(itertools.combinations(range(n), batch))
        batches = [(1 / len(subs), [int(i in s) for i in range(n)]) for s in subs]
    else:
        q = batch / n
        batches = [(q ** sum(x) * (1 - q) ** (n - sum(x)), list(x))
                   for x in itertools.product((0, 1), repeat=n)]
    Q = torch.zeros(d * d, d * d, dtype=DT)
    for p, w in batches:
        A = eye - eta * sum(wi * h for wi, h in zip(w, Hs, strict=True)) / batch
        Q += p * torch.kron(A, A)
    return Q


@pytest.mark.parametrize("sampling", ["with", "without", "bernoulli"])
def test_operator_matches_enumeration(sampling):
    gen = torch.Generator().manual_seed(1)
    G = torch.randn(4, 4, generator=gen, dtype=DT)  # full rank: row space = everything
    op = ops.mean_square_operator(G, sampling, 2)
    eta = 0.3
    Q_enum = _enumerated_operator(G @ op.basis.T, sampling, 2, eta)  # row-space coordinates
    P = op.svec
    assert torch.allclose(P.T @ Q_enum @ P, op.matrix(eta), atol=1e-12)


def test_closed_form_and_bisection_agree_and_bracket():
    inst = sx.make_instances(6, 12, seed=3)
    for sampling, batch in (("with", 2), ("without", 3), ("bernoulli", 2)):
        op = ops.mean_square_operator(inst["gaussian"].G, sampling, batch)
        eta_b = ops.bisect_thresholds([op], 44)[0]
        eta_c = ops.closed_form_threshold(op)
        assert eta_b == pytest.approx(eta_c, rel=1e-9)
        rad = ops.spectral_radius(op, torch.tensor([0.99 * eta_c, 1.01 * eta_c], dtype=DT))
        assert rad[0] < 1 < rad[1]


def test_full_batch_is_gd_and_null_space_is_dropped():
    inst = sx.make_instances(6, 12, seed=0)
    op = ops.mean_square_operator(inst["gaussian"].G, "without", 6)
    assert op.rank == 6 and op.C.shape == (21, 21)
    eta = ops.bisect_thresholds([op], 44)[0]
    assert eta == pytest.approx(2 / op.lam_max, rel=1e-9)


def test_instances():
    inst = sx.make_instances(6, 12, seed=0)
    for i in inst.values():
        assert float((i.G**2).sum() / i.n) == pytest.approx(1.0)
    G = inst["orthogonal"].G
    assert torch.allclose(G @ G.T, torch.eye(6, dtype=DT), atol=1e-12)
    assert torch.linalg.matrix_rank(inst["coherent"].G) == 1
    assert sx.hessian_check(inst["spread"]) < 1e-12
    with pytest.raises(ValueError, match="n < d"):
        sx.make_instances(8, 8, seed=0)


def test_monte_carlo_sides_and_exact_curve():
    inst = sx.make_instances(4, 8, seed=0)["orthogonal"]
    mc = mcx.mean_square_runs(inst, 1, 2.0, (0.8, 1.25), steps=60, runs=512, seed=0,
                             record_every=20)
    low, high = mc.final(0), mc.final(1)
    assert low["hi"] < 1 < high["lo"]
    # exact for the orthogonal instance: per step, one coordinate is multiplied by 1 - eta a
    for f, res in ((0.8, low), (1.25, high)):
        factor = 1 + ((1 - 2 * f) ** 2 - 1) / 4
        assert res["exact"] == pytest.approx(factor**60, rel=1e-10)
    assert mc.steps == [0, 20, 40, 60]


def test_single_thread_restores_threads():
    from boundbook.numeric.threads import single_thread

    before = torch.get_num_threads()
    with single_thread():
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before

    @single_thread()
    def inner() -> int:
        return torch.get_num_threads()

    assert inner() == 1 and torch.get_num_threads() == before


# --------------------------------------------------------------------------- claims
@pytest.fixture(scope="module")
def small_measurements():
    cfg = dataclasses.replace(P.settings("quick", 0), n=9, d=14, batch_sizes=(1, 2, 8),
                              mc_runs=512, mc_steps=80, mc_factors=(0.95, 1.05),
                              mc_configs=(("orthogonal", 1),), mc_illustrations=())
    inst = sx.make_instances(cfg.n, cfg.d, cfg.seed)
    table = sx.threshold_table(inst, sx.threshold_plan(cfg), 44)
    main, _ = sx.run_monte_carlo(inst, table, cfg)
    m = P.measurements(table=table, monte_carlo=main, symbolic=S.symbolic_flags())
    return json.loads(json.dumps(m))


def test_all_claims_decided_and_mutations_caught(small_measurements):
    for claim in CHAPTER.claims:
        ev = decide(claim, small_measurements[claim.id])
        assert ev.verdict in (Verdict.TIGHT, Verdict.HOLDS), (claim.id, ev.main.note)
        assert not ev.control.ok, claim.id
        survived = [r.mutation.name for r in mutate(claim, small_measurements[claim.id])
                    if not r.caught]
        # the small Monte-Carlo set has only the orthogonal instance, where 2/Tr H is the
        # exact threshold at B = 1: that edge is right there, so its mutation must survive
        expected = ["edge -> 2/Tr H"] if claim.id == "sgd-monte-carlo" else []
        assert survived == expected, claim.id


def _doctored(m, claim_id, edit):
    out = copy.deepcopy(m)
    edit(out[claim_id])
    return decide(CHAPTER.claim(claim_id), out[claim_id])


def test_kinds_provenance_and_slack(small_measurements):
    kinds = {c.id: (c.kind, c.provenance, c.monte_carlo) for c in CHAPTER.claims}
    assert kinds == {"sgd-trace-bound": ("bound", "paper", False),
                     "sgd-exact-threshold": ("identity", "paper", False),
                     "sgd-monte-carlo": ("phenomenon", "paper", True),
                     "sgd-bernoulli-limits": ("identity", "derived", False)}
    ev = decide(CHAPTER.claim("sgd-trace-bound"), small_measurements["sgd-trace-bound"])
    # slack over the instances not built to attain the bound; the orthogonal B = 1 row is
    # the equality case, attained to rounding
    assert 0 < ev.main.slack < 1 and abs(ev.main.equality) < 1e-7
    assert ev.main.measured == pytest.approx(1 - ev.main.slack)


def test_monte_carlo_intervals_over_seeds(small_measurements):
    m = small_measurements["sgd-monte-carlo"]
    claim = CHAPTER.claim("sgd-monte-carlo")
    ev = decide(claim, m)
    for out in (ev.main, ev.control):  # the check and the control both carry an interval
        lo, hi = out.interval
        assert lo <= out.measured <= hi and lo > 1
    for cfg in m["configs"]:
        assert cfg["seeds"] == 32
        for run in cfg["runs"]:
            assert len(run["seed_means"]) == 32
            assert sum(run["seed_means"]) / 32 == pytest.approx(run["mean"], rel=1e-12)


def test_seed_groups_are_independent_streams():
    gens = mcx.seed_generators(5, 3)
    draws = [torch.rand(4, generator=g) for g in gens]
    assert not torch.equal(draws[0], draws[1])
    again = [torch.rand(4, generator=g) for g in mcx.seed_generators(5, 3)]
    assert all(torch.equal(a, b) for a, b in zip(draws, again, strict=True))
    inst = sx.make_instances(4, 8, seed=0)["orthogonal"]
    with pytest.raises(ValueError, match="multiple"):
        mcx.mean_square_runs(inst, 1, 2.0, (0.8,), steps=4, runs=10, seed=0, seeds=3)


def test_trace_check_can_fail(small_measurements):
    def edit(m):
        r = next(r for r in m["rows"] if r["instance"] == "gaussian" and r["B"] == 2)
        r["eta"] = 1.05 * 2 * r["B"] / r["trace_h"]
    assert _doctored(small_measurements, "sgd-trace-bound", edit).verdict == Verdict.VIOLATED


def test_exact_check_can_fail(small_measurements):
    def edit(m):
        m["rows"][0]["eta_bisect"] *= 1.01
    assert _doctored(small_measurements, "sgd-exact-threshold", edit).verdict == Verdict.VIOLATED

    def edit_mono(m):
        m["non_decreasing_in_B"]["gaussian"] = False
    assert _doctored(small_measurements, "sgd-exact-threshold",
                     edit_mono).verdict == Verdict.VIOLATED


def test_monte_carlo_check_can_fail_or_abstain(small_measurements):
    def edit(m):
        m["configs"][0]["runs"][0].update(lo=1.5, hi=2.0, mean=1.7)
    assert _doctored(small_measurements, "sgd-monte-carlo", edit).verdict == Verdict.VIOLATED

    def straddle(m):
        m["configs"][0]["runs"][1].update(lo=0.5, hi=2.0)
    assert _doctored(small_measurements, "sgd-monte-carlo",
                     straddle).verdict == Verdict.INCONCLUSIVE


def test_bernoulli_check_can_fail(small_measurements):
    def edit(m):
        r = next(r for r in m["rows"] if r["instance"] == "coherent" and r["B"] == 2)
        r["eta"] = 2 / r["lam_max"]  # what the catalog expected
    assert _doctored(small_measurements, "sgd-bernoulli-limits", edit).verdict == \
        Verdict.VIOLATED
