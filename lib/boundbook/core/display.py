"""Small display helpers for chapters: Markdown tables and the paper-vs-measured table."""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

from boundbook.core.claims import Evaluation, round_sig


def fmt(x: Any, digits: int = 3) -> str:
    """A number rounded to ``digits`` significant digits (anything else as text)."""
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        return str(x)
    if isinstance(x, numbers.Integral) or (isinstance(x, float) and x.is_integer()
                                           and abs(x) < 1e6):
        return str(int(x))
    return str(round_sig(float(x), digits))


def markdown_table(rows: Sequence[Sequence[Any]], header: Sequence[str], digits: int = 3) -> str:
    """A GitHub/MyST pipe table; numbers rounded to ``digits`` significant digits."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        lines.append("| " + " | ".join(fmt(c, digits).replace("|", "\\|") for c in row) + " |")
    return "\n".join(lines)


def paper_vs_measured(evaluations: Sequence[Evaluation]) -> str:
    """One row per claim: what the paper reports next to what this run measured."""
    rows = []
    for ev in evaluations:
        c = ev.claim
        rows.append((f"`{c.id}`", c.paper_reports,
                     f"{fmt(ev.main.measured, c.digits)} (bound {fmt(ev.main.predicted, c.digits)})"
                     + (f"; {ev.main.note}" if ev.main.note else ""),
                     f"**{ev.verdict.value}**"))
    return markdown_table(rows, ["claim", "paper reports", "we measure", "verdict"])


class Plain(str):
    """A string that displays without quotes (for MyST-NB ``glue`` into prose)."""

    def __repr__(self) -> str:
        return str(self)


def plain(x: Any, digits: int = 3) -> Plain:
    """``x`` as quote-free text, numbers rounded to ``digits`` significant digits."""
    return Plain(fmt(x, digits))


def claim_findings(evaluations: Sequence[Evaluation]) -> dict[str, Plain]:
    """The glue names every chapter's closing prose may quote for each of its claims:
    ``<id>_verdict`` and ``<id>_measured`` (the id with ``-`` turned into ``_``)."""
    out: dict[str, Plain] = {}
    for ev in evaluations:
        key = ev.claim.id.replace("-", "_")
        out[f"{key}_verdict"] = plain(ev.verdict.value)
        out[f"{key}_measured"] = plain(ev.main.measured, ev.claim.digits)
    return out


def statement_markdown(claim: Any) -> str:
    """A claim's formal statement as a sphinx-proof block labelled with the claim id:

    ::::{prf:<claim.prf>} <claim.heading or claim.title>
    :label: <claim.id>
    <claim.text>

    *Builds on* <links to the claims it builds on> · *Verdict:* <link to its ledger record>
    ::::

    Colon fences, not backtick fences: a heading may cite (``{cite}`key` ``), and CommonMark
    does not allow backticks in a backtick fence's info string (the block would silently
    become a paragraph and swallow the next one).
    """
    if not claim.text.strip():
        raise ValueError(f"claim {claim.id} has no statement text (Claim.text)")
    links = [f"*Verdict:* {{ref}}`the ledger's record <ledger-{claim.id}>`"]
    if getattr(claim, "builds_on", ()):
        links.insert(0, "*Builds on* " + ", ".join(f"{{prf:ref}}`{a} <{a}>`"
                                                   for a in claim.builds_on))
    return (f"::::{{prf:{claim.prf}}} {claim.heading or claim.title}\n:label: {claim.id}\n"
            f"{claim.text.strip()}\n\n{' · '.join(links)}\n::::\n")
