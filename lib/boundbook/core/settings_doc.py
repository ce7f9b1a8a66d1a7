"""``boundbook list --params CHAPTER``: a chapter's settings, their defaults and meaning.

The meaning of a field is what its class says of it in the source: the comment on the field's
line, or the string literal right below it; the ``settings()`` docstring says how the modes
differ.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import textwrap
from typing import Any

from boundbook.core.params import FIXED_FIELDS


def field_docs(cls: type) -> dict[str, str]:
    """Field name -> its comment or docstring in the class source (empty when it has none)."""
    try:
        source = textwrap.dedent(inspect.getsource(cls))
    except (OSError, TypeError):
        return {}
    lines = source.splitlines()
    body = ast.parse(source).body[0].body  # type: ignore[attr-defined]
    docs: dict[str, str] = {}
    for i, node in enumerate(body):
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            text = ""
            line = lines[node.lineno - 1]
            if "#" in line:
                text = line.split("#", 1)[1].strip()
            nxt = body[i + 1] if i + 1 < len(body) else None
            if isinstance(nxt, ast.Expr) and isinstance(nxt.value, ast.Constant) \
                    and isinstance(nxt.value.value, str):
                text = " ".join(nxt.value.value.split())
            docs[node.target.id] = text
    return docs


def _type(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int > 0" if value > 0 else ("int >= 0" if value == 0 else "int")
    if isinstance(value, float):
        return "float > 0" if value > 0 else ("float >= 0" if value == 0 else "float")
    if isinstance(value, str):
        return "str"
    if isinstance(value, tuple):
        if value and len({type(v) for v in value}) > 1:  # a record
            return "(" + ", ".join(type(v).__name__ for v in value) + ")"
        return f"list of {_type(value[0]) if value else 'float'}"
    return type(value).__name__


def _show(value: Any) -> str:
    if isinstance(value, tuple):
        text = ",".join(_show(v) for v in value)
        return f"({text})" if value and isinstance(value[0], tuple) else text
    return str(value)


def describe_settings(chapter: Any) -> str:
    """The settings table of ``chapter`` (quick and full defaults, type, meaning)."""
    factory = chapter.settings_factory()
    if factory is None:
        return f"{chapter.slug} has no settings to override"
    quick, full = factory("quick", 0), factory("full", 0)
    docs = field_docs(type(quick))
    rows = []
    for f in dataclasses.fields(quick):
        if f.name in FIXED_FIELDS:
            continue
        q, fu = getattr(quick, f.name), getattr(full, f.name)
        rows.append((f.name, _show(q), _show(fu), _type(q), docs.get(f.name, "")))
    head = ("setting", "quick", "full", "type", "meaning")
    widths = [min(32, max(len(r[i]) for r in [head, *rows])) for i in range(4)]
    out = [f"{chapter.slug}: settings (override with `boundbook run {chapter.slug} "
           "-p setting=value`; lists comma-separated; nested lists via -f FILE.yaml)", ""]
    for r in [head, *rows]:
        cells = [c if len(c) <= w else c[: w - 1] + "…" for c, w in zip(r[:4], widths,
                                                                          strict=True)]
        out.append("  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True))
                   + "  " + r[4])
    doc = inspect.getdoc(factory)
    if doc:
        out += ["", "Modes: " + " ".join(doc.split())]
    out += ["", "A value must keep the default's type; numbers whose default is positive stay "
            "positive, lists stay non-empty."]
    return "\n".join(out)


def rerun_markdown(chapter: Any) -> str:
    """The chapter's "rerun this chapter" box (a collapsed MyST admonition): the exact commands
    for full mode and a sweep, the settings a reader may override with their quick defaults and
    meaning, and the notebook's download link."""
    slug = chapter.slug
    lines = [":::{admonition} Rerun this chapter", ":class: dropdown tip", "",
             "This page shows the quick-mode run (seed 0, default settings) that the ledger "
             "records. To rerun it yourself (a run folder under `_build/runs/`; the committed "
             "ledger is never touched):", "",
             "```bash",
             f"boundbook run {slug} --mode full --device auto --seed 1   # larger, on a GPU if any",
             f"boundbook run {slug} --seed 7 -p <setting>=<value>          # other settings",
             f"boundbook sweep {slug} --seeds 0-31 --workers 2             # many seeds (Dask)",
             f"boundbook ledger --runs _build/runs/{slug}                  # verdicts over runs",
             "```", ""]
    factory = chapter.settings_factory()
    if factory is not None:
        quick = factory("quick", 0)
        docs = field_docs(type(quick))
        lines += ["| setting | quick default | type | meaning |", "|---|---|---|---|"]
        for f in dataclasses.fields(quick):
            if f.name in FIXED_FIELDS:
                continue
            value = _show(getattr(quick, f.name))
            if len(value) > 40:
                value = value[:39] + "…"
            meaning = docs.get(f.name, "").replace("|", "\\|")
            lines.append(f"| `{f.name}` | `{value}` | {_type(getattr(quick, f.name))} | "
                         f"{meaning} |")
        lines.append("")
    lines += [f"Download the notebook: {{download}}`{slug}.ipynb <{slug}.ipynb>`; "
              f"`boundbook list --params {slug}` prints the full-mode defaults too.", ":::", ""]
    return "\n".join(lines)
