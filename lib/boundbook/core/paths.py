"""Where the book's files live: the repository root holds _toc.yml, notebooks/, book/, ledger/.

The package is installed editable from ``lib/``, so the root is two levels above this file;
``BOUNDBOOK_ROOT`` overrides it (tests use that to work on a copy).
"""

from __future__ import annotations

import os
from pathlib import Path


def root() -> Path:
    env = os.environ.get("BOUNDBOOK_ROOT")
    if env:
        return Path(env).resolve()
    here = Path(__file__).resolve().parents[3]
    if (here / "_toc.yml").exists():
        return here
    return Path.cwd()


def notebooks() -> Path:
    return root() / "notebooks"


def records() -> Path:
    """Committed per-claim ledger records (quick mode): ``ledger/records/<chapter>/<id>.json``.

    ``BOUNDBOOK_RECORDS`` redirects them (the runner points it at a temporary folder and moves
    the records into place only when the whole chapter succeeded).
    """
    env = os.environ.get("BOUNDBOOK_RECORDS")
    return Path(env) if env else root() / "ledger" / "records"


def book() -> Path:
    return root() / "book"


def runs() -> Path:
    """Root of the run folders (``_build/runs``; ``BOUNDBOOK_RUNS`` overrides it)."""
    env = os.environ.get("BOUNDBOOK_RUNS")
    return Path(env) if env else root() / "_build" / "runs"


def run_folder(chapter: str, tag: str) -> Path:
    """Where a run that is not the committed one writes its notebook and records:
    ``_build/runs/<chapter>/<tag>`` with ``tag`` = ``<mode>-seed<N>[-<hash of overrides>]``
    (:attr:`boundbook.core.params.RunParams.tag`)."""
    return runs() / chapter / tag
