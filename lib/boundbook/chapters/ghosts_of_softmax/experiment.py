r"""The experiments of the Ghosts-of-Softmax chapter (arXiv 2603.13552), at small scale on the
CPU with scikit-learn's digits: the notebook's entry points, gathered from the modules that
implement them.

Notation (the paper's Secs. 3-5).  Logits :math:`z = f_\theta(x) \in \mathbb{R}^n`; a step of
Euclidean length :math:`\tau \ge 0` along a unit vector :math:`v` in parameter space moves
:math:`\theta \to \theta + \tau v`.  The directional logit derivatives are

.. math::  a(x; v) = J_z(x)\, v \in \mathbb{R}^n  \qquad\text{(one JVP for the whole sample set)},

the per-sample spread is :math:`\Delta_a(x; v) = \max_k a_k - \min_k a_k`, and the batch radius
over a sample set :math:`S` (the full training split unless stated) is

.. math::  \rho_a(v) = \pi / \max_{x \in S} \Delta_a(x; v).

A step of length :math:`\tau` has normalised size :math:`r = \tau / \rho_a`.  The one-step loss
ratio is :math:`L(\theta + \tau v) / L(\theta)` with :math:`L` the mean cross-entropy over
:math:`S`.  With a temperature :math:`T` (logits divided by :math:`T`),
:math:`\rho_T = \pi T / \Delta_a` (:math:`\Delta_a` of the raw logits) and
:math:`r_T = \tau \Delta_a / (\pi T)`.

Experiments, and where they live:

* exact, no training (:mod:`.radius`): :func:`binary_root_test_cases` (the binary radius read
  off 200 Taylor coefficients), :func:`multiclass_bound_ratios` (exact radius over the bound
  :math:`\pi/\Delta_a` on random instances), :func:`partial_sum_errors`,
  :func:`jvp_agreement` (one JVP against reverse mode and finite differences);
* :mod:`.training`: :func:`train_classifier`, :func:`evaluate`, :func:`batch_schedule`;
* :mod:`.sweeps`: :func:`one_step_sweep` -- one step along the normalised gradient and random
  unit directions at sizes ``r`` on a grid, onset = first ``r`` with loss ratio >= threshold
  (Secs. 6.2/6.3); :func:`checkpoint_sweep` -- the random-direction validation (Sec. 6.3,
  Fig. 8) at the checkpoints where an MLP+LayerNorm first reaches 84 / 95 / 98 % test accuracy;
* :mod:`.spikes` (runs in :mod:`.adam_runs`): :func:`spike_test` -- LR spike x1000 at step 50,
  held (Sec. 6.1), plain Adam vs Adam + global-norm clipping vs the :math:`\rho_a` controller
  of Prop. 5.2; :func:`archgrid_spike_test` -- the Table-1 protocol (Sec. 6.5) for
  MLP+LayerNorm: full-batch Adam, a single-step LR spike x10 ... x10000 at step 50;
* :mod:`.temperature`: :func:`temperature_study` -- onsets in raw :math:`\tau` vs normalised
  :math:`r_T` coordinates across temperatures (Sec. 6.4);
* :func:`converged_sweep` (:mod:`.sweeps`) -- gradient steps on models trained to a
  convergence criterion fixed in advance (Sec. 6.2);
* :func:`kl_remainder_measurements` (:mod:`.kl`) -- the KL appendix (App. 4) in mpmath.

All randomness comes from explicitly seeded ``torch.Generator`` objects (created on the CPU,
results moved to ``device``), so results are bit-for-bit reproducible on the CPU for a seed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from boundbook.chapters.ghosts_of_softmax import spikes, sweeps, temperature
from boundbook.chapters.ghosts_of_softmax.kl import kl_remainder_measurements
from boundbook.chapters.ghosts_of_softmax.radius import (
    binary_root_test_cases,
    jvp_agreement,
    multiclass_bound_ratios,
    partial_sum_errors,
)
from boundbook.chapters.ghosts_of_softmax.spikes import (
    PAPER_TABLE1_MLP_LN,
    ArchgridResult,
    SpikeResult,
)
from boundbook.chapters.ghosts_of_softmax.sweeps import (
    CONVERGED_ARCHITECTURES,
    PHASE_R_GRID,
    CheckpointSweepResult,
    ConvergedSweepResult,
    SweepResult,
    checkpoint_table,
    converged_table,
    first_crossing,
)
from boundbook.chapters.ghosts_of_softmax.temperature import (
    TemperatureResult,
    temperature_table,
)
from boundbook.chapters.ghosts_of_softmax.training import (
    batch_schedule,
    evaluate,
    train_classifier,
)
from boundbook.core.display import markdown_table
from boundbook.numeric.directional import jvp_cost_ratio, params_of
from boundbook.numeric.flat import params_to_flat
from boundbook.numeric.threads import single_thread
from boundbook.problems.data import Split, load_digits_split

# Thread policy, measured: the checkpoint and converged sweeps are many tiny operations and run
# on one intra-op thread (on a busy machine two spin-waiting OpenMP threads made them ~20x
# slower); the spike and temperature experiments train 64-wide MLPs on the whole training split,
# where torch's two threads are 1.4x faster on the idle two-core machine (archgrid quick: 7.8 s
# against 10.9 s for two seeds), so they keep torch's default. The thread count is fixed per
# machine, so reruns stay byte-identical there.
archgrid_spike_test = spikes.archgrid_spike_test
spike_test = spikes.spike_test
checkpoint_sweep = single_thread()(sweeps.checkpoint_sweep)
converged_sweep = single_thread()(sweeps.converged_sweep)
one_step_sweep = single_thread()(sweeps.one_step_sweep)
temperature_study = temperature.temperature_study

__all__ = [
    "CONVERGED_ARCHITECTURES",
    "PAPER_TABLE1_MLP_LN",
    "PHASE_R_GRID",
    "ArchgridResult",
    "CheckpointSweepResult",
    "ConvergedSweepResult",
    "SpikeResult",
    "SweepResult",
    "TemperatureResult",
    "archgrid_spike_test",
    "batch_schedule",
    "binary_root_test_cases",
    "binary_table",
    "checkpoint_sweep",
    "checkpoint_table",
    "converged_sweep",
    "converged_table",
    "deterministic",
    "evaluate",
    "first_crossing",
    "jvp_agreement",
    "jvp_cost",
    "jvp_summary",
    "kl_remainder_measurements",
    "load_digits_split",
    "multiclass_bound_ratios",
    "one_jvp",
    "one_step_sweep",
    "partial_sum_errors",
    "spike_test",
    "temperature_study",
    "temperature_table",
    "train_classifier",
]


def deterministic() -> None:
    """Ask torch for deterministic kernels (warn only). On the CPU the chapter's results are
    reproducible without it; on a GPU it removes the nondeterministic reductions."""
    torch.use_deterministic_algorithms(True, warn_only=True)


def binary_table(cases: Sequence[Mapping[str, float]]) -> str:
    """Markdown: for each binary case, the root-test radius next to the closed form
    :math:`\\sqrt{\\delta^2+\\pi^2}/\\Delta_a` (Thm 4.3 and the arXiv abstract) and, as a
    note, the form a plain-text rendering of the abstract shows after losing the square root,
    :math:`\\delta^2 + \\pi^2/\\Delta_a` (not the paper's)."""
    rows = [(c["delta"], c["Delta"], c["root_test"], c["closed_form"],
             c["delta"] ** 2 + np.pi**2 / c["Delta"]) for c in cases]
    return markdown_table(rows, ["δ", "Δ_a", "root test", "√(δ²+π²)/Δ_a",
                                 "δ² + π²/Δ_a (lost √, not the paper)"], digits=4)


@single_thread()
def one_jvp(split: Split, seed: int, device: torch.device | str, samples: int = 64
            ) -> tuple[dict[str, Any], nn.Module]:
    """Train the default classifier (:func:`train_classifier`, seed ``seed``) and compare the
    directional logit derivatives of its first ``samples`` training samples from one JVP with
    reverse mode and finite differences (:func:`jvp_agreement`, on the CPU in float64).
    Returns the comparison and the trained model (on ``device``)."""
    model = train_classifier(split, seed=seed, device=device)
    jvp = jvp_agreement(model.cpu(), split.x_train[:samples].cpu(), seed=seed)
    return jvp, model.to(device)


def jvp_summary(jvp: Mapping[str, Any]) -> str:
    """One line: the sample and class counts and the largest |JVP - reverse mode|."""
    err = (jvp["a_jvp"] - jvp["a_reverse"]).abs().max().item()
    return f"{jvp['samples']} samples x {jvp['classes']} classes: max |JVP - reverse| = {err:.1e}"


def jvp_cost(model: nn.Module, split: Split) -> float:
    """Wall-clock cost of one JVP over the whole training split, in forward passes (along the
    normalised all-ones direction). A timing: it varies run to run and decides no verdict."""
    v = torch.ones_like(params_to_flat(params_of(model)))
    return jvp_cost_ratio(model, split.x_train, v / v.norm())
