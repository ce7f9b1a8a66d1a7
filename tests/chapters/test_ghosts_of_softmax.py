"""Fast tests of the ghosts_of_softmax chapter: its experiments and plots (tiny settings), its
protocol (measurements, bootstrap intervals) and its claims' import discipline."""

from __future__ import annotations

import json
import math
from pathlib import Path

import matplotlib
import numpy as np
import pytest
import torch
from torch import nn

matplotlib.use("Agg")

from boundbook.chapters.ghosts_of_softmax import experiment as gs  # noqa: E402
from boundbook.problems.data import Split, load_digits_split  # noqa: E402

R_GRID = np.logspace(-4, np.log10(30), 25)
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def split() -> Split:
    return load_digits_split()


@pytest.fixture(scope="module")
def model(split: Split) -> nn.Module:
    return gs.train_classifier(split)


@pytest.fixture(scope="module")
def sweep(model: nn.Module, split: Split) -> gs.SweepResult:
    return gs.one_step_sweep(model, split, R_GRID, n_random=3, seed=0)


@pytest.fixture(scope="module")
def spike(split: Split) -> gs.SpikeResult:
    return gs.spike_test(split, base_lrs=(1e-2,), seeds=(0,), steps=30, spike_step=10)


CKPT = dict(stages=(0.5, 0.8, 1.01), r_grid=np.logspace(-2, 1.5, 10), n_random=2,
            eval_size=64, max_steps=40)
ARCH = dict(multipliers=(10, 10000), seeds=(0, 1), steps=30, spike_step=10,
            hidden=(16, 16, 16))


@pytest.fixture(scope="module")
def ckpt(split: Split) -> gs.CheckpointSweepResult:
    return gs.checkpoint_sweep(split, seed=0, **CKPT)


@pytest.fixture(scope="module")
def arch(split: Split) -> gs.ArchgridResult:
    return gs.archgrid_spike_test(split, **ARCH)


def test_first_crossing() -> None:
    grid = np.array([0.1, 1.0, 10.0])
    assert gs.first_crossing(grid, np.array([1.0, 1.2, 3.0]), 1.1) == 1.0
    assert gs.first_crossing(grid, np.array([1.0, 1.0, 1.0]), 1.1) == math.inf
    assert gs.first_crossing(grid, np.array([1.0, np.nan, 1.0]), 1.1) == 1.0


def test_batch_schedule_deterministic() -> None:
    a = gs.batch_schedule(100, 32, 10, seed=0)
    b = gs.batch_schedule(100, 32, 10, seed=0)
    c = gs.batch_schedule(100, 32, 10, seed=1)
    assert a.shape == (10, 32) and (a == b).all() and not (a == c).all()
    # one epoch = 3 disjoint batches
    assert len(set(a[:3].flatten().tolist())) == 96
    assert gs.batch_schedule(100, None, 10, seed=0) is None


def test_train_classifier_accuracy(model: nn.Module, split: Split) -> None:
    assert not model.training
    ev = gs.evaluate(model, split)
    assert ev["test_accuracy"] > 0.90


def test_sweep_shapes(sweep: gs.SweepResult) -> None:
    n_dir, n_r = 4, R_GRID.size
    assert sweep.labels == ["gradient", "random 1", "random 2", "random 3"]
    assert sweep.loss_ratio.shape == (n_dir, n_r)
    assert sweep.accuracy.shape == sweep.flip_fraction.shape == sweep.tau.shape == (n_dir, n_r)
    assert sweep.rho_a.shape == sweep.onset.shape == (n_dir,)
    assert np.all(sweep.rho_a > 0) and np.all(np.isfinite(sweep.rho_a))
    np.testing.assert_allclose(sweep.tau, sweep.rho_a[:, None] * R_GRID)
    np.testing.assert_allclose(sweep.max_spread * sweep.rho_a, math.pi)
    assert sweep.base_loss > 0


