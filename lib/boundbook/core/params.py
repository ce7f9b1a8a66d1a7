"""Run parameters of a chapter (mode, device, seed, overrides of its settings) and their
validation.

Every entry point (the CLI, a papermill run, a notebook opened by hand) validates through
:func:`validate` before any computation. A bad value raises :class:`ParameterError`, whose
message is one line naming the parameter, the value and what is allowed.

**Overrides** set fields of a chapter's settings (the frozen dataclass its
``protocol.settings(mode, seed)`` returns) for one run: ``boundbook run CH -p steps=500`` or
``-f overrides.yaml``, passed to the notebook as the single papermill parameter ``overrides``
(a JSON object). :func:`coerce_overrides` checks them against the dataclass: the key must be a
field (not ``mode`` or ``seed``, which have their own options), the value must have the
default's type (an int, a float, a string, a boolean, or a non-empty tuple of those), numbers
must be finite, and a field whose defaults are all positive in every mode (a step size, a
horizon, a seed count) must stay positive, one whose smallest default is zero must stay
non-negative. A settings class may add
its own limits in a ``validate()`` method that raises ``ValueError``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import numbers
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

S = TypeVar("S")

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
    overrides: Mapping[str, Any] = field(default_factory=dict)
    """Validated overrides of the chapter's settings (JSON types: lists for tuples)."""
    started: float = field(default_factory=time.time, compare=False)
    """When the run's parameters were validated (the records' wall time counts from here)."""

    @property
    def quick(self) -> bool:
        return self.mode == "quick"

    @property
    def default(self) -> bool:
        """What ``make book`` runs (quick mode, seed 0, no overrides): the only run whose
        records and notebook may be committed."""
        return self.mode == "quick" and self.seed == 0 and not self.overrides

    @property
    def tag(self) -> str:
        """The run folder's name: ``<mode>-seed<N>`` plus ``-<hash of the overrides>``."""
        return f"{self.mode}-seed{self.seed}" + (f"-{overrides_hash(self.overrides)}"
                                                  if self.overrides else "")

    def settings(self, factory: Callable[[str, int], S]) -> S:
        """This mode's settings from ``factory(mode, seed)`` (the chapter's
        ``protocol.settings``), with the run's overrides applied."""
        return apply_overrides(factory(self.mode, self.seed), self.overrides)


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


def validate(mode: Any = "quick", device: Any = "auto", seed: Any = 0,
             overrides: Any = None) -> RunParams:
    """Validate and resolve a chapter's parameters (raises :class:`ParameterError`).

    ``overrides`` (a mapping or its JSON text) is only checked for shape here; its keys and
    values are checked against the chapter's settings by :func:`coerce_overrides`."""
    return RunParams(check_mode(mode), resolve_device(device), check_seed(seed),
                     parse_overrides(overrides))


# ----------------------------------------------------------------------------- overrides

FIXED_FIELDS = ("mode", "seed")
"""Settings fields that have their own option (``--mode``, ``--seed``), never overridden."""


def parse_overrides(overrides: Any) -> dict[str, Any]:
    """The ``overrides`` parameter as a dict: a mapping, its JSON text, or None/"" (none)."""
    if overrides is None or overrides == "":
        return {}
    if isinstance(overrides, str):
        try:
            overrides = json.loads(overrides)
        except json.JSONDecodeError:
            raise ParameterError("overrides", overrides, "a JSON object of settings") from None
    if not isinstance(overrides, Mapping) or not all(isinstance(k, str) for k in overrides):
        raise ParameterError("overrides", overrides, "a JSON object of settings")
    return dict(overrides)


