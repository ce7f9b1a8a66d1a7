"""What a verdict means, checked on every claim of the book (README "Design", book/method.md).

- Every claim declares its kind and provenance; paper claims cite where they were read (or say
  *abstract only* / *not found*).
- ``tight`` is measured: checks cannot declare it (``Outcome`` has no such field), only a bound
  can be tight, and a tight record carries the measured slack it was decided from.
- Monte-Carlo claims carry 95% intervals on the check and on the negative control.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from boundbook.core.chapter import registry
from boundbook.core.claims import KINDS, PROVENANCES, TIGHT_SLACK, Outcome

ROOT = Path(__file__).resolve().parents[1]
CLAIMS = [(slug, c) for slug, ch in registry().items() for c in ch.claims]


def _record(slug: str, claim_id: str) -> dict:
    return json.loads((ROOT / "ledger" / "records" / slug / f"{claim_id}.json").read_text())


@pytest.mark.parametrize("slug,claim", CLAIMS, ids=[c.id for _, c in CLAIMS])
def test_kind_and_provenance_declared(slug, claim):
    assert claim.kind in KINDS, f"{claim.id}: kind {claim.kind!r}"
    assert claim.provenance in PROVENANCES
    if claim.provenance == "paper":
        where = claim.source.where.lower()
        assert where.strip(), f"{claim.id}: a paper claim must say where the paper states it"
    rec = _record(slug, claim.id)
    assert rec["kind"] == claim.kind and rec["provenance"] == claim.provenance


def test_checks_cannot_declare_tightness():
    """Tightness is decided by decide() from the measured slack, never by a check."""
    assert "tight" not in {f.name for f in dataclasses.fields(Outcome)}


@pytest.mark.parametrize("slug,claim", CLAIMS, ids=[c.id for _, c in CLAIMS])
def test_tight_only_for_bounds_with_measured_slack(slug, claim):
    rec = _record(slug, claim.id)
    if rec["verdict"] == "tight":
        assert claim.kind == "bound", f"{claim.id}: only a bound can be tight"
        assert isinstance(rec["slack"], (int, float)) and rec["slack"] <= TIGHT_SLACK
    if claim.kind == "threshold" and rec["verdict"] in ("holds", "tight"):
        assert rec["slack"] is not None, f"{claim.id}: a threshold reports its offset"


@pytest.mark.parametrize("slug,claim", [(s, c) for s, c in CLAIMS if c.monte_carlo],
                         ids=[c.id for _, c in CLAIMS if c.monte_carlo])
def test_monte_carlo_claims_carry_intervals(slug, claim):
    rec = _record(slug, claim.id)
    assert rec["check"]["interval"] is not None, f"{claim.id}: check without an interval"
    assert rec["negative_control"]["interval"] is not None, \
        f"{claim.id}: control without an interval"
