"""The execution cache never serves a result for other code or parameters: the key changes
with the chapter's notebook code, its package, the library, the requirements and every run
parameter, but not with another chapter's package; a verified, current chapter is skipped."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat
import pytest

from boundbook.core import cache
from boundbook.core.chapter import Chapter
from boundbook.core.params import RunParams
from boundbook.core.runner import execute

LIB = Path(cache.__file__).resolve().parents[1]


@pytest.fixture
def lib_copy(tmp_path, monkeypatch):
    copy = tmp_path / "lib" / "boundbook"
    shutil.copytree(LIB, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(cache, "_library", lambda: copy)
    return copy


def test_key_follows_code_library_and_parameters(lib_copy, tmp_path):
    nb_path = Path(__file__).resolve().parents[2] / "notebooks" / "gd_quadratic.ipynb"
    nb = tmp_path / "gd_quadratic.ipynb"
    shutil.copy(nb_path, nb)
    run = RunParams("quick", "cpu", 0)
    base = cache.chapter_key("gd_quadratic", nb, run)
    assert cache.chapter_key("gd_quadratic", nb, run) == base  # stable

    def changed(path: Path) -> str:
        old = path.read_text()
        path.write_text(old + "\n# touched\n")
        try:
            return cache.chapter_key("gd_quadratic", nb, run)
        finally:
            path.write_text(old)

    assert changed(lib_copy / "chapters" / "gd_quadratic" / "experiment.py") != base
    assert changed(lib_copy / "numeric" / "hessian.py") != base
    assert changed(lib_copy / "core" / "claims.py") != base
    assert changed(lib_copy / "chapters" / "sam_edge" / "experiment.py") == base
    for other in (RunParams("quick", "cpu", 1), RunParams("full", "cpu", 0),
                  RunParams("quick", "cuda", 0), RunParams("quick", "cpu", 0, {"steps": 9})):
        assert cache.chapter_key("gd_quadratic", nb, other) != base
    book = nbformat.read(str(nb), as_version=4)
    code = next(c for c in book.cells if c.cell_type == "code" and "report(" in c.source)
    code.source += "\n"
    nbformat.write(book, str(nb))
    assert cache.chapter_key("gd_quadratic", nb, run) != base
    for c in book.cells:  # prose is rendered from the notebook itself: no re-execution
        if c.cell_type == "markdown":
            c.source += " More prose."
    nbformat.write(book, str(nb))
    assert cache.chapter_key("gd_quadratic", nb, run) == cache.chapter_key(
        "gd_quadratic", nb, run)


@pytest.mark.slow
def test_verified_current_chapter_is_not_executed_again(tmp_path, monkeypatch):
    (tmp_path / "_toc.yml").write_text("root: x\n")
    monkeypatch.setenv("BOUNDBOOK_ROOT", str(tmp_path))
    monkeypatch.delenv("BOUNDBOOK_RECORDS", raising=False)
    monkeypatch.delenv("BOUNDBOOK_FORCE", raising=False)
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('mode = "quick"\ndevice = "auto"\nseed = 0')
    params.metadata["tags"] = ["parameters"]
    body = ("import json, os, pathlib\n"
            "d = pathlib.Path(os.environ['BOUNDBOOK_RECORDS']) / 'toy'\n"
            "d.mkdir(parents=True)\n"
            "(d / 'c.json').write_text(json.dumps({'id': 'c', 'verdict': 'holds'}))")
    nb.cells = [params, nbformat.v4.new_code_cell(body)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    path = tmp_path / "notebooks" / "toy.ipynb"
    path.parent.mkdir()
    nbformat.write(nb, str(path))
    toy = Chapter("toy", "Toy", "0000.00000", claims=())
    run = RunParams("quick", "cpu", 0)
    first = execute(toy, run)
    assert not first.cached and cache.notebook_key(path) == cache.chapter_key("toy", path, run)
    again = execute(toy, run)  # current, but not verified on this machine: executes
    assert not again.cached
    cache.stamp("toy", cache.chapter_key("toy", path, run), "a test")
    third = execute(toy, run)
    assert third.cached and third.verdicts == {"c": "holds"}
    assert not execute(toy, run, force=True).cached
    monkeypatch.setenv("BOUNDBOOK_FORCE", "1")
    assert not execute(toy, run).cached
    json.loads(path.read_text())  # still a valid notebook