def test_sweep_small_r_is_neutral(sweep: gs.SweepResult) -> None:
    np.testing.assert_allclose(sweep.loss_ratio[:, 0], 1.0, atol=1e-3)
    assert np.all(sweep.flip_fraction[:, 0] == 0.0)
    # the gradient direction decreases the loss for a small step
    assert sweep.loss_ratio[0, 5] < 1.0
    # every onset is a grid point (or inf), and the ratio there reaches the threshold
    for i, r in enumerate(sweep.onset):
        if np.isfinite(r):
            j = int(np.flatnonzero(R_GRID == r)[0])
            assert sweep.loss_ratio[i, j] >= sweep.threshold
            assert np.all(sweep.loss_ratio[i, :j] < sweep.threshold)


def test_sweep_reproducible(model: nn.Module, split: Split, sweep: gs.SweepResult) -> None:
    again = gs.one_step_sweep(model, split, R_GRID, n_random=3, seed=0)
    assert np.array_equal(again.loss_ratio, sweep.loss_ratio)
    assert np.array_equal(again.rho_a, sweep.rho_a)
    other = gs.one_step_sweep(model, split, R_GRID, n_random=3, seed=1)
    assert other.rho_a[0] == sweep.rho_a[0]  # same gradient direction
    assert not np.array_equal(other.rho_a[1:], sweep.rho_a[1:])


def test_sweep_to_dict_is_json(sweep: gs.SweepResult) -> None:
    d = sweep.to_dict()
    assert isinstance(d["loss_ratio"], list) and isinstance(d["base_loss"], float)
    json.dumps(d, allow_nan=False)


def test_spike_radius_controller_respects_radius(spike: gs.SpikeResult) -> None:
    i = spike.methods.index("radius")
    r = spike.trace_r[i, 0]
    assert np.isfinite(r).all()  # rho_a is computed at every step of the controller
    assert np.all(r <= 1.0 + 1e-6)
    tau, rho = spike.trace_tau[i, 0], spike.trace_rho_a[i, 0]
    assert np.all(tau <= rho * (1.0 + 1e-6))
    # after the spike the controller is active: the proposal exceeds the radius
    assert np.nanmax(spike.trace_r_proposed[i, 0, 10:]) > 1.0
    assert spike.max_r[i, 0, 0] <= 1.0 + 1e-6
    assert not spike.divergent[i, 0, 0]


def test_spike_shapes_and_flags(spike: gs.SpikeResult) -> None:
    shape = (3, 1, 1)
    for name in ("final_train_loss", "final_test_acc", "diverged", "divergence_step",
                 "divergent", "max_r"):
        assert getattr(spike, name).shape == shape
    assert spike.trace_r.shape == (3, 1, 30)
    # rho_a is traced every trace_every=5 steps for plain Adam, every step for the controller
    adam = spike.methods.index("adam")
    assert np.array_equal(np.flatnonzero(np.isfinite(spike.trace_rho_a[adam, 0])),
                          np.arange(0, 30, 5))
    assert np.all((spike.divergence_step >= 0) == spike.diverged)
    assert len(spike.table()) == 3
    json.dumps(spike.to_dict(), allow_nan=False)


def test_spike_reproducible(split: Split, spike: gs.SpikeResult) -> None:
    again = gs.spike_test(split, base_lrs=(1e-2,), seeds=(0,), steps=30, spike_step=10,
                          methods=("radius",))
    assert np.array_equal(again.final_train_loss[0], spike.final_train_loss[2])
    assert np.array_equal(again.trace_r[0], spike.trace_r[2], equal_nan=True)


def test_spike_nonfinite_recorded_not_raised(split: Split) -> None:
    # a 1e30 x LR spike sends plain Adam's parameters to ~1e27, logits overflow -> NaN loss
    res = gs.spike_test(split, base_lrs=(1e-3,), multiplier=1e30, seeds=(0,), steps=30,
                        spike_step=10, methods=("adam",))
    assert res.diverged[0, 0, 0]
    k = int(res.divergence_step[0, 0, 0])
    assert 10 <= k < 30
    assert res.final_train_loss[0, 0, 0] == math.inf
    assert res.divergent[0, 0, 0]
    assert np.isnan(res.trace_loss[0, 0, k + 1:]).all()


