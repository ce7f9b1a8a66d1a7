"""The execution cache: ``make book`` after ``make test`` on the same code executes nothing.

A chapter's **key** hashes everything its execution depends on: the notebook's code cells, the
chapter's own package, the rest of the library (core, toolkits, problems, the chapter list:
everything under ``lib/boundbook`` but the other chapters' packages), the pinned requirements,
the torch and Python versions, and the run's parameters (mode, resolved device, seed,
overrides). The runner writes the key into the notebook it publishes
(``metadata.boundbook.key``).

``boundbook run`` skips the default run of a chapter (quick, seed 0, default settings) only when
both hold:

1. the committed notebook carries the current key (it was produced by exactly this code and
   these parameters), and
2. this machine's test run verified it: the nbval pass re-executed the chapter and the
   determinism test found the same records, and stamped ``_build/cache/<chapter>.json`` with
   the key.

A change to a chapter re-keys that chapter only; a change to the library or the requirements
re-keys every chapter; ``--force`` (or ``BOUNDBOOK_FORCE=1``) executes regardless. Without a
test run, ``make book`` executes every chapter.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
from pathlib import Path
from typing import Any

from boundbook.core import paths
from boundbook.core.params import RunParams, to_json

META = "boundbook"


def _library() -> Path:
    return Path(__file__).resolve().parents[1]


def chapter_key(slug: str, notebook: Path, run: RunParams) -> str:
    """The sha256 of what the default execution of chapter ``slug`` depends on (see above)."""
    import nbformat
    import torch

    h = hashlib.sha256()
    lib = _library()
    for p in sorted(lib.rglob("*.py")):
        rel = p.relative_to(lib)
        if rel.parts[0] == "chapters" and len(rel.parts) > 2 and rel.parts[1] != slug:
            continue  # another chapter's package: no chapter imports another
        h.update(str(rel).encode() + b"\0" + p.read_bytes() + b"\0")
    req = paths.root() / "requirements.txt"
    if req.exists():
        h.update(req.read_bytes())
    nb = nbformat.read(str(notebook), as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code" and "injected-parameters" not in cell.metadata.get(
                "tags", ()):
            h.update(cell.source.encode() + b"\0")
    h.update(json.dumps({"mode": run.mode, "device": run.device, "seed": run.seed,
                         "overrides": to_json(run.overrides), "torch": torch.__version__,
                         "python": platform.python_version_tuple()[:2]},
                        sort_keys=True).encode())
    return h.hexdigest()


def notebook_key(notebook: Path) -> str | None:
    """The key recorded in a published notebook's metadata, if any."""
    try:
        meta = json.loads(notebook.read_text()).get("metadata", {})
    except (OSError, json.JSONDecodeError):
        return None
    return (meta.get(META) or {}).get("key")


def stamp_path(slug: str) -> Path:
    return paths.root() / "_build" / "cache" / f"{slug}.json"


def stamp(slug: str, key: str, how: str) -> None:
    """Record that this machine verified the committed outputs of ``slug`` under ``key``."""
    from boundbook.core.ledger import atomic_write_text

    atomic_write_text(stamp_path(slug), json.dumps({"chapter": slug, "key": key,
                                                    "verified_by": how}, indent=1) + "\n")


def fresh(slug: str, notebook: Path, run: RunParams) -> tuple[bool, str]:
    """Whether the default run of ``slug`` may be skipped, and why (one line)."""
    if os.environ.get("BOUNDBOOK_FORCE") == "1":
        return False, "forced"
    key = chapter_key(slug, notebook, run)
    if notebook_key(notebook) != key:
        return False, "the code or parameters changed since the committed notebook was made"
    try:
        verified: dict[str, Any] = json.loads(stamp_path(slug).read_text())
    except (OSError, json.JSONDecodeError):
        return False, "not verified on this machine yet (run `make test` first to reuse it)"
    if verified.get("key") != key:
        return False, "verified for other code"
    return True, f"cached: verified by {verified.get('verified_by')} under key {key[:12]}"
