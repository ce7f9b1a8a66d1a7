"""Ledger records: one JSON file per claim, the chapter's verdict table, and the ledger page.

``report(chapter, measurements, run)`` is what a chapter's last (nbval-checked) cell calls. It

1. turns the measurements into plain JSON (so that cached records re-decide exactly the same
   verdict later, e.g. for ``boundbook mutate``),
2. decides every claim's verdict (:func:`boundbook.core.claims.decide`) and runs its mutations,
3. prints a deterministic table (no timings, no addresses; numbers rounded to each claim's
   significant digits),
4. writes ``<records>/<chapter>/<claim id>.json`` atomically, each with its provenance block
   (:mod:`boundbook.core.provenance`).

Where the records go is the runner's decision, which it passes in ``BOUNDBOOK_RECORDS`` (a
staging folder it publishes from). With no runner (plain papermill, Jupyter's "Run all")
``report`` writes to the run's own folder, ``_build/runs/<chapter>/<mode>-seed<N>[-<hash>]/``,
and says so: only ``boundbook run`` publishes into the committed ``ledger/records``.

``write_ledger`` gathers all records into ``book/ledger.md`` (and returns them for ``--json``).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from boundbook.core import paths
from boundbook.core.claims import Evaluation, decide, mutate, round_sig
from boundbook.core.params import RunParams
from boundbook.core.provenance import RUN_KEY, collect


def to_jsonable(x: Any) -> Any:
    """Convert numpy/torch values, dataclasses and containers to JSON types; inf/nan become
    strings."""
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        x = {f.name: getattr(x, f.name) for f in dataclasses.fields(x)}
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    if hasattr(x, "tolist") and not isinstance(x, (str, bytes)):
        x = x.tolist()
    if isinstance(x, Mapping):
        return {str(k): to_jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [to_jsonable(v) for v in x]
    if isinstance(x, bool) or x is None or isinstance(x, str):
        return x
    if isinstance(x, int):
        return x
    if isinstance(x, float):
        if math.isnan(x):
            return "nan"
        if math.isinf(x):
            return "inf" if x > 0 else "-inf"
        return x
    raise TypeError(f"cannot store {type(x).__name__} in a ledger record")


def atomic_write_text(path: Path, text: str) -> None:
    """Write via a temporary file in the same folder and rename: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def make_record(ev: Evaluation, chapter: str, run: RunParams,
                measurements: Mapping[str, Any]) -> dict[str, Any]:
    c = ev.claim
    muts = mutate(c, measurements)
    return {
        "id": c.id,
        "chapter": chapter,
        "title": c.title,
        "paper": c.source.arxiv,
        "source": str(c.source),
        "family": c.family,
        "kind": c.kind,
        "provenance": c.provenance,
        "monte_carlo": c.monte_carlo,
        "statement": c.statement,
        "printed_statement": c.printed_statement,
        "verdict": ev.verdict.value,
        "predicted": round_sig(ev.main.predicted, c.digits),
        "measured": round_sig(ev.main.measured, c.digits),
        "interval": ev.main.to_dict(c.digits)["interval"],
        "slack": ev.main.to_dict(c.digits)["slack"],
        "equality": ev.main.to_dict(c.digits)["equality"],
        "tolerance": c.tolerance.to_dict(),
        "check": ev.main.to_dict(c.digits),
        "printed_check": None if ev.printed is None else ev.printed.to_dict(c.digits),
        "negative_control": {"label": c.control_label, "outcome": ev.control_text,
                             **ev.control.to_dict(c.digits)},
        "mutations": [{"mutation": m.mutation.name, "verdict": m.verdict.value,
                       "caught": m.caught} for m in muts],
        "mutation_score": f"{sum(m.caught for m in muts)}/{len(muts)}",
        "mutation_exempt": c.mutation_exempt,
        "paper_reports": c.paper_reports,
        "builds_on": list(c.builds_on),
        "mode": run.mode,
        "seed": run.seed,
        "measurements": measurements,
        RUN_KEY: collect(run),
    }


