"""The GitHub Actions workflows, checked offline: valid against the GitHub-workflow schema that
check-jsonschema ships (``--builtin-schema vendor.github-workflows``, no download), and doing
what the project needs (book.yml: Python 3.11, ``make test``, ``make book``, Pages; full-gpu.yml:
by hand, on a GPU runner, a full CUDA run whose notebooks and records are kept)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"
OFFLINE = {**os.environ, "HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9",
           "http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9"}


def load(name: str) -> dict:
    data = yaml.safe_load((WORKFLOWS / name).read_text())
    if True in data:  # YAML 1.1 reads the key `on` as a boolean
        data["on"] = data.pop(True)
    return data


def steps(job: dict) -> list[dict]:
    return job.get("steps", [])


def runs(job: dict) -> str:
    return "\n".join(s.get("run", "") for s in steps(job))


def uses(job: dict, action: str) -> list[dict]:
    return [s for s in steps(job) if s.get("uses", "").split("@")[0] == action]


@pytest.mark.parametrize("name", ["book.yml", "full-gpu.yml"])
def test_workflow_matches_the_github_schema(name):
    exe = Path(sys.executable).with_name("check-jsonschema")
    if not exe.exists():
        pytest.skip("check-jsonschema is not installed (it is in requirements.txt)")
    proc = subprocess.run([str(exe), "--builtin-schema", "vendor.github-workflows",
                           str(WORKFLOWS / name)],
                          capture_output=True, text=True, env=OFFLINE, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_schema_check_rejects_a_broken_workflow(tmp_path):
    """The check has power: a job without runs-on is refused."""
    exe = Path(sys.executable).with_name("check-jsonschema")
    if not exe.exists():
        pytest.skip("check-jsonschema is not installed (it is in requirements.txt)")
    bad = tmp_path / "bad.yml"
    bad.write_text("on: push\njobs:\n  x:\n    steps:\n      - run: make test\n")
    proc = subprocess.run([str(exe), "--builtin-schema", "vendor.github-workflows", str(bad)],
                          capture_output=True, text=True, env=OFFLINE, timeout=120)
    assert proc.returncode == 1, proc.stdout + proc.stderr


def test_every_action_is_pinned_to_a_version():
    for path in WORKFLOWS.glob("*.yml"):
        for job in load(path.name)["jobs"].values():
            for step in steps(job):
                if "uses" in step:
                    assert re.fullmatch(r"[\w.-]+/[\w./-]+@v\d+", step["uses"]), step["uses"]


def test_no_expression_is_interpolated_into_a_shell_script():
    """Inputs and event data reach `run:` scripts through env, never as `${{ }}` in the
    script text (where they would be code)."""
    for path in WORKFLOWS.glob("*.yml"):
        for job in load(path.name)["jobs"].values():
            for step in steps(job):
                assert "${{" not in step.get("run", ""), (path.name, step)


def test_book_workflow_tests_builds_and_publishes():
    wf = load("book.yml")
    assert {"push", "pull_request"} <= set(wf["on"])
    build, deploy = wf["jobs"]["build"], wf["jobs"]["deploy"]
    # Python 3.11: the container's interpreter (Debian bookworm, where `make browser` installs
    # chromium and chromium-driver as root) or actions/setup-python
    image = (build.get("container") or {}).get("image", "")
    setup = uses(build, "actions/setup-python")
    assert image.startswith("python:3.11") or (
        setup and str(setup[0]["with"]["python-version"]) == "3.11")
    script = runs(build)
    assert script.index("make test") < script.index("make book")
    assert build["env"]["BOUNDBOOK_REQUIRE_BROWSER"] == "1"
    (upload,) = uses(build, "actions/upload-pages-artifact")
    assert upload["with"]["path"] == "_build/html"
    assert steps(build).index(upload) > max(
        i for i, s in enumerate(steps(build)) if "make book" in s.get("run", ""))
    assert deploy["needs"] == "build"
    assert uses(deploy, "actions/deploy-pages")
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert deploy["environment"]["name"] == "github-pages"
    assert "refs/heads/main" in deploy["if"] and "pull_request" in deploy["if"]
    assert wf["permissions"] == {"contents": "read"}


def test_full_gpu_workflow_runs_full_mode_on_a_gpu_and_keeps_the_outputs():
    wf = load("full-gpu.yml")
    assert set(wf["on"]) == {"workflow_dispatch"}
    (job,) = wf["jobs"].values()
    labels = job["runs-on"] if isinstance(job["runs-on"], list) else [job["runs-on"]]
    assert "gpu" in labels and "self-hosted" in labels
    assert str(uses(job, "actions/setup-python")[0]["with"]["python-version"]) == "3.11"
    script = runs(job)
    command = next(line for line in script.splitlines() if "boundbook run" in line)
    assert "--mode full" in command and "--device cuda" in command
    assert '--out "$OUT"' in script
    (upload,) = uses(job, "actions/upload-artifact")
    assert upload["if"] == "always()"
    assert upload["with"]["path"] in {"${{ env.OUT }}", job["env"]["OUT"]}
    assert job["env"]["OUT"].startswith("_build/")


def test_makefile_targets_the_workflows_call_exist():
    makefile = (ROOT / "Makefile").read_text()
    for target in ("test", "book", "venv", "browser"):
        assert re.search(rf"^{target}:", makefile, re.M), target
