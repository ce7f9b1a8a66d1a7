"""Shared fixtures. Chapters executed by the tests (nbval, determinism) write their ledger
records to a temporary folder, never over the committed ones."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "lib"))

_RECORDS = tempfile.mkdtemp(prefix="boundbook-test-records-")
os.environ["BOUNDBOOK_RECORDS"] = _RECORDS
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture
def root() -> Path:
    return ROOT


@pytest.fixture
def test_records() -> Path:
    return Path(_RECORDS)
