"""The library as ``pip install .`` gives it, and the project's metadata files.

The wheel is built offline (no index, no build isolation) from a copy of the files it is made
of, so the working tree gets no ``build/`` folder; it is then installed with pip into a
temporary folder, and ``import boundbook; boundbook.sharpness(...)`` runs from there in a
subprocess where every ``book`` extra is hidden, as if it were not installed.
"""

from __future__ import annotations

import email.parser
import os
import re
import shutil
import subprocess
import sys
import textwrap
import tomllib
import zipfile
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]

CORE = {"torch", "numpy", "scipy", "sympy", "mpmath"}
#: what the chapters and the book need beyond the toolkit (the `book` extra)
BOOK_EXTRA = {"papermill", "nbformat", "matplotlib", "scikit-learn", "tqdm", "distributed",
              "jupyter-book", "ipykernel"}
#: the import names hidden from the subprocess: the extras and what only they bring
HIDDEN = ("papermill", "matplotlib", "sklearn", "nbformat", "distributed", "tqdm", "IPython",
          "ipykernel", "myst_nb", "jupyter_book", "sphinx", "dask", "pandas")

# A dead proxy: any attempt to reach the network fails at once instead of passing unnoticed.
OFFLINE = {**os.environ, "PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1",
           "HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9",
           "http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9"}


def run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, capture_output=True, text=True, env=OFFLINE, timeout=600,
                          **kwargs)
    assert proc.returncode == 0, f"{cmd}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, src / name)
    shutil.copytree(ROOT / "lib", src / "lib",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info"))
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "--no-index", "-w", str(tmp / "dist"), str(src)])
    (whl,) = (tmp / "dist").glob("boundbook-*.whl")
    return whl


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    """The wheel installed by pip into a folder of its own (no dependencies)."""
    target = tmp_path_factory.mktemp("site")
    run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--target",
         str(target), str(wheel)])
    return target


def metadata(wheel: Path) -> email.message.Message:
    with zipfile.ZipFile(wheel) as z:
        (name,) = [n for n in z.namelist() if n.endswith(".dist-info/METADATA")]
        return email.parser.Parser().parsestr(z.read(name).decode())


def requirements(wheel: Path) -> dict[str, list[Requirement]]:
    """Requires-Dist by extra ("" for the core)."""
    out: dict[str, list[Requirement]] = {}
    for line in metadata(wheel).get_all("Requires-Dist") or []:
        req = Requirement(line)
        extra = ""
        if req.marker is not None:
            m = re.search(r'extra\s*==\s*"([^"]+)"', str(req.marker))
            extra = m.group(1) if m else ""
        out.setdefault(extra, []).append(req)
    return out


def test_wheel_metadata(wheel):
    meta = metadata(wheel)
    assert meta["Name"] == "boundbook"
    assert meta["Version"] == tomllib.loads((ROOT / "pyproject.toml").read_text())[
        "project"]["version"]
    assert meta["License-Expression"] == "MIT"
    assert meta["Requires-Python"] == ">=3.11"
    reqs = requirements(wheel)
    core = {canonicalize_name(r.name): r for r in reqs[""]}
    assert set(core) == CORE, f"core dependencies: {sorted(core)}"
    assert str(core["torch"].specifier) == ">=2.1"
    for r in core.values():  # loose: lower bounds only, never a pin
        assert all(s.operator == ">=" for s in r.specifier), r
    book = {canonicalize_name(r.name) for r in reqs.get("book", [])}
    assert BOOK_EXTRA <= book, f"missing from the book extra: {sorted(BOOK_EXTRA - book)}"
    assert not book & CORE


def test_wheel_contents(wheel):
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        entry_points = z.read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    for module in ("boundbook/__init__.py", "boundbook/numeric/hessian.py",
                   "boundbook/symbolic/quadratic.py", "boundbook/core/claims.py",
                   "boundbook/chapters/__init__.py"):
        assert module in names, module
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert "boundbook = boundbook.core.cli:main" in entry_points
    assert not [n for n in names if n.startswith(("tests/", "notebooks/", "lib/"))]


