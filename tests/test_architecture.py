"""Architecture rules of the book (README "Design", CONTRIBUTING.md), checked.

- Bookkeeping is instant: ``boundbook list``, ``ledger`` and ``mutate`` import no torch, sympy
  or matplotlib (subprocess), and every ``claims.py``/``protocol.py``/``core`` module imports at
  module level only what the rule allows (AST).
- One chapter list: every chapter package is in ``BOOK`` or is a draft; ``_toc.yml`` follows
  ``BOOK`` (tests/core/test_chapters.py); each package has its contract modules.
- Each statement written once: no notebook holds a ``prf`` directive; the statements cell
  renders every claim from ``claims.py``, and its committed output agrees with the claims.
- The same setup cell in every notebook; no thread settings in notebooks.
- The measurement contract: ``protocol.READS`` matches the committed records' keys exactly.
- Toolkits hold only what two chapters share (or the public API); nothing points outside the
  repository.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from boundbook.chapters import BOOK
from boundbook.core.chapter import registry
from boundbook.core.display import statement_markdown
from boundbook.core.notebook import (
    PARAMETERS_TEMPLATE,
    SETUP_TAGS,
    SETUP_TEMPLATE,
    STATEMENTS_TEMPLATE,
)
from boundbook.core.settings_doc import rerun_markdown

ROOT = Path(__file__).resolve().parents[1]
LIB = ROOT / "lib" / "boundbook"
HEAVY = ("torch", "sympy", "matplotlib", "scipy", "sklearn", "papermill", "mpmath")
STDLIB = set(sys.stdlib_module_names) | {"__future__"}


# ------------------------------------------------------------------ instant bookkeeping

PROBE = """
import sys
from boundbook.core.cli import main
rc = main(sys.argv[1:])
heavy = sorted(m for m in {heavy!r} if m in sys.modules)
print("HEAVY=" + ",".join(heavy))
sys.exit(rc)
"""


@pytest.mark.parametrize("command", [["list"], ["ledger", "--json"], ["mutate"]])
def test_bookkeeping_imports_nothing_heavy(command, tmp_path):
    """list, ledger and mutate (every chapter, every claim re-decided) stay torch/sympy-free."""
    root = tmp_path / "book"
    root.mkdir()
    shutil.copy(ROOT / "_toc.yml", root / "_toc.yml")
    for name in ("book", "ledger"):
        shutil.copytree(ROOT / name, root / name)
    env = {**os.environ, "BOUNDBOOK_ROOT": str(root)}
    env.pop("BOUNDBOOK_RECORDS", None)
    proc = subprocess.run([sys.executable, "-c", PROBE.format(heavy=HEAVY), *command],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    line = [x for x in proc.stdout.splitlines() if x.startswith("HEAVY=")][-1]
    assert line == "HEAVY=", f"`boundbook {' '.join(command)}` imported {line[6:]}"


def _module_level_imports(path: Path) -> list[tuple[str, int]]:
    """Top-level imports of a module (not inside functions or ``if TYPE_CHECKING:``)."""
    tree = ast.parse(path.read_text())
    out: list[tuple[str, int]] = []
    for node in tree.body:
        if isinstance(node, ast.Import):
            out += [(a.name, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            out.append((node.module or "", node.lineno))
        elif isinstance(node, ast.Try):
            for sub in node.body:
                if isinstance(sub, (ast.Import, ast.ImportFrom)):
                    out.append((getattr(sub, "module", None) or sub.names[0].name,
                                node.lineno))
    return out


def _allowed(module: str, extra: tuple[str, ...]) -> bool:
    top = module.split(".")[0]
    return (top in STDLIB or top == "numpy" or module == "boundbook.chapters"
            or module.startswith("boundbook.core") or module in extra)


def _light_modules() -> list[tuple[Path, tuple[str, ...]]]:
    mods: list[tuple[Path, tuple[str, ...]]] = [(p, ()) for p in sorted((LIB / "core").glob(
        "*.py"))]
    for slug in BOOK:
        pkg = LIB / "chapters" / slug
        mods.append((pkg / "claims.py", ()))
        mods.append((pkg / "protocol.py", (f"boundbook.chapters.{slug}.claims",)))
    return mods


@pytest.mark.parametrize("path,extra", _light_modules(),
                         ids=lambda x: str(x.relative_to(LIB)) if isinstance(x, Path) else "")
def test_light_modules_import_only_stdlib_numpy_and_core(path, extra):
    bad = [f"line {line}: {mod}" for mod, line in _module_level_imports(path)
           if not _allowed(mod, extra)]
    assert not bad, f"{path.relative_to(ROOT)} imports at module level: {bad}"


# ------------------------------------------------------------------ one chapter list

CONTRACT_FILES = ("__init__.py", "claims.py", "protocol.py", "derivation.py", "figures.py",
                  "NOTES.md")


@pytest.mark.parametrize("slug", BOOK)
def test_chapter_package_has_its_contract_files(slug):
    pkg = LIB / "chapters" / slug
    missing = [f for f in CONTRACT_FILES if not (pkg / f).exists()]
    assert not missing, f"chapters/{slug} lacks {missing}"
    assert (pkg / "experiment.py").exists(), f"chapters/{slug} lacks experiment.py"
    assert (ROOT / "notebooks" / f"{slug}.ipynb").exists()
    assert (ROOT / "ledger" / "records" / slug).is_dir()


def test_every_chapter_package_is_in_the_book():
    """A package outside BOOK is a draft; the committed tree has none (drafts are local)."""
    packages = sorted(p.parent.name for p in (LIB / "chapters").glob("*/claims.py"))
    assert sorted(BOOK) == packages
    assert len(set(BOOK)) == len(BOOK)


# ------------------------------------------------------------------ notebooks

def _notebook(slug: str) -> nbformat.NotebookNode:
    return nbformat.read(str(ROOT / "notebooks" / f"{slug}.ipynb"), as_version=4)


PRF = re.compile(r"\{prf:(?!ref\})[a-z]+\}")


@pytest.mark.parametrize("slug", BOOK)
def test_statements_are_written_once(slug):
    """No prf block in the notebook's markdown; the statements cell renders every claim from
    claims.py, labelled with its id, and its committed output agrees with claims.py."""
    nb = _notebook(slug)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            assert not PRF.search(cell.source), \
                f"{slug} cell {i}: a prf block in markdown (statements live in claims.py)"
    cells = [c for c in nb.cells if c.cell_type == "code"
             and c.source == STATEMENTS_TEMPLATE.format(slug=slug)]
    assert len(cells) == 1, f"{slug}: expected one statements cell"
    assert "remove-input" in cells[0].metadata.get("tags", [])
    outputs = [o.get("data", {}).get("text/markdown", "") for o in cells[0].outputs]
    assert len(outputs) == 2 and outputs[1] == rerun_markdown(registry()[slug]), \
        f"{slug}: the statements cell must end with the current rerun box (rerun)"
    rendered = outputs[0]
    chapter = registry()[slug]
    expected = "\n".join(statement_markdown(c) for c in chapter.claims)
    assert rendered == expected, f"{slug}: committed statements differ from claims.py (rerun)"
    labels = re.findall(r"^:label: (\S+)$", rendered, flags=re.M)
    assert labels == [c.id for c in chapter.claims]


@pytest.mark.parametrize("slug", BOOK)
def test_same_setup_cell_after_parameters(slug):
    nb = _notebook(slug)
    code = [c for c in nb.cells if c.cell_type == "code"
            and "injected-parameters" not in c.metadata.get("tags", [])]
    params = [i for i, c in enumerate(code) if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1, f"{slug}: expected one parameters cell"
    assert code[params[0]].source == PARAMETERS_TEMPLATE, f"{slug}: non-standard parameters"
    assert "remove-cell" in code[params[0]].metadata["tags"], f"{slug}: parameters shown"
    assert code[params[0] + 1].source == SETUP_TEMPLATE.format(slug=slug), \
        f"{slug}: the cell after the parameters must be the standard setup cell"
    assert set(SETUP_TAGS) <= set(code[params[0] + 1].metadata.get("tags", [])), \
        f"{slug}: the setup cell's code must be collapsed in the HTML"
    for c in nb.cells:
        assert "set_num_threads" not in c.source, f"{slug}: thread settings belong in the library"


# ------------------------------------------------------------------ measurement contract

@pytest.mark.parametrize("slug", BOOK)
def test_measurement_contract_matches_committed_records(slug):
    import importlib

    reads = importlib.import_module(f"boundbook.chapters.{slug}.protocol").READS
    chapter = registry()[slug]
    assert set(reads) == {c.id for c in chapter.claims}
    for c in chapter.claims:
        rec = json.loads((ROOT / "ledger" / "records" / slug / f"{c.id}.json").read_text())
        assert sorted(rec["measurements"]) == sorted(reads[c.id]), c.id


# ------------------------------------------------------------------ toolkits and paths

def _chapter_imports() -> dict[str, set[str]]:
    """toolkit module -> the chapters whose modules import it (anywhere in the file)."""
    users: dict[str, set[str]] = {}
    pattern = re.compile(r"boundbook\.(numeric|symbolic|problems)\.(\w+)|"
                         r"from boundbook\.(numeric|symbolic|problems) import ([\w, ]+)")
    for slug in BOOK:
        for path in (LIB / "chapters" / slug).glob("*.py"):
            for m in pattern.finditer(path.read_text()):
                if m.group(1):
                    users.setdefault(f"{m.group(1)}.{m.group(2)}", set()).add(slug)
                else:
                    for name in m.group(4).split(","):
                        name = name.strip().split(" as ")[0]
                        users.setdefault(f"{m.group(3)}.{name}", set()).add(slug)
    return users


def test_toolkit_modules_are_shared_or_public():
    """A toolkit module is imported by at least two chapters, or is part of the public API
    (``boundbook.__init__``), or serves another toolkit module."""
    import boundbook

    public = {v.removeprefix("boundbook.") for v in boundbook._EXPORTS.values()}
    users = _chapter_imports()
    toolkit_text = "\n".join(p.read_text() for d in ("numeric", "symbolic", "problems")
                             for p in (LIB / d).glob("*.py"))
    lonely = []
    for d in ("numeric", "symbolic", "problems"):
        for p in sorted((LIB / d).glob("*.py")):
            if p.stem == "__init__":
                continue
            name = f"{d}.{p.stem}"
            shared = len(users.get(name, ())) >= 2
            serves_toolkit = re.search(rf"boundbook\.{d}\.{p.stem}\b|from boundbook\.{d} "
                                       rf"import .*\b{p.stem}\b", toolkit_text)
            if not (shared or name in public or serves_toolkit):
                lonely.append(f"{name} (used by {sorted(users.get(name, ()))})")
    assert not lonely, f"toolkit modules used by fewer than two chapters: {lonely}"


def test_nothing_points_outside_the_repository():
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                           check=True).stdout.split()
    bad = []
    for f in files:
        if f.endswith((".py", ".md", ".ipynb", ".yml", ".toml", ".cfg", ".txt")) \
                and f != "tests/test_architecture.py":
            text = (ROOT / f).read_text(errors="replace")
            if re.search(r"(?<![\w.])(\.\./)?shared/(claims|DESIGN|tools|hooks)|CATALOG|"
                         r"verification-(other|stable)\.md", text):
                bad.append(f)
    assert not bad, f"files citing paths outside the repository: {bad}"


def test_every_public_name_resolves():
    """Each lazy export of ``boundbook`` names a module and attribute that exist (after the move
    to core/ the framework names had pointed at modules that no longer existed)."""
    import boundbook

    missing = []
    for name in boundbook.__all__:
        try:
            getattr(boundbook, name)
        except (ImportError, AttributeError) as err:
            missing.append(f"{name}: {err}")
    assert not missing, missing
