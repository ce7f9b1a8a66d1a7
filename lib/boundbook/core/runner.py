"""Execute chapters with papermill, safely.

Only the run ``make book`` makes (quick mode, seed 0, default settings, no ``--out``) refreshes
the committed notebook and ``ledger/records``. Every other run (another seed, full mode,
overrides) writes to its run folder, ``_build/runs/<chapter>/<mode>-seed<N>[-<hash>]/`` (or
``--out``): ``<chapter>.ipynb``, ``records/<chapter>/*.json`` and, last, ``<chapter>.done.json``
(the run's summary; a sweep skips a run whose summary exists).

papermill writes to a temporary file and the chapter's records go to a temporary folder: only
when the whole notebook has executed are they published, file by file, each through a uniquely
named temporary file renamed into place (atomic, and safe when many runs publish at once). A
failing, interrupted or timed-out run leaves the committed notebook and the previous ledger
exactly as they were.

Before publishing, the executed notebook is *normalised* (:func:`normalise_notebook`): papermill's
timestamps, durations and absolute paths and the kernel's execution timestamps are dropped, so a
rerun whose results did not change writes a byte-identical notebook (``git status`` stays clean).
Cells tagged ``volatile`` (a wall-clock cost ratio) are the one exception: when nothing but
their outputs changed, the committed notebook is kept as it is. Likewise a committed record
whose deterministic part (everything but its provenance block) did not change is kept.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from boundbook.core import paths
from boundbook.core.chapter import Chapter, _drafts
from boundbook.core.params import RunParams, to_json
from boundbook.core.provenance import deterministic

KERNEL = "python3"
_ENV_LOCK = threading.Lock()  # BOUNDBOOK_RECORDS is process-wide: one execution at a time


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
    records: Path | None = None
    cached: str = ""
    """Non-empty when the execution was skipped (:mod:`boundbook.core.cache`): why."""


def _describe_failure(err: BaseException) -> str:
    cell = getattr(err, "cell_index", None)
    ename = getattr(err, "ename", type(err).__name__)
    evalue = getattr(err, "evalue", str(err))
    where = f"cell {cell} (execution count {getattr(err, 'exec_count', '?')})" \
        if cell is not None else "before any cell ran"
    return f"{where}: {ename}: {str(evalue).strip().splitlines()[-1] if evalue else ''}"


def destination(chapter: Chapter, run: RunParams, out: Path | None = None) -> tuple[Path, Path]:
    """Where ``run`` publishes: (notebook path, records home). The committed notebook and
    ledger only for the default run (:attr:`RunParams.default`) without ``out``."""
    src = chapter.notebook
    if run.default and out is None and chapter.slug in _drafts():
        # a draft (not in BOOK yet): its notebook in place, its records never in the ledger
        return src, paths.runs() / "drafts" / "records"
    if run.default and out is None:
        return src, paths.records()
    folder = Path(out) if out is not None else paths.run_folder(chapter.slug, run.tag)
    return folder / src.name, folder / "records"


def done_marker(notebook: Path) -> Path:
    """The summary a run folder gets last: ``<chapter>.done.json`` beside the notebook."""
    return notebook.with_name(notebook.stem + ".done.json")


def execute(chapter: Chapter, mode: str | RunParams, device: str = "cpu", seed: int = 0,
            out: Path | None = None, *, overrides: Mapping[str, Any] | None = None,
            timeout: float | None = None, force: bool = False) -> ChapterRun:
    """Run one chapter (parameters already validated: pass ``chapter.start(...)``'s result,
    or mode, device and seed). See the module docstring. ``timeout`` (default: the chapter's
    ``timeout_s`` for the mode) bounds the whole execution. The default run is skipped when the
    cache says its committed outputs are current and verified (:mod:`boundbook.core.cache`),
    unless ``force``."""
    import papermill

    from boundbook.core import cache

    run = mode if isinstance(mode, RunParams) else RunParams(mode, device, seed,
                                                              dict(overrides or {}))
    src = chapter.notebook
    if not src.exists():
        raise ChapterFailed(chapter.slug, f"notebook {src} does not exist")
    dest, records_home = destination(chapter, run, out)
    committed = dest == src and records_home == paths.records()
    key = cache.chapter_key(chapter.slug, src, run)
    if committed and not force:
        ok, why = cache.fresh(chapter.slug, src, run)
        if ok and (records_home / chapter.slug).is_dir():
            return ChapterRun(chapter.slug, 0.0, dest, _verdicts(records_home / chapter.slug),
                              records_home / chapter.slug, cached=why)
    limit = float(timeout if timeout is not None else chapter.timeout_s.get(run.mode, 3600.0))
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{src.stem}.", suffix=".ipynb")
    os.close(fd)
    tmp_nb = Path(tmp_name)
    tmp_records = Path(tempfile.mkdtemp(prefix=f".{src.stem}.records.", dir=dest.parent))
    clock = _Deadline(limit)
    t0 = time.perf_counter()
    try:
        with _ENV_LOCK:
            old_env = os.environ.get("BOUNDBOOK_RECORDS")
            os.environ["BOUNDBOOK_RECORDS"] = str(tmp_records)
            try:
                papermill.execute_notebook(
                    str(src), str(tmp_nb), parameters={
                        "mode": run.mode, "device": run.device, "seed": run.seed,
                        "overrides": json.dumps(to_json(run.overrides), sort_keys=True)},
                    kernel_name=KERNEL, cwd=str(src.parent), progress_bar=False,
                    log_output=False, timeout_func=clock.cell_timeout)
            finally:
                if old_env is None:
                    os.environ.pop("BOUNDBOOK_RECORDS", None)
                else:
                    os.environ["BOUNDBOOK_RECORDS"] = old_env
        seconds = time.perf_counter() - t0
        produced = tmp_records / chapter.slug
        if not produced.is_dir():
            raise ChapterFailed(chapter.slug, "it ran, but its report() wrote no records")
        publish_records(produced, records_home / chapter.slug,
                        keep_unchanged=records_home == paths.records())
        normalise_notebook(tmp_nb, key=key)
        shutil.copymode(src, tmp_nb)  # mkstemp made it 0600; keep the notebook's own mode
        if dest.exists() and same_results(dest, tmp_nb):
            tmp_nb.unlink()  # unchanged: leave the committed file (and its mtime) alone
        else:
            os.replace(tmp_nb, dest)
    except ChapterFailed:
        raise
    except Exception as err:  # papermill's execution error, a dead kernel, a timeout, ...
        if clock.expired(err):
            raise ChapterFailed(chapter.slug, clock.describe(src, time.perf_counter() - t0)) \
                from err
        raise ChapterFailed(chapter.slug, _describe_failure(err)) from err
    finally:
        tmp_nb.unlink(missing_ok=True)
        shutil.rmtree(tmp_records, ignore_errors=True)
    verdicts = _verdicts(records_home / chapter.slug)
    result = ChapterRun(chapter.slug, seconds, dest, verdicts, records_home / chapter.slug)
    if dest != src:
        atomic_write_json(done_marker(dest), {
            "chapter": chapter.slug, "mode": run.mode, "seed": run.seed, "device": run.device,
            "overrides": to_json(run.overrides), "seconds": round(seconds, 2),
            "verdicts": verdicts})
    return result


def _verdicts(folder: Path) -> dict[str, str]:
    out = {}
    for p in sorted(folder.glob("*.json")):
        rec: dict[str, Any] = json.loads(p.read_text())
        out[rec["id"]] = rec["verdict"]
    return out


class _Deadline:
    """A whole-chapter time limit, enforced through nbclient's per-cell timeout: each cell may
    run for what is left of the chapter's budget."""

    def __init__(self, limit: float) -> None:
        self.limit, self.t0 = limit, time.monotonic()
        self.cell: Any = None

    def cell_timeout(self, cell: Any) -> int:
        self.cell = cell
        return max(1, int(self.limit - (time.monotonic() - self.t0) + 0.999))

    def expired(self, err: BaseException) -> bool:
        from nbclient.exceptions import CellTimeoutError

        return isinstance(err, (CellTimeoutError, TimeoutError)) or \
            "timed out" in str(err).lower()

    def describe(self, src: Path, seconds: float) -> str:
        import nbformat

        where = "a cell"
        if self.cell is not None:
            cells = nbformat.read(str(src), as_version=4).cells
            ids = [c.get("id") for c in cells]
            cid = self.cell.get("id")
            # the executed notebook has papermill's injected cell before the parameters' cell
            where = f"cell {ids.index(cid) + 1}" if cid in ids else "the parameters cell"
        return (f"timed out in {where} after {seconds:.0f} s (limit {self.limit:g} s for "
                "the whole chapter; raise it with --timeout)")