def test_temperature_study_small(split: Split) -> None:
    res = gs.temperature_study(split, temperatures=(0.5, 2.0), seeds=(0,), steps=30, n_tau=30)
    assert res.tau_onset.shape == res.r_onset.shape == res.rho_T.shape == (2, 1)
    assert np.isfinite(res.tau_onset).all() and np.isfinite(res.r_onset).all()
    np.testing.assert_allclose(res.rho_T, math.pi * res.temperatures[:, None] / res.delta_a)
    np.testing.assert_allclose(res.r_onset, res.tau_onset / res.rho_T)
    assert res.tau_grid.shape == res.loss_ratio.shape == (2, 1, 30)
    assert res.n_finite == 2 and math.isfinite(res.std_log10_r)
    np.testing.assert_allclose(res.ratio_log, res.std_log10_tau / res.std_log10_r)
    json.dumps(res.to_dict())


def test_sweep_eval_subset_equals_subset_split(model: nn.Module, split: Split) -> None:
    idx = np.sort(np.random.default_rng(0).choice(len(split.y_train), 100, replace=False))
    sub = Split(split.x_train[idx], split.y_train[idx], split.x_test, split.y_test)
    a = gs.one_step_sweep(model, split, R_GRID, n_random=2, eval_indices=idx)
    b = gs.one_step_sweep(model, sub, R_GRID, n_random=2)
    assert a.n_samples == b.n_samples == 100
    np.testing.assert_allclose(a.rho_a, b.rho_a, rtol=1e-6)
    np.testing.assert_allclose(a.loss_ratio, b.loss_ratio, rtol=1e-5)
    assert a.base_loss == pytest.approx(b.base_loss, rel=1e-6)


def test_checkpoint_sweep_stages(ckpt: gs.CheckpointSweepResult) -> None:
    n_r = CKPT["r_grid"].size
    assert ckpt.stages.shape == ckpt.reached.shape == ckpt.step.shape == (3,)
    # 50% and 80% are reached within 40 AdamW steps, 101% never (recorded, not raised)
    assert ckpt.reached.tolist() == [True, True, False]
    assert ckpt.step[2] == -1 and math.isnan(ckpt.test_accuracy[2]) and ckpt.sweeps[2] is None
    assert ckpt.steps_trained == CKPT["max_steps"]
    assert ckpt.test_acc_curve.shape == (ckpt.steps_trained + 1,)
    assert 0 <= ckpt.step[0] <= ckpt.step[1]
    for s in (0, 1):
        k = ckpt.step[s]
        # the checkpoint is the FIRST evaluation at or above the stage
        assert ckpt.test_acc_curve[k] == ckpt.test_accuracy[s] >= ckpt.stages[s]
        assert np.all(ckpt.test_acc_curve[:k] < ckpt.stages[s])
        sw = ckpt.sweeps[s]
        assert sw.labels == ["gradient", "random 1", "random 2"]
        assert sw.loss_ratio.shape == (3, n_r) and sw.onset.shape == (3,)
        assert sw.n_samples == CKPT["eval_size"] and np.all(sw.rho_a > 0)
    assert np.all(ckpt.test_acc_curve < 1.01)
    sub = ckpt.eval_indices
    assert sub.shape == (64,) and np.unique(sub).size == 64 and np.all(np.diff(sub) > 0)
    assert ckpt.onsets().shape == (3, 3) and np.isnan(ckpt.onsets()[2]).all()
    rows = ckpt.summary()
    assert len(rows) == 3 and rows[0]["onset_gradient"] == ckpt.sweeps[0].onset[0]
    assert set(rows[2]) == {"stage", "reached", "step", "test_accuracy"}
    assert rows[2]["reached"] is False and rows[2]["step"] == -1
    json.dumps(ckpt.to_dict(), allow_nan=False)


