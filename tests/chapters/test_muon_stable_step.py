"""Muon on matrix least squares: sympy derivation, thresholds, and the chapter's checks."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from boundbook.chapters.muon_stable_step import experiment as mx
from boundbook.chapters.muon_stable_step import protocol
from boundbook.chapters.muon_stable_step.claims import (
    CHAPTER,
    check_bounded,
    check_descent,
    check_scaling,
    control_bounded,
    control_scaling,
    fit_exponents,
)
from boundbook.chapters.muon_stable_step.derivation import (
    descent_step_bound,
    muon_ceiling,
    one_step_expansion,
    orthogonal_step_2x2,
)
from boundbook.core.claims import Verdict, decide
from boundbook.numeric.threads import single_thread

CFG = protocol.settings("quick", 0)


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny batched problems: thread hand-offs on a shared CPU cost more than they save."""
    with single_thread():
        yield


def test_expansion_and_2x2_family_are_exact():
    assert one_step_expansion().matches
    o = orthogonal_step_2x2()
    assert o.matches and o.equality_gap == 0


def test_lambdified_formulas():
    assert math.isclose(descent_step_bound(6.0, 3, 4.0), 1.0)
    assert math.isclose(muon_ceiling(1.0, 2, 4.0, 1.0), 4 * 16 / 8 + 2 * 4 / 2)


def test_polar_factor_and_controlled_spectrum():
    sigma = [5.0, 1.0, 0.01]
    probs = mx.controlled(CFG, [sigma], isotropic=False, seed=3)
    G = probs.grad()
    S = torch.linalg.svdvals(G)[0]
    assert torch.allclose(S[:3], torch.tensor(sigma, dtype=torch.float64), rtol=1e-9)
    assert float(S[3]) < 1e-10
    P, _ = mx.polar(G)
    assert torch.allclose(torch.linalg.svdvals(P)[0][:3], torch.ones(3, dtype=torch.float64))
    assert math.isclose(float((G * P).sum()), sum(sigma), rel_tol=1e-12)


def test_descent_threshold_matches_closed_form():
    probs = mx.generic(CFG, 3, seed=1)
    G = probs.grad()
    P, S = mx.polar(G)
    measured = mx.descent_threshold(probs, P)
    closed = 2 * S.sum(-1) / ((probs.X @ P) ** 2).sum(dim=(-2, -1))
    assert np.allclose(measured, closed.numpy(), rtol=1e-10)


def test_newton_schulz_threshold_matches_general_formula():
    """eta_1 = 2 <G, O> / ||X O||_F^2 for the Newton-Schulz update (not ||G||_*-linear)."""
    probs = mx.controlled(CFG, [[5.0, 1.0, 1e-3, 1e-3]], isotropic=True, seed=8)
    G = probs.grad()
    ns = mx.newton_schulz(G)
    measured = mx.descent_threshold(probs, ns)
    closed = 2 * (G * ns).sum(dim=(-2, -1)) / ((probs.X @ ns) ** 2).sum(dim=(-2, -1))
    assert np.allclose(measured, closed.numpy(), rtol=1e-10)
    polar = mx.descent_threshold(probs, mx.polar(G)[0])
    assert not np.allclose(measured, polar, rtol=1e-3)


def test_equality_case_is_exact_and_anisotropic_has_slack():
    spectra = mx.random_spectra(CFG, 4, seed=2)
    for iso in (True, False):
        table = mx.descent_table(mx.controlled(CFG, spectra, isotropic=iso, seed=5))
        ratio = table.muon / table.bound()
        if iso:
            assert np.allclose(ratio, 1.0, rtol=1e-9)
        else:
            assert (ratio >= 1 - 1e-9).all()


def test_newton_schulz_is_approximately_orthogonal():
    G = mx.generic(CFG, 2, seed=4).grad()
    s = torch.linalg.svdvals(mx.newton_schulz(G))
    assert float(s.min()) > 0.5 and float(s.max()) < 1.3


def test_gd_threshold_on_isotropic_curvature():
    probs = mx.controlled(CFG, [[1.0, 0.5]] * 2, isotropic=True, seed=6)
    th = mx.gd_thresholds(probs, steps=100, rounds=3, grid=8)
    edge = 2 / CFG.lambda_max
    assert (th.last_stable <= edge + 1e-12).all() and (th.first_grew >= edge * 0.999).all()
    assert np.allclose(th.estimate, edge, rtol=0.01)


def test_muon_run_stays_under_its_ceiling():
    probs = mx.generic(CFG, 1, seed=7)
    lmax, lmin = probs.curvature_range()
    eta = 10 * 2 / float(lmax[0])
    curve = mx.muon_run(probs, 0, [eta], 50)[:, 0] - float(probs.min_loss()[0])
    ceiling = muon_ceiling(eta, min(CFG.n, CFG.m), float(lmax[0]), float(lmin[0]))
    assert curve.max() <= max(curve[0], ceiling)


def _descent_m(thresholds, kinds):
    return {"sympy": {"expansion": True, "orthogonal_2x2": True}, "kind": kinds,
            "rank": [2] * len(kinds), "p": 4, "nuclear": [3.0] * len(kinds),
            "lambda_max": [3.0] * len(kinds), "lambda_mean": [2.0] * len(kinds),
            "threshold": thresholds}


