"""Tests of the chapter contractive_dynamics (imports the chapter package directly; runs while
it is a draft too)."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
import torch

from boundbook.chapters.contractive_dynamics import claims, derivation, experiment, fields
from boundbook.core.claims import Verdict, decide, mutate
from boundbook.numeric.contraction import log_norm, update_jacobians

FAM = ("ncds", "hessian", "flipped")


def _good() -> dict:
    def per(n, h, f):
        return dict(zip(FAM, (n, h, f), strict=True))

    def counts(n, h, f):
        return per({"1.0": n[0], "2.0": n[1]}, {"1.0": h[0], "2.0": h[1]},
                   {"1.0": f[0], "2.0": f[1]})

    def cis(n, h, f):
        return per({"1.0": n[0], "2.0": n[1]}, {"1.0": h[0], "2.0": h[1]},
                   {"1.0": f[0], "2.0": f[1]})

    return {
        "ncds-symmetric-part": {"eps": 0.1, "sympy_symmetric": True,
                                "max_lognorm_jhat": per(-0.1, -0.14, 8.0)},
        "ncds-equilibrium": {"eps": 0.1, "trajectories": 800, "sympy_equilibrium": True,
                             "eq_ratio_max": per(-0.13, -0.35, 3.0),
                             "eq_violations": counts((0, 300), (0, 0), (800, 800)),
                             "eq_interval": cis(([0, 0.0046], [0.34, 0.41]),
                                                ([0, 0.0046], [0, 0.0046]),
                                                ([0.995, 1], [0.995, 1]))},
        "ncds-pairwise": {"eps": 0.1, "pairs": 400, "pair_rate_min": per(-1.2, 0.17, -6.0),
                          "max_lognorm_true": per(1.8, -0.14, 7.0),
                          "max_separation": per(2.4, 1.0, 150.0),
                          "pair_violations": counts((80, 120), (0, 30), (346, 360)),
                          "pair_interval": cis(([0.16, 0.24], [0.25, 0.35]),
                                               ([0, 0.0092], [0.05, 0.1]),
                                               ([0.83, 0.9], [0.86, 0.93]))},
        "ncds-true-jacobian": {"jac_gap_max": per(8.0, 1e-13, 60.0), "sympy_integrable": True,
                               "sympy_counterexample": True},
    }


EXPECTED = {"ncds-symmetric-part": Verdict.TIGHT, "ncds-equilibrium": Verdict.HOLDS,
            "ncds-pairwise": Verdict.ERRATUM, "ncds-true-jacobian": Verdict.HOLDS}


@pytest.mark.parametrize("claim", claims.CLAIMS, ids=lambda c: c.id)
def test_verdicts_controls_and_mutations(claim) -> None:
    m = _good()[claim.id]
    ev = decide(claim, m)
    assert ev.verdict == EXPECTED[claim.id]
    assert not ev.control.ok
    assert all(r.caught for r in mutate(claim, m))


def test_checks_can_fail() -> None:
    g = _good()
    c = {cl.id: cl for cl in claims.CLAIMS}
    bad = {**g["ncds-pairwise"], "pair_violations": {**g["ncds-pairwise"]["pair_violations"],
                                                     "hessian": {"1.0": 30, "2.0": 60}},
           "pair_interval": {**g["ncds-pairwise"]["pair_interval"],
                             "hessian": {"1.0": [0.05, 0.1], "2.0": [0.1, 0.2]}}}
    assert decide(c["ncds-pairwise"], bad).verdict == Verdict.VIOLATED
    straddle = {**g["ncds-pairwise"], "pair_interval": {
        **g["ncds-pairwise"]["pair_interval"], "hessian": {"1.0": [0.001, 0.02],
                                                           "2.0": [0.1, 0.2]}}}
    assert decide(c["ncds-pairwise"], straddle).verdict == Verdict.INCONCLUSIVE
    bad = {**g["ncds-equilibrium"], "eq_ratio_max": {**g["ncds-equilibrium"]["eq_ratio_max"],
                                                     "ncds": -0.05}}
    assert decide(c["ncds-equilibrium"], bad).verdict == Verdict.VIOLATED
    bad = {**g["ncds-symmetric-part"], "max_lognorm_jhat": {
        **g["ncds-symmetric-part"]["max_lognorm_jhat"], "ncds": -0.09}}
    assert decide(c["ncds-symmetric-part"], bad).verdict == Verdict.VIOLATED
    bad = {**g["ncds-true-jacobian"], "jac_gap_max": {
        **g["ncds-true-jacobian"]["jac_gap_max"], "hessian": 1e-3}}
    assert decide(c["ncds-true-jacobian"], bad).verdict == Verdict.VIOLATED


def test_derivation_exact_facts() -> None:
    flags = derivation.symbolic_flags()
    assert flags["symmetric_part"] and flags["equilibrium"] and flags["integrable"]
    ce = derivation.counterexample()
    eps = derivation.eps
    assert sp.simplify(ce.true_eigs[-1] - (sp.Rational(2, 3) - eps)) == 0
    assert sp.simplify(ce.jhat_eigs[-1] + eps) == 0


def _points(n: int = 64) -> torch.Tensor:
    g = torch.Generator().manual_seed(3)
    return (2 * torch.rand(n, 2, generator=g, dtype=torch.float64) - 1) * 3


def test_hessian_field_is_integrable_and_ncds_is_not() -> None:
    X = _points()
    h, n = fields.draw("hessian", 0, 0.1), fields.draw("ncds", 0, 0.1)
    assert torch.allclose(update_jacobians(h.f, X), h.jhat(X), rtol=1e-9, atol=1e-11)
    assert not torch.allclose(update_jacobians(n.f, X), n.jhat(X), rtol=1e-3, atol=1e-3)


def test_jhat_certificate_and_flip() -> None:
    X = _points()
    assert float(log_norm(fields.draw("ncds", 1, 0.1).jhat(X)).max()) <= -0.1 + 1e-12
    assert float(log_norm(fields.draw("flipped", 1, 0.1).jhat(X)).max()) > -0.1


def test_small_experiment_runs() -> None:
    res = experiment.run([0], 0.1, 3.0, 32, 16, 0.05, 0.05, 20, 0)
    h = res.families["hessian"]
    assert (h.pair_rate >= 0.1 - 1e-3).all() and (h.eq_rate >= 0.1 - 1e-3).all()
    assert (res.families["ncds"].eq_rate >= 0.1 - 1e-3).all()
    assert np.isfinite(res.families["ncds"].lognorm_true).all()
