"""Settings of the Ghosts-of-Softmax chapter (quick and full mode) and the measurement
dictionaries its claims are decided from.

The chapter's ``seed`` parameter is the first of a run of consecutive seeds: quick mode uses
``seed, seed + 1, ...`` as many as it needs, full mode more of them. Seeds are never chosen
because they pass.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from boundbook.chapters.ghosts_of_softmax.claims import (
    CHAPTER,
    CONTROL_T_EXPONENT,
    exponent_key,
    temperature_shrink,
)
from boundbook.core.display import claim_findings, plain
from boundbook.core.stats import bootstrap_interval

if TYPE_CHECKING:
    from boundbook.chapters.ghosts_of_softmax.spikes import ArchgridResult, SpikeResult
    from boundbook.chapters.ghosts_of_softmax.sweeps import CheckpointSweepResult
    from boundbook.chapters.ghosts_of_softmax.temperature import TemperatureResult

READS: dict[str, tuple[str, ...]] = {
    "gos-binary-radius": ("cases", "sympy_matches_abstract", "sympy_matches_body",),
    "gos-clipping-collapses": ("divergent", "runs",),
    "gos-collapse-band": ("labels", "linear_onsets", "onsets", "threshold", "unreached_stages",),
    "gos-controller-survives": ("divergent", "runs",),
    "gos-hessian-mismatch": ("ratio",),
    "gos-multiclass-bound": ("ratios",),
    "gos-one-jvp": ("a_fd", "a_jvp", "a_jvp_perturbed", "a_reverse", "classes", "samples",),
    "gos-safe-steps-gradient": ("labels", "linear_onsets", "onsets", "threshold",
        "unreached_stages"),
    "gos-safe-steps": ("labels", "linear_onsets", "onsets", "threshold", "unreached_stages",),
    "gos-spike-held": ("base_lrs", "median_test_acc", "n_test",),
    "gos-temperature": ("delta_a", "shrink_intervals", "tau_onset", "temperature",),
}
"""The measurement contract: claim id -> the keys of its measurement dictionary that its
check and control read (:func:`boundbook.core.ledger.report` refuses any other)."""


@dataclass(frozen=True)
class GhostsSettings:
    """What one run of the chapter computes (see :func:`settings`)."""

    mode: str
    seed: int
    bound_instances: int
    sweep_seeds: tuple[int, ...]
    n_random: int
    archgrid_multipliers: tuple[float, ...]
    archgrid_seeds: tuple[int, ...]
    held_seeds: tuple[int, ...]
    held_base_lrs: tuple[float, ...]
    temperatures: tuple[float, ...]
    temperature_seeds: tuple[int, ...]


def settings(mode: str, seed: int) -> GhostsSettings:
    """Quick: CPU, about a minute. Full: the paper's seed counts and grids."""

    def seeds(n: int) -> tuple[int, ...]:
        return tuple(seed + i for i in range(n))

    if mode == "quick":
        return GhostsSettings(mode, seed, bound_instances=300, sweep_seeds=seeds(2),
                              n_random=20, archgrid_multipliers=(10000.0,),
                              archgrid_seeds=seeds(3), held_seeds=seeds(2),
                              held_base_lrs=(1e-4, 1e-3, 1e-2),
                              temperatures=(0.25, 0.5, 1.0, 2.0, 4.0, 8.0),
                              temperature_seeds=seeds(3))
    return GhostsSettings(mode, seed, bound_instances=5000, sweep_seeds=seeds(4), n_random=20,
                          archgrid_multipliers=(10.0, 100.0, 1000.0, 10000.0),
                          archgrid_seeds=seeds(5), held_seeds=seeds(5),
                          held_base_lrs=(1e-4, 1e-3, 1e-2),
                          temperatures=(0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 64.0),
                          temperature_seeds=seeds(5))


def onset_table(sweeps: Sequence[CheckpointSweepResult]) -> dict[str, Any]:
    """Flatten checkpoint sweeps (one per training seed) into the safe-step measurements:
    one onset per (seed, stage, direction), with labels saying which, and the onset of the
    same step under the paper's logit linearisation (``linear_onsets``, for the discussion)."""
    onsets, linear, labels, unreached = [], [], [], []
    for sweep in sweeps:
        for stage, res in zip(sweep.stages, sweep.sweeps, strict=True):
            if res is None:
                unreached.append(f"seed {sweep.seed}, stage {stage:.2f}")
                continue
            for label, onset, lin in zip(res.labels, res.onset, res.linear_onset, strict=True):
                onsets.append(float(onset))
                linear.append(float(lin))
                labels.append(f"seed {sweep.seed}, stage {stage:.2f}, {label}")
    return {"onsets": onsets, "linear_onsets": linear, "labels": labels,
            "threshold": float(sweeps[0].threshold), "unreached_stages": unreached}


def divergence_counts(result: ArchgridResult) -> dict[str, Any]:
    """Divergent runs and run counts per method of an archgrid spike result."""
    div = np.asarray(result.divergent)
    return {"divergent": {m: int(div[i].sum()) for i, m in enumerate(result.methods)},
            "runs": {m: int(div[i].size) for i, m in enumerate(result.methods)}}


