"""Reruns a researcher can trust: overrides are validated before anything runs, every run that
is not the default one goes to its own run folder (never the committed notebook or ledger),
records carry their provenance, publishing is race-free, and run folders can be read back."""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from boundbook.core import paths
from boundbook.core.chapter import Chapter, get
from boundbook.core.cli import main
from boundbook.core.params import ParameterError, overrides_hash
from boundbook.core.provenance import deterministic
from boundbook.core.runner import ChapterFailed, execute, publish_records
from boundbook.core.runs import combine, find_records, runs_table

ROOT = Path(__file__).resolve().parents[2]


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    try:
        rc = main(list(argv))
    except SystemExit as exc:
        rc = exc.code if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    return rc, out, err


def committed_digest() -> str:
    h = hashlib.sha256()
    for p in sorted((ROOT / "ledger" / "records").rglob("*.json")) + sorted(
            (ROOT / "notebooks").glob("*.ipynb")):
        h.update(str(p).encode() + p.read_bytes())
    return h.hexdigest()


# ----------------------------------------------------------------------------- overrides

def test_overrides_are_typed_and_applied():
    from boundbook.chapters.gd_quadratic import protocol

    ch = get("gd_quadratic")
    run = ch.start("quick", "cpu", 4, {"steps": "500", "betas": "0.3,0.6"})
    assert run.overrides == {"steps": 500, "betas": [0.3, 0.6]}
    cfg = run.settings(protocol.settings)
    assert cfg.steps == 500 and cfg.betas == (0.3, 0.6) and cfg.seed == 4
    assert run.tag == f"quick-seed4-{overrides_hash(run.overrides)}" and not run.default
    # a default restated is no override: the run is the default one
    same = ch.start("quick", "cpu", 0, {"steps": "1000"})
    assert same.overrides == {} and same.default and same.tag == "quick-seed0"
    # nested settings come from a YAML file (-f) as lists
    nested = ch.start("quick", "cpu", 0, {"specs": [["uniform", 10, 10.0]]})
    assert nested.settings(protocol.settings).specs == (("uniform", 10, 10.0),)
    # the sign rule pools every mode's defaults: full mode's betas include 0 (plain GD)
    assert ch.start("quick", "cpu", 0, {"betas": "0,0.5"}).overrides == {"betas": [0.0, 0.5]}


FIELDS_BAD = {  # gd_quadratic's settings: int > 0, tuple of floats > 0, nested tuple
    "steps": ["0", "-5", "1.5", "many", "", "true"],
    "rounds": ["0", "-1", "x"],
    "betas": ["", "0.5,x", "-0.5", "-0.1,0.9", "nan", "inf"],
    "specs": ["uniform,10,10"],
}