def test_checkpoint_sweep_reproducible(split: Split, ckpt: gs.CheckpointSweepResult) -> None:
    again = gs.checkpoint_sweep(split, seed=0, **CKPT)
    assert np.array_equal(again.step, ckpt.step)
    assert np.array_equal(again.test_acc_curve, ckpt.test_acc_curve)
    assert np.array_equal(again.eval_indices, ckpt.eval_indices)
    for a, b in zip(again.sweeps[:2], ckpt.sweeps[:2], strict=True):
        assert np.array_equal(a.loss_ratio, b.loss_ratio)
        assert np.array_equal(a.rho_a, b.rho_a)


def test_archgrid_shapes_and_divergence(arch: gs.ArchgridResult) -> None:
    shape = (3, 2, 2)
    for name in ("final_train_loss", "final_test_acc", "nonfinite", "nonfinite_step",
                 "divergent", "divergence_step", "max_r"):
        assert getattr(arch, name).shape == shape
    assert arch.loss_curve.shape == (*shape, ARCH["steps"] + 1)
    assert arch.trace_tau.shape == (3, 2, ARCH["steps"])
    assert arch.median_test_acc().shape == arch.divergence_counts().shape == (3, 2)
    assert len(arch.table()) == 6
    np.testing.assert_array_equal(arch.loss_curve[..., -1], arch.final_train_loss)
    assert np.array_equal(arch.divergent,
                          arch.nonfinite | ~(arch.final_train_loss <= arch.divergence_loss))
    assert np.array_equal(arch.divergence_step >= 0, arch.divergent)
    for idx in zip(*np.nonzero(arch.divergent), strict=True):
        k, curve = arch.divergence_step[idx], arch.loss_curve[idx]
        assert not curve[k] <= arch.divergence_loss and np.all(curve[:k] <= arch.divergence_loss)
    json.dumps(arch.to_dict(), allow_nan=False)


def test_archgrid_single_step_spike(arch: gs.ArchgridResult) -> None:
    k = ARCH["spike_step"]
    tau = arch.trace_tau[arch.methods.index("adam"), 1]  # x10000, first seed
    assert tau[k] / tau[k - 1] > 1000 and tau[k + 1] / tau[k - 1] < 100
    # before the spike every multiplier follows the same full-batch trajectory
    np.testing.assert_array_equal(arch.loss_curve[:, 0, :, : k + 1],
                                  arch.loss_curve[:, 1, :, : k + 1])


def test_archgrid_controller_respects_radius(arch: gs.ArchgridResult) -> None:
    i = arch.methods.index("radius")
    tau, rho = arch.trace_tau[i], arch.trace_rho_a[i]
    assert np.isfinite(tau).all() and np.isfinite(rho).all()  # rho_a at every step
    assert np.all(tau <= rho * (1.0 + 1e-6))
    assert np.all(arch.max_r[i] <= 1.0 + 1e-6)
    assert arch.trace_r_proposed[i, 1, ARCH["spike_step"]] > 1.0  # the controller acted
    assert not arch.divergent[i].any()


def test_archgrid_reproducible_and_fork_exact(split: Split, arch: gs.ArchgridResult) -> None:
    # a second call, with the x10000 column alone (so no pre-spike prefix shared with the x10
    # runs), reproduces that column of the grid bit for bit
    one = gs.archgrid_spike_test(split, **{**ARCH, "multipliers": (10000,)})
    for name in ("final_train_loss", "final_test_acc", "loss_curve", "trace_tau", "trace_r"):
        assert np.array_equal(getattr(one, name)[:, 0], getattr(arch, name)[:, 1],
                              equal_nan=True), name


