"""SGD linear stability at an interpolating minimum: what the chapter computes, and its tables.

The pieces: :mod:`~boundbook.chapters.sgd_linear_stability.operators` (instances, the
mean-square operator, exact thresholds by bisection and by Mulayoff & Michaeli's closed form)
and :mod:`~boundbook.chapters.sgd_linear_stability.monte_carlo` (real SGD runs). Here:
:func:`threshold_plan` and :func:`run_monte_carlo` (what the chapter computes, from its settings,
:func:`boundbook.chapters.sgd_linear_stability.protocol.settings`), the derived Bernoulli
predictions, and the notebook's tables. The notebook builds its instances and thresholds with
:func:`make_instances`, :func:`hessian_check` and :func:`threshold_table` (re-exported here).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from boundbook.chapters.sgd_linear_stability.derivation import (
    coherent_threshold,
    orthogonal_threshold,
)
from boundbook.chapters.sgd_linear_stability.monte_carlo import MonteCarlo, mean_square_runs
from boundbook.chapters.sgd_linear_stability.operators import (
    INSTANCES,
    Instance,
    ThresholdTable,
    hessian_check,
    make_instances,
    threshold_table,
)

if TYPE_CHECKING:
    from boundbook.chapters.sgd_linear_stability.protocol import SGDSettings

__all__ = [
    "bernoulli_predictions",
    "closed_form_table",
    "coherent_bernoulli_table",
    "hessian_check",
    "illustration_table",
    "make_instances",
    "monte_carlo_table",
    "run_monte_carlo",
    "threshold_plan",
    "threshold_table",
    "trace_control_table",
    "trace_table",
]


# --------------------------------------------------------------------------- the chapter's runs
def threshold_plan(cfg: SGDSettings) -> list[tuple[str, str, tuple[int, ...]]]:
    """Which thresholds the chapter computes: every instance with replacement over the batch
    sizes (and B = n for the instances of the uniform-batch comparison); uniform B-subsets
    (Mulayoff & Michaeli) and Bernoulli batches (Dexter et al.) over the batch sizes and the
    full batch B = n."""
    bs, full = cfg.batch_sizes, (*cfg.batch_sizes, cfg.n)
    uniform = ("gaussian", "aligned")
    plan = [(name, "with", full if name in uniform else bs) for name in INSTANCES]
    plan += [(name, "without", full) for name in uniform]
    plan += [(name, "bernoulli", full) for name in ("orthogonal", "coherent", "gaussian")]
    return plan


def bernoulli_predictions(table: ThresholdTable) -> dict[str, list[float]]:
    """Derived Bernoulli thresholds (:mod:`boundbook.chapters.sgd_linear_stability.derivation`)
    at the table's batch sizes: orthogonal equal-norm rows :math:`2B/a`, coherent rows
    :math:`2/(\\lambda(1 + 1/B - 1/n))`."""
    out: dict[str, list[float]] = {}
    for name, fn in (("orthogonal", orthogonal_threshold), ("coherent", coherent_threshold)):
        rows = sorted(table.select(instance=name, sampling="bernoulli"), key=lambda r: r["B"])
        scale = "trace_h" if name == "orthogonal" else "lam_max"
        out[name] = [fn(r[scale], r["n"], r["B"], "bernoulli") for r in rows]
    return out


def run_monte_carlo(instances: Mapping[str, Instance], table: ThresholdTable,
                    cfg: SGDSettings) -> tuple[list[MonteCarlo], list[MonteCarlo]]:
    """The verdict's Monte-Carlo runs (``cfg.mc_configs``, with replacement) and the
    illustrations (``cfg.mc_illustrations``), each started at the bisected threshold."""
    def one(name: str, b: int, sampling: str, steps: int, k: int) -> MonteCarlo:
        eta = table.get(instance=name, sampling=sampling, B=b)["eta_bisect"]
        every = max(1, steps // 40)
        return mean_square_runs(instances[name], b, eta, cfg.mc_factors, steps, cfg.mc_runs,
                                seed=cfg.seed + 100 + k, record_every=every, sampling=sampling,
                                seeds=cfg.mc_seeds)

    main = [one(name, b, "with", cfg.mc_steps, k) for k, (name, b) in enumerate(cfg.mc_configs)]
    extra = [one(name, b, s, steps, 50 + k)
             for k, (name, b, s, steps) in enumerate(cfg.mc_illustrations)]
    return main, extra


# --------------------------------------------------------------------------- tables
Table = tuple[list[tuple[Any, ...]], list[str]]


def trace_table(table: ThresholdTable) -> Table:
    """Per (instance, B < n), with replacement: the bisected threshold against the trace bound
    :math:`2B/\\mathrm{Tr}H` and GD's :math:`2/\\lambda_{\\max}`."""
    rows = [(r["instance"], r["B"], r["eta_bisect"], r["trace_bound"],
             r["eta_bisect"] / r["trace_bound"], r["gd"])
            for r in table.select(sampling="with") if r["B"] < r["n"]]
    return rows, ["instance", "B", "η* (bisection)", "2B/Tr H", "η* / (2B/Tr H)", "GD 2/λmax"]


