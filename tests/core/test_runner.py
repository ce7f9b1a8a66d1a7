"""The runner: a crashed chapter fails loudly; a failed or killed run changes nothing."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import nbformat
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from boundbook.core import cli
from boundbook.core.chapter import Chapter
from boundbook.core.runner import ChapterFailed, execute

pytestmark = pytest.mark.slow


def make_notebook(path: Path, body: str) -> None:
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('mode = "quick"\ndevice = "auto"\nseed = 0')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell("x = 1"), nbformat.v4.new_code_cell(body)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)


def digest(paths: list[Path]) -> str:
    h = hashlib.sha256()
    for p in paths:
        h.update(p.read_bytes() if p.exists() else b"<missing>")
    return h.hexdigest()


@pytest.fixture
def sandbox(tmp_path, monkeypatch):
    """A throwaway book root with a previous ledger record for chapter 'broken'."""
    (tmp_path / "_toc.yml").write_text("root: x\n")
    rec = tmp_path / "ledger" / "records" / "broken" / "old.json"
    rec.parent.mkdir(parents=True)
    rec.write_text('{"id": "old", "verdict": "holds"}\n')
    monkeypatch.setenv("BOUNDBOOK_ROOT", str(tmp_path))
    monkeypatch.delenv("BOUNDBOOK_RECORDS", raising=False)
    return tmp_path


def test_crashed_chapter_fails_with_name_and_cell(sandbox):
    nb = sandbox / "notebooks" / "broken.ipynb"
    make_notebook(nb, "raise RuntimeError('deliberately broken')")
    before = digest([nb, sandbox / "ledger/records/broken/old.json"])
    chapter = Chapter("broken", "Broken", "0000.00000", claims=())
    with pytest.raises(ChapterFailed) as info:
        execute(chapter, "quick", "cpu", 0)
    msg = str(info.value)
    assert "chapter broken failed" in msg and "cell" in msg and "deliberately broken" in msg
    assert digest([nb, sandbox / "ledger/records/broken/old.json"]) == before
    assert not [p for p in nb.parent.iterdir() if p.name.startswith(".")]


def test_cli_run_exits_1_on_crashed_chapter(sandbox, monkeypatch, capsys):
    make_notebook(sandbox / "notebooks" / "broken.ipynb", "1 / 0")
    chapter = Chapter("broken", "Broken", "0000.00000", claims=())
    monkeypatch.setattr("boundbook.core.chapter.registry", lambda: {"broken": chapter})
    rc = cli.cmd_run(argparse.Namespace(chapters=[], mode="quick", device="cpu", seed=0,
                                        out=None, no_progress=True))
    err = capsys.readouterr().err
    assert rc == 1 and "broken" in err and "ZeroDivisionError" in err


def test_records_only_replaced_after_success(sandbox):
    nb = sandbox / "notebooks" / "broken.ipynb"
    make_notebook(nb, textwrap.dedent("""
        import os, pathlib
        d = pathlib.Path(os.environ["BOUNDBOOK_RECORDS"]) / "broken"
        d.mkdir(parents=True)
        (d / "new.json").write_text('{"id": "new", "verdict": "tight"}')
    """))
    res = execute(Chapter("broken", "Broken", "0000.00000", claims=()), "quick", "cpu", 0)
    assert res.verdicts == {"new": "tight"}
    names = sorted(p.name for p in (sandbox / "ledger/records/broken").iterdir())
    assert names == ["new.json"]
    executed = json.loads(nb.read_text())
    assert any("injected-parameters" in c["metadata"].get("tags", []) for c in executed["cells"])


SCRIPT = """
import sys
from boundbook.core.chapter import Chapter
from boundbook.core import cli
from boundbook.core.runner import execute
import signal
signal.signal(signal.SIGTERM, cli._interrupt)
try:
    execute(Chapter("broken", "Broken", "0000.00000", claims=()), "quick", "cpu", 0)
except KeyboardInterrupt:
    sys.exit(130)
