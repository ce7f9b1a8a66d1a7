"""``boundbook new SLUG "Title" ARXIV_ID``: scaffold a chapter that runs end to end.

It writes the chapter package ``lib/boundbook/chapters/<slug>/`` (claims, protocol, experiment,
derivation, figures, NOTES.md), the notebook ``notebooks/<slug>.ipynb`` with the contract cells
in order, and ``tests/chapters/test_<slug>.py``. The chapter is a *draft*: it is not in
:data:`boundbook.chapters.BOOK`, so ``boundbook run <slug>`` executes it while the book, the
ledger and the tests ignore it (its test file skips itself) until it is added to ``BOOK`` and
``_toc.yml``.

The scaffolded claim is a worked example (an exact identity checked on a computed value, with a
perturbed constant as its negative control) marked ``TODO`` everywhere: replace it by the paper's
claims before adding the chapter to the book.
"""

from __future__ import annotations

import keyword
import re
from pathlib import Path

from boundbook.core import paths
from boundbook.core.params import ParameterError

ARXIV_ID = re.compile(r"^(\d{4}\.\d{4,5}|[a-z-]+(\.[A-Z]{2})?/\d{7})(v\d+)?$")
SLUG = re.compile(r"^[a-z][a-z0-9_]*$")


def check_slug(slug: str, root: Path | None = None) -> str:
    """A new chapter's slug: a lowercase Python identifier no chapter or notebook uses yet."""
    base = root or paths.root()
    if not SLUG.match(slug) or keyword.iskeyword(slug):
        raise ParameterError("SLUG", slug, "a lowercase Python identifier (letters, digits, _)")
    if (base / "lib" / "boundbook" / "chapters" / slug).exists() or \
            (base / "notebooks" / f"{slug}.ipynb").exists():
        raise ParameterError("SLUG", slug, "a slug that no chapter uses yet (this one exists)")
    return slug


def check_arxiv(arxiv: str) -> tuple[str, str]:
    """(id, version) of an arXiv identifier such as ``2103.00065`` or ``2103.00065v3``."""
    m = ARXIV_ID.match(arxiv)
    if not m:
        raise ParameterError("ARXIV_ID", arxiv, "an arXiv identifier such as 2103.00065 or "
                             "2103.00065v3 (or math/0101001)")
    return m.group(1), m.group(3) or "v1"


def scaffold(slug: str, title: str, arxiv: str, root: Path | None = None) -> list[Path]:
    """Write the draft chapter's files; return their paths. Validates before writing."""
    base = root or paths.root()
    check_slug(slug, base)
    paper, version = check_arxiv(arxiv)
    if not title.strip() or '"' in title or "\n" in title:
        raise ParameterError("TITLE", title, "a non-empty one-line title without double quotes")
    prefix = slug.split("_")[0][:8]
    values = {"slug": slug, "title": title.strip(), "arxiv": paper, "version": version,
              "claim": f"{prefix}-example"}
    package = base / "lib" / "boundbook" / "chapters" / slug
    files = {
        package / "__init__.py": f'"""Chapter package: {slug} ({title.strip()})."""\n',
        package / "claims.py": CLAIMS.format(**values),
        package / "protocol.py": PROTOCOL.format(**values),
        package / "experiment.py": EXPERIMENT.format(**values),
        package / "derivation.py": DERIVATION.format(**values),
        package / "figures.py": FIGURES.format(**values),
        package / "NOTES.md": NOTES.format(**values),
        base / "tests" / "chapters" / f"test_{slug}.py": TEST.format(**values),
    }
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    nb_path = base / "notebooks" / f"{slug}.ipynb"
    _write_notebook(nb_path, values)
    return [*files, nb_path]