def test_plots_build(sweep: gs.SweepResult, spike: gs.SpikeResult, split: Split,
                     ckpt: gs.CheckpointSweepResult, arch: gs.ArchgridResult) -> None:
    from matplotlib.figure import Figure

    from boundbook.chapters.ghosts_of_softmax.figures import (
        plot_archgrid,
        plot_checkpoint_sweep,
        plot_spike,
        plot_sweep,
        plot_temperature,
    )

    temp = gs.temperature_study(split, temperatures=(1.0, 4.0), seeds=(0,), steps=10, n_tau=20)
    for fig in (plot_sweep(sweep), plot_spike(spike), plot_temperature(temp),
                plot_checkpoint_sweep(ckpt), plot_archgrid(arch)):
        assert isinstance(fig, Figure)
        fig.canvas.draw()


def test_linearised_ratio_is_exact_for_a_linear_model() -> None:
    """For softmax regression the logits are linear in the parameters, so the paper's logit
    linearisation is exact: the linearised and the true loss ratios must coincide."""
    split = load_digits_split(seed=0, dtype=torch.float64)
    model = gs.train_classifier(split, hidden=(), steps=50, seed=0).double()
    res = gs.one_step_sweep(model, split, np.logspace(-2, 1, 12), n_random=2, seed=0)
    np.testing.assert_allclose(res.linear_loss_ratio, res.loss_ratio, rtol=1e-8)
    np.testing.assert_array_equal(res.linear_onset, res.onset)


def test_chapter_measurements_cover_every_claim() -> None:
    """protocol.measurements builds one entry per registered claim, from stand-ins, with
    exactly the keys protocol.READS declares."""
    from types import SimpleNamespace

    from boundbook.chapters.ghosts_of_softmax import protocol as gc
    from boundbook.chapters.ghosts_of_softmax.claims import CHAPTER

    sweep = SimpleNamespace(seed=0, threshold=1.1, stages=np.array([0.9]), sweeps=[
        SimpleNamespace(labels=["gradient", "random 1"], onset=np.array([1.5, 0.5]),
                        linear_onset=np.array([2.0, 0.9]))])
    converged = SimpleNamespace(onsets=lambda: ([2.0, 0.9], ["linear, seed 0, gradient",
                                                             "mlp, seed 0, gradient"]))
    methods = ["adam", "clip", "radius"]
    acc = np.array([[[0.95, 0.96], [0.3, 0.97]], [[0.95, 0.96], [0.5, 0.4]],
                    [[0.95, 0.96], [0.94, 0.95]]])
    arch = SimpleNamespace(methods=methods, multipliers=np.array([1.0, 10000.0]),
                           divergent=np.zeros((3, 2, 2), dtype=bool), final_test_acc=acc)
    held = SimpleNamespace(methods=methods, base_lrs=np.array([1e-4, 1e-2]),
                           final_test_acc=np.full((3, 2, 2), 0.95),
                           max_r=np.array([[[0.5], [30.0]]] * 3))
    temp = SimpleNamespace(tau_onset=np.array([[0.1, 0.12], [0.3, 0.25]]),
                           delta_a=np.array([[10.0, 9.0], [12.0, 11.0]]),
                           temperatures=np.array([1.0, 2.0]), seeds=[0, 1])
    kl = {"kl": [1.0], "derived_rhs": [1.0], "printed_rhs": [2.0],
          "ratios": {"forward": [0.01], "reverse": [0.005]},
          "bernoulli_max": {"forward": 0.03, "reverse": 0.015},
          "equality": {"forward": 0.032, "reverse": 0.016}, "bernoulli_argmax": {}}
    m = gc.measurements(cases=[], matches_body=True, ratios=[1.0, 1.5],
                        jvp=dict.fromkeys([*gc.READS["gos-one-jvp"], "samples"]),
                        sweeps=[sweep], converged=converged, arch=arch, held=held,
                        temp=temp, mismatch={9: (1.0, 0.5), 10: (2.0, 1.0)}, kl=kl)
    assert sorted(m) == sorted(c.id for c in CHAPTER.claims)
    assert {cid: set(keys) for cid, keys in m.items()} == {
        cid: set(keys) for cid, keys in gc.READS.items()}
    assert m["gos-safe-steps"]["onsets"] == [1.5, 0.5]
    assert m["gos-safe-steps-gradient"]["onsets"] == [2.0, 0.9]
    assert m["gos-multiclass-bound"] == {"ratios": [1.5], "tight_ratio": 1.0}
    assert list(m["gos-temperature"]["temperature"]) == [1.0, 1.0, 2.0, 2.0]
    assert m["gos-controller-survives"]["divergent"] == {"adam": 0, "clip": 0, "radius": 0}
    # collapse: more than 10 points below the same seed's un-spiked plain-Adam run
    assert m["gos-clipping-collapses"]["collapsed"] == {"adam": 1, "clip": 2, "radius": 0}
    assert m["gos-spike-held"]["past_radius"] == [False, True]


