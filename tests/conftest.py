"""Shared fixtures: the research data directory, skipped with a reason when absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED_DATA = Path(os.environ.get("HEARTLINE_SHARED_DATA", Path(__file__).resolve().parents[1] / ".." / "shared" / "data")).resolve()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """`../shared/data` (or $HEARTLINE_SHARED_DATA); tests using it skip when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"research data not found at {SHARED_DATA} (set HEARTLINE_SHARED_DATA)")
    return SHARED_DATA
