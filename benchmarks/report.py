"""Write ``book/performance.md`` and its figure from ``benchmarks/results.json``.

The page is generated: a table of every ratio with its spread, the accuracy-time frontier of
each method for the top Hessian eigenvalue, the issue's goals met or missed, and for a missed
goal the decomposition of the ratio (products used x time per product) and the profile.
Run: ``.venv/bin/python benchmarks/report.py [--results FILE]`` (``make bench`` runs it).
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "book" / "performance.md"
FIGURE = ROOT / "book" / "figures" / "hessian_frontier.png"
LABELS = {"ours": "boundbook (Lanczos)", "pyhessian": "PyHessian (power iteration)",
          "curvlinops": "curvlinops + eigsh (ARPACK)"}
COLORS = {"ours": "#1b6ca8", "pyhessian": "#c0392b", "curvlinops": "#7d8c2a"}
MODEL_TITLES = {"mlp_9k": "64-128-10 (9,610 parameters)",
                "mlp_301k": "64-512-512-10 (301,066 parameters)",
                "mlp_1m": "64-960-960-10 (994,570 parameters)"}


def fmt(x: float | None, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "-"
    return f"{x:.{digits}g}"


def span(r: dict) -> str:
    """``median [min, max]`` of a record's ratios."""
    q = r["ratio"]
    return f"{fmt(q['median'])} [{fmt(q['min'])}, {fmt(q['max'])}]"


def frontier_figure(hess: dict) -> None:
    models = [m for m in MODEL_TITLES if m in hess["models"]]
    fig = Figure(figsize=(4.2 * len(models), 3.6), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(models), squeeze=False)[0]
    for ax, name in zip(axes, models, strict=True):
        front = hess["models"][name]["frontier"]
        for method, pts in front.items():
            pts = [p for p in pts if p["error"] > 0]
            if not pts:
                continue
            xs = [p["seconds"] for p in pts]
            ys = [max(p["error"], 1e-9) for p in pts]
            style = {"pyhessian": "-", "ours": "-o", "curvlinops": "s"}[method]
            ax.plot(xs, ys, style, ms=3.5, lw=1.3, color=COLORS[method], label=LABELS[method])
        for target in (1e-3, 1e-5):
            ax.axhline(target, color="0.6", lw=0.8, ls="--")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_ylim(1e-9, 2.0)
        ax.set_xlabel("wall time (s), this run")
        ax.set_title(MODEL_TITLES[name], fontsize=9)
        ax.grid(True, which="major", lw=0.3, alpha=0.5)
    axes[0].set_ylabel("true relative error of the top eigenvalue")
    axes[0].legend(fontsize=7, loc="lower left")
    FIGURE.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(FIGURE, dpi=110, metadata={"Software": None})


def goals_table(records: list[dict], hess: dict) -> list[str]:
    lines = ["| goal | measured, median [min, max] | repeats | met |", "|---|---|---|---|"]
    for r in records:
        g = r.get("goal")
        if not g or r.get("ratio") is None:
            continue
        if r["group"] == "hvp cost" and r["config"].get("mode") != "reverse":
            continue
        lines.append(f"| {r['name']}: {g['op']} {fmt(g['value'])} | {span(r)} | "
                     f"{r['repeats']} | {'met' if g['met'] else '**missed**'} |")
    mem = hess.get("memory_goal")
    if mem:
        lines.append(f"| 1M parameters, 10,000 samples, chunked: peak memory <= "
                     f"{fmt(mem['limit_gib'])} GiB | {fmt(mem['peak_gib_chunked'])} GiB "
                     f"(whole process) | 1 | {'met' if mem['met'] else '**missed**'} |")
    return lines


