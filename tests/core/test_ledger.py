"""Records, the verdict table, the ledger page, and mutations reaching into the library."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from boundbook.chapters.ghosts_of_softmax import radius as sr
from boundbook.chapters.ghosts_of_softmax.claims import CHAPTER
from boundbook.core.chapter import registry
from boundbook.core.claims import Verdict, decide
from boundbook.core.ledger import atomic_write_text, ledger_markdown, load_records, to_jsonable
from boundbook.core.params import RunParams
from boundbook.numeric.radius import taylor_radius


def test_to_jsonable_handles_numpy_torch_and_nonfinite():
    import torch

    out = to_jsonable({"a": np.array([1.0, np.inf]), "b": torch.tensor([2.0]), "c": math.nan,
                       "d": (np.int64(3), True)})
    assert out == {"a": [1.0, "inf"], "b": [2.0], "c": "nan", "d": [3, True]}
    json.dumps(out, allow_nan=False)


def test_atomic_write_leaves_no_temporary(tmp_path):
    target = tmp_path / "x" / "f.json"
    atomic_write_text(target, "1")
    atomic_write_text(target, "2")
    assert target.read_text() == "2" and [p.name for p in target.parent.iterdir()] == ["f.json"]


def _toy_chapter():
    """A two-claim chapter carrying its own contract (``reads``), as report() accepts."""
    from dataclasses import dataclass

    from boundbook.core.chapter import Chapter
    from boundbook.core.claims import Claim, Outcome, Source, Tolerance

    def check(m, k):
        return Outcome(m["x"] <= k["c"], k["c"], m["x"])

    def control(m, k):
        return check(m, {"c": 0.5 * k["c"]})

    claims = tuple(Claim(id=i, title=i, statement="x", source=Source("2401.00001", "Thm 1"),
                         family="stable-step", constants={"c": 1.0}, check=check,
                         control=control, control_label="c/2", tolerance=Tolerance(0, "-"),
                         text="$x \\le c$", kind="bound") for i in ("toy-a", "toy-b"))

    @dataclass(frozen=True)
    class Toy(Chapter):
        reads: dict | None = None

    return Toy(slug="toy", title="Toy", paper="2401.00001", claims=claims,
               reads={"toy-a": ("x",), "toy-b": ("x",)})


@pytest.mark.parametrize("measured,message", [
    ({"toy-a": {"x": 0.9}}, "no measurements for claim toy-b"),
    ({"toy-a": {"x": 0.9}, "toy-b": {}}, "claim toy-b reads key 'x', missing"),
    ({"toy-a": {"x": 0.9, "y": 1}, "toy-b": {"x": 0.9}}, "claim toy-a got unexpected key 'y'"),
    ({"toy-a": {"x": 0.9}, "toy-b": {"x": 0.9}, "toy-c": {"x": 1}}, "unknown claim toy-c"),
])
def test_report_refuses_measurements_outside_the_contract(measured, message, tmp_path):
    from boundbook.core.ledger import MeasurementError, report

    with pytest.raises(MeasurementError, match=message):
        report(_toy_chapter(), measured, RunParams("quick", "cpu", 0), records_dir=tmp_path,
               show=False)
    assert not any(tmp_path.iterdir())  # nothing written


def test_report_writes_one_record_per_claim(tmp_path):
    from boundbook.core.ledger import report

    evs = report(_toy_chapter(), {"toy-a": {"x": 0.9}, "toy-b": {"x": 0.7}},
                 RunParams("quick", "cpu", 0), records_dir=tmp_path, show=False)
    assert [e.verdict.value for e in evs] == ["holds", "holds"]
    assert sorted(p.name for p in (tmp_path / "toy").iterdir()) == ["toy-a.json", "toy-b.json"]


def test_library_mutation_flips_a_verdict():
    """Replacing pi by 1.1 pi inside the radius function (not a claim constant) makes the
    multiclass bound claim fail: the check tests the library, not only the constants."""
    claim = CHAPTER.claim("gos-multiclass-bound")
    good = sr.multiclass_bound_ratios(100, seed=0)
    bad = sr.multiclass_bound_ratios(100, seed=0, radius=lambda a: 1.1 * taylor_radius(a))
    def measured(ratios):  # the constructed equality instance comes first
        return {"ratios": list(ratios[1:]), "tight_ratio": float(ratios[0])}

    assert decide(claim, measured(good)).verdict in (Verdict.TIGHT, Verdict.HOLDS)
    assert decide(claim, measured(bad)).verdict is Verdict.VIOLATED


def test_shifted_safe_threshold_flips_a_verdict():
    claim = CHAPTER.claim("gos-safe-steps")
    m = {"onsets": [1.3, 2.0, math.inf], "labels": ["a", "b", "c"], "threshold": 1.1}
    assert decide(claim, m).verdict is not Verdict.VIOLATED
    shifted = {**claim.constants, "r_safe": 1.5}
    assert decide(claim, m, shifted).verdict is Verdict.VIOLATED


def test_ledger_markdown_lists_every_claim(root):
    records = load_records(root / "ledger" / "records")
    page = ledger_markdown(records)
    for ch in registry().values():
        for c in ch.claims:
            assert f"### {c.id}" in page
    assert "Mutations caught" in page


def test_ledger_page_groups_by_part_with_badges_and_links(root):
    from boundbook.core.ledger import BADGES, book_parts

    records = load_records(root / "ledger" / "records")
    page = ledger_markdown(records)
    for r in records:  # one table row per claim, with its badge and its statement link
        rows = [ln for ln in page.splitlines()
                if ln.startswith(f"| {{prf:ref}}`{r['id']} <{r['id']}>` | ")]
        assert len(rows) == 1, r["id"]
        assert f"{{bdg-{BADGES[r['verdict']]}}}`{r['verdict']}`" in rows[0]
        assert f"(#ledger-{r['id']})" in rows[0]
    for caption, _ in book_parts():
        assert f"### {caption}" in page
    paper = page.index("## Claims of the papers")
    own = page.index("## The book's own derivations")
    assert paper < own < page.index("## The claims in detail")


def test_dependency_graph_layers_and_refuses_cycles():
    from boundbook.core.ledger_figures import dependency_svg, levels

    assert levels(["a", "b", "c"], [("a", "b"), ("b", "c"), ("a", "c")]) == \
        {"a": 0, "b": 1, "c": 2}
    with pytest.raises(ValueError, match="cycle"):
        levels(["a", "b"], [("a", "b"), ("b", "a")])
    svg = dependency_svg([{"id": "a", "verdict": "holds", "builds_on": []},
                          {"id": "b", "verdict": "violated", "builds_on": ["a"]}])
    assert svg.count("<rect") >= 2 and "#cf222e" in svg and "marker-end" in svg