def closed_form_table(table: ThresholdTable) -> Table:
    """Per (instance, B), uniform B-subsets: bisection against Mulayoff & Michaeli's closed form,
    the radius just below and above, and the Eq. 16 bound."""
    rows = [(r["instance"], r["B"], r["eta_bisect"], r["eta_closed"],
             abs(r["eta_bisect"] - r["eta_closed"]) / r["eta_closed"], r["rho_below"],
             r["rho_above"], r["eq16"]) for r in table.select(sampling="without")]
    return rows, ["instance", "B", "η* bisection", "2/λmax(C†D)", "rel. diff", "ρ at 0.98η*",
                  "ρ at 1.02η*", "Eq. 16"]


def monte_carlo_table(runs: Sequence[MonteCarlo]) -> Table:
    """The verdict's Monte-Carlo runs: per step size, the mean-square distance at the end, its
    95% bootstrap interval over seeds, the operator's exact value and the median run."""
    rows = [(mc.instance, mc.batch, mc.steps[-1], f["factor"], f["eta"], f["mean"], f["lo"],
             f["hi"], f["exact"], f["median"])
            for mc in runs for f in map(mc.final, range(len(mc.factors)))]
    return rows, ["instance", "B", "T", "η/η*", "η", "mean", "95% lo", "95% hi", "exact",
                  "median"]


def illustration_table(runs: Sequence[MonteCarlo]) -> Table:
    """The illustrations (runs not used for a verdict), with the fraction of runs that end
    closer to the minimum than they started."""
    rows = [(mc.batch, mc.sampling, f["factor"], f["exact"], f["mean"], f["lo"], f["hi"],
             f["median"], f["shrunk"])
            for mc in runs for f in map(mc.final, range(len(mc.factors)))]
    return rows, ["B", "sampling", "η/η*", "exact", "MC mean", "95% lo", "95% hi", "median",
                  "runs closer"]


def trace_control_table(table: ThresholdTable, batch: int = 8) -> Table:
    """The trace claim's control: :math:`\\eta^*\\mathrm{Tr}H/2` at batch size ``batch`` (the
    batch-size-one form requires it to be at most 1)."""
    rows = [(r["instance"], r["eta_bisect"] * r["trace_h"] / 2)
            for r in table.select(sampling="with", B=batch)]
    return rows, ["instance", f"η* Tr H / 2 at B = {batch} (B = 1 form: must be ≤ 1)"]


def coherent_bernoulli_table(table: ThresholdTable) -> Table:
    """The Bernoulli claim's control: coherent data's Bernoulli threshold against GD's."""
    rows = [(r["B"], r["eta_bisect"], r["gd"])
            for r in table.select(instance="coherent", sampling="bernoulli")]
    return rows, ["B", "coherent, Bernoulli η*", "GD 2/λ"]
