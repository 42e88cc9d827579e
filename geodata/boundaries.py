"""ONS boundary files: LSOA and local authority district (borough) polygons.

Read by :mod:`geodata.ons` (LSOA planning units) and :mod:`geodata.select` (selection by
borough, the land test), which is why they live in a module of their own that imports
neither.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from . import tables as v
from .errors import ProblemCollector

__all__ = [
    "CODE_COLUMNS",
    "LAST_LSOA11_CODES",
    "LAST_LSOA11_TEXT",
    "VINTAGE_NOTE",
    "LSOA_CODE_FORM",
    "PUBLISHED_CODE",
    "Vintage",
    "lsoa21_codes",
    "lsoa_vintage",
    "vintage_clash",
    "read_lsoa_boundaries",
    "read_lad_boundaries",
]

logger = logging.getLogger(__name__)

#: Code / name columns of the ONS geography files, any vintage (2011, 2021, ...):
#: tidy name -> (regular expression of the published names, name shown in messages).
CODE_COLUMNS: dict[str, tuple[str, str]] = {
    "lsoa_code": (r"lsoa\d\dcd|lsoa_?code|lsoa code \(\d{4}\)|lsoa \d{4} code", "LSOA11CD or LSOA21CD"),
    "name": (r"lsoa\d\dnm|lsoa_?name|lsoa name \(\d{4}\)|lsoa \d{4} name", "LSOA11NM or LSOA21NM"),
    "msoa_code": (r"msoa\d\dcd|msoa_?code", "MSOA11CD"),
    "lad_code": (r"lad\d\dcd|lad_?code|lad \d{4} code", "LAD11CD"),
    "lad_name": (r"lad\d\dnm|lad_?name|lad \d{4} name", "LAD11NM"),
}

#: The last LSOA 2011 code of each country (England, Wales). The 2021 revision kept the code
#: of every unchanged LSOA and gave the LSOAs it split, merged or redrew new codes after
#: these (E01033769 on, W01001959 on), so a code above them is an LSOA 2021 code, and files
#: of 2011 LSOAs hold none (the ONS 2011 centroids end at E01033768 and W01001958; London's
#: 2021 codes that are not 2011 codes are E01033784 to E01035722).
LAST_LSOA11_CODES: Mapping[str, str] = MappingProxyType({"E": "E01033768", "W": "W01001958"})
#: :data:`LAST_LSOA11_CODES` as messages write them.
LAST_LSOA11_TEXT = " or ".join(
    f"{code} in {country}" for code, country in zip(LAST_LSOA11_CODES.values(), ("England", "Wales"), strict=True)
)
#: Why LSOA files of different vintages do not match, as messages say it.
VINTAGE_NOTE = (
    f"the 2021 revision gave the LSOAs it split, merged or redrew new codes, above {LAST_LSOA11_TEXT}, so files "
    "of different LSOA vintages do not match"
)
#: An LSOA code (England E01, Wales W01, then six digits). Registration files also hold
#: codes that are no LSOA's, e.g. ``NO2011`` for patients without a known LSOA.
LSOA_CODE_FORM = r"[EW]01\d{6}"
#: Key of a frame's ``attrs`` naming its LSOA code column as published (``LSOA21CD``...):
#: set by the readers of LSOA files, read by :func:`lsoa_vintage`.
PUBLISHED_CODE = "published_lsoa_column"
#: A code column named for its vintage (``LSOA11CD``, ``lsoa21cd``, ``LSOA code (2021)`` of the
#: Indices of Deprivation, ``LSOA 2021 Code`` of ONS's population estimates): the last two
#: digits of its year.
_VINTAGE_COLUMN = re.compile(r"lsoa(\d\d)cd|lsoa code \(20(\d\d)\)|lsoa 20(\d\d) code", re.IGNORECASE)


@dataclass(frozen=True)
class Vintage:
    """The LSOA vintage of a file, and why it is taken to be that.

    Attributes
    ----------
    year : int or None
        2011 or 2021 (the year of a column named ``LSOAyyCD``); ``None`` when neither the
        column nor the codes tell (no LSOA code at all).
    reason : str
        E.g. ``"column LSOA11CD"``, ``"codes above E01033768 in England or W01001958 in Wales"``.
    """

    year: int | None
    reason: str

    def differs(self, other: Vintage) -> bool:
        """Both vintages are known and not the same."""
        return self.year is not None and other.year is not None and self.year != other.year

    @property
    def code_column(self) -> str:
        """The ONS name of the code column of this vintage (``LSOA21CD``); ``""`` when unknown."""
        return f"LSOA{self.year % 100:02d}CD" if self.year else ""

    def __str__(self) -> str:
        return f"LSOA {self.year} ({self.reason})" if self.year else f"unknown LSOA vintage ({self.reason})"


def lsoa21_codes(codes: Iterable[object]) -> np.ndarray:
    """Mask of the LSOA 2021 codes that are not 2011 codes (above :data:`LAST_LSOA11_CODES`).

    Parameters
    ----------
    codes
        Codes as text; anything that is not an LSOA code (:data:`LSOA_CODE_FORM`) is not.

    Returns
    -------
    numpy.ndarray of bool
    """
    text = pd.Series(list(codes), dtype=object).astype(str)
    is_code = text.str.fullmatch(LSOA_CODE_FORM)
    last = text.str[0].map(dict(LAST_LSOA11_CODES))
    return (is_code & (text > last.fillna(""))).to_numpy(dtype=bool)


def lsoa_vintage(frame: pd.DataFrame, *, column: str = "lsoa_code") -> Vintage:
    """The LSOA vintage of a table read from an LSOA file.

    From the name of its code column as published (``frame.attrs[PUBLISHED_CODE]``, e.g.
    LSOA11CD or LSOA21CD), or, when that name does not say (``LSOA_CODE``), from the codes:
    2021 when any is above :data:`LAST_LSOA11_CODES`, 2011 otherwise.

    Parameters
    ----------
    frame
        Table with the codes in ``column``.
    column
        Column of LSOA codes.

    Returns
    -------
    Vintage
    """
    published = str(frame.attrs.get(PUBLISHED_CODE, ""))
    named = _VINTAGE_COLUMN.fullmatch(published)
    if named:
        return Vintage(2000 + int(next(g for g in named.groups() if g)), f"column {published}")
    codes = pd.Series(pd.unique(frame[column].astype(str)))
    if lsoa21_codes(codes).any():
        return Vintage(2021, f"codes above {LAST_LSOA11_TEXT}")
    if codes.str.fullmatch(LSOA_CODE_FORM).any():
        return Vintage(2011, f"no code above {LAST_LSOA11_TEXT}")
    return Vintage(None, "no LSOA codes")


def vintage_clash(ours: Vintage, theirs: Vintage, *, what: str, theirs_what: str) -> str:
    """A clause naming two different LSOA vintages; ``""`` when they agree or one is unknown.

    Parameters
    ----------
    ours, theirs
        Vintages of two files (:func:`lsoa_vintage`).
    what, theirs_what
        Their names, e.g. ``"the boundary file x.gpkg"``, ``"the centroid file y.csv"``.

    Returns
    -------
    str
        E.g. ``"the boundary file x.gpkg is of LSOA 2021 (column LSOA21CD) and the
        centroid file y.csv of LSOA 2011 (column lsoa11cd)"``.
    """
    return f"{what} is of {ours} and {theirs_what} of {theirs}" if ours.differs(theirs) else ""


def _boundaries(
    path: Path, *, what: str, spec: dict[str, tuple[str, str]], required: list[str]
) -> tuple[gpd.GeoDataFrame, str]:
    """Read a boundary file, rename and check its code columns; return it in EPSG:27700 and its code column's name."""
    frame: gpd.GeoDataFrame = v.read_vector(path, what=what)
    matched = v.matched_columns(frame, spec)
    frame = v.rename_columns(frame, spec, file=path, required=required)
    problems = ProblemCollector(path)
    key = required[0]
    empty = frame.geometry.isna() | frame.geometry.is_empty
    for row in frame.index[empty]:
        problems.add(f"{frame.at[row, key]!r} has no geometry", row=int(row), column="geometry")
    published = matched[key]
    v.check_unique(frame, key, problems=problems, label=published, what="code")
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
    return v.to_bng(frame.reset_index(drop=True)), published


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
        ``lad_name`` (``""`` when the file has no such column), ``geometry`` (polygons);
        ``attrs[PUBLISHED_CODE]`` names the code column as published (its vintage:
        :func:`lsoa_vintage`).

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
    frame, published = _boundaries(Path(path), what="LSOA boundary file", spec=spec, required=["lsoa_code"])
    frame.attrs[PUBLISHED_CODE] = published
    logger.info("%s: %s LSOA boundaries, %s", Path(path).name, f"{len(frame):,}", lsoa_vintage(frame))
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
    frame, _ = _boundaries(Path(path), what="LAD boundary file", spec=spec, required=["lad_code"])
    logger.info("%s: %s local authority districts", Path(path).name, f"{len(frame):,}")
    return frame