def report(chapter: Any, measurements: Mapping[str, Mapping[str, Any]], run: RunParams,
           records_dir: Path | None = None, show: bool = True) -> list[Evaluation]:
    """Decide, print and record every claim of ``chapter`` (a Chapter or its slug)."""
    from boundbook.core.chapter import get

    ch = get(chapter) if isinstance(chapter, str) else chapter
    check_contract(ch, measurements, reads(ch))
    cached = json.loads(json.dumps(to_jsonable(measurements)))
    evaluations = [decide(c, cached[c.id]) for c in ch.claims]
    records = [make_record(ev, ch.slug, run, cached[ev.claim.id]) for ev in evaluations]
    if show:
        print(verdict_table(records))
    out = (records_dir or records_target(ch.slug, run)) / ch.slug
    for rec in records:
        atomic_write_text(out / f"{rec['id']}.json", json.dumps(rec, indent=1) + "\n")
    return evaluations


def records_target(slug: str, run: RunParams) -> Path:
    """Where :func:`report` writes: the runner's staging folder (``BOUNDBOOK_RECORDS``), or
    with no runner the run folder's ``records/`` (announced on stdout)."""
    if os.environ.get("BOUNDBOOK_RECORDS"):
        return paths.records()
    folder = paths.run_folder(slug, run.tag) / "records"
    print(f"records written to {folder / slug} (a run folder: only `boundbook run` in quick "
          "mode with seed 0 and default settings updates the committed ledger)")
    return folder


class MeasurementError(ValueError):
    """A measurement dictionary that does not match the chapter's declared contract."""


def reads(chapter: Any) -> Mapping[str, Any]:
    """The chapter's measurement contract: ``protocol.READS``, claim id -> the keys its check
    and control read. Chapters that are not packages (tests' toy chapters) may carry the
    contract as ``chapter.reads`` instead."""
    import importlib

    own = getattr(chapter, "reads", None)
    if own is not None:
        return own
    return importlib.import_module(f"boundbook.chapters.{chapter.slug}.protocol").READS


def check_contract(chapter: Any, measurements: Mapping[str, Any],
                   contract: Mapping[str, Any]) -> None:
    """Refuse a measurement dictionary with a missing or unexpected claim or key: one line
    naming the chapter, the claim and the key."""
    ids = [c.id for c in chapter.claims]
    for cid in ids:
        if cid not in contract:
            raise MeasurementError(f"report({chapter.slug}): claim {cid} has no declared "
                                   "measurement keys (protocol.READS)")
        if cid not in measurements:
            raise MeasurementError(f"report({chapter.slug}): no measurements for claim {cid}")
        given, declared = set(measurements[cid]), set(contract[cid])
        for key in sorted(declared - given):
            raise MeasurementError(f"report({chapter.slug}): claim {cid} reads key {key!r}, "
                                   "missing from its measurements")
        for key in sorted(given - declared):
            raise MeasurementError(f"report({chapter.slug}): claim {cid} got unexpected key "
                                   f"{key!r} (declared: {', '.join(sorted(declared))})")
    for cid in sorted(set(measurements) - set(ids)):
        raise MeasurementError(f"report({chapter.slug}): measurements for unknown claim {cid}")
    for cid in sorted(set(contract) - set(ids)):
        raise MeasurementError(f"report({chapter.slug}): protocol.READS names unknown claim "
                               f"{cid}")


def verdict_table(records: list[dict[str, Any]]) -> str:
    """The deterministic verdict table printed by a chapter's last cell."""
    head = ("claim", "verdict", "predicted", "measured", "negative control", "mutations")
    rows = [head] + [(r["id"], r["verdict"], str(r["predicted"]), str(r["measured"]),
                      r["negative_control"]["outcome"], r["mutation_score"]) for r in records]
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
             for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def load_records(records_dir: Path | None = None) -> list[dict[str, Any]]:
    """The records of the book's chapters (``BOOK``), in book order."""
    from boundbook.core.chapter import registry

    base = records_dir or paths.records()
    order = {c.id: i for i, c in enumerate(
        c for ch in registry().values() for c in ch.claims)}
    book = registry()
    recs = [json.loads(p.read_text()) for p in sorted(base.glob("*/*.json"))
            if p.parent.name in book]  # drafts' records (if any) never enter the ledger
    return sorted(recs, key=lambda r: (order.get(r["id"], len(order)), r["id"]))


def _interval(record: dict[str, Any]) -> str:
    """The 95% interval beside the measured value. Some checks decide on a statistic other
    than the one they report (a worst case reported, a share of seeds decided): their interval
    does not contain the measured value and is labelled as such (the record's note names it)."""
    iv = record.get("interval")
    if not iv:
        return ""
    m = record.get("measured")
    if isinstance(m, (int, float)) and not isinstance(m, bool) and not \
            min(iv) <= m <= max(iv):
        return f" (95% CI of the decision statistic {iv[0]}–{iv[1]}; see the note)"
    return f" (95% CI {iv[0]}–{iv[1]})"


