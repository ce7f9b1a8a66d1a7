"""The vmapped step-size sweep: divergence as data, thresholds against closed forms."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from boundbook.numeric.sweep import (
    divergence_threshold,
    ema_momentum_step,
    gd_step,
    heavy_ball_step,
    momentum_loss,
    momentum_state,
    sam_step,
    step_size_sweep,
)
from boundbook.symbolic.quadratic import (
    critical_step,
    ema_momentum_edge,
    heavy_ball_edge,
    sam_edge,
)


def quadratic(lams):
    lam = torch.tensor(lams, dtype=torch.float64)
    return lam, (lambda x: 0.5 * (lam * x * x).sum())


def test_gd_sweep_diverges_exactly_above_two_over_lambda():
    lam, loss = quadratic([0.5, 2.0, 4.0])
    x0 = torch.ones(3, dtype=torch.float64)
    etas = np.linspace(0.05, 1.0, 64)
    res = step_size_sweep(gd_step(loss), loss, x0, etas, 400)
    expected = etas > critical_step(4.0) * 1.02  # 2% margin: growth (1+2e)^400 > 1e6
    assert res.diverged.shape == (1, 64)
    assert np.array_equal(res.diverged[0][etas < 0.5], np.zeros((etas < 0.5).sum(), bool))
    assert res.diverged[0][expected].all()
    assert np.isfinite(res.losses).all() and np.isfinite(res.final_loss).all()
    div_at = res.diverged_at[0]
    assert (div_at[res.diverged[0]] > 0).all() and (div_at[~res.diverged[0]] == -1).all()
    # larger steps diverge sooner
    d = div_at[res.diverged[0]]
    assert (np.diff(d) <= 0).all()


def test_sweep_batches_starts_and_records_curves():
    lam, loss = quadratic([1.0, 3.0])
    starts = torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    res = step_size_sweep(gd_step(loss), loss, starts, [0.5, 0.8], 50, record_every=10)
    assert res.diverged.shape == (2, 2) and res.losses.shape == (6, 2, 2)
    assert list(res.recorded_steps) == [0, 10, 20, 30, 40, 50]
    # start along lambda=1 never diverges at eta<2; along lambda=3 it does at 0.8 > 2/3
    assert not res.diverged[0].any() and res.diverged[1].tolist() == [False, True]
    np.testing.assert_allclose(res.losses[1, 0, 0], 0.5 * (1 - 0.5) ** 20, rtol=1e-12)


@pytest.mark.parametrize("criterion", ["diverged", "grew"])
def test_threshold_brackets_the_gd_edge(criterion):
    lam, loss = quadratic(list(np.linspace(0.1, 5.0, 20)))
    x0 = torch.ones(20, dtype=torch.float64)
    th = divergence_threshold(gd_step(loss), loss, x0, 0.05, 1.0, steps=2000,
                              criterion=criterion)
    assert th.found and th.last_stable < th.first_diverged
    assert abs(th.estimate / critical_step(5.0) - 1) < 0.01


def test_threshold_reports_not_found():
    lam, loss = quadratic([1.0])
    th = divergence_threshold(gd_step(loss), loss, torch.ones(1, dtype=torch.float64),
                              0.1, 1.5, steps=100)
    assert not th.found and np.isnan(th.estimate)


def test_momentum_and_sam_edges_match_the_symbolic_ones():
    lam, loss = quadratic([1.0])
    x0 = torch.ones(1, dtype=torch.float64)
    st, ml = momentum_state(x0), momentum_loss(loss)
    for step, edge in [(ema_momentum_step(loss, 0.9), ema_momentum_edge(1.0, 0.9)),
                       (heavy_ball_step(loss, 0.5), heavy_ball_edge(1.0, 0.5))]:
        # curvature 1, step eta: the edge in eta is the edge curvature at eta = 1
        th = divergence_threshold(step, ml, st, 0.1 * edge, 3 * edge, steps=3000,
                                  criterion="grew")
        assert abs(th.estimate / edge - 1) < 0.01
    # SAM with rho: edge in eta for curvature 1 solves eta (1 + rho) = 2
    th = divergence_threshold(sam_step(loss, 0.25), loss, x0, 0.1, 3.0, steps=2000,
                              criterion="grew")
    assert abs(th.estimate / (2 / 1.25) - 1) < 0.01
    assert abs(sam_edge(2 / 1.25, 0.25) - 1.0) < 1e-12


def test_frozen_preconditioner_divides_the_update():
    lam, loss = quadratic([4.0])
    st = momentum_state(torch.ones(1, dtype=torch.float64))
    plain = ema_momentum_step(loss, 0.0)(st, torch.tensor(0.1, dtype=torch.float64))
    pre = ema_momentum_step(loss, 0.0, torch.tensor([2.0], dtype=torch.float64))(
        st, torch.tensor(0.1, dtype=torch.float64))
    assert abs((1 - plain[0]) / (1 - pre[0]) - 2) < 1e-12


def test_normalised_sam_uses_unit_ascent():
    lam, loss = quadratic([2.0])
    x = torch.tensor([3.0], dtype=torch.float64)
    out = sam_step(loss, 0.5, normalised=True)(x, torch.tensor(0.1, dtype=torch.float64))
    assert abs(float(out[0]) - (3.0 - 0.1 * 2.0 * (3.0 + 0.5))) < 1e-12