def test_checks_can_fail():
    k = {"two": 2.0, "average": "rank", "curvature": "max"}
    ok = _descent_m([1.0, 1.5], ["isotropic", "anisotropic"])  # normalised 2.0 and 3.0
    out = check_descent(ok, k)
    # slack over the instance not constructed for equality; the equality case apart
    assert out.ok and math.isclose(out.slack, 0.5) and math.isclose(out.equality, 0.0,
                                                                       abs_tol=1e-15)
    assert not check_descent(_descent_m([0.9, 1.5], ["isotropic", "anisotropic"]), k).ok
    assert check_descent(ok, {**k, "average": "min"}).equality > 0.9  # 2r/p != 2
    sb = np.logspace(-1, 1, 6)
    s1 = np.array([1.0, 5.0, 0.3, 2.0, 8.0, 0.5])
    narrow = {"anisotropic": {"a": [0.95, 1.05], "b": [-0.05, 0.05]}}
    m = {"kind": ["anisotropic"] * 6, "sigma_bar": sb, "sigma1": s1, "muon": 2 * sb / 4,
         "gd": [0.5] * 6, "exponent_interval": narrow}
    k = {"a": 1.0, "b": 0.0, "kind": "anisotropic"}
    out = check_scaling(m, k)
    assert out.ok and not out.undecided and math.isclose(out.slack, 0.0, abs_tol=1e-12)
    assert not control_scaling(m, k).ok  # a -+ 0.3 rejected
    assert not check_scaling({**m, "muon": 2 * s1 / 4}, k).ok
    wide = {"anisotropic": {"a": [0.7, 1.3], "b": [-0.05, 0.05]}}
    assert check_scaling({**m, "exponent_interval": wide}, k).undecided  # crosses the band
    b = {"multiples": [0.9, 1.1], "gd_diverged": [[False], [True]], "gd_diverged_at": [[-1], [40]],
         "muon_max_ratio": [[1.0], [1.2]], "ceiling_over_d0": [[0.5], [2.0]],
         "gd_max_ratio": [[1.0], [1e6]], "blowup": 1e6}
    k = {"multiples": (1.1,), "ceiling": 1.0}
    out = check_bounded(b, k)
    assert out.ok and math.isclose(out.measured, 0.6)  # 1.2 / max(1, 2.0)
    assert math.isclose(out.slack, 0.4)
    assert not check_bounded(b, {**k, "multiples": (0.9,)}).ok  # GD did not diverge
    assert not check_bounded({**b, "muon_max_ratio": [[1.0], [2.5]]}, k).ok  # above B
    assert not check_bounded(b, {**k, "ceiling": 0.5}).ok  # 1.2 > max(1, 1.0)
    # the control (Delta_0 alone) fails when Muon rose above Delta_0, passes when it did not,
    # independently of GD
    assert not control_bounded(b, k).ok
    assert control_bounded({**b, "muon_max_ratio": [[1.0], [1.0]]}, k).ok


def test_descent_claim_verdict_and_mutations():
    claim = CHAPTER.claim("muon-descent-step")
    m = _descent_m([1.0, 1.5], ["isotropic", "anisotropic"])
    ev = decide(claim, m)  # the equality case alone does not make the bound tight
    assert ev.verdict is Verdict.HOLDS and not ev.control.ok
    near = _descent_m([1.0, 1.05], ["isotropic", "anisotropic"])  # 5% over: tight
    assert decide(claim, near).verdict is Verdict.TIGHT
    for mut in claim.mutations[:2]:
        assert decide(claim, near, mut.apply(claim.constants)).verdict is not Verdict.TIGHT


def test_fit_exponents_recovers_known_exponents():
    """The one fit (claims.fit_exponents) on exact power laws; other kinds are ignored."""
    rng = np.random.default_rng(0)
    sb, s1 = 10 ** rng.uniform(-2, 1, 8), 10 ** rng.uniform(-1, 1, 8)
    gd = 10 ** rng.uniform(-1, 0, 8)
    muon = 3.0 * gd * sb**0.7 * s1**0.2
    kinds = ["anisotropic"] * 6 + ["isotropic"] * 2
    muon[6:] = 1.0  # off the power law, but of another kind
    a, b, n = fit_exponents(muon, gd, sb, s1, kinds, "anisotropic")
    assert n == 6 and math.isclose(a, 0.7, abs_tol=1e-12) and math.isclose(b, 0.2, abs_tol=1e-12)


def test_polar_scaling_fit_is_one_zero_by_construction():
    res = mx.ScalingResult(family=("spike",) * 5, kind=("anisotropic",) * 5,
                           sigma_bar=np.array([0.1, 0.5, 1.0, 2.0, 4.0]),
                           sigma1=np.array([1.0, 0.3, 2.0, 5.0, 4.5]),
                           muon=np.ones(5), muon_polar=2 * np.array([0.1, 0.5, 1.0, 2.0, 4.0]),
                           gd=np.full(5, 0.5), gd_width=np.zeros(5))
    a, b = protocol.scaling_fit(res, "anisotropic", polar=True)
    assert math.isclose(a, 1.0, abs_tol=1e-12) and math.isclose(b, 0.0, abs_tol=1e-12)
