"""Tests of the chapter kalman_natural_gradient: the checks can fail, the derivation's exact
facts, small experiment runs. Imports the chapter package directly (it runs while a draft)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from boundbook.chapters.kalman_natural_gradient import claims, protocol
from boundbook.core.claims import decide, mutate

C = {c.id: c for c in claims.CLAIMS}


def _ident_m(unit=1e-14, half=0.1, two=0.2, eu=1.0, mc=1.0):
    return {"n": 10, "steps": [0.5, 0.9, 1.0, 1.1, 2.0],
            "natural_max": [half, 0.05, unit, 0.05, two], "euclidean_max": eu,
            "mean_cov_max": mc, "sympy_matches": True}


def test_identity_check_control_and_mutations():
    c = C["kng-kalman-step"]
    ev = decide(c, _ident_m())
    assert ev.main.ok and not ev.control.ok and ev.verdict.value == "holds"
    assert decide(c, _ident_m(unit=1e-9)).verdict.value == "violated"
    assert decide(c, _ident_m(two=1e-14)).verdict.value == "inconclusive"  # no power
    assert decide(c, {**_ident_m(), "sympy_matches": False}).verdict.value == "violated"
    assert all(r.caught for r in mutate(c, _ident_m()))


def _rate_m(noise=0.0):
    betas = [0.25, 0.5, 1.5]
    k = np.arange(1, 6)
    nat = [[list(abs(1 - b) ** k * (1 + noise))] for b in betas]
    code = [[list(abs(1 - b) * np.ones(5))] for b in betas]
    return {"n": 1, "iterations": 5, "betas": betas, "ratios_natural": nat,
            "ratios_nano_code": code, "sympy_matches": True}


def test_rate_check_control_and_mutation():
    c = C["kng-step-contraction"]
    ev = decide(c, _rate_m())
    assert ev.main.ok and not ev.control.ok and ev.verdict.value == "holds"
    assert decide(c, _rate_m(noise=1e-3)).verdict.value == "violated"
    assert all(r.caught for r in mutate(c, _rate_m()))


def test_derivation_exact_facts():
    from boundbook.chapters.kalman_natural_gradient import derivation

    d = derivation.derive()
    assert d.matches
    assert list(d.kalman.beta_roots) == [1]


def test_small_experiment_runs_and_measures_the_contract():
    from boundbook.chapters.kalman_natural_gradient import experiment

    cfg = replace(protocol.settings("quick", 0), instances=12, contraction_instances=3,
                  iterations=6)
    from boundbook.chapters.kalman_natural_gradient import nonlinear

    ident = experiment.run_identity(cfg)
    contr = experiment.run_contraction(cfg)
    small = replace(cfg, nl_instances=40, nl_iterations=10, nl_local_iterations=10)
    pd, local = nonlinear.run_positive_definite(small), nonlinear.run_local(small)
    m = protocol.measurements(ident, contr, True, pd, local)
    for cid, keys in protocol.READS.items():
        assert set(m[cid]) == set(keys)
    assert ident.natural_max[ident.steps.index(1.0)] < 1e-12
    assert min(ident.natural_min[0], ident.natural_min[-1], ident.euclidean_min,
               ident.mean_cov_min) > 1e-4
    for cid in ("kng-kalman-step", "kng-step-contraction", "kng-positive-definite"):
        assert decide(C[cid], m[cid]).verdict.value == "holds"
    assert pd.lost("gauss-newton") == 0 and pd.min_eig["gauss-newton"].min() >= 1 - 1e-12
    assert local.minima > 0 and local.grad_norm_max < 1e-8
    assert protocol.findings([decide(C[c], m[c]) for c in protocol.READS], ident, contr, pd,
                             local)


def _pd_m(lost_gn=0, lost_ex=30, low_gn=1.2, low_ex=-5.0):
    return {"n": 100, "iterations": 30, "sympy_matches": True, "lost_exact": lost_ex,
            "lost_gauss-newton": lost_gn, "min_eig_exact": low_ex, "min_eig_gauss-newton": low_gn}


def test_pd_check_control_and_mutation():
    c = C["kng-positive-definite"]
    ev = decide(c, _pd_m())
    assert ev.main.ok and not ev.control.ok and ev.verdict.value == "holds"
    assert ev.main.interval is not None and ev.control.interval is not None
    assert decide(c, _pd_m(lost_gn=1, low_gn=-0.1)).verdict.value == "violated"
    assert decide(c, _pd_m(lost_ex=0, low_ex=0.5)).verdict.value == "inconclusive"
    assert all(r.caught for r in mutate(c, _pd_m()))


def _local_m(unit=(0.5, 0.9, 1.2), half=(0.5, 0.9, 0.95), reach=0):
    return {"steps": [1.0, 0.5, 0.1], "radius": [list(unit), list(half), [0.95] * 3],
            "iterations": 60, "perturbation": 0.1, "contracting": [2, 1], "converged": [2, 0],
            "gn_n": 3, "gn_reach": reach, "gn_median": 0.3, "sympy_matches": True}


def test_local_check_control_and_mutation():
    c = C["kng-local-convergence"]
    ev = decide(c, _local_m())
    assert not ev.main.ok and not ev.control.ok and ev.verdict.value == "violated"
    assert ev.main.measured == 2 / 3
    assert decide(c, _local_m(unit=(0.5, 0.9, 0.99))).verdict.value == "holds"
    assert decide(c, _local_m(unit=(0.5, 0.9, 0.99), reach=3)).verdict.value == "inconclusive"
    assert all(r.caught for r in mutate(c, _local_m()))


def test_quartic_closed_forms_against_quadrature():
    """The closed-form Gaussian expectations of the squared-range loss against a tensor
    Gauss-Hermite rule (exact for polynomials of this degree), and the sympy facts."""
    import torch

    from boundbook.chapters.kalman_natural_gradient import derivation, nonlinear

    assert derivation.quartic_moments().matches
    z, w = np.polynomial.hermite_e.hermegauss(6)
    w = w / w.sum()
    Z = np.stack(np.meshgrid(z, z, indexing="ij"), -1).reshape(-1, 2)
    W = np.outer(w, w).reshape(-1)
    rng = np.random.default_rng(3)
    for _ in range(5):
        m, A, y, R = rng.normal(size=2), rng.normal(size=(2, 2)), rng.uniform(0, 5), 0.3
        P = A @ A.T + 0.1 * np.eye(2)
        X = m + Z @ np.linalg.cholesky(P).T
        r = (X**2).sum(1) - y
        El = W @ (r**2) / (2 * R)
        g = (W[:, None] * (2 * r / R)[:, None] * X).sum(0)
        H = np.einsum("k,kij->ij", W, 4 * X[:, :, None] * X[:, None, :]
                      + 2 * r[:, None, None] * np.eye(2)) / R
        t = lambda a: torch.as_tensor(a, dtype=torch.float64)  # noqa: E731
        got_g, got_h, gn = nonlinear.expected_derivatives(t(m), t(P), t(y), R)
        assert float(nonlinear.expected_loss(t(m), t(P), t(y), R)) == pytest.approx(El,
                                                                                    rel=1e-10)
        assert np.allclose(got_g.numpy(), g, rtol=1e-10)
        assert np.allclose(got_h.numpy(), H, rtol=1e-10)
        assert np.allclose(gn.numpy(), 4 * (P + np.outer(m, m)) / R)


def test_exact_fixed_points_are_stationary_points_of_j():
    import torch
    from torch.func import grad, vmap

    from boundbook.chapters.kalman_natural_gradient import nonlinear as N

    m0, P0, y = N.range_instances(20, 1, 0.1)
    ms, Ls, resid, gnorm, hmin = N.stationary_gaussian(m0, P0, y, 0.1, 100, 30)
    ok = resid < 1e-10
    assert ok.sum() >= 15
    assert float(gnorm[ok].max()) < 1e-8
    # the Gauss-Newton fixed point is not stationary for J (where s != 0)
    Lam0 = torch.linalg.inv(P0)
    m, Lam = m0.clone(), Lam0.clone()
    for _ in range(200):
        m, Lam = N.nano_step(m, Lam, m0, Lam0, y, 0.1, "gauss-newton")
    L = torch.linalg.cholesky(torch.linalg.inv(Lam))
    theta = torch.cat([m, torch.log(L[:, 0, 0:1]), L[:, 1, 0:1], torch.log(L[:, 1, 1:2])], 1)
    g = vmap(grad(N._j_theta), in_dims=(0, 0, 0, 0, None))(theta, m0, P0, y, 0.1)
    assert float(torch.linalg.vector_norm(g, dim=-1).max()) > 1e-3
