"""Reading run folders: every run's verdict per claim, and a combined verdict over seeds.

``boundbook ledger --runs DIR...`` reads the records under any number of run folders (a run
folder, a chapter's folder of runs, or ``_build/runs`` itself: every ``records/<chapter>/*.json``
below them) and prints, per claim, the verdict of each run and the fraction of runs per verdict
with an exact 95% interval (Clopper-Pearson). A claim whose verdicts differ across runs is
reported as **seed-dependent**: a single run's verdict would not have told the whole story.
Runs with different settings (overrides) are never pooled: each set of settings is its own row.
The committed ledger (``ledger/records``) may be given too; its runs are labelled ``committed``.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from boundbook.core import paths
from boundbook.core.stats import clopper_pearson


@dataclass(frozen=True)
class RunRecord:
    run: str
    """The run folder's name relative to the folder given (e.g. ``gd_quadratic/quick-seed3``)."""
    record: dict[str, Any]


@dataclass(frozen=True)
class ClaimOverRuns:
    claim: str
    chapter: str
    settings: str
    """The overrides these runs share, as ``key=value`` text (empty: default settings)."""
    verdicts: tuple[tuple[str, str], ...]
    """(run, verdict) for every run that recorded the claim."""

    @property
    def counts(self) -> Counter:
        return Counter(v for _, v in self.verdicts)

    @property
    def seed_dependent(self) -> bool:
        return len(self.counts) > 1

    def fractions(self) -> dict[str, tuple[float, float, float]]:
        """verdict -> (fraction of runs, 95% Clopper-Pearson interval)."""
        n = len(self.verdicts)
        return {v: (k / n, *clopper_pearson(k, n)) for v, k in sorted(self.counts.items())}

    def combined(self) -> str:
        if not self.seed_dependent:
            return next(iter(self.counts))
        return "seed-dependent (" + ", ".join(
            f"{v} {f:.0%} [{lo:.0%}, {hi:.0%}]" for v, (f, lo, hi) in self.fractions().items()) \
            + ")"

    def to_dict(self) -> dict[str, Any]:
        return {"claim": self.claim, "chapter": self.chapter, "settings": self.settings,
                "runs": len(self.verdicts),
                "verdicts": dict(self.verdicts), "seed_dependent": self.seed_dependent,
                "fractions": {v: {"fraction": f, "interval": [lo, hi]}
                              for v, (f, lo, hi) in self.fractions().items()},
                "combined": self.combined()}


def find_records(folders: Iterable[Path]) -> list[RunRecord]:
    """Every record under the given folders (``.../records/<chapter>/<claim>.json``)."""
    out = []
    for base in folders:
        base = Path(base)
        if not base.is_dir():
            raise FileNotFoundError(f"no run folder {base}")
        found = sorted(base.rglob("records/*/*.json"))
        if base.name == "records":  # the committed ledger, or a run folder's records/
            found = sorted(base.glob("*/*.json")) + found
        for p in found:
            if any(part.startswith(".") for part in p.relative_to(base).parts):
                continue  # a staging folder of a run in progress
            run_dir = p.parent.parent.parent
            if base.name == "records" and p.parent.parent == base:
                run_dir = base.parent
            label = str(run_dir.relative_to(base)) if run_dir.is_relative_to(base) and \
                run_dir != base else base.name
            if run_dir.resolve() == (base.parent if base.name == "records" else base).resolve() \
                    and base.resolve() == (paths.root() / "ledger" / "records").resolve():
                label = "committed"
            try:
                rec = json.loads(p.read_text())
            except (OSError, json.JSONDecodeError) as err:
                raise ValueError(f"unreadable record {p}: {err}") from None
            out.append(RunRecord(label if label in ("committed", base.name)
                                 else f"{base.name}/{label}", rec))
    return out


def settings_text(record: dict[str, Any]) -> str:
    """A record's overrides as ``key=value`` text (from its provenance block)."""
    ov = (record.get("run") or {}).get("overrides") or {}
    return " ".join(f"{k}={json.dumps(v, separators=(',', ':'))}" for k, v in sorted(ov.items()))


def combine(records: Sequence[RunRecord]) -> list[ClaimOverRuns]:
    """Group the runs' records by claim and settings (in the order first seen)."""
    groups: dict[tuple[str, str], list[tuple[str, str]]] = {}
    chapter: dict[str, str] = {}
    for rr in records:
        key = (rr.record["id"], settings_text(rr.record))
        groups.setdefault(key, []).append((rr.run, rr.record["verdict"]))
        chapter[key[0]] = rr.record.get("chapter", "")
    return [ClaimOverRuns(cid, chapter[cid], st, tuple(v)) for (cid, st), v in groups.items()]


def runs_table(claims: Sequence[ClaimOverRuns]) -> str:
    """Plain-text table: claim, runs, each run's verdict, combined verdict."""
    lines = []
    for c in claims:
        where = f" [{c.settings}]" if c.settings else ""
        lines.append(f"{c.claim + where:<30} {len(c.verdicts):>3} runs  {c.combined()}")
        for run, verdict in c.verdicts:
            lines.append(f"    {run:<48} {verdict}")
    n_dep = sum(c.seed_dependent for c in claims)
    lines.append(f"{len(claims)} claims; {n_dep} seed-dependent")
    return "\n".join(lines)
