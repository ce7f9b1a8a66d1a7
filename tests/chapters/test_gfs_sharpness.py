"""Scalar networks: the sympy identities, the GFS root-find, GD, and the chapter's checks."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch.func import grad, hessian, vmap

from boundbook.chapters.gfs_sharpness import experiment as gx
from boundbook.chapters.gfs_sharpness.claims import (
    CHAPTER,
    check_edge,
    check_identity,
    check_monotone,
    control_monotone,
)
from boundbook.chapters.gfs_sharpness.derivation import (
    gfs_depth2,
    hessian_at_minimum,
    pair_identity,
)
from boundbook.core.claims import Verdict, decide
from boundbook.numeric.threads import single_thread


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny batched problems: thread hand-offs on a shared CPU cost more than they save."""
    with single_thread():
        yield


@pytest.mark.parametrize("depth", [2, 3])
def test_pair_identity_is_exact(depth):
    p = pair_identity(depth)
    assert p.matches and p.generic_matches


def test_depth2_gfs_and_hessian():
    g = gfs_depth2()
    assert g.matches and g.flow_dc == 0
    assert hessian_at_minimum(2)[2]


def test_gfs_sharpness_depth2_closed_form():
    w = torch.tensor([[3.0, 0.1], [0.5, 2.0], [1.2, -0.3], [1.0, 1.0]], dtype=torch.float64)
    c = w[:, 0] ** 2 - w[:, 1] ** 2
    assert torch.allclose(gx.gfs_sharpness(w), torch.sqrt(c**2 + 4), rtol=1e-13)


def test_gfs_point_is_a_minimum_with_that_hessian():
    w = torch.tensor([[1.7, 1.4, 1.0, 0.4], [2.0, 1.5, 1.2, 0.1]], dtype=torch.float64)
    x = gx.gfs_point(w)
    assert torch.allclose(x.prod(-1), torch.ones(2, dtype=torch.float64), rtol=1e-13)
    # same balances as w
    assert torch.allclose(x - x[:, -1:], w**2 - (w**2)[:, -1:], rtol=1e-12, atol=1e-12)
    top = torch.linalg.eigvalsh(vmap(hessian(gx.loss))(torch.sqrt(x)))[:, -1]
    assert torch.allclose(top, gx.gfs_sharpness(w), rtol=1e-12)


def test_initial_weights_hit_their_targets():
    w = gx.initial_weights(4, [4.0, 8.0, 20.0], [0.5, 0.01, -0.5])
    assert torch.allclose(gx.gfs_sharpness(w), torch.tensor([4.0, 8.0, 20.0],
                                                            dtype=torch.float64), rtol=1e-9)
    assert torch.allclose(w.prod(-1), torch.tensor([1.5, 1.01, 0.5], dtype=torch.float64))
    with pytest.raises(ValueError):
        gx.initial_weights(4, [3.0], [0.0])  # below the minimum GFS sharpness 4


def test_gd_step_matches_autograd_and_vmap():
    w = torch.tensor([[1.3, -0.7, 2.0], [0.0, 1.5, 0.8]], dtype=torch.float64)
    eta = torch.tensor([0.25, 0.1], dtype=torch.float64)
    ref = torch.stack([w[i] - eta[i] * grad(gx.loss)(w[i]) for i in range(2)])
    assert torch.allclose(gx.gd_steps(w, eta), ref, rtol=1e-14)
    assert torch.allclose(vmap(gx.gd_step)(w, eta), ref, rtol=1e-14)


def test_gradient_flow_keeps_the_gfs_sharpness():
    """Over a fixed flow time the GFS sharpness drifts by O(eta): GD -> gradient flow."""
    w0 = gx.initial_weights(3, [9.0], [0.3])
    s0 = float(gx.gfs_sharpness(w0)[0])
    drift = []
    for eta, steps in ((1e-3, 200), (1e-4, 2000)):
        w = w0.clone()
        for _ in range(steps):
            w = gx.gd_steps(w, torch.tensor([eta], dtype=torch.float64))
        drift.append(s0 - float(gx.gfs_sharpness(w)[0]))
    assert drift[0] > 0 and drift[1] > 0
    assert 8 < drift[0] / drift[1] < 12


