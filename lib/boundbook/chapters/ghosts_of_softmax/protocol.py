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
from boundbook.core.stats import bootstrap_interval, clopper_pearson

if TYPE_CHECKING:
    from boundbook.chapters.ghosts_of_softmax.spikes import ArchgridResult, SpikeResult
    from boundbook.chapters.ghosts_of_softmax.sweeps import (
        CheckpointSweepResult,
        ConvergedSweepResult,
    )
    from boundbook.chapters.ghosts_of_softmax.temperature import TemperatureResult

READS: dict[str, tuple[str, ...]] = {
    "gos-binary-radius": ("cases", "sympy_matches_body",),
    "gos-clipping-collapses": ("collapsed", "divergent", "drop", "median_test_acc", "runs",),
    "gos-collapse-band": ("labels", "onsets",),
    "gos-controller-survives": ("divergent", "median_test_acc", "runs",),
    "gos-hessian-mismatch": ("ratio",),
    "gos-kl-bregman": ("derived_rhs", "kl", "printed_rhs",),
    "gos-kl-remainder": ("bernoulli_max", "equality", "ratios",),
    "gos-multiclass-bound": ("ratios", "tight_ratio",),
    "gos-one-jvp": ("a_fd", "a_jvp", "a_jvp_perturbed", "a_reverse",),
    "gos-safe-steps-gradient": ("labels", "onsets",),
    "gos-safe-steps": ("labels", "onsets",),
    "gos-spike-held": ("final_test_acc", "past_radius",),
    "gos-temperature": ("delta_a", "shrink_intervals", "tau_onset", "temperature",),
    "gos-temperature-normalises": ("delta_a", "shrink_intervals", "tau_onset", "temperature",),
}
"""The measurement contract: claim id -> the keys of its measurement dictionary that its
check and control read (:func:`boundbook.core.ledger.report` refuses any other)."""


@dataclass(frozen=True)
class GhostsSettings:
    """What one run of the chapter computes (see :func:`settings`)."""

    mode: str
    seed: int
    bound_instances: int
    """Random multiclass instances comparing the exact radius rho* with the bound rho_a."""
    kl_instances: int
    """Random softmax-path instances of the KL-remainder check (40-digit mpmath)."""
    sweep_seeds: tuple[int, ...]
    """Training seeds of the checkpoint random-direction sweeps (one model each)."""
    n_random: int
    """Gaussian unit directions per checkpoint, swept besides the negative gradient."""
    converged_seeds: tuple[int, ...]
    """Training seeds per architecture of the converged-model gradient-step sweep."""
    archgrid_multipliers: tuple[float, ...]
    """LR multipliers of the single-step spike grid (1 = the un-spiked baseline)."""
    archgrid_seeds: tuple[int, ...]
    """Training seeds per multiplier and method of the spike grid (MLP+LN, full batch)."""
    held_seeds: tuple[int, ...]
    """Training seeds of the held LR-spike test (x1000 from step 50 to the end)."""
    held_base_lrs: tuple[float, ...]
    """Base Adam learning rates of the held LR-spike test."""
    temperatures: tuple[float, ...]
    """Softmax temperatures T of the temperature study (loss CE(z/T, y))."""
    temperature_seeds: tuple[int, ...]
    """Training seeds per temperature of the temperature study."""


COLLAPSE_DROP = 0.10
"""A spiked seed *collapses* when its final test accuracy ends more than 10 points below the
same seed's un-spiked plain-Adam run (fixed before the run)."""