def held_spike_accuracy(result: SpikeResult, n_test: int) -> dict[str, Any]:
    """Median final test accuracy per method and base LR of the held-spike test (measured on
    ``n_test`` test samples)."""
    med = np.asarray(result.median_test_acc())
    return {"median_test_acc": {m: [float(x) for x in med[i]]
                                for i, m in enumerate(result.methods)},
            "base_lrs": [float(x) for x in result.base_lrs], "n_test": int(n_test)}


def temperature_exponents() -> tuple[float, ...]:
    """Every exponent of T that gos-temperature is decided at: the claim's (1), its negative
    control's (0) and its mutations' (2, 0.5), in increasing order."""
    claim = CHAPTER.claim("gos-temperature")
    values = {claim.constants["T_exponent"], CONTROL_T_EXPONENT,
              *(mu.value for mu in claim.mutations if mu.constant == "T_exponent")}
    return tuple(sorted(float(e) for e in values))


def shrink_intervals(onsets: Mapping[str, Any]) -> dict[str, list[float]]:
    """The 95% percentile-bootstrap interval of the shrink factor
    (:func:`~boundbook.chapters.ghosts_of_softmax.claims.temperature_shrink`) for each of
    :func:`temperature_exponents`, keyed by :func:`~.claims.exponent_key`: the seeds are
    resampled within each temperature (:func:`boundbook.core.stats.bootstrap_interval`, its
    fixed generator). Computed once here so that the claim's check, control and mutations
    only read it."""
    temps = [float(T) for T in onsets["temperature"]]
    groups = [[i for i, T in enumerate(temps) if T == t] for t in sorted(set(temps))]

    def interval(exponent: float) -> list[float]:
        lo, hi = bootstrap_interval(
            groups, lambda idx: temperature_shrink(onsets, exponent, idx)[0])
        return [lo, hi]

    return {exponent_key(e): interval(e) for e in temperature_exponents()}


def timing_findings(jvp_cost: float) -> dict[str, Any]:
    """The JVP's cost in forward passes, glued from its own cell (tagged ``volatile``: a timing
    that varies run to run and decides nothing, so a rerun that changes only it keeps the
    committed notebook)."""
    return {"gos_jvp_cost": plain(jvp_cost, 2)}


def findings(evaluations: Sequence[Any], measured: Mapping[str, Mapping[str, Any]],
             arch: ArchgridResult) -> dict[str, Any]:
    """The numbers the chapter's prose quotes, as quote-free text for MyST-NB ``glue``: every
    claim's verdict and measured value, the bound instances, and the onset and spike summaries
    of this run."""
    out: dict[str, Any] = dict(claim_findings(evaluations))
    ratios = measured["gos-multiclass-bound"]["ratios"]
    out["gos_bound_n"] = plain(len(ratios))
    out["gos_bound_min"] = plain(np.min(ratios), 6)
    onsets = measured["gos-safe-steps"]
    r = np.array(onsets["onsets"], dtype=float)
    out["gos_random_median_onset"] = plain(np.median(r), 2)
    out["gos_below_one"] = plain(int((r < 1).sum()))
    out["gos_onset_count"] = plain(int(r.size))
    lin = np.array(onsets["linear_onsets"], dtype=float)
    out["gos_linear_median_onset"] = plain(np.median(lin), 2)
    out["gos_linear_below_one"] = plain(int((lin < 1).sum()))
    counts = divergence_counts(arch)
    for method, n in counts["divergent"].items():
        out[f"gos_divergent_{method}"] = plain(f"{n} of {counts['runs'][method]}")
    clip = 100 * np.median(np.asarray(arch.final_test_acc)[arch.methods.index("clip"), -1])
    out["gos_clip_acc"] = plain(clip)
    return out


def measurements(*, cases: list[dict[str, float]], matches_body: bool, matches_abstract: bool,
                 ratios: Sequence[float], jvp: dict[str, Any],
                 sweeps: Sequence[CheckpointSweepResult], arch: ArchgridResult,
                 held: SpikeResult, n_test: int, temp: TemperatureResult,
                 mismatch: dict[int, tuple[float, float]]) -> dict[str, dict[str, Any]]:
    """The measurement dictionary of every claim of the chapter, keyed by claim id (what
    :func:`boundbook.core.ledger.report` decides the verdicts from)."""
    onsets = onset_table(sweeps)
    counts = divergence_counts(arch)
    temperature = {
        "tau_onset": np.asarray(temp.tau_onset).ravel(),
        "delta_a": np.asarray(temp.delta_a).ravel(),
        "temperature": np.repeat(np.asarray(temp.temperatures), len(temp.seeds))}
    temperature["shrink_intervals"] = shrink_intervals(temperature)
    return {
        "gos-binary-radius": {"cases": cases, "sympy_matches_body": matches_body,
                              "sympy_matches_abstract": matches_abstract},
        "gos-multiclass-bound": {"ratios": list(ratios)},
        "gos-one-jvp": jvp,
        "gos-safe-steps": onsets,
        "gos-safe-steps-gradient": onsets,
        "gos-collapse-band": onsets,
        "gos-controller-survives": counts,
        "gos-clipping-collapses": counts,
        "gos-spike-held": held_spike_accuracy(held, n_test=n_test),
        "gos-temperature": temperature,
        "gos-hessian-mismatch": {"ratio": {str(k): v[0] for k, v in mismatch.items()}},
    }
