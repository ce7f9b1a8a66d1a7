"""Run parameters of a chapter (mode, device, seed) and their validation.

Every entry point (the CLI, a papermill run, a notebook opened by hand) validates through
:func:`validate` before any computation. A bad value raises :class:`ParameterError`, whose
message is one line naming the parameter, the value and what is allowed.
"""

from __future__ import annotations

import numbers
import os
from dataclasses import dataclass
from typing import Any

MODES: tuple[str, ...] = ("quick", "full")
DEVICES: tuple[str, ...] = ("auto", "cpu", "cuda")


class ParameterError(ValueError):
    """A parameter value outside what is allowed; ``str(err)`` is the one-line message."""

    def __init__(self, name: str, value: Any, allowed: str) -> None:
        self.name, self.value, self.allowed = name, value, allowed
        super().__init__(f"invalid {name} {value!r}: allowed {allowed}")


@dataclass(frozen=True)
class RunParams:
    """Validated parameters of one chapter run. ``device`` is resolved (never "auto")."""

    mode: str
    device: str
    seed: int

    @property
    def quick(self) -> bool:
        return self.mode == "quick"


def check_mode(mode: Any) -> str:
    if not isinstance(mode, str) or mode not in MODES:
        raise ParameterError("mode", mode, " or ".join(MODES))
    return mode


def check_seed(seed: Any) -> int:
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or not 0 <= seed < 2**32:
        raise ParameterError("seed", seed, "an integer in [0, 2**32)")
    return int(seed)


def cuda_available() -> bool:
    if os.environ.get("BOUNDBOOK_HIDE_CUDA") == "1":  # lets tests simulate a CPU-only machine
        return False
    import torch

    return bool(torch.cuda.is_available())


def resolve_device(device: Any) -> str:
    """``auto`` -> ``cuda`` when a GPU is present, else ``cpu``; ``cuda`` without a GPU fails."""
    if not isinstance(device, str) or device not in DEVICES:
        raise ParameterError("device", device, ", ".join(DEVICES))
    if device == "auto":
        return "cuda" if cuda_available() else "cpu"
    if device == "cuda" and not cuda_available():
        raise ParameterError("device", device, "auto or cpu (no CUDA GPU on this machine)")
    return device


def available_memory_gib(device: str) -> float:
    """Free memory on the device: MemAvailable for the CPU, cudaMemGetInfo for a GPU.

    ``BOUNDBOOK_MEMORY_LIMIT_GIB`` caps it (to share a machine, and for the guard's tests).
    """
    cap = float(os.environ.get("BOUNDBOOK_MEMORY_LIMIT_GIB", "inf"))
    return min(cap, _free_gib(device))


def _free_gib(device: str) -> float:
    if device == "cuda":
        import torch

        free, _ = torch.cuda.mem_get_info()
        return free / 2**30
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return float("inf")


def check_memory(needed_gib: float, device: str, mode: str) -> None:
    """The memory guard: refuse a run whose estimate exceeds what the device has free."""
    free = available_memory_gib(device)
    if needed_gib > free:
        raise ParameterError("mode", mode, f"a run needing at most {free:.1f} GiB on {device} "
                             f"(this one needs about {needed_gib:.1f} GiB); use --mode quick")


def validate(mode: Any = "quick", device: Any = "auto", seed: Any = 0) -> RunParams:
    """Validate and resolve a chapter's parameters (raises :class:`ParameterError`)."""
    return RunParams(check_mode(mode), resolve_device(device), check_seed(seed))