VERDICTS_TEXT = (
    "Decided by `boundbook.core.claims.decide`, in this order. `inconclusive`: the negative "
    "control passed too (the check could not discriminate), or the check's or the control's 95% "
    "interval straddles its bar. `erratum`: the statement as printed in the paper fails the "
    "check that the derived statement passes. `violated`: the check fails. `tight`: a bound "
    "that holds and whose worst slack over instances not constructed to attain equality is at "
    "most 10%. `holds`: the check passes and the control fails. Kinds: `identity` (an exact "
    "equality), `bound` (a one-sided inequality; slack = its worst relative margin), "
    "`threshold` (a critical value; slack = the measured value's relative offset), "
    "`phenomenon` (an empirical behaviour decided on a criterion fixed before the run, with an "
    "interval over seeds). Provenance: `paper` (read in the paper, cited by theorem, equation or "
    "section, or *abstract only*), `derived` (the book's own derivation), `harness` (a "
    "calibration of the book's measuring apparatus); only `paper` claims are credited to a "
    "paper.")


def _slack(record: dict[str, Any]) -> str:
    """The measured slack of a bound (and its constructed equality case) or the offset of a
    threshold, as a percentage; empty for identities and phenomena."""
    s, eq = record.get("slack"), record.get("equality")
    if s is None or record.get("kind") not in ("bound", "threshold"):
        return ""
    text = f"{100 * float(s):+.3g}%"
    if eq is not None:
        text += f" (equality case {100 * float(eq):+.2g}%)"
    return text


def summary_table(records: list[dict[str, Any]]) -> list[str]:
    """Verdict counts by provenance and kind: the papers' claims apart from the book's own."""
    from collections import Counter

    verdicts = ("tight", "holds", "violated", "erratum", "inconclusive")
    rows = Counter((r.get("provenance", "paper"), r.get("kind", ""), r["verdict"])
                   for r in records)
    out = ["| provenance | kind | " + " | ".join(verdicts) + " | total |",
           "|---|---|" + "---|" * (len(verdicts) + 1)]
    for prov in ("paper", "derived", "harness"):
        for kind in ("identity", "bound", "threshold", "phenomenon"):
            n = [rows.get((prov, kind, v), 0) for v in verdicts]
            if sum(n):
                out.append(f"| {prov} | {kind} | " + " | ".join(str(x) for x in n)
                           + f" | {sum(n)} |")
    return out


BADGES: Mapping[str, str] = {"tight": "success", "holds": "primary", "inconclusive": "secondary",
                             "erratum": "warning", "violated": "danger"}
"""sphinx-design badge colour of each verdict."""

FIGURES = ("figures/ledger_verdicts.svg", "figures/claim_graph.svg", "figures/timing.svg")
"""The ledger's figures, relative to ``book/`` (written by :func:`write_ledger`)."""


def badge(verdict: str) -> str:
    return f"{{bdg-{BADGES.get(verdict, 'secondary')}}}`{verdict}`"


def book_parts() -> list[tuple[str, list[str]]]:
    """(part caption, chapter slugs) in ``_toc.yml`` order, for the chapters' notebooks."""
    import yaml

    toc = yaml.safe_load((paths.root() / "_toc.yml").read_text())
    out = []

    def slugs(entries: list[dict[str, Any]]) -> list[str]:
        found = []
        for e in entries or []:
            f = str(e.get("file", ""))
            if f.startswith("notebooks/"):
                found.append(f.split("/", 1)[1])
            found += slugs(e.get("sections", []))
        return found

    for part in toc.get("parts", []):
        names = slugs(part.get("chapters", []))
        if names:
            out.append((part.get("caption", ""), names))
    return out


def _row(r: dict[str, Any]) -> str:
    measured = f"{r['measured']}{_interval(r)}"
    return (f"| {{prf:ref}}`{r['id']} <{r['id']}>` | {r.get('kind', '')} | {badge(r['verdict'])} "
            f"| {r['predicted']} | {measured} | {_slack(r)} | "
            f"{r['negative_control']['outcome']} | {r['mutation_score']} | "
            f"[record](#ledger-{r['id']}) |")