def atomic_write_json(path: Path, obj: Any) -> None:
    """Write JSON through a uniquely named temporary file in the same folder, then rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(json.dumps(obj, indent=1) + "\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def publish_records(new: Path, target: Path, keep_unchanged: bool = False) -> None:
    """Publish the records in ``new`` into ``target``, file by file: each goes through a
    uniquely named temporary file renamed over the old one, so a reader never sees half a file
    and concurrent publishers never collide; records of claims ``new`` does not have are then
    removed. With ``keep_unchanged``, a record whose deterministic part equals the existing
    one is left as it is (the committed ledger: a rerun must not dirty the repository)."""
    target.mkdir(parents=True, exist_ok=True)
    names = set()
    for src in sorted(new.glob("*.json")):
        names.add(src.name)
        dst = target / src.name
        if keep_unchanged and dst.exists():
            try:
                if deterministic(json.loads(dst.read_text())) == \
                        deterministic(json.loads(src.read_text())):
                    continue
            except (json.JSONDecodeError, OSError):
                pass
        fd, tmp = tempfile.mkstemp(dir=target, prefix=f".{src.name}.", suffix=".tmp")
        os.close(fd)
        try:
            shutil.copyfile(src, tmp)
            os.replace(tmp, dst)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    for old in target.glob("*.json"):
        if old.name not in names:
            old.unlink(missing_ok=True)


VOLATILE_CELL_METADATA = ("papermill", "execution")
"""Cell metadata that changes on every execution (timestamps, durations)."""


def normalise_notebook(path: Path, key: str | None = None) -> None:
    """Strip what changes on every execution although the results do not: the notebook's
    ``papermill`` metadata (start/end times, durations, input and output paths) and each cell's
    ``papermill`` and ``execution`` metadata (kernel timestamps); the injected-parameters cell
    gets a fixed id and the ``remove-cell`` tag (the book does not show it). Tags and outputs are
    kept."""
    import nbformat

    nb = nbformat.read(str(path), as_version=4)
    nb.metadata.pop("papermill", None)
    if key is not None:  # what produced these outputs (boundbook.core.cache)
        nb.metadata["boundbook"] = {"key": key}
    for cell in nb.cells:
        for key in VOLATILE_CELL_METADATA:
            cell.metadata.pop(key, None)
        tags = cell.metadata.get("tags", [])
        if "injected-parameters" in tags:
            cell["id"] = "injected-parameters"  # papermill draws a random id on every run
            if "remove-cell" not in tags:  # plumbing: not shown in the HTML book
                cell.metadata["tags"] = [*tags, "remove-cell"]
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
