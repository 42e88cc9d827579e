"""Shared fixtures: the real data folder (``$CATCHMENT_DATA_DIR``, default ``../shared/data``).

The real data is always present in CI, so a missing file is a test *failure*, not a skip.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import optimise
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


@pytest.fixture(scope="session")
def earlier(tmp_path_factory) -> Path:
    """Results of an earlier demo run, written by the engine (tests copy it, never change it)."""
    folder = tmp_path_factory.mktemp("earlier") / "out"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CATCHMENT_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
        assert optimise.main(["demo", "--out", str(folder), "--quiet"]) == optimise.EXIT_OK
    return folder


@pytest.fixture(scope="session")
def redbridge_pcns() -> list[str]:
    """The names of the six PCNs of Redbridge's practices in the January 2022 mapping, sorted."""
    return [
        "CRANBROOK PCN",
        "FAIRLOP PCN",
        "LOXFORD PCN",
        "NEW CROSS ALLIANCE PCN",
        "SEVEN KINGS PCN",
        "WANSTEAD AND WOODFORD PCN",
    ]
