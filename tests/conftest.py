"""Shared fixtures: the real data folder (``$CATCHMENT_DATA_DIR``, default ``../shared/data``).

The real data is always present in CI, so a missing file is a test *failure*, not a skip.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
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


@pytest.fixture(scope="session")
def lsoa_lookup(real_data, tmp_path_factory) -> Path:
    """ONS's LSOA (2011) to LSOA (2021) lookup for London, in its published layout, built by overlay.

    A 2011 and a 2021 LSOA are a pair when they share more than 1% of either's area; the
    change indicator follows from the pairs' counts (U: one partner each, S: a 2011 LSOA
    with several, M: a 2021 LSOA with several, X: both).
    """
    b11 = gpd.read_file(real_data / "london/lsoa11-boundaries-gen20.gpkg")[["LSOA11CD", "geometry"]]
    b21 = gpd.read_file(real_data / "london/lsoa21-boundaries-gen20.gpkg")[
        ["LSOA21CD", "LSOA21NM", "LAD22CD", "LAD22NM", "geometry"]
    ]
    pieces = gpd.overlay(b11.assign(a11=b11.area), b21.assign(a21=b21.area), how="intersection", keep_geom_type=True)
    share = pieces.area
    pairs = pieces.loc[(share > 0.01 * pieces["a11"]) | (share > 0.01 * pieces["a21"])].copy()
    n21 = pairs.groupby("LSOA11CD")["LSOA21CD"].transform("size")
    n11 = pairs.groupby("LSOA21CD")["LSOA11CD"].transform("size")
    pairs["CHGIND"] = np.select([(n21 == 1) & (n11 == 1), n11 == 1, n21 == 1], ["U", "S", "M"], "X")
    lookup = pd.DataFrame(
        {
            "LSOA11CD": pairs["LSOA11CD"],
            "LSOA11NM": "",
            "CHGIND": pairs["CHGIND"],
            "LSOA21CD": pairs["LSOA21CD"],
            "LSOA21NM": pairs["LSOA21NM"],
            "LAD22CD": pairs["LAD22CD"],
            "LAD22NM": pairs["LAD22NM"],
            "LAD22NMW": "",
        }
    ).sort_values(["LSOA11CD", "LSOA21CD"])
    lookup["ObjectId"] = range(1, len(lookup) + 1)
    path = tmp_path_factory.mktemp("lookup") / "LSOA11_LSOA21_LAD22_EW_LU.csv"
    lookup.to_csv(path, index=False)
    return path