def settings(mode: str, seed: int) -> GhostsSettings:
    """Quick: CPU, about a minute (two training seeds per converged architecture, six per
    spike, five per temperature). Full: the paper's grids and more seeds than the paper's
    five where a count or a bootstrap interval decides."""

    def seeds(n: int) -> tuple[int, ...]:
        return tuple(seed + i for i in range(n))

    if mode == "quick":
        return GhostsSettings(mode, seed, bound_instances=300, kl_instances=300,
                              sweep_seeds=seeds(2), n_random=20, converged_seeds=seeds(2),
                              archgrid_multipliers=(1.0, 10000.0),
                              archgrid_seeds=seeds(6), held_seeds=seeds(3),
                              held_base_lrs=(1e-4, 1e-3, 1e-2),
                              temperatures=(0.25, 0.5, 1.0, 2.0, 4.0, 8.0),
                              temperature_seeds=seeds(5))
    return GhostsSettings(mode, seed, bound_instances=5000, kl_instances=3000,
                          sweep_seeds=seeds(4), n_random=20, converged_seeds=seeds(5),
                          archgrid_multipliers=(1.0, 10.0, 100.0, 1000.0, 10000.0),
                          archgrid_seeds=seeds(10), held_seeds=seeds(5),
                          held_base_lrs=(1e-4, 1e-3, 1e-2),
                          temperatures=(0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 64.0),
                          temperature_seeds=seeds(10))


def onset_table(sweeps: Sequence[CheckpointSweepResult]) -> dict[str, Any]:
    """Flatten checkpoint sweeps (one per training seed) into the safe-step measurements:
    one onset per (seed, stage, direction), with labels saying which."""
    onsets, labels = [], []
    for sweep in sweeps:
        for stage, res in zip(sweep.stages, sweep.sweeps, strict=True):
            if res is None:
                continue
            for label, onset in zip(res.labels, res.onset, strict=True):
                onsets.append(float(onset))
                labels.append(f"seed {sweep.seed}, stage {stage:.2f}, {label}")
    return {"onsets": onsets, "labels": labels}


def linear_onsets(sweeps: Sequence[CheckpointSweepResult]) -> list[float]:
    """The onsets of the same steps under the paper's logit linearisation (for the prose)."""
    return [float(x) for sweep in sweeps for res in sweep.sweeps if res is not None
            for x in res.linear_onset]


def converged_onsets(result: ConvergedSweepResult) -> dict[str, Any]:
    """The gradient onsets of the converged models, labelled by architecture and seed."""
    onsets, labels = result.onsets()
    return {"onsets": onsets, "labels": labels}


def _spiked(result: ArchgridResult) -> list[int]:
    return [j for j, m in enumerate(result.multipliers) if m != 1.0]


def spike_counts(result: ArchgridResult) -> dict[str, Any]:
    """gos-controller-survives: divergent runs per method over every spiked multiplier (all
    but 1), and the median final test accuracy at the largest spike."""
    div = np.asarray(result.divergent)[:, _spiked(result)]
    top = int(np.argmax(result.multipliers))
    acc = np.asarray(result.final_test_acc)[:, top]
    return {"divergent": {m: int(div[i].sum()) for i, m in enumerate(result.methods)},
            "runs": {m: int(div[i].size) for i, m in enumerate(result.methods)},
            "median_test_acc": {m: float(np.median(acc[i]))
                                for i, m in enumerate(result.methods)}}


def collapse_counts(result: ArchgridResult, drop: float = COLLAPSE_DROP) -> dict[str, Any]:
    """gos-clipping-collapses: at the largest spike, how many seeds of each method end more
    than ``drop`` below the same seed's un-spiked plain-Adam accuracy (multiplier 1), and
    (a separate measurement) how many diverge (final training loss > 10)."""
    mults = list(result.multipliers)
    if 1.0 not in mults:
        raise ValueError("collapse_counts needs the un-spiked run (multiplier 1)")
    acc = np.asarray(result.final_test_acc)
    base = acc[result.methods.index("adam"), mults.index(1.0)]
    top = int(np.argmax(result.multipliers))
    div = np.asarray(result.divergent)[:, top]
    return {"collapsed": {m: int((acc[i, top] < base - drop).sum())
                          for i, m in enumerate(result.methods)},
            "divergent": {m: int(div[i].sum()) for i, m in enumerate(result.methods)},
            "runs": {m: int(acc[i, top].size) for i, m in enumerate(result.methods)},
            "median_test_acc": {m: float(np.median(acc[i, top]))
                                for i, m in enumerate(result.methods)},
            "drop": float(drop)}