def _grouped(rows: list[dict[str, Any]], parts: list[tuple[str, list[str]]]) -> list[str]:
    from boundbook.core.chapter import registry

    book = registry()
    head = ["| claim | kind | verdict | predicted | measured | slack | negative control "
            "| mutations | |", "|---|---|---|---|---|---|---|---|---|"]
    lines: list[str] = []
    for caption, slugs in parts:
        in_part = [r for r in rows if r["chapter"] in slugs]
        if not in_part:
            continue
        lines += [f"### {caption}", ""]
        for slug in slugs:
            mine = [r for r in in_part if r["chapter"] == slug]
            if not mine or slug not in book:
                continue
            ch = book[slug]
            where = f"arXiv:{ch.paper}" if ch.paper[:1].isdigit() else ch.paper
            lines += [f"**[{ch.title}](../notebooks/{slug}.ipynb)** ({where})",
                      "", *head, *(_row(r) for r in mine), ""]
    return lines


def ledger_markdown(records: list[dict[str, Any]]) -> str:
    from boundbook.core.chapter import registry

    counts: dict[str, int] = {}
    for r in records:
        counts[r["verdict"]] = counts.get(r["verdict"], 0) + 1
    caught = sum(int(r["mutation_score"].split("/")[0]) for r in records)
    total = sum(int(r["mutation_score"].split("/")[1]) for r in records)
    ran = {r["id"] for r in records}
    not_run = [c.id for ch in registry().values() for c in ch.claims if c.id not in ran]
    parts = book_parts()
    n_paper = sum(r.get("provenance") == "paper" for r in records)
    lines = [
        "# Ledger of claims",
        "",
        "Every claim the book checks, with the verdict its chapter's code decided. This page is",
        "generated by `boundbook ledger` from the records the chapters write; do not edit it.",
        "",
        f"**{len(records)} claims** ({n_paper} stated by the papers, {len(records) - n_paper} "
        "the book's own): " + ", ".join(f"{badge(v)} {counts[v]}" for v in
                                        ("tight", "holds", "inconclusive", "erratum", "violated")
                                        if v in counts)
        + f". Mutations caught: **{caught}/{total}**.",
        "",
        f"```{{figure}} {FIGURES[0]}",
        ":alt: Verdicts per bound family",
        ":width: 600px",
        "",
        "Verdicts per bound family.",
        "```",
        "",
        *summary_table(records),
        "",
    ]
    if not_run:
        lines += [f"Registered but not yet run: {', '.join(not_run)}.", ""]
    lines += ["Each claim links to its formal statement in its chapter; *record* opens its "
              "full record below. Slack: the worst relative margin of a bound, or a threshold's "
              "offset (see the end of the page).", ""]
    groups = (("Claims of the papers", [r for r in records if r.get("provenance") == "paper"]),
              ("The book's own derivations and harness checks (not credited to a paper)",
               [r for r in records if r.get("provenance") != "paper"]))
    for heading, rows in groups:
        if rows:
            lines += [f"## {heading}", "", *_grouped(rows, parts)]
    edges = [(a, r["id"]) for r in records for a in r.get("builds_on", ())]
    if edges:
        lines += ["## What builds on what", "",
                  "An arrow goes from a claim to a claim that builds on it (its derivation or "
                  "its experiment uses it); colours are the verdicts. A violated or erratum "
                  "claim upstream is where to look first when a claim below it fails.", "",
                  f"```{{figure}} {FIGURES[1]}", ":alt: Claim dependency graph", "",
                  "Claim dependencies, coloured by verdict.", "```", "",
                  "| claim | builds on |", "|---|---|"]
        for r in records:
            if r.get("builds_on"):
                lines.append(f"| {{prf:ref}}`{r['id']} <{r['id']}>` {badge(r['verdict'])} | "
                             + ", ".join(f"{{prf:ref}}`{a} <{a}>`" for a in r["builds_on"])
                             + " |")
        lines.append("")
    lines += ["", "## The claims in detail", ""]
    for r in records:
        muts = "; ".join(f"{m['mutation']} → {m['verdict']} "
                         f"({'caught' if m['caught'] else 'survived'})" for m in r["mutations"])
        lines += [
            f"(ledger-{r['id']})=",
            f"### {r['id']}",
            "",
            f"{r['title']}. Statement: {{prf:ref}}`{r['id']} <{r['id']}>` in "
            f"[{r['chapter']}](../notebooks/{r['chapter']}.ipynb); family `{r['family']}`; "
            f"kind `{r.get('kind', '')}`; provenance `{r.get('provenance', '')}`; source "
            f"{r['source']}.",
            "",
            "$$" + r["statement"] + "$$",
            "",
            *([f"As printed: ${r['printed_statement']}$", ""] if r["printed_statement"] else []),
            f"- **verdict** {badge(r['verdict'])}: predicted {r['predicted']}, measured "
            f"{r['measured']}{_interval(r)}" + (f" ({r['check']['note']})"
                                               if r["check"]["note"] else ""),
            f"- **tolerance** {r['tolerance']['value']}: {r['tolerance']['why']}",
            f"- **negative control** ({r['negative_control']['label']}): "
            f"{r['negative_control']['outcome']}",
            f"- **mutations** {r['mutation_score']}: {muts}",
            f"- **the paper reports** {r['paper_reports']}",
            "",
        ]
    exempt = [r for r in records if r["mutation_exempt"]]
    if exempt:
        lines += ["", "## Mutations a claim may survive, and why", ""]
        lines += [f"- **{r['id']}**: {r['mutation_exempt']}" for r in exempt]
    lines += ["", "## Verdicts, kinds and provenance", "", VERDICTS_TEXT, ""]
    return "\n".join(lines)


