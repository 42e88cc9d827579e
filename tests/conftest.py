"""Shared fixtures: the real data folder (``$CATCHMENT_DATA_DIR``, default ``../shared/data``).

The real data is always present in CI, so a missing file is a test *failure*, not a skip.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from geodata.settings import data_dir


@pytest.fixture(scope="session")
def real_data() -> Path:
    root = data_dir()
    assert root.is_dir(), f"real data folder not found: {root} (set CATCHMENT_DATA_DIR)"
    return root


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    """Never let tests share or pollute the user's travel-time cache."""
    monkeypatch.setenv("CATCHMENT_CACHE_DIR", str(tmp_path / "cache"))
