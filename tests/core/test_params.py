"""Parameter validation shared by the CLI and the notebooks."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from boundbook.chapters.ghosts_of_softmax.claims import CHAPTER
from boundbook.core.params import ParameterError, validate


def test_defaults_resolve(monkeypatch):
    monkeypatch.setenv("BOUNDBOOK_HIDE_CUDA", "1")
    run = validate()
    assert (run.mode, run.device, run.seed) == ("quick", "cpu", 0)


@given(st.one_of(st.integers(max_value=-1), st.floats(), st.text(), st.booleans(),
                 st.none(), st.integers(min_value=2**32)))
def test_bad_seeds(seed):
    with pytest.raises(ParameterError, match="seed"):
        validate(seed=seed)


@pytest.mark.parametrize("kw, name", [({"mode": "fast"}, "mode"), ({"mode": 1}, "mode"),
                                      ({"device": "tpu"}, "device"),
                                      ({"device": None}, "device")])
def test_bad_names(kw, name):
    with pytest.raises(ParameterError) as info:
        validate(**kw)
    assert str(info.value).startswith(f"invalid {name}") and "allowed" in str(info.value)


def test_notebook_entry_refuses_cuda_without_gpu(monkeypatch):
    monkeypatch.setenv("BOUNDBOOK_HIDE_CUDA", "1")
    with pytest.raises(ParameterError, match="no CUDA"):
        CHAPTER.start("quick", "cuda", 0)


def test_memory_guard(monkeypatch):
    monkeypatch.setenv("BOUNDBOOK_MEMORY_LIMIT_GIB", "0.1")
    with pytest.raises(ParameterError, match="GiB"):
        CHAPTER.start("full", "cpu", 0)