def test_count_checks() -> None:
    """The count claims: exact Clopper-Pearson intervals; 'never' and 'every run' decided on
    the count, 'most seeds collapse' on the interval against a majority."""
    from boundbook.chapters.ghosts_of_softmax import claims
    from boundbook.core.claims import decide
    from boundbook.core.stats import clopper_pearson

    base = {"drop": 0.1, "median_test_acc": {"adam": 0.4, "clip": 0.5, "radius": 0.95},
            "divergent": {"adam": 2, "clip": 0, "radius": 0},
            "runs": {"adam": 6, "clip": 6, "radius": 6}}
    clip = claims.CHAPTER.claim("gos-clipping-collapses")
    for k, verdict in ((6, "holds"), (4, "inconclusive"), (0, "violated")):
        m = {**base, "collapsed": {"adam": 5, "clip": k, "radius": 0}}
        ev = decide(clip, m)
        assert ev.verdict.value == verdict, k
        assert ev.main.interval == clopper_pearson(k, 6)
    surv = claims.CHAPTER.claim("gos-controller-survives")
    m = {k: base[k] for k in ("divergent", "runs", "median_test_acc")}
    ev = decide(surv, m)
    assert ev.verdict.value == "holds" and ev.main.interval == clopper_pearson(0, 6)
    assert "93.9%" in ev.main.note
    held = claims.CHAPTER.claim("gos-spike-held")
    m = {"final_test_acc": {"radius": [[0.95, 0.93], [0.92, 0.96]],
                            "adam": [[0.95, 0.93], [0.1, 0.5]], "clip": [[0.9, 0.9], [0.9, 0.9]]},
         "past_radius": [False, True]}
    ev = decide(held, m)
    assert ev.verdict.value == "holds" and ev.control.measured == 0.1
    assert ev.control.interval == clopper_pearson(0, 2)


def test_kl_measurements_small() -> None:
    """The KL appendix in mpmath: the derived identity is exact and Eq. 26's form is not; the
    forward remainder stays under 1/(18 sqrt 3), the reverse under half of it, and the
    two-point law at p* approaches the constant as tau -> 0."""
    from boundbook.chapters.ghosts_of_softmax import claims
    from boundbook.core.claims import decide

    kl = gs.kl_remainder_measurements(40, seed=1, n_p=9, n_tau=6)
    c = claims.KL_CONSTANT
    assert max(kl["ratios"]["forward"]) <= c and max(kl["ratios"]["reverse"]) <= c / 2
    assert kl["equality"]["forward"] == pytest.approx(c, rel=1e-5)
    assert kl["equality"]["reverse"] == pytest.approx(c / 2, rel=1e-5)
    m = {k: kl[k] for k in ("kl", "derived_rhs", "printed_rhs")}
    assert decide(claims.CHAPTER.claim("gos-kl-bregman"), m).verdict.value == "erratum"
    m = {k: kl[k] for k in ("ratios", "bernoulli_max", "equality")}
    ev = decide(claims.CHAPTER.claim("gos-kl-remainder"), m)
    assert ev.main.ok and not ev.control.ok
    assert ev.main.equality == pytest.approx(0.0, abs=1e-5)