def held_spike_accuracy(result: SpikeResult) -> dict[str, Any]:
    """Final test accuracy per method, base LR and seed of the held-spike test, and whether
    each base LR's spiked step exceeds the radius (plain Adam's traced max r > 1, first
    seed)."""
    acc = np.asarray(result.final_test_acc)
    adam = result.methods.index("adam")
    return {"final_test_acc": {m: [[float(x) for x in acc[i, j]]
                                   for j in range(len(result.base_lrs))]
                               for i, m in enumerate(result.methods)},
            "past_radius": [bool(np.nan_to_num(result.max_r[adam, j, 0], nan=0.0) > 1.0)
                            for j in range(len(result.base_lrs))]}


def temperature_exponents() -> tuple[float, ...]:
    """Every exponent of T that the temperature claims are decided at: the claims' (1), their
    negative controls' (0) and their mutations' (2, 0.5), in increasing order."""
    values = {CONTROL_T_EXPONENT}
    for cid in ("gos-temperature", "gos-temperature-normalises"):
        claim = CHAPTER.claim(cid)
        values |= {claim.constants["T_exponent"],
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


def _interval_text(lo: float, hi: float, digits: int = 2) -> str:
    return f"[{lo:.{digits}f}, {hi:.{digits}f}]"


def findings(evaluations: Sequence[Any], measured: Mapping[str, Mapping[str, Any]],
             sweeps: Sequence[CheckpointSweepResult], converged: ConvergedSweepResult,
             arch: ArchgridResult, held: SpikeResult, temp: TemperatureResult
             ) -> dict[str, Any]:
    """The numbers the chapter's prose quotes, as quote-free text for MyST-NB ``glue``: every
    claim's verdict and measured value, the bound instances, and the onset, spike and
    temperature summaries of this run."""
    out: dict[str, Any] = dict(claim_findings(evaluations))
    ratios = measured["gos-multiclass-bound"]["ratios"]
    out["gos_bound_n"] = plain(len(ratios))
    out["gos_bound_min"] = plain(np.min(ratios), 6)
    onsets = measured["gos-safe-steps"]
    r = np.array(onsets["onsets"], dtype=float)
    out["gos_random_median_onset"] = plain(np.median(r), 2)
    out["gos_below_one"] = plain(int((r < 1).sum()))
    out["gos_onset_count"] = plain(int(r.size))
    lin = np.array(linear_onsets(sweeps), dtype=float)
    out["gos_linear_median_onset"] = plain(np.median(lin), 2)
    out["gos_linear_below_one"] = plain(int((lin < 1).sum()))
    grad = [o for o, label in zip(onsets["onsets"], onsets["labels"], strict=True)
            if label.endswith("gradient")]
    out["gos_early_gradient_min"] = plain(min(grad), 2)
    out["gos_early_gradient_n"] = plain(len(grad))
    steps = [int(s) for sw in sweeps for s in sw.step if s >= 0]
    out["gos_early_steps"] = plain(f"{min(steps)}-{max(steps)}")
    conv = measured["gos-safe-steps-gradient"]
    c = np.array(conv["onsets"], dtype=float)
    out["gos_conv_n"] = plain(int(c.size))
    out["gos_conv_below_one"] = plain(int((c < 1).sum()))
    out["gos_conv_not_converged"] = plain(int((~np.asarray(converged.converged)).sum()))
    failing = [label.removesuffix(", gradient") for o, label in
               zip(conv["onsets"], conv["labels"], strict=True) if o < 1]
    out["gos_conv_failing"] = plain(", ".join(failing) if failing else "none")
    spikes = spike_counts(arch)
    collapse = measured["gos-clipping-collapses"]
    for method in arch.methods:
        n = collapse["runs"][method]
        out[f"gos_divergent_{method}"] = plain(f"{collapse['divergent'][method]} of {n}")
        out[f"gos_collapsed_{method}"] = plain(f"{collapse['collapsed'][method]} of {n}")
        out[f"gos_acc_{method}"] = plain(f"{100 * collapse['median_test_acc'][method]:.1f}")
        lo, hi = clopper_pearson(collapse["collapsed"][method], n)
        out[f"gos_collapse_ci_{method}"] = plain(_interval_text(lo, hi))
    out["gos_divergent_spiked_radius"] = plain(
        f"{spikes['divergent']['radius']} of {spikes['runs']['radius']}")
    acc = np.asarray(arch.final_test_acc)
    base = acc[arch.methods.index("adam"), list(arch.multipliers).index(1.0)]
    out["gos_unspiked_acc"] = plain(f"{100 * float(np.median(base)):.1f}")
    held_acc = np.asarray(held.final_test_acc)
    out["gos_held_worst"] = plain(float(held_acc[held.methods.index("radius")].min()), 3)
    adam = held.methods.index("adam")
    out["gos_held_adam_max_r"] = plain(", ".join(
        f"{float(held.max_r[adam, j, 0]):.2g} at {lr:g}" for j, lr in enumerate(held.base_lrs)))
    out["gos_held_adam_ok"] = plain(f"{int((held_acc[adam] >= 0.9).sum())} of "
                                    f"{held_acc[adam].size}")
    result_temp, temp = temp, measured["gos-temperature"]
    for key, exponent in (("gos_temperature_ci", 1.0), ("gos_temperature_control_ci", 0.0)):
        lo, hi = temp["shrink_intervals"][exponent_key(exponent)]
        out[key] = plain(_interval_text(lo, hi))
    out["gos_temperature_pairs"] = plain(len(temp["tau_onset"]))
    out["gos_temperature_medians_ratio"] = plain(result_temp.std_log10_tau_medians
                                                 / result_temp.std_log10_r_medians, 3)
    kl = measured["gos-kl-remainder"]
    out["gos_kl_random_forward"] = plain(max(kl["ratios"]["forward"]) * 18 * 3**0.5, 4)
    out["gos_kl_random_reverse"] = plain(max(kl["ratios"]["reverse"]) * 18 * 3**0.5, 4)
    out["gos_kl_n"] = plain(len(kl["ratios"]["forward"]))
    return out


def measurements(*, cases: list[dict[str, float]], matches_body: bool, ratios: Sequence[float],
                 jvp: Mapping[str, Any], sweeps: Sequence[CheckpointSweepResult],
                 converged: ConvergedSweepResult, arch: ArchgridResult, held: SpikeResult,
                 temp: TemperatureResult, mismatch: dict[int, tuple[float, float]],
                 kl: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The measurement dictionary of every claim of the chapter, keyed by claim id (what
    :func:`boundbook.core.ledger.report` decides the verdicts from): exactly the keys of
    :data:`READS`."""
    onsets = onset_table(sweeps)
    temperature = {
        "tau_onset": np.asarray(temp.tau_onset).ravel(),
        "delta_a": np.asarray(temp.delta_a).ravel(),
        "temperature": np.repeat(np.asarray(temp.temperatures), len(temp.seeds))}
    temperature["shrink_intervals"] = shrink_intervals(temperature)
    return {
        "gos-binary-radius": {"cases": cases, "sympy_matches_body": matches_body},
        "gos-multiclass-bound": {"ratios": list(ratios[1:]), "tight_ratio": float(ratios[0])},
        "gos-one-jvp": {k: jvp[k] for k in READS["gos-one-jvp"]},
        "gos-safe-steps": onsets,
        "gos-safe-steps-gradient": converged_onsets(converged),
        "gos-collapse-band": onsets,
        "gos-controller-survives": spike_counts(arch),
        "gos-clipping-collapses": collapse_counts(arch),
        "gos-spike-held": held_spike_accuracy(held),
        "gos-temperature": temperature,
        "gos-temperature-normalises": dict(temperature),
        "gos-hessian-mismatch": {"ratio": {str(k): v[0] for k, v in mismatch.items()}},
        "gos-kl-bregman": {k: kl[k] for k in READS["gos-kl-bregman"]},
        "gos-kl-remainder": {k: kl[k] for k in READS["gos-kl-remainder"]},
    }