def overrides_hash(overrides: Mapping[str, Any]) -> str:
    """Eight hex digits naming a set of overrides (sha256 of their canonical JSON)."""
    text = json.dumps(to_json(overrides), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def to_json(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    return value


def _kind(default: Any) -> str:
    if isinstance(default, bool):
        return "true or false"
    if isinstance(default, numbers.Integral):
        return "an integer"
    if isinstance(default, numbers.Real):
        return "a number"
    if isinstance(default, str):
        return "a string"
    if isinstance(default, tuple):
        if default and len({type(d) for d in default}) > 1:
            return "a list of " + ", ".join(_kind(d) for d in default)
        inner = _kind(default[0]) if default else "a number"
        return f"a non-empty list, each {inner}"
    return "nothing (this setting cannot be overridden)"


def _scalars(value: Any) -> list[Any]:
    if isinstance(value, tuple):
        return [x for v in value for x in _scalars(v)]
    return [value]


def _sign_rule(default: Any, pool: Sequence[Any] = ()) -> tuple[str, Callable[[float], bool]]:
    """The range a number keeps: > 0 when every default of the field (in every mode, in
    ``pool``) is positive, >= 0 when the smallest is zero, anything otherwise."""
    if isinstance(default, bool) or not isinstance(default, numbers.Real):
        return "", lambda v: True
    nums = [v for v in (default, *pool) if isinstance(v, numbers.Real)
            and not isinstance(v, bool)]
    low = min(nums)
    if low > 0:
        return "> 0", lambda v: v > 0
    if low == 0:
        return ">= 0", lambda v: v >= 0
    return "", lambda v: True


def coerce_value(key: str, value: Any, default: Any, pool: Sequence[Any] = ()) -> Any:
    """``value`` (a string from the command line, or a YAML/JSON value) as the type of the
    field's ``default``; raises :class:`ParameterError` naming ``-p key``. ``pool``: the
    field's other defaults (other modes, other list elements), which widen the sign rule."""
    name = f"-p {key}"
    rule, ok = _sign_rule(default, pool)
    given = value

    def refuse() -> ParameterError:
        return ParameterError(name, given, _kind(default) + (f" {rule}" if rule else ""))

    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "yes", "no"):
            return value.lower() in ("true", "1", "yes")
        raise refuse()
    if isinstance(default, numbers.Integral):
        if isinstance(value, bool):
            raise refuse()
        try:
            out = int(value) if isinstance(value, (numbers.Integral, str)) else None
        except ValueError:
            out = None
        if out is None or not ok(out):
            raise refuse()
        return out
    if isinstance(default, numbers.Real):
        if isinstance(value, bool):
            raise refuse()
        try:
            out_f = float(value) if isinstance(value, (numbers.Real, str)) else None
        except ValueError:
            out_f = None
        if out_f is None or not math.isfinite(out_f) or not ok(out_f):
            raise refuse()
        return out_f
    if isinstance(default, str):
        if not isinstance(value, str) or not value:
            raise refuse()
        return value
    if isinstance(default, tuple):
        if isinstance(value, str):
            if default and isinstance(default[0], tuple):
                raise ParameterError(name, value, "a nested list: set it in a YAML file (-f)")
            value = [v.strip() for v in value.split(",")] if value.strip() else []
        if not isinstance(value, (list, tuple)) or len(value) == 0:
            raise refuse()
        if default and len({type(d) for d in default}) > 1:  # a record: by position
            try:
                if len(value) != len(default):
                    raise refuse()
                return [coerce_value(key, v, d) for v, d in zip(value, default, strict=True)]
            except ParameterError:
                raise refuse() from None
        inner = default[0] if default else 1.0
        elements = [x for x in pool if not isinstance(x, tuple)] + list(default)
        inner_rule = _sign_rule(inner, elements)[0]
        try:
            return [coerce_value(key, v, inner, elements) for v in value]
        except ParameterError:
            raise ParameterError(name, given, _kind(default) + (
                f" {inner_rule}" if inner_rule else "")) from None
    raise refuse()


def coerce_overrides(settings: Any, overrides: Mapping[str, Any],
                     others: Sequence[Any] = ()) -> dict[str, Any]:
    """Check ``overrides`` against the settings dataclass instance ``settings`` (its current
    values are the defaults); return them typed (JSON types). See the module docstring."""
    if not dataclasses.is_dataclass(settings):
        if overrides:
            raise ParameterError("overrides", dict(overrides), "none (this chapter has no "
                                 "settings dataclass)")
        return {}
    names = [f.name for f in dataclasses.fields(settings) if f.name not in FIXED_FIELDS]
    out: dict[str, Any] = {}
    for key, value in overrides.items():
        if key in FIXED_FIELDS:
            raise ParameterError("-p key", key, f"a setting other than mode and seed (use "
                                 f"--{key})")
        if key not in names:
            raise ParameterError("-p key", key, "one of " + ", ".join(names))
        pool = [x for o in others for x in _scalars(getattr(o, key))]
        typed = coerce_value(key, value, getattr(settings, key), pool)
        if typed != to_json(getattr(settings, key)):  # a default restated is no override
            out[key] = typed
    if out:
        check = getattr(apply_overrides(settings, out), "validate", None)
        if callable(check):
            try:
                check()
            except ValueError as err:
                raise ParameterError("overrides", out, str(err)) from None
    return out


def _as_field(value: Any) -> Any:
    return tuple(_as_field(v) for v in value) if isinstance(value, list) else value


def apply_overrides(settings: S, overrides: Mapping[str, Any]) -> S:
    """``settings`` with the (already coerced) overrides set; lists become tuples."""
    if not overrides:
        return settings
    return dataclasses.replace(settings, **{k: _as_field(v) for k, v in overrides.items()})
