"""Where a record came from: the ``run`` block of every ledger record.

Mode, seed, overrides, device (the GPU's name on CUDA), the Python, torch and boundbook
versions, the git commit and whether the tree was dirty, and the wall time from the parameters'
validation to the report. It sits apart from the deterministic part of the record: the
determinism test and :func:`deterministic` ignore it, and the runner keeps a committed record
whose deterministic part did not change (so a rerun does not dirty the repository).
"""

from __future__ import annotations

import platform
import subprocess
import time
from functools import cache
from typing import Any

from boundbook.core import paths
from boundbook.core.params import RunParams, to_json

RUN_KEY = "run"
"""The key of the provenance block in a record."""


@cache
def _git() -> tuple[str | None, bool | None]:
    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(["git", "-C", str(paths.root()), *args], capture_output=True,
                                 text=True, timeout=10)
        except (OSError, subprocess.SubprocessError):
            return None
        return out.stdout.strip() if out.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if commit is None:
        return None, None
    status = git("status", "--porcelain", "--untracked-files=no")
    return commit, (None if status is None else bool(status))


def device_name(device: str) -> str:
    if device == "cuda":
        import torch

        return torch.cuda.get_device_name()
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "cpu"


def collect(run: RunParams) -> dict[str, Any]:
    """The provenance block of a record made by ``run`` (measured now, at report time)."""
    from importlib.metadata import PackageNotFoundError, version

    import torch

    try:
        own = version("boundbook")
    except PackageNotFoundError:
        own = None
    commit, dirty = _git()
    return {
        "mode": run.mode,
        "seed": run.seed,
        "overrides": to_json(run.overrides),
        "device": run.device,
        "device_name": device_name(run.device),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "boundbook": own,
        "commit": commit,
        "dirty": dirty,
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(run.started)),
        "wall_s": round(time.time() - run.started, 2),
    }


def deterministic(record: dict[str, Any]) -> dict[str, Any]:
    """The record without its provenance block: what reruns must reproduce."""
    return {k: v for k, v in record.items() if k != RUN_KEY}