def test_requirements_txt_pins_what_pyproject_declares():
    """requirements.txt (what `make` installs, exactly) covers the core and every extra, and
    its pins satisfy pyproject's ranges."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    declared = [Requirement(r) for r in project["project"]["dependencies"]]
    extras = project["project"]["optional-dependencies"]
    for deps in extras.values():
        declared += [Requirement(r) for r in deps if not r.startswith("boundbook")]
    pinned = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            req = Requirement(line)
            pinned[canonicalize_name(req.name)] = req
    missing = sorted({canonicalize_name(r.name) for r in declared} - set(pinned))
    assert not missing, f"declared in pyproject.toml, not in requirements.txt: {missing}"
    for r in declared:
        pin = pinned[canonicalize_name(r.name)]
        exact = [s.version for s in pin.specifier if s.operator == "=="]
        if exact and r.specifier:
            assert r.specifier.contains(exact[0], prereleases=True), (r, pin)
    build = {canonicalize_name(Requirement(r).name) for r in project["build-system"]["requires"]}
    known = {canonicalize_name(r.name) for r in declared} | build
    extra = sorted(set(pinned) - known)
    assert not extra, f"in requirements.txt but in no pyproject.toml extra: {extra}"
    assert str(pinned["torch"].specifier) == "==2.13.0"


#: the start of each probe: hide the extras, then import boundbook from the installed wheel
HIDE = textwrap.dedent('''
    import importlib.abc
    import sys
    from pathlib import Path

    SITE = Path(sys.argv[1]).resolve()
    HIDDEN = set(sys.argv[2].split(","))
    attempts = []


    class Hidden(importlib.abc.MetaPathFinder):
        """Wraps a finder: a hidden top-level package is not found (import raises
        ModuleNotFoundError, importlib.util.find_spec returns None), as if not installed."""

        def __init__(self, inner):
            self.inner = inner

        def __getattr__(self, name):
            return getattr(self.inner, name)

        def find_spec(self, name, path=None, target=None):
            if name.partition(".")[0] in HIDDEN:
                frame = sys._getframe(1)  # the importer: the first frame outside importlib
                while frame and frame.f_code.co_filename.startswith(("<frozen", __file__)):
                    frame = frame.f_back
                attempts.append((name, frame.f_code.co_filename if frame else "?"))
                return None
            return self.inner.find_spec(name, path, target)


    sys.meta_path[:] = [Hidden(f) for f in sys.meta_path]
    for name in list(sys.modules):
        if name.partition(".")[0] in HIDDEN | {"boundbook"}:
            del sys.modules[name]
    sys.path.insert(0, str(SITE))

    import boundbook

    assert Path(boundbook.__file__).resolve().is_relative_to(SITE), boundbook.__file__
''')

SHARPNESS = HIDE + textwrap.dedent('''
    import torch

    gen = torch.Generator().manual_seed(0)
    x = torch.randn(16, 3, generator=gen, dtype=torch.float64)
    y = torch.randn(16, generator=gen, dtype=torch.float64)
    params = {"w": torch.randn(3, generator=gen, dtype=torch.float64)}

    def loss(p):
        return ((torch.tanh(x @ p["w"]) - y) ** 2).mean()

    lam = boundbook.sharpness(loss, params)
    dense = torch.autograd.functional.hessian(lambda w: loss({"w": w}), params["w"])
    top = float(torch.linalg.eigvalsh(dense).max())
    assert abs(lam - top) <= 1e-8 * abs(top), (lam, top)
    assert abs(boundbook.critical_step(lam) - 2 / lam) <= 1e-12 * (2 / lam)
    for name in boundbook.__all__:  # every public name resolves without an extra
        getattr(boundbook, name)
    mine = [(n, f) for n, f in attempts if Path(f).resolve().is_relative_to(SITE)]
    assert not mine, f"boundbook imported an extra: {mine}"
    loaded = sorted({m.partition(".")[0] for m in sys.modules} & HIDDEN)
    assert not loaded, loaded
    print(f"sharpness {lam:.12g} (dense {top:.12g}); from {boundbook.__file__}")
''')


def test_toolkit_runs_without_the_extras(installed, tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text(SHARPNESS)
    env = {k: v for k, v in OFFLINE.items() if k not in {"PYTHONPATH", "BOUNDBOOK_ROOT"}}
    proc = subprocess.run([sys.executable, str(probe), str(installed), ",".join(HIDDEN)],
                          capture_output=True, text=True, env=env, timeout=300,
                          cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "sharpness" in proc.stdout


def test_bookkeeping_cli_runs_without_the_extras(installed, tmp_path):
    """`boundbook list` (core and the chapters' claims only) needs no extra either."""
    script = HIDE + textwrap.dedent('''
        from boundbook.core.cli import main

        rc = main(["list"])
        assert rc == 0, rc
        assert not sorted({m.partition(".")[0] for m in sys.modules} & HIDDEN)
        assert "torch" not in sys.modules
    ''')
    probe = tmp_path / "probe_cli.py"
    probe.write_text(script)
    env = {k: v for k, v in OFFLINE.items() if k not in {"PYTHONPATH"}}
    env["BOUNDBOOK_ROOT"] = str(ROOT)
    proc = subprocess.run([sys.executable, str(probe), str(installed), ",".join(HIDDEN)],
                          capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "gdq-critical-step" in proc.stdout


# --- LICENSE, CITATION.cff, CHANGELOG.md ---------------------------------------------------

def check_jsonschema() -> str:
    exe = Path(sys.executable).with_name("check-jsonschema")
    if not exe.exists():
        pytest.skip("check-jsonschema is not installed (it is in requirements.txt)")
    return str(exe)


def test_citation_cff_is_valid_cff_1_2_0():
    """Validated against the CFF 1.2.0 schema that check-jsonschema ships (offline)."""
    proc = subprocess.run([check_jsonschema(), "--builtin-schema",
                           "vendor.citation-file-format", "--default-filetype", "yaml",
                           str(ROOT / "CITATION.cff")],
                          capture_output=True, text=True, env=OFFLINE, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_citation_cff_agrees_with_the_package():
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert cff["cff-version"] == "1.2.0"
    assert str(cff["version"]) == project["version"]
    assert cff["license"] == project["license"] == "MIT"
    # the repository URL lives in _config.yml only
    assert not {"repository-code", "url", "repository"} & set(cff)


def test_license_is_mit():
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License")
    assert "Permission is hereby granted, free of charge" in text


def test_changelog_keeps_a_changelog():
    text = (ROOT / "CHANGELOG.md").read_text()
    assert text.startswith("# Changelog")
    assert "keepachangelog.com" in text
    versions = re.findall(r"^## \[([^\]]+)\]", text, re.M)
    assert versions[0] == "Unreleased", versions
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert version in versions, f"{version} has no section in CHANGELOG.md"
    for v in versions[1:]:
        assert re.search(rf"^## \[{re.escape(v)}\] - \d{{4}}-\d{{2}}-\d{{2}}$", text, re.M), v
    sections = set(re.findall(r"^### (\w+)", text, re.M))
    assert sections <= {"Added", "Changed", "Deprecated", "Removed", "Fixed", "Security"}