"""


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_killed_run_leaves_notebook_and_ledger(sandbox, sig):
    nb = sandbox / "notebooks" / "broken.ipynb"
    make_notebook(nb, "import time\ntime.sleep(60)")
    watched = [nb, sandbox / "ledger/records/broken/old.json"]
    before = digest(watched)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "lib")}
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT], env=env)
    deadline = time.time() + 60
    while time.time() < deadline:  # wait until papermill is executing (its temp file exists)
        if [p for p in nb.parent.iterdir() if p.name.startswith(".broken.")]:
            break
        time.sleep(0.2)
    time.sleep(3)
    proc.send_signal(sig)
    rc = proc.wait(timeout=60)
    assert rc != 0
    assert digest(watched) == before
    names = sorted(p.name for p in (sandbox / "ledger/records/broken").iterdir())
    assert names == ["old.json"]
    if sig == signal.SIGTERM:  # a catchable signal also cleans up its temporary files
        assert not [p for p in nb.parent.iterdir() if p.name.startswith(".")]


_bad = st.one_of(
    st.tuples(st.just("mode"), st.sampled_from(["fast", "", "QUICK", "full "])),
    st.tuples(st.just("device"), st.sampled_from(["tpu", "gpu", "", "cuda:9"])),
    st.tuples(st.just("seed"), st.sampled_from([-1, -(2**40), 2**32, 1.5, "3"])),
)


@settings(max_examples=3, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(bad=_bad)
def test_papermill_run_with_invalid_parameter_is_refused_cleanly(root, tmp_path, bad):
    """Bypassing the CLI, a bad parameter reaches the notebook: its first code cell refuses it
    with the one-line ParameterError, and nothing committed changes."""
    from boundbook.core.chapter import registry

    name, value = bad
    chapter = registry()["ghosts_of_softmax"]
    params = {"mode": "quick", "device": "cpu", "seed": 0, name: value}
    before = digest([chapter.notebook])
    with pytest.raises(ChapterFailed) as info:
        execute(chapter, params["mode"], params["device"], params["seed"], out=tmp_path)
    msg = str(info.value)
    assert "ParameterError" in msg and f"invalid {name}" in msg and "allowed" in msg, msg
    assert "\n" not in msg and "Traceback" not in msg
    assert digest([chapter.notebook]) == before


def test_build_stops_on_crashed_chapter(sandbox, monkeypatch, capsys):
    """`make book` runs `boundbook build`: a crashing chapter fails it before jupyter-book."""
    make_notebook(sandbox / "notebooks" / "broken.ipynb", "raise ValueError('boom')")
    chapter = Chapter("broken", "Broken", "0000.00000", claims=())
    monkeypatch.setattr("boundbook.core.chapter.registry", lambda: {"broken": chapter})
    called = []
    monkeypatch.setattr("subprocess.run", lambda *a, **k: called.append(a))
    rc = cli.cmd_build(argparse.Namespace(skip_run=False, seed=0, device="cpu"))
    assert rc == 1 and not called and "boom" in capsys.readouterr().err


def _executed_notebook(path, stamp: str, timing: str, value: str = "1") -> None:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["papermill"] = {"duration": 1.0, "input_path": f"/abs/{stamp}"}
    params = nbformat.v4.new_code_cell("x = 1", metadata={"tags": ["injected-parameters"],
                                                          "papermill": {"duration": 0.1}})
    params["id"] = f"random-{stamp}"
    result = nbformat.v4.new_code_cell("print(x)", metadata={
        "execution": {"iopub.status.idle": stamp}})
    result.outputs = [nbformat.v4.new_output("stream", text=value)]
    timed = nbformat.v4.new_code_cell("print(cost)", metadata={"tags": ["volatile"]})
    timed.outputs = [nbformat.v4.new_output("stream", text=timing)]
    result["id"], timed["id"] = "result", "timed"  # ids come from the source notebook
    nb.cells = [params, result, timed]
    nbformat.write(nb, str(path))


def test_normalised_reruns_are_byte_identical_and_volatile_cells_tolerated(tmp_path):
    """Timestamps, papermill paths and the injected cell's random id are stripped; a rerun that
    differs only in a `volatile` cell's output counts as unchanged; a changed result does not."""
    from boundbook.core.runner import normalise_notebook, same_results

    a, b, c, d = (tmp_path / f"{n}.ipynb" for n in "abcd")
    _executed_notebook(a, "t1", "3.8")
    _executed_notebook(b, "t2", "3.8")
    _executed_notebook(c, "t3", "4.4")
    _executed_notebook(d, "t4", "3.8", value="2")
    for p in (a, b, c, d):
        normalise_notebook(p)
    assert a.read_bytes() == b.read_bytes()
    assert "papermill" not in a.read_text() and "iopub" not in a.read_text()
    assert same_results(a, c) and a.read_bytes() != c.read_bytes()
    assert not same_results(a, d)