def _med(xs) -> float:
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else 0.5 * (xs[n // 2 - 1] + xs[n // 2])


def _settings(values: list[dict]) -> str:
    keys = list(values[0])
    parts = []
    for k in keys:
        vs = sorted({v[k] for v in values})
        parts.append(f"{k} {fmt(vs[0], 2)}" if len(vs) == 1 else
                     f"{k} {fmt(vs[0], 2)}-{fmt(vs[-1], 2)}")
    return ", ".join(parts)


def eigen_table(records: list[dict], hess: dict) -> list[str]:
    lines = ["| model | true error | baseline | baseline time / ours, median [min, max] | "
             "repeats | products, median (ours / baseline) | time per product "
             "(baseline / ours) | settings (ours / baseline) |",
             "|---|---|---|---|---|---|---|---|"]
    for r in records:
        if r["group"] != "top eigenvalue":
            continue
        c = r["config"]
        base = "pyhessian" if "pyhessian" in r["name"] else "curvlinops"
        if r.get("ratio") is None:
            lines.append(f"| {MODEL_TITLES[c['model']]} | {fmt(c['target_error'])} | "
                         f"{LABELS[base]} | did not reach the target | 0 | - | - | - |")
            continue
        e = r["extra"]
        knob_base = "oracle " + _settings(e["settings"][base]) if base == "pyhessian" \
            else _settings(e["settings"][base])
        lines.append(f"| {MODEL_TITLES[c['model']]} | {fmt(c['target_error'])} | {LABELS[base]} | "
                     f"{span(r)} | {r['repeats']} | {fmt(_med(e['products']['ours']))} / "
                     f"{fmt(_med(e['products'][base]))} | "
                     f"{fmt(e['time_per_product_ratio']['median'])} | "
                     f"{_settings(e['settings']['ours'])} / {knob_base} |")
    return lines


def simple_table(records: list[dict], groups: tuple[str, ...]) -> list[str]:
    lines = ["| ratio | what it is | median [min, max] | repeats |", "|---|---|---|---|"]
    for r in records:
        if r["group"] in groups and r.get("ratio") is not None:
            lines.append(f"| {r['name']} | {r['meaning']} | {span(r)} | {r['repeats']} |")
    return lines


def missed_explanations(records: list[dict], hess: dict) -> list[str]:
    out = []
    for r in records:
        g = r.get("goal")
        if not g or g["met"] or r["group"] != "top eigenvalue":
            continue
        e = r["extra"]
        base = "pyhessian" if "pyhessian" in r["name"] else "curvlinops"
        need = g["value"] / r["ratio"]["median"]
        out.append(
            f"- **{r['name']}**: {fmt(r['ratio']['median'])}x against a goal of "
            f"{fmt(g['value'])}x (short by a factor {fmt(need)}). The ratio is the number of "
            f"products (median {fmt(_med(e['products'][base]))} against our "
            f"{fmt(_med(e['products']['ours']))}; per start "
            f"{fmt(e['product_ratio']['median'])}x [{fmt(e['product_ratio']['min'])}, "
            f"{fmt(e['product_ratio']['max'])}]) times the time per product "
            f"({fmt(e['time_per_product_ratio']['median'])}x).")
    prof = hess.get("profile")
    if out and prof:
        for name, p in prof.items():
            ops = ", ".join(f"`{t['op']}` {100 * t['share']:.0f}%" for t in p["top_ops"][:5])
            out.append(f"- Profile of one {LABELS[name]} run on the 301k model "
                       f"({fmt(p['total_ms'] / 1000)} s of CPU time in operators): {ops}.")
    return out


def floor_sentence(hess: dict) -> str:
    """The smallest true error any float32 run reached, per model: float32's own floor."""
    parts = []
    for name, m in hess["models"].items():
        errs = [p["error"] for pts in m["frontier"].values() for p in pts]
        if errs:
            parts.append(f"{MODEL_TITLES[name].split(' (')[0]}: {fmt(min(errs), 2)}")
    return ("Every method works in float32 (our Lanczos recurrence in float64); the smallest "
            "true error any run reached was " + ", ".join(parts) + ".")


def write(res: dict) -> str:
    records, hess = res["records"], res["hessian"]
    frontier_figure(hess)
    m = res["machine"]
    lines = [
        "# Performance",
        "",
        "How fast the book's Hessian toolkit is, as ratios measured within one run of "
        "`make bench` (baseline time over ours, or a cost in units of another operation), each "
        "with its spread over paired repeats: ratios transfer across machines, seconds do not. "
        "Generated by `benchmarks/report.py` from `benchmarks/results.json`; do not edit.",
        "",
        f"Run of {res['generated']} on {m['cores']} cores ({m['cpu']}), torch {m['torch']}, "
        f"PyHessian {m['pyhessian']}, curvlinops {m['curvlinops']}, commit {res['commit']}; "
        f"`benchmarks/run.py` took {res['wall_seconds']:.0f} s. The machine was shared "
        f"(load average {fmt(m['load_average_at_end'][0], 2)} at the end), so the spreads "
        "are wide where a run is short.",
        "",
        "## Goals",
        "",
        *goals_table(records, hess),
        "",
        "## The top eigenvalue at equal true error",
        "",
        "Digits (1,437 training images), one-hot targets, `torch.nn.MSELoss`, tanh MLPs in "
        "float32 at their seeded initialisation. The truth is a long Lanczos run on a float64 "
        "copy of each model. Every method is timed at the cheapest setting of its own knobs "
        "that reaches the target: ours the loosest `tol` on a grid, PyHessian the oracle `tol` "
        "(its stopping rule replayed on a recorded run: the best setting it could have had), "
        "both for each start (seed r in repeat r: power iteration's cost depends on the start "
        "far more than Lanczos's), and ARPACK the `ncv` and `tol` on a grid that meet it with "
        "the fewest products from seed 0. "
        + floor_sentence(hess),
        "",
        "```{figure} figures/hessian_frontier.png",
        ":alt: True relative error of the top Hessian eigenvalue against wall time, per method",
        "",
        "Accuracy against time for each method and model (one run each; dashed: the targets "
        "1e-3 and 1e-5). Points are settings of the method's knob; PyHessian's curve is its "
        "power iteration, each product a possible stop.",
        "```",
        "",
        *eigen_table(records, hess),
        "",
    ]
    words = []
    for name, mm in hess["models"].items():
        for target, w in mm.get("ours_at_its_word", {}).items():
            words.append(f"{MODEL_TITLES[name]} at `tol={float(target):g}`: true error "
                         f"{fmt(w['error'], 2)} in {w['products']} products")
    if words:
        lines += ["With `tol` taken at its word (`tol` = the target), our stopping rule "
                  "returned: " + "; ".join(words) + ".", ""]
    missed = missed_explanations(records, hess)
    if missed:
        lines += ["### Where a goal was missed, and why", "", *missed, "",
                  "Both PyHessian and our default use the same reverse-over-reverse product, so "
                  "against PyHessian the ratio is bounded by how many fewer products Lanczos "
                  "needs than power iteration on this spectrum (second eigenvalue "
                  "within a few percent of the first); the profiles show both spending their "
                  "time in the same autograd kernels.", ""]
    lines += ["## One Hessian-vector product, in gradients", "",
              "Reverse mode (the default) builds the gradient's graph once per point and "
              "reuses it for every product; forward mode (`torch.func`, composes with `vmap`) "
              "recomputes it. `mode=\"auto\"` times both and keeps the faster.", "",
              *simple_table(records, ("hvp cost",)), ""]
    mem = hess.get("memory", [])
    if mem:
        lines += ["## Memory", "",
                  "A 994,570-parameter MLP (64-960-960-10), a batch of 10,000 samples, three "
                  "Lanczos steps, each configuration in a fresh process (peak resident memory "
                  "of the whole process, and the rise during the call over the loaded model and "
                  "data). The Lanczos basis (float64) adds "
                  f"{fmt(100 * mem[0]['parameters'] * 8 / 2**20)} MiB per 100 steps.", "",
                  "| mode | chunk (rows) | process peak (MiB) | rise during the call (MiB) |",
                  "|---|---|---|---|"]
        for rec in mem:
            lines.append(f"| {rec['mode']} | {rec['chunk_size'] or 'whole batch'} | "
                         f"{rec['peak_rss_mib']:.0f} | {fmt(rec['increase_mib'])} |")
        lines.append("")
    lines += ["## The other toolkits", "",
              *simple_table(records, ("stable steps", "directional", "bookkeeping")), ""]
    if any(r["group"] == "sweeps" for r in records):
        lines += ["## Sweeps", "",
                  "Eight quick-mode runs of one chapter through the runner, one after another, "
                  "against the same runs as one `boundbook sweep` on a Dask `LocalCluster` of "
                  "two single-threaded workers (`make bench-sweep`). On two cores the ceiling is "
                  "2x, and a serial run already keeps both cores busy with torch's intra-op "
                  "threads, so the gain is small here; it grows with cores and workers.", "",
                  *simple_table(records, ("sweeps",)), ""]
    text = "\n".join(lines)
    PAGE.write_text(text)
    return text


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--results", default=str(Path(__file__).resolve().parent / "results.json"))
    args = ap.parse_args()
    write(json.loads(Path(args.results).read_text()))
    print(f"wrote {PAGE.relative_to(ROOT)} and {FIGURE.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
