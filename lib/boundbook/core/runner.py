"""Execute chapters with papermill, safely.

Quick mode refreshes the committed notebook in place; full mode writes to a run folder. In
both cases papermill writes to a temporary file and the chapter's records go to a temporary
folder: only when the whole notebook has executed are the notebook renamed into place and the
records moved over the previous ones. A failing or interrupted run leaves the committed
notebook and the previous ledger exactly as they were.

Before the rename the executed notebook is *normalised* (:func:`normalise_notebook`): papermill's
timestamps, durations and absolute paths and the kernel's execution timestamps are dropped, so a
rerun whose results did not change writes a byte-identical notebook (``git status`` stays clean).
Cells tagged ``volatile`` (a wall-clock cost ratio) are the one exception: when nothing but
their outputs changed, the committed notebook is kept as it is.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from boundbook.core import paths
from boundbook.core.chapter import Chapter, _drafts

KERNEL = "python3"


class ChapterFailed(RuntimeError):
    """A chapter raised while executing; the message names the chapter and the failing cell."""

    def __init__(self, chapter: str, message: str) -> None:
        self.chapter = chapter
        super().__init__(f"chapter {chapter} failed: {message}")


@dataclass(frozen=True)
class ChapterRun:
    chapter: str
    seconds: float
    notebook: Path
    verdicts: dict[str, str]


def _describe_failure(err: BaseException) -> str:
    cell = getattr(err, "cell_index", None)
    ename = getattr(err, "ename", type(err).__name__)
    evalue = getattr(err, "evalue", str(err))
    where = f"cell {cell} (execution count {getattr(err, 'exec_count', '?')})" \
        if cell is not None else "before any cell ran"
    return f"{where}: {ename}: {str(evalue).strip().splitlines()[-1] if evalue else ''}"


def execute(chapter: Chapter, mode: str, device: str, seed: int,
            out: Path | None = None) -> ChapterRun:
    """Run one chapter (parameters already validated). See the module docstring."""
    import papermill

    src = chapter.notebook
    if not src.exists():
        raise ChapterFailed(chapter.slug, f"notebook {src} does not exist")
    if mode == "quick" and out is None and chapter.slug in _drafts():
        # a draft (not in BOOK yet): its notebook in place, its records never in the ledger
        dest, records_home = src, paths.root() / "_build" / "runs" / "drafts" / "records"
    elif mode == "quick" and out is None:
        dest, records_home = src, paths.records()
    else:
        folder = Path(out) if out is not None else paths.root() / "_build" / "runs" / mode
        dest, records_home = folder / src.name, folder / "records"
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{src.stem}.", suffix=".ipynb")
    os.close(fd)
    tmp_nb = Path(tmp_name)
    tmp_records = Path(tempfile.mkdtemp(prefix=f".{src.stem}.records.", dir=dest.parent))
    old_env = os.environ.get("BOUNDBOOK_RECORDS")
    os.environ["BOUNDBOOK_RECORDS"] = str(tmp_records)
    t0 = time.perf_counter()
    try:
        papermill.execute_notebook(
            str(src), str(tmp_nb), parameters={"mode": mode, "device": device, "seed": seed},
            kernel_name=KERNEL, cwd=str(src.parent), progress_bar=False, log_output=False)
        seconds = time.perf_counter() - t0
        produced = tmp_records / chapter.slug
        if not produced.is_dir():
            raise ChapterFailed(chapter.slug, "it ran, but its report() wrote no records")
        _replace_dir(produced, records_home / chapter.slug)
        normalise_notebook(tmp_nb)
        shutil.copymode(src, tmp_nb)  # mkstemp made it 0600; keep the notebook's own mode
        if dest.exists() and same_results(dest, tmp_nb):
            tmp_nb.unlink()  # unchanged: leave the committed file (and its mtime) alone
        else:
            os.replace(tmp_nb, dest)
    except ChapterFailed:
        raise
    except Exception as err:  # papermill's execution error, a dead kernel, ...
        raise ChapterFailed(chapter.slug, _describe_failure(err)) from err
    finally:
        if old_env is None:
            os.environ.pop("BOUNDBOOK_RECORDS", None)
        else:
            os.environ["BOUNDBOOK_RECORDS"] = old_env
        tmp_nb.unlink(missing_ok=True)
        shutil.rmtree(tmp_records, ignore_errors=True)
    verdicts = {}
    for p in sorted((records_home / chapter.slug).glob("*.json")):
        rec: dict[str, Any] = json.loads(p.read_text())
        verdicts[rec["id"]] = rec["verdict"]
    return ChapterRun(chapter.slug, seconds, dest, verdicts)


VOLATILE_CELL_METADATA = ("papermill", "execution")
"""Cell metadata that changes on every execution (timestamps, durations)."""


def normalise_notebook(path: Path) -> None:
    """Strip what changes on every execution although the results do not: the notebook's
    ``papermill`` metadata (start/end times, durations, input and output paths) and each cell's
    ``papermill`` and ``execution`` metadata (kernel timestamps); the injected-parameters cell
    gets a fixed id. Tags and outputs are kept."""
    import nbformat

    nb = nbformat.read(str(path), as_version=4)
    nb.metadata.pop("papermill", None)
    for cell in nb.cells:
        for key in VOLATILE_CELL_METADATA:
            cell.metadata.pop(key, None)
        if "injected-parameters" in cell.metadata.get("tags", ()):
            cell["id"] = "injected-parameters"  # papermill draws a random id on every run
    nbformat.write(nb, str(path))


VOLATILE_TAG = "volatile"
"""Tag of a cell whose output varies from run to run by nature (a wall-clock cost ratio)."""


def same_results(old: Path, new: Path) -> bool:
    """The two executed notebooks are equal apart from the outputs of cells tagged
    ``volatile`` (timings, which never enter a record or a verdict)."""
    if old.read_bytes() == new.read_bytes():
        return True
    import nbformat

    def key(path: Path) -> str:
        nb = nbformat.read(str(path), as_version=4)
        for cell in nb.cells:
            if VOLATILE_TAG in cell.metadata.get("tags", ()):
                cell["outputs"] = []
        return nbformat.writes(nb)

    return key(old) == key(new)


def _replace_dir(new: Path, target: Path) -> None:
    """Swap ``new`` into ``target`` with renames, so a crash leaves one or the other whole."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staged = target.parent / f".{target.name}.new"
    old = target.parent / f".{target.name}.old"
    shutil.rmtree(staged, ignore_errors=True)
    shutil.rmtree(old, ignore_errors=True)
    shutil.copytree(new, staged)
    if target.exists():
        os.replace(target, old)
    os.replace(staged, target)
    shutil.rmtree(old, ignore_errors=True)