def test_runs_freeze_divergence_and_tabulate_steps():
    w0 = gx.initial_weights(2, [6.0, 20.0], [0.01, 0.5])
    runs = gx.run_gd(w0, 0.25, 300)
    assert runs.diverged_at[0] == -1 and runs.diverged_at[1] > 0
    assert np.isfinite(runs.w).all() and np.isfinite(runs.sharp).all()
    table = gx.step_table(runs)
    assert table.identity_error.max() < 1e-12
    # depth 2: the GFS sharpness rises exactly where eta|r| > sqrt(2)
    rise = table.rel_increase > 1e-9
    assert np.array_equal(rise, table.eta_r > math.sqrt(2))
    summary = gx.monotone_summary(table)
    assert summary["increasing_steps"]["1.0"] == 0 and summary["outside"]["increasing_steps"] > 0
    per_run = gx.run_monotonicity([runs])["runs"]
    assert per_run[0]["rising_steps"] == 0 and per_run[1]["rising_steps"] > 0
    assert per_run[1]["diverged"] and per_run[0]["max_change"] <= 1e-9


def _identity_m(rows):
    return {"sympy": {"2": True}, "sympy_generic": True, "gfs_formula": True,
            "hessian_formula": {"2": True}, "rows": rows, "max_error_all_steps": 1e-16}


def test_checks_can_fail():
    good = [[2.0, 2.0 * (1 - 0.3), 0.3, 5.0]]
    assert check_identity(_identity_m(good), {"coef": 1.0}).ok
    assert not check_identity(_identity_m([[2.0, 2.0 * (1 - 0.33), 0.3, 5.0]]),
                              {"coef": 1.0}).ok
    def run(group, change, depth=4, eta_r0=0.0025):
        return {"group": group, "depth": depth, "eta_r0": eta_r0, "steps": 10,
                "max_change": change, "rising_steps": int(change > 1e-9), "first_rise": -1}

    mono = {"runs": [run("edge", -1e-3), run("edge", 1e-3), run("breakdown", 2.0, 2, 1.45)],
            "saddle_steps": 0, "nonfinite_steps": 0}
    k = {"factor": 1.0, "runs": "edge"}
    assert not check_monotone(mono, k).ok  # one edge run rose
    good = {**mono, "runs": [run("edge", -1e-3), run("edge", 0.0), run("main", 5.0),
                             run("breakdown", 2.0, 2, 1.45)]}
    out = check_monotone(good, k)
    assert out.ok and out.slack is None  # no scale for a margin: never "tight"
    assert not check_monotone(good, {**k, "runs": "main"}).ok
    assert not control_monotone(good, k).ok  # the run just past eta|r0| = sqrt 2 rose
    assert control_monotone({**good, "runs": good["runs"][:3]}, k).ok is False  # none: no data
    edge = {"eta": 0.25, "converged": [True, True], "final_sharpness": [7.95, 7.5]}
    assert not check_edge(edge, {"two": 2.0, "band": 0.02}).ok
    assert not check_edge({**edge, "final_sharpness": [7.95, 7.9], "converged": [True, False]},
                          {"two": 2.0, "band": 0.02}).ok
    assert check_edge({**edge, "final_sharpness": [7.95, 7.9]}, {"two": 2.0, "band": 0.02}).ok


def test_edge_claim_verdicts_and_control():
    claim = CHAPTER.claim("gfs-converges-to-edge")
    m = {"eta": 0.25, "converged": [True] * 3, "final_sharpness": [7.99, 7.95, 7.92]}
    ev = decide(claim, m)  # a threshold: holds, with its offset as slack, never tight
    assert ev.verdict is Verdict.HOLDS and not ev.control.ok
    assert math.isclose(ev.main.slack, 7.92 / 8 - 1)
    assert decide(claim, {**m, "final_sharpness": [7.99, 7.5, 7.92]}).verdict \
        is Verdict.VIOLATED


def test_residual_blowup_freezes_a_run_and_settings_come_from_the_protocol():
    from boundbook.chapters.gfs_sharpness import protocol

    cfg = protocol.settings("quick", 0)
    assert cfg.eta == 0.25 and cfg.depths == (2, 4)
    w0 = gx.initial_weights(2, [20.0], [0.5])
    runs = gx.run_gd(w0, 0.5, 200)  # twice the chapter's step from a sharp start: blows up
    at = int(runs.diverged_at[0])
    assert at > 0 and np.isfinite(runs.w).all()
    r = np.prod(runs.w, axis=-1)[:, 0] - 1.0
    assert np.abs(r[:at]).max() <= gx.RESIDUAL_BLOWUP  # frozen at the last step within bound