@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(item=st.one_of(
    st.sampled_from([(k, v) for k, vs in FIELDS_BAD.items() for v in vs]),
    st.tuples(st.text("abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12)
              .filter(lambda k: k not in ("steps", "rounds", "betas", "specs", "n",
                                          "first_steps", "rate_steps", "rate_starts")),
              st.just("1")),
    st.sampled_from([("mode", "full"), ("seed", "3")])))
def test_bad_overrides_exit_2_before_any_computation(item, capsys, monkeypatch):
    def boom(*a, **k):
        raise AssertionError("the chapter must not run")

    monkeypatch.setattr("boundbook.core.runner.execute", boom)
    key, value = item
    before = committed_digest()
    rc, out, err = run_cli(capsys, "run", "gd_quadratic", "-p", f"{key}={value}")
    assert rc == 2, (item, err)
    assert err.count("\n") == 1 and "Traceback" not in err and "allowed" in err, err
    assert key in err
    assert committed_digest() == before


def test_override_file_and_list_params(capsys, tmp_path):
    f = tmp_path / "o.yaml"
    f.write_text("steps: -1\n")
    rc, _, err = run_cli(capsys, "run", "gd_quadratic", "-f", str(f))
    assert rc == 2 and "-p steps" in err and "> 0" in err
    f.write_text("- not a mapping\n")
    rc, _, err = run_cli(capsys, "run", "gd_quadratic", "-f", str(f))
    assert rc == 2 and "YAML mapping" in err
    rc, out, _ = run_cli(capsys, "list", "--params", "gd_quadratic")
    assert rc == 0 and "steps" in out and "betas" in out and "list of float" in out
    assert "mode " not in out.split("\n", 2)[2]  # mode and seed have their own options


def test_bad_seed_list_and_workers_for_sweep(capsys):
    rc, _, err = run_cli(capsys, "sweep", "gd_quadratic", "--seeds", "5-2")
    assert rc == 2 and "--seeds" in err and err.count("\n") == 1
    rc, _, err = run_cli(capsys, "sweep", "gd_quadratic", "--workers", "0")
    assert rc == 2 and "--workers" in err
    rc, _, err = run_cli(capsys, "sweep", "gd_quadratic", "-p", "steps=100,-1")
    assert rc == 2 and "-p steps" in err


# ----------------------------------------------------------------------------- run folders

@pytest.mark.slow
def test_plain_papermill_with_another_seed_leaves_the_committed_files(tmp_path, monkeypatch):
    """papermill bypasses the runner: report() writes to the run folder and says so."""
    import papermill

    monkeypatch.delenv("BOUNDBOOK_RECORDS", raising=False)
    monkeypatch.setenv("BOUNDBOOK_RUNS", str(tmp_path / "runs"))
    before = committed_digest()
    nb = get("gfs_sharpness").notebook
    papermill.execute_notebook(str(nb), str(tmp_path / "out.ipynb"),
                               parameters={"seed": 7, "device": "cpu"}, kernel_name="python3",
                               cwd=str(nb.parent), progress_bar=False)
    assert committed_digest() == before
    recs = sorted((tmp_path / "runs" / "gfs_sharpness" / "quick-seed7" / "records"
                   / "gfs_sharpness").glob("*.json"))
    assert len(recs) == len(get("gfs_sharpness").claims)
    run = json.loads(recs[0].read_text())["run"]
    assert run["seed"] == 7 and run["mode"] == "quick" and run["device"] == "cpu"
    assert "records written to" in (tmp_path / "out.ipynb").read_text()


@pytest.mark.slow
def test_full_mode_and_other_seeds_go_to_their_own_run_folders(tmp_path, monkeypatch, capsys):
    """A full-mode run (made small with overrides) and a seed-1 run: each in its folder, the
    committed notebook and ledger byte-identical, provenance in every record."""
    monkeypatch.setenv("BOUNDBOOK_RUNS", str(tmp_path))
    before = committed_digest()
    rc, out, err = run_cli(capsys, "run", "gfs_sharpness", "--mode", "full", "--no-progress",
                           "-p", "steps=400", "-p", "depths=2", "-p", "sharpness0=4,8",
                           "-p", "breakdown_sharpness0=4", "-p", "breakdown_eta_r0=0.3,1.5")
    assert rc == 0, err
    assert committed_digest() == before
    (full,) = (tmp_path / "gfs_sharpness").glob("full-seed0-*")
    assert (full / "gfs_sharpness.ipynb").exists() and (full / "gfs_sharpness.done.json").exists()
    rec = json.loads(next((full / "records" / "gfs_sharpness").glob("*.json")).read_text())
    prov = rec["run"]
    assert prov["mode"] == "full" and prov["overrides"]["steps"] == 400
    for key in ("device", "device_name", "python", "torch", "boundbook", "commit", "dirty",
                "wall_s"):
        assert key in prov, key
    assert prov["wall_s"] > 0


def test_publishing_200_runs_at_once_loses_nothing(tmp_path):
    """200 concurrent publishes into one run root (distinct runs, and 20 racing for one
    folder): every record readable, none lost, no staging file left behind."""
    src = []
    for i in range(200):
        d = tmp_path / "staged" / str(i)
        d.mkdir(parents=True)
        for c in range(3):
            (d / f"claim{c}.json").write_text(json.dumps({"id": f"claim{c}", "run": i}) + "\n")
        src.append(d)
    root = tmp_path / "runs" / "toy"
    errors: list[BaseException] = []
    barrier = threading.Barrier(200)

    def publish(i: int) -> None:
        try:
            barrier.wait()
            target = root / (f"quick-seed{i}" if i >= 20 else "shared") / "records" / "toy"
            publish_records(src[i], target)
        except BaseException as err:  # noqa: BLE001 - reported below
            errors.append(err)

    threads = [threading.Thread(target=publish, args=(i,)) for i in range(200)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors[:3]
    folders = sorted(root.glob("*/records/toy"))
    assert len(folders) == 181
    for f in folders:
        recs = [json.loads(p.read_text()) for p in sorted(f.glob("*.json"))]
        assert [r["id"] for r in recs] == ["claim0", "claim1", "claim2"]
    assert not [p for p in root.rglob(".*")], "staging files left behind"


def test_committed_record_kept_when_only_provenance_changed(tmp_path):
    new, target = tmp_path / "new", tmp_path / "target"
    new.mkdir()
    target.mkdir()
    old = {"id": "a", "verdict": "holds", "run": {"commit": "old"}}
    (target / "a.json").write_text(json.dumps(old))
    (new / "a.json").write_text(json.dumps({"id": "a", "verdict": "holds",
                                            "run": {"commit": "new"}}))
    publish_records(new, target, keep_unchanged=True)
    assert json.loads((target / "a.json").read_text())["run"]["commit"] == "old"
    (new / "a.json").write_text(json.dumps({"id": "a", "verdict": "violated", "run": {}}))
    publish_records(new, target, keep_unchanged=True)
    assert json.loads((target / "a.json").read_text())["verdict"] == "violated"
    assert deterministic({"id": 1, "run": 2}) == {"id": 1}


# ----------------------------------------------------------------------------- timeouts

@pytest.mark.slow
def test_a_chapter_past_its_time_limit_fails_naming_chapter_cell_and_time(tmp_path,
                                                                          monkeypatch):
    import nbformat

    (tmp_path / "_toc.yml").write_text("root: x\n")
    monkeypatch.setenv("BOUNDBOOK_ROOT", str(tmp_path))
    monkeypatch.delenv("BOUNDBOOK_RECORDS", raising=False)
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('mode = "quick"\ndevice = "auto"\nseed = 0')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell("x = 1"),
                nbformat.v4.new_code_cell("import time\ntime.sleep(120)")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    path = tmp_path / "notebooks" / "sleepy.ipynb"
    path.parent.mkdir()
    nbformat.write(nb, str(path))
    chapter = Chapter("sleepy", "Sleepy", "0000.00000", claims=())
    with pytest.raises(ChapterFailed) as info:
        execute(chapter, "quick", "cpu", 0, timeout=4)
    msg = str(info.value)
    assert "sleepy" in msg and "timed out in cell 3" in msg and "limit 4 s" in msg, msg
    assert path.read_bytes() == nbformat.writes(nb).encode() or path.exists()
    assert not (tmp_path / "ledger").exists()


def test_timeout_option_is_validated(capsys):
    rc, _, err = run_cli(capsys, "run", "gd_quadratic", "--timeout", "-3")
    assert rc == 2 and "--timeout" in err


# ----------------------------------------------------------------------------- reading runs

def _fake_run(base: Path, tag: str, verdicts: dict[str, str], overrides=None) -> None:
    d = base / "toy" / tag / "records" / "toy"
    d.mkdir(parents=True)
    for cid, v in verdicts.items():
        (d / f"{cid}.json").write_text(json.dumps({
            "id": cid, "chapter": "toy", "verdict": v,
            "run": {"seed": int(tag.split("seed")[1].split("-")[0]),
                    "overrides": overrides or {}}}))


def test_ledger_runs_combines_verdicts_over_seeds(tmp_path, capsys):
    for s in range(10):
        _fake_run(tmp_path, f"quick-seed{s}", {"a": "holds", "b": "holds" if s < 7 else
                                               "violated"})
    _fake_run(tmp_path, "quick-seed0-abcd", {"a": "violated"}, {"steps": 3})
    claims = {(c.claim, c.settings): c for c in combine(find_records([tmp_path / "toy"]))}
    a, b = claims[("a", "")], claims[("b", "")]
    assert not a.seed_dependent and a.combined() == "holds" and len(a.verdicts) == 10
    assert b.seed_dependent and b.counts == {"holds": 7, "violated": 3}
    f, lo, hi = b.fractions()["holds"]
    assert f == 0.7 and lo < 0.7 < hi and 0.3 < lo and hi < 0.95  # exact 95% interval
    assert ("a", "steps=3") in claims  # other settings are never pooled with the default
    rc, out, _ = run_cli(capsys, "ledger", "--runs", str(tmp_path / "toy"))
    assert rc == 0 and "seed-dependent" in out and "1 seed-dependent" in runs_table(
        list(claims.values()))
    rc, out, _ = run_cli(capsys, "ledger", "--runs", str(tmp_path / "toy"), "--json")
    assert rc == 0 and {d["claim"] for d in json.loads(out)} == {"a", "b"}
    rc, _, err = run_cli(capsys, "ledger", "--runs", str(tmp_path / "missing"))
    assert rc == 2 and "missing" in err


def test_run_folder_paths_follow_the_runs_root(monkeypatch, tmp_path):
    monkeypatch.setenv("BOUNDBOOK_RUNS", str(tmp_path))
    assert paths.run_folder("x", "quick-seed3") == tmp_path / "x" / "quick-seed3"
    with pytest.raises(ParameterError):
        get("gd_quadratic").start("quick", "cpu", 0, "not json")
    assert os.environ["BOUNDBOOK_RUNS"] == str(tmp_path)
