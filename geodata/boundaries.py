"""ONS boundary files: LSOA and local authority district (borough) polygons.

Read by :mod:`geodata.ons` (LSOA planning units) and :mod:`geodata.select` (selection by
borough, the land test), which is why they live in a module of their own that imports
neither.
"""

from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd
import shapely

from . import tables as v
from .errors import ProblemCollector

__all__ = ["CODE_COLUMNS", "read_lsoa_boundaries", "read_lad_boundaries"]

logger = logging.getLogger(__name__)

#: Code / name columns of the ONS geography files, any vintage (2011, 2021, ...):
#: tidy name -> (regular expression of the published names, name shown in messages).
CODE_COLUMNS: dict[str, tuple[str, str]] = {
    "lsoa_code": (r"lsoa\d\dcd|lsoa_?code", "LSOA11CD or LSOA21CD"),
    "name": (r"lsoa\d\dnm|lsoa_?name", "LSOA11NM or LSOA21NM"),
    "msoa_code": (r"msoa\d\dcd|msoa_?code", "MSOA11CD"),
    "lad_code": (r"lad\d\dcd|lad_?code", "LAD11CD"),
    "lad_name": (r"lad\d\dnm|lad_?name", "LAD11NM"),
}


def _boundaries(path: Path, *, what: str, spec: dict[str, tuple[str, str]], required: list[str]) -> gpd.GeoDataFrame:
    """Read a boundary file, rename its code columns, check them, return it in EPSG:27700."""
    frame: gpd.GeoDataFrame = v.read_vector(path, what=what)
    matched = v.matched_columns(frame, spec)
    frame = v.rename_columns(frame, spec, file=path, required=required)
    problems = ProblemCollector(path)
    key = required[0]
    empty = frame.geometry.isna() | frame.geometry.is_empty
    for row in frame.index[empty]:
        problems.add(f"{frame.at[row, key]!r} has no geometry", row=int(row), column="geometry")
    v.check_unique(frame, key, problems=problems, label=matched[key], what="code")
    problems.raise_if_any()
    for column in spec:
        if column not in frame:
            frame[column] = ""
    frame = frame[[*spec, frame.geometry.name]]
    if frame.geometry.name != "geometry":
        frame = frame.rename_geometry("geometry")
    if not frame.is_valid.all():
        n_fixed = int((~frame.is_valid).sum())
        frame["geometry"] = shapely.make_valid(frame.geometry.array)
        logger.info("%s: repaired %d invalid polygon(s)", path.name, n_fixed)
    return v.to_bng(frame.reset_index(drop=True))


def read_lsoa_boundaries(path: str | Path) -> gpd.GeoDataFrame:
    """Read LSOA boundaries (2011 or 2021 ONS GeoPackage/GeoJSON/shapefile).

    Parameters
    ----------
    path
        Boundary file with LSOA11CD / LSOA21CD (code), and optionally the LSOA name,
        MSOA code and LAD code and name of any vintage (LAD11CD, LAD22CD, ...).

    Returns
    -------
    geopandas.GeoDataFrame
        In EPSG:27700: ``lsoa_code`` (str, unique), ``name``, ``msoa_code``, ``lad_code``,
        ``lad_name`` (``""`` when the file has no such column), ``geometry`` (polygons).

    Raises
    ------
    MissingFileError
        If the file does not exist.
    InputDataError
        If the file is unreadable, has no CRS, lacks the LSOA code column, has an empty
        geometry or a duplicated code.
    """
    spec = {
        "lsoa_code": CODE_COLUMNS["lsoa_code"],
        "name": CODE_COLUMNS["name"],
        "msoa_code": CODE_COLUMNS["msoa_code"],
        "lad_code": CODE_COLUMNS["lad_code"],
        "lad_name": CODE_COLUMNS["lad_name"],
    }
    frame = _boundaries(Path(path), what="LSOA boundary file", spec=spec, required=["lsoa_code"])
    logger.info("%s: %s LSOA boundaries", Path(path).name, f"{len(frame):,}")
    return frame


def read_lad_boundaries(path: str | Path) -> gpd.GeoDataFrame:
    """Read local authority district (borough) boundaries of any vintage.

    Parameters
    ----------
    path
        E.g. the ONS 2017 super-generalised GeoJSON (WGS84, ``lad17cd``/``lad17nm``) or
        the 2022 London GeoPackage (EPSG:27700, ``LAD22CD``/``LAD22NM``).

    Returns
    -------
    geopandas.GeoDataFrame
        In EPSG:27700: ``lad_code`` (str, unique), ``lad_name``, ``geometry``.

    Raises
    ------
    MissingFileError
        If the file does not exist.
    InputDataError
        Unreadable file, no CRS, missing code column, empty geometry, duplicate codes.
    """
    spec = {"lad_code": CODE_COLUMNS["lad_code"], "lad_name": CODE_COLUMNS["lad_name"]}
    frame = _boundaries(Path(path), what="LAD boundary file", spec=spec, required=["lad_code"])
    logger.info("%s: %s local authority districts", Path(path).name, f"{len(frame):,}")
    return frame