def _write_notebook(path: Path, values: dict[str, str]) -> None:
    import nbformat

    from boundbook.core.notebook import (
        PARAMETERS_TEMPLATE,
        SETUP_TAGS,
        SETUP_TEMPLATE,
        STATEMENTS_TEMPLATE,
    )

    v = values
    md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python",
                                 "name": "python3"}
    nb.cells = [
        md(f"# {v['title']}\n\n*Source:* arXiv:{v['arxiv']}{v['version']}.\n\n"
           "**In plain words.** TODO: what the paper claims, in two or three sentences."),
        md("## The claims\n\nEach statement below is rendered from the chapter's `claims.py`."),
        code(STATEMENTS_TEMPLATE.format(slug=v["slug"]), metadata={"tags": ["remove-input"]}),
        code(PARAMETERS_TEMPLATE, metadata={"tags": ["parameters", "remove-cell"]}),
        code(SETUP_TEMPLATE.format(slug=v["slug"]), metadata={"tags": list(SETUP_TAGS)}),
        md("## 1. The derivation\n\nTODO: the sympy derivation, compared exactly with the "
           "paper's formula."),
        code("derived = derivation.example_identity()\nprint(f\"derived == printed (exact): "
             "{derived.matches}\")"),
        md("## 2. The experiment\n\nTODO: the measurement, with a figure of the bound against "
           "it."),
        code("result = experiment.run(cfg)\nshow(figures.plot_example(result))"),
        md("## 3. The negative control\n\nTODO: the same system just past the bound must come "
           "out the other way (decided by the claim's `control`)."),
        md("## Verdicts"),
        code("# NBVAL_CHECK_OUTPUT\nmeasured = protocol.measurements(result, derived)\n"
             "evaluations = report(claims.CHAPTER, measured, run)"),
        md("### The sources next to our measurements"),
        code("from boundbook.core.notebook import show_paper_vs_measured\n\n"
             "show_paper_vs_measured(evaluations)\nglue_all(protocol.findings(evaluations))"),
        md("## What this chapter found\n\nTODO: the findings, quoting glued numbers such as "
           f"{{glue:}}`{v['claim'].replace('-', '_')}_verdict`."),
    ]
    nbformat.write(nb, str(path))


CLAIMS = '''"""Claims of the chapter "{title}" (arXiv:{arxiv}{version}) and their checks.

TODO: replace the worked example by the paper's claims. Module-level imports: the standard
library, numpy and ``boundbook.core`` only (``boundbook list``, ``ledger`` and ``mutate`` stay
instant; tests/test_architecture.py checks it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from boundbook.core.chapter import Chapter
from boundbook.core.claims import Claim, Mutation, Outcome, Source, Tolerance, within

PAPER = "{arxiv}"
RTOL = Tolerance(1e-12, "TODO: why this tolerance (float64 rounding of the example)")


def check_example(m: Mapping[str, Any], k: Mapping[str, Any]) -> Outcome:
    """TODO: the measured value equals ``k['two']`` (the example's constant)."""
    ok = within(float(m["value"]), k["two"], RTOL.value) and bool(m["sympy_matches"])
    return Outcome(ok, k["two"], float(m["value"]), note="TODO: what was measured")


def control_example(m: Mapping[str, Any], k: Mapping[str, Any]) -> Outcome:
    """The same check with the constant perturbed by 5%: must fail."""
    return check_example(m, {{**k, "two": 1.05 * k["two"]}})


CLAIMS = (
    Claim(
        id="{claim}",
        title="TODO: one line",
        statement=r"1 + 1 = 2",
        source=Source(PAPER, "TODO: theorem/equation read in the full text", version="{version}"),
        family="stable-step",
        kind="identity",  # TODO: identity, bound, threshold or phenomenon
        provenance="paper",  # TODO: paper (cite where you read it), derived or harness
        constants={{"two": 2.0}},
        check=check_example, control=control_example,
        control_label="the constant 5% larger",
        tolerance=RTOL,
        mutations=(Mutation("two", 2.2, "2 -> 2.2"),),
        heading="TODO: the statement's title (source)",
        text=r"""TODO: the statement in words and math, e.g. $1 + 1 = 2$.""",
        paper_reports="TODO: what the paper reports",
    ),
)

CHAPTER = Chapter(slug="{slug}", title="{title}", paper=PAPER, claims=CLAIMS)
'''

