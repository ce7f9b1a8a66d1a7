"""What a chapter notebook calls besides its own package: one import line for the setup cell.

Every chapter opens the same way (``tests/test_architecture.py`` checks it)::

    from boundbook.core.notebook import show_statements
    show_statements("<slug>")                  # the claims' formal statements, from claims.py

then the ``parameters`` cell (``mode``, ``device``, ``seed``, ``overrides``: the settings to
change, as JSON text; :data:`PARAMETERS_TEMPLATE`, tagged ``parameters`` and ``remove-cell``)
and the setup cell (tagged ``hide-input``)::

    %matplotlib inline
    from boundbook.chapters.<slug> import claims, derivation, experiment, figures, protocol
    from boundbook.core.notebook import glue_all, report, show

    run = claims.CHAPTER.start(mode, device, seed, overrides)  # validates; one line per bad value
    cfg = run.settings(protocol.settings)  # this mode's settings, with the overrides applied
    print(f"mode={run.mode} device={run.device} seed={run.seed} overrides={run.overrides}")

It imports nothing heavy at module level (IPython and MyST-NB only inside the functions).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from boundbook.core.display import markdown_table, paper_vs_measured, statement_markdown
from boundbook.core.ledger import report

__all__ = ["PARAMETERS_TEMPLATE", "SETUP_TAGS", "SETUP_TEMPLATE", "STATEMENTS_TEMPLATE",
           "glue_all", "report", "show", "show_paper_vs_measured", "show_statements"]

STATEMENTS_TEMPLATE = '''from boundbook.core.notebook import show_statements

show_statements("{slug}")'''
"""The first code cell of every chapter (tagged ``remove-input``)."""

PARAMETERS_TEMPLATE = '''mode = "quick"
device = "auto"
seed = 0
overrides = "{}"'''
"""The ``parameters`` cell: papermill replaces these; ``overrides`` is a JSON object of
settings (``boundbook run CHAPTER -p key=value`` fills it)."""

SETUP_TEMPLATE = '''%matplotlib inline
%config InlineBackend.figure_formats = ["png"]
from boundbook.chapters.{slug} import claims, derivation, experiment, figures, protocol
from boundbook.core.notebook import glue_all, report, show

run = claims.CHAPTER.start(mode, device, seed, overrides)  # validates; a bad value stops here
cfg = run.settings(protocol.settings)  # this mode's settings, with any overrides applied
print(f"mode={{run.mode}} device={{run.device}} seed={{run.seed}} overrides={{run.overrides}}")'''
"""The setup cell of every chapter, right after the ``parameters`` cell."""

SETUP_TAGS = ("hide-input",)
"""The setup cell's tags: its code is collapsed in the HTML (its one line of output shows)."""


def show_statements(slug: str) -> None:
    """Display every claim of chapter ``slug`` as its formal statement (MyST ``prf`` block,
    labelled with the claim id), from the claim's own text in ``claims.py``; then the
    chapter's "rerun this chapter" box."""
    from IPython.display import Markdown, display

    from boundbook.core.chapter import get
    from boundbook.core.settings_doc import rerun_markdown

    ch = get(slug)
    display(Markdown("\n".join(statement_markdown(c) for c in ch.claims)))
    display(Markdown(rerun_markdown(ch)))


def show(obj: Any, *, digits: int = 3, header: Any = None) -> None:
    """Display a figure, Markdown text, or a table (``rows`` with ``header``)."""
    from IPython.display import Markdown, display

    if header is not None:
        display(Markdown(markdown_table(obj, header, digits=digits)))
    elif isinstance(obj, str):
        display(Markdown(obj))
    else:
        display(obj)


def show_paper_vs_measured(evaluations: Any) -> None:
    """The chapter's "paper reports / we measure" table."""
    show(paper_vs_measured(evaluations))


def glue_all(values: Mapping[str, Any]) -> None:
    """Glue every ``name -> value`` for the closing prose (MyST-NB ``{glue:}`` roles)."""
    from myst_nb import glue

    for name, value in values.items():
        glue(name, value, display=False)