def ledger_figures(records: list[dict[str, Any]]) -> dict[str, str]:
    """The ledger's figures: path relative to ``book/`` -> SVG text."""
    from boundbook.core.claims import FAMILIES
    from boundbook.core.ledger_figures import dependency_svg, timing_svg, verdicts_by_family_svg

    return {FIGURES[0]: verdicts_by_family_svg(records, FAMILIES),
            FIGURES[1]: dependency_svg(records),
            FIGURES[2]: timing_svg([(slug, t) for slug, t, _ in chapter_times(records)])}


def chapter_times(records: list[dict[str, Any]]) -> list[tuple[str, float, dict[str, Any]]]:
    """(chapter, quick-mode wall time in s, its provenance block) in book order, from the
    records' provenance (one run per chapter: its records share the block)."""
    seen: dict[str, tuple[float, dict[str, Any]]] = {}
    for r in records:
        run = r.get("run") or {}
        if r["chapter"] not in seen and run.get("wall_s") is not None:
            seen[r["chapter"]] = (float(run["wall_s"]), run)
    return [(slug, t, run) for slug, (t, run) in seen.items()]


def timing_markdown(records: list[dict[str, Any]]) -> str:
    """The book's timing page: each chapter's quick-mode time, from the records' provenance."""
    rows = chapter_times(records)
    lines = ["# Timing", "",
             "How long each chapter's quick mode took in the run that produced the committed "
             "ledger, read from the provenance block of its records (the wall time from the "
             "validation of the parameters to the report, without the kernel's start-up). "
             "Generated by `boundbook ledger`; do not edit.", ""]
    if not rows:
        return "\n".join(lines + ["No record carries a wall time yet.", ""])
    lines += [f"```{{figure}} {FIGURES[2]}", ":alt: Quick-mode time per chapter", "",
              "Quick-mode wall time per chapter; the dashed line is the one-minute target.",
              "```", "",
              "| chapter | quick mode (s) | device | torch | commit |", "|---|---|---|---|---|"]
    for slug, t, run in rows:
        commit = (run.get("commit") or "")[:10] + (" (dirty tree)" if run.get("dirty") else "")
        lines.append(f"| [{slug}](../notebooks/{slug}.ipynb) | {t:.1f} | "
                     f"{run.get('device', '')}: {run.get('device_name', '')} | "
                     f"{run.get('torch', '')} | {commit} |")
    total = sum(t for _, t, _ in rows)
    over = [slug for slug, t, _ in rows if t > 60]
    lines += ["", f"Total {total:.0f} s for {len(rows)} chapters"
              + (f"; over the minute: {', '.join(over)}." if over else "; all within a minute."),
              ""]
    return "\n".join(lines)


def write_ledger(records_dir: Path | None = None, page: Path | None = None
                 ) -> list[dict[str, Any]]:
    """Gather the records, (re)write ``book/ledger.md`` atomically, return the records."""
    records = load_records(records_dir)
    atomic_write_text(page or paths.book() / "ledger.md", ledger_markdown(records))
    if page is None:
        for rel, svg in ledger_figures(records).items():
            atomic_write_text(paths.book() / rel, svg)
        atomic_write_text(paths.book() / "timing.md", timing_markdown(records))
    return records