def test_converged_sweep_small(split: Split) -> None:
    res = gs.converged_sweep(split, architectures=("mlp+ln",), seeds=(0,),
                             r_grid=np.logspace(-1, 1, 8), max_train_loss=0.3, max_steps=200)
    assert res.converged.tolist() == [True] and res.train_loss[0] <= 0.3
    assert res.steps[0] % 25 == 0
    onsets, labels = res.onsets()
    assert labels == ["mlp+ln, seed 0, gradient"] and len(onsets) == 1
    assert len(res.test_accuracy_after[0]) == 8
    assert "mlp+ln, seed 0" in gs.converged_table(res)
    never = gs.converged_sweep(split, architectures=("linear",), seeds=(0,),
                               max_train_loss=1e-6, max_steps=25)
    assert never.converged.tolist() == [False] and never.sweeps == [None]
    assert never.onsets() == ([], [])
    json.dumps(res.to_dict(), allow_nan=False)


def test_temperature_intervals_are_the_bootstrap_the_check_used_to_run() -> None:
    """The intervals computed once by protocol.shrink_intervals are the percentile bootstrap the
    check computed itself before (seeds resampled within T), for the claim's exponent, its
    control's and its mutations'; the check and control only read them."""
    from boundbook.chapters.ghosts_of_softmax import claims, protocol
    from boundbook.core.claims import decide, mutate
    from boundbook.core.stats import bootstrap_interval

    rng = np.random.default_rng(0)
    temps = np.repeat([0.25, 1.0, 4.0], 3)
    m = {"tau_onset": list(0.1 * temps * np.exp(rng.normal(0, 0.2, temps.size))),
         "delta_a": list(10 * np.exp(rng.normal(0, 0.1, temps.size))),
         "temperature": list(temps)}
    m["shrink_intervals"] = protocol.shrink_intervals(m)
    claim = claims.CHAPTER.claim("gos-temperature-normalises")
    assert protocol.temperature_exponents() == (0.0, 0.5, 1.0, 2.0)
    groups = [[0, 1, 2], [3, 4, 5], [6, 7, 8]]
    for e in protocol.temperature_exponents():
        direct = bootstrap_interval(groups,
                                    lambda idx, e=e: claims.temperature_shrink(m, e, idx)[0])
        assert m["shrink_intervals"][claims.exponent_key(e)] == list(direct)
    ev = decide(claim, m)
    assert ev.main.interval == tuple(m["shrink_intervals"]["1"])
    assert ev.control.interval == tuple(m["shrink_intervals"]["0"])
    assert [r.caught for r in mutate(claim, m)] == [True, True]
    with pytest.raises(KeyError, match="no bootstrap interval"):
        claims.check_temperature(m, {"T_exponent": 3.0, "paper_shrink": claims.PAPER_SHRINK})


def test_claims_and_protocol_import_nothing_heavy() -> None:
    """``boundbook list/ledger/mutate`` import claims and protocol: no torch, sympy or
    matplotlib, even when every check and mutation runs."""
    import subprocess
    import sys

    code = ("import sys, json, pathlib\n"
            "from boundbook.chapters.ghosts_of_softmax import claims, protocol\n"
            "from boundbook.core.claims import mutate\n"
            "for c in claims.CHAPTER.claims:\n"
            "    p = pathlib.Path('ledger/records/ghosts_of_softmax') / f'{c.id}.json'\n"
            "    mutate(c, json.loads(p.read_text())['measurements'])\n"
            "print(sorted(m for m in ('torch', 'sympy', 'matplotlib') if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"


def test_every_claim_has_a_statement() -> None:
    from boundbook.chapters.ghosts_of_softmax.claims import CHAPTER
    from boundbook.core.display import statement_markdown

    for claim in CHAPTER.claims:
        assert claim.heading and claim.text.strip(), claim.id
        assert f":label: {claim.id}" in statement_markdown(claim)