PROTOCOL = '''"""Protocol of the chapter "{title}": settings per mode, the measurement contract, the
measurement dictionary each claim reads, and the numbers the closing prose quotes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from boundbook.core.display import claim_findings

READS: dict[str, tuple[str, ...]] = {{
    "{claim}": ("sympy_matches", "value"),
}}
"""The measurement contract: claim id -> the keys its check and control read."""


@dataclass(frozen=True)
class Settings:
    """What one run computes. TODO: the chapter's sizes, grids and seed counts."""

    mode: str
    seed: int
    size: int


def settings(mode: str, seed: int) -> Settings:
    """Quick: CPU, well under a minute. Full: the paper's sizes."""
    return Settings(mode, seed, size=8 if mode == "quick" else 64)


def measurements(result: Any, derived: Any) -> dict[str, dict[str, Any]]:
    """The measurement dictionary of every claim, keyed by claim id."""
    return {{"{claim}": {{"value": float(result.value),
                          "sympy_matches": bool(derived.matches)}}}}


def findings(evaluations: Sequence[Any]) -> dict[str, Any]:
    """The numbers the chapter's closing prose quotes (glued)."""
    return dict(claim_findings(evaluations))
'''

EXPERIMENT = '''"""The experiments of the chapter "{title}" (torch; plain dataclasses out).

TODO: the paper's protocol, on synthetic data or data shipped in a package.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class ExampleResult:
    values: list[float]
    value: float


def run(cfg: object) -> ExampleResult:
    """TODO: the measurement. The example sums ones in float64."""
    size = int(getattr(cfg, "size", 8))
    values = torch.ones(size, dtype=torch.float64).cumsum(0).tolist()
    return ExampleResult(values, float(torch.ones(2, dtype=torch.float64).sum()))
'''

DERIVATION = '''"""The sympy derivations of the chapter "{title}" (exact; no floats).

TODO: derive the paper's formula and compare it with the printed one exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp


@dataclass(frozen=True)
class Identity:
    derived: sp.Expr
    printed: sp.Expr

    @property
    def matches(self) -> bool:
        return sp.simplify(self.derived - self.printed) == 0


def example_identity() -> Identity:
    """TODO: the example: 1 + 1 against the printed 2."""
    return Identity(sp.Integer(1) + sp.Integer(1), sp.Integer(2))
'''

FIGURES = '''"""Figures of the chapter "{title}" (matplotlib Figure API, no pyplot)."""

from __future__ import annotations

from typing import Any

from matplotlib.figure import Figure


def plot_example(result: Any) -> Figure:
    """TODO: the bound against the measurement."""
    fig = Figure(figsize=(5, 3))
    ax = fig.add_subplot()
    ax.plot(result.values, marker="o")
    ax.set_xlabel("index")
    ax.set_ylabel("value")
    fig.tight_layout()
    return fig
'''

NOTES = '''# {title}: provenance notes

- Paper: arXiv:{arxiv}{version}. TODO: say which version was read and how (full text, HTML,
  abstract only).
- TODO, one line per claim: the claim id, the theorem/equation/section it cites, and what could
  not be read.
'''

TEST = '''"""Tests of the chapter {slug} (a draft: skipped until it is in BOOK)."""

from __future__ import annotations

import pytest

from boundbook.chapters import BOOK

pytestmark = pytest.mark.skipif("{slug}" not in BOOK, reason="draft chapter, not in BOOK yet")


def test_example_claim_can_fail() -> None:
    from boundbook.chapters.{slug} import claims

    claim = claims.CHAPTER.claims[0]
    good = {{"value": 2.0, "sympy_matches": True}}
    assert claim.check(good, claim.constants).ok
    assert not claim.control(good, claim.constants).ok
'''
