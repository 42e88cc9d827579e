"""NHS Digital and NHS Choices files: GP practices, list sizes, hospital sites.

Each reader takes one published file as downloaded (layout, encoding and quirks
included) and returns a tidy table with snake_case columns; points are in EPSG:27700.

* ``epraccur.csv`` (NHS Digital ODS): every GP practice and other prescribing
  organisation ever registered, headerless.
* "Patients Registered at a GP Practice" (``gp-reg-pat-prac-all.csv``): list sizes.
* "Patients registered at a GP practice by LSOA" (Parquet or CSV).
* NHS Choices ``GP.csv`` and ``Hospital.csv``: latin-1 text separated by ``¬``, with
  latitude/longitude (WGS84). They hold a few Windows-1252 characters (en dash 0x96,
  apostrophe 0x92), so they are decoded as Windows-1252, the superset of latin-1 that
  Windows writes.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from . import tables as v
from .boundaries import CODE_COLUMNS, PUBLISHED_CODE, lsoa_vintage
from .errors import DataProblem, InputDataError, ProblemCollector
from .postcodes import normalise_postcode
from .settings import MAX_POPULATION, WGS84

__all__ = [
    "EPRACCUR_COLUMNS",
    "read_epraccur",
    "LIST_SIZE_COLUMNS",
    "COMMISSIONER_COLUMNS",
    "PUBLISHED_COMMISSIONER",
    "read_list_sizes",
    "sub_icb_layout",
    "read_practice_lsoa",
    "PUBLISHED_PRACTICE",
    "read_nhs_choices_gp",
    "read_nhs_choices_hospitals",
]

logger = logging.getLogger(__name__)

#: epraccur columns used, by 1-based position in the official headerless layout.
EPRACCUR_COLUMNS: dict[int, str] = {
    1: "practice_code",
    2: "name",
    10: "postcode",
    11: "open_date",
    12: "close_date",
    13: "status",
    15: "ccg_code",
    26: "prescribing_setting",
}

#: epraccur status codes.
_STATUS = {"A": "active", "C": "closed", "D": "dormant", "P": "proposed"}
#: epraccur prescribing setting of a GP practice.
_GP_PRACTICE = 4

#: Latitude/longitude box of Great Britain, Northern Ireland and the islands: coordinates
#: outside it (e.g. 0, 0 placeholders) are treated as missing.
_UK_LAT = (49.0, 61.5)
_UK_LON = (-9.0, 2.5)
#: Said of a row whose latitude and longitude, exchanged, would be usable.
_EXCHANGED = "; latitude and longitude look exchanged"

#: NHS Choices field separator and encoding (Windows-1252 = latin-1 plus printable
#: characters in 0x80-0x9F, which the published files use).
_CHOICES_SEP = "¬"
_CHOICES_ENCODING = "cp1252"


def _label(position: int) -> str:
    return f"{position} ({EPRACCUR_COLUMNS[position]})"


def read_epraccur(path: str | Path, *, gp_only: bool = True, active_only: bool = True) -> pd.DataFrame:
    """Read NHS Digital's ``epraccur.csv`` (GP practices and prescribing cost centres).

    The file is headerless; columns are taken by position from the official layout:
    1 code, 2 name, 10 postcode, 11 open date, 12 close date, 13 status (A active,
    C closed, D dormant, P proposed), 15 commissioner (CCG) code, 26 prescribing setting
    (4 = GP practice). The numbers of rows excluded are logged.

    Parameters
    ----------
    path
        ``epraccur.csv`` as downloaded.
    gp_only
        Keep only prescribing setting 4 (GP practices); out-of-hours services, walk-in
        centres, prisons etc. are dropped.
    active_only
        Keep only status A; closed, dormant and proposed organisations are dropped.

    Returns
    -------
    pandas.DataFrame
        One row per organisation:

        ``practice_code`` (str, unique, upper case: :func:`geodata.tables.normalise_codes`),
        ``name`` (str), ``postcode`` (str, normalised),
        ``open_date`` and ``close_date`` (datetime64, ``NaT`` when blank), ``status``
        (str: A/C/D/P), ``ccg_code`` (str: commissioner), ``prescribing_setting`` (int).

    Raises
    ------
    MissingFileError
        If the file does not exist.
    InputDataError
        If the file has fewer than 26 columns, a code is blank or duplicated, a status is
        unknown, a date is not YYYYMMDD or a prescribing setting is not a number: every
        problem with its row and column.
    """
    path = Path(path)
    table = v.read_table(path, header=False, what="epraccur file")
    problems = ProblemCollector(path)
    missing = [p for p in EPRACCUR_COLUMNS if p > table.shape[1]]
    for position in missing:
        problems.add(
            f"required column is missing: the file has {table.shape[1]} columns, the official "
            "headerless epraccur layout has 27",
            column=_label(position),
        )
    problems.raise_if_any()

    out = table[list(EPRACCUR_COLUMNS)].rename(columns=EPRACCUR_COLUMNS)
    out = out.apply(lambda s: s.str.strip())
    out["practice_code"] = v.normalise_codes(out["practice_code"])
    for row in out.index[out["practice_code"] == ""]:
        problems.add("missing organisation code", row=int(row), column=_label(1))
    bad_status = ~out["status"].isin(list(_STATUS))
    for row in out.index[bad_status]:
        problems.add(
            f"unknown status {out.at[row, 'status']!r} (expected one of A, C, D, P)", row=int(row), column=_label(13)
        )
    out["open_date"] = v.parse_dates(out, "open_date", problems=problems, fmt="%Y%m%d", label=_label(11))
    out["close_date"] = v.parse_dates(out, "close_date", problems=problems, fmt="%Y%m%d", label=_label(12))
    setting = v.parse_numbers(out, "prescribing_setting", problems=problems, label=_label(26), integer=True)
    v.check_unique(out, "practice_code", problems=problems, label=_label(1), what="organisation code")
    problems.raise_if_any()
    out["prescribing_setting"] = setting.astype("int64")
    out["postcode"] = normalise_postcode(out["postcode"])

    keep = pd.Series(True, index=out.index)
    excluded: list[str] = []
    if active_only:
        inactive = out["status"] != "A"
        counts = out.loc[inactive, "status"].value_counts()
        excluded += [f"{counts[s]:,} {_STATUS[s]}" for s in ("C", "D", "P") if s in counts.index]
        keep &= ~inactive
    if gp_only:
        not_gp = keep & (out["prescribing_setting"] != _GP_PRACTICE)
        excluded.append(f"{int(not_gp.sum()):,} {'open ' if active_only else ''}organisations not GP practices")
        keep &= ~not_gp
    out = out.loc[keep].reset_index(drop=True)
    logger.info(
        "%s: kept %s of %s organisations%s",
        path.name,
        f"{len(out):,}",
        f"{len(table):,}",
        f"; excluded {', '.join(excluded)}" if excluded else "",
    )
    return out


#: Published columns of the list-size file -> tidy names. NHS Digital replaced the CCGs'
#: columns by those of the sub-ICB locations (the CCGs' successors, keeping most of their
#: codes) in July 2022; either layout is read, the code as ``ccg_code``.
LIST_SIZE_COLUMNS: dict[str | tuple[str, ...], str] = {
    "CODE": "practice_code",
    ("CCG_CODE", "SUB_ICB_LOCATION_CODE"): "ccg_code",
    ("ONS_CCG_CODE", "ONS_SUB_ICB_LOCATION_CODE"): "ons_ccg_code",
    "POSTCODE": "postcode",
    "NUMBER_OF_PATIENTS": "list_size",
    "EXTRACT_DATE": "extract_date",
}
#: The names the commissioner code column has had in the list-size file, the earliest first.
COMMISSIONER_COLUMNS = next(names for names, tidy in LIST_SIZE_COLUMNS.items() if tidy == "ccg_code")
#: Key of the ``attrs`` of :func:`read_list_sizes`' frame naming its commissioner code column
#: as published (``CCG_CODE``, or ``SUB_ICB_LOCATION_CODE`` from July 2022): see
#: :func:`sub_icb_layout`.
PUBLISHED_COMMISSIONER = "published_commissioner_column"


def sub_icb_layout(list_sizes: pd.DataFrame) -> bool:
    """Whether list sizes (:func:`read_list_sizes`) name sub-ICB locations, the CCGs' successors.

    Files from July 2022 publish the commissioner code as SUB_ICB_LOCATION_CODE (read as
    ``ccg_code``, like CCG_CODE before): most codes are the CCGs', but the areas are no
    longer CCGs. ``False`` for the CCG layout and for a frame that does not say.
    """
    published = list_sizes.attrs.get(PUBLISHED_COMMISSIONER)
    return published in COMMISSIONER_COLUMNS[1:]


def read_list_sizes(path: str | Path) -> pd.DataFrame:
    """Read NHS Digital "Patients Registered at a GP Practice" (all persons, all ages).

    Only the rows for all sexes and all ages (``SEX == AGE == "ALL"``) are kept, so the
    reader also works on the files broken down by sex and age.

    Parameters
    ----------
    path
        ``gp-reg-pat-prac-all.csv`` (columns PUBLICATION, EXTRACT_DATE, TYPE, CCG_CODE,
        ONS_CCG_CODE, CODE, POSTCODE, SEX, AGE, NUMBER_OF_PATIENTS; from July 2022
        SUB_ICB_LOCATION_CODE and ONS_SUB_ICB_LOCATION_CODE in place of the CCG codes, read
        as ``ccg_code`` and ``ons_ccg_code``: see :data:`LIST_SIZE_COLUMNS`).

    Returns
    -------
    pandas.DataFrame
        One row per practice: ``practice_code`` (str, unique, upper case:
        :func:`geodata.tables.normalise_codes`), ``ccg_code`` (str),
        ``ons_ccg_code`` (str), ``postcode`` (str, normalised), ``list_size`` (int64),
        ``extract_date`` (datetime64); ``attrs[PUBLISHED_COMMISSIONER]`` names the
        commissioner code column as published (:func:`sub_icb_layout`).

    Raises
    ------
    MissingFileError
        If the file does not exist.
    InputDataError
        If columns are missing (all named), a patient count is not a non-negative whole
        number, an extract date is unreadable or a practice appears twice: every problem
        with its row and column.
    """
    path = Path(path)
    table = v.read_table(path, what="list-size file")
    columns = v.published_columns(table, LIST_SIZE_COLUMNS, file=path)
    v.check_columns(table, ["SEX", "AGE"], file=path)
    v.require_rows(table, file=path, what="practices (list sizes)")
    total = (table["SEX"].str.strip().str.upper() == "ALL") & (table["AGE"].str.strip().str.upper() == "ALL")
    if not total.any():
        raise InputDataError(
            [
                DataProblem(
                    str(path),
                    "no row has SEX = ALL and AGE = ALL (the all-persons list size of a practice)",
                    column="SEX, AGE",
                )
            ]
        )
    out = table.loc[total, list(columns)].rename(columns=columns)
    out = out.apply(lambda s: s.str.strip())
    out["practice_code"] = v.normalise_codes(out["practice_code"])
    problems = ProblemCollector(path)
    sizes = v.parse_numbers(
        out,
        "list_size",
        problems=problems,
        label="NUMBER_OF_PATIENTS",
        integer=True,
        minimum=0,
        maximum=MAX_POPULATION,
        thousands=True,
    )
    dates = v.parse_dates(out, "extract_date", problems=problems, fmt="%d%b%Y", label="EXTRACT_DATE")
    for row in out.index[out["practice_code"] == ""]:
        problems.add("missing practice code", row=int(row), column="CODE")
    v.check_unique(out, "practice_code", problems=problems, label="CODE", what="practice code")
    problems.raise_if_any()
    out["list_size"] = sizes.astype("int64")
    out["extract_date"] = dates
    out["postcode"] = normalise_postcode(out["postcode"])
    out = out.reset_index(drop=True)
    out.attrs[PUBLISHED_COMMISSIONER] = next(name for name, tidy in columns.items() if tidy == "ccg_code")
    logger.info(
        "%s: %s practices, %s registered patients", path.name, f"{len(out):,}", f"{int(out['list_size'].sum()):,}"
    )
    return out


#: Key of the ``attrs`` of :func:`read_practice_lsoa`'s frame naming its practice code column
#: as published (``OrganisationCode``, ``PRACTICE_CODE``...), for messages about its codes.
PUBLISHED_PRACTICE = "published_practice_column"


def read_practice_lsoa(path: str | Path) -> pd.DataFrame:
    """Read "Patients registered at a GP practice" by LSOA of residence.

    Parameters
    ----------
    path
        Parquet or CSV file with columns OrganisationCode (or PRACTICE_CODE), LSOA11CD
        (files since late 2023: LSOA21CD, codes of the 2021 LSOAs; or LSOA_CODE) and
        Patient (or NUMBER_OF_PATIENTS); the practice name column (published as
        ``OranisationName``) is not needed. A SEX column (NHS Digital's files since 2021)
        selects the rows of ``ALL`` patients where there are any, and otherwise (a file by
        sex, ``MALE`` and ``FEMALE``) each pair's patients are summed over the sexes.

    Returns
    -------
    pandas.DataFrame
        One row per (practice, LSOA) pair: ``practice_code`` (str), ``lsoa_code`` (str),
        ``patients`` (int64); ``attrs[PUBLISHED_CODE]`` names the LSOA code column as
        published (its vintage: :func:`geodata.boundaries.lsoa_vintage`), and
        ``attrs[PUBLISHED_PRACTICE]`` the practice code column.

    Raises
    ------
    MissingFileError
        If the file does not exist.
    InputDataError
        If a column is missing, a practice code, LSOA code or sex is blank, a patient count
        is not a non-negative whole number (every such cell named at once, before the sexes
        are looked at), or a (practice, LSOA) pair appears twice (in a file by sex: twice for
        one sex). Rows of a Parquet file are record numbers.

    Notes
    -----
    Practice and LSOA codes are read as they are defined, upper case without surrounding
    spaces (:func:`geodata.tables.normalise_codes`): ``" f86007"`` is practice ``F86007``.
    """
    path = Path(path)
    spec = {
        "practice_code": (r"organisation_?code|practice_?code|code", "OrganisationCode"),
        "lsoa_code": CODE_COLUMNS["lsoa_code"],
        "patients": (r"patients?|number[_ ]of[_ ]patients", "Patient"),
    }
    optional = {"sex": (r"sex", "SEX")}  # NHS Digital's files since 2021: ALL, or MALE and FEMALE
    if path.suffix.lower() == ".parquet":
        # the practice name column (a long text repeated on every row) is not read
        wanted = re.compile(
            "|".join(f"(?:{pattern})" for pattern, _ in (*spec.values(), *optional.values())), re.IGNORECASE
        )
        table = v.read_parquet_table(path, what="practice-by-LSOA file", columns=lambda c: bool(wanted.fullmatch(c)))
    else:
        table = v.read_table(path, what="practice-by-LSOA file")
    published = v.matched_columns(table, {**spec, **optional})
    table = v.rename_columns(table, {**spec, **optional}, file=path, required=spec)
    v.require_rows(table, file=path, what="registrations")
    problems = ProblemCollector(path)
    pair = ["practice_code", "lsoa_code"]
    for column in pair:  # a blank code is no practice or LSOA (never one called "nan")
        v.check_filled(table, column, problems=problems, label=published[column], need="a code")
    if "sex" in table.columns:
        v.check_filled(table, "sex", problems=problems, label=published["sex"], need="a sex")
    patients = v.parse_numbers(
        table,
        "patients",
        problems=problems,
        label=published["patients"],
        integer=True,
        minimum=0,
        maximum=MAX_POPULATION,
        thousands=True,
    )
    problems.raise_if_any()  # a row cut short is missing values, before any check of the rows' sexes
    out = pd.DataFrame({column: v.normalise_codes(table[column]) for column in pair}, index=table.index)
    by_sex = None
    if "sex" in table.columns:  # one row per sex, or one for all patients (SEX = ALL)
        sex = table["sex"].astype(str).str.strip().str.upper()
        by_all = (sex == "ALL").to_numpy()
        if by_all.any():
            alone = np.empty(0, dtype=np.int64)
            if not by_all.all():  # NHS Digital's file of all patients has no other row: nothing to look for
                pairs = out["practice_code"] + "|" + out["lsoa_code"]
                alone = np.flatnonzero(~by_all & ~v.isin(pairs, pairs[by_all]).to_numpy())
            if alone.size:  # rows by sex that no ALL row counts: a mix of two files
                row = table.index[alone[0]]
                raise InputDataError(
                    [
                        DataProblem(
                            str(path),
                            f"{sex.iloc[alone[0]]!r} for a practice and LSOA without a row of ALL patients "
                            f"({alone.size:,} such row(s)): the file mixes rows of all patients (ALL) and rows by "
                            "sex; give NHS Digital's file of all patients or its file by sex, not a mix",
                            row=int(row),
                            column=published["sex"],
                        )
                    ]
                )
            if not by_all.all():
                logger.info(
                    "%s: %s rows by sex left out (the rows of %s = ALL count every patient)",
                    path.name,
                    f"{int((sex != 'ALL').sum()):,}",
                    published["sex"],
                )
            out = out.loc[by_all]
            patients = patients.loc[by_all]
        else:  # e.g. MALE and FEMALE: each pair's patients are their sum
            by_sex = sex
    if by_sex is not None:
        out["sex"] = by_sex
    v.check_unique(
        out,
        [*pair, *(["sex"] if by_sex is not None else [])],
        problems=problems,
        label=", ".join(published[c] for c in [*pair, *(["sex"] if by_sex is not None else [])]),
        what="pair" if by_sex is None else "practice, LSOA and sex",
    )
    problems.raise_if_any()
    out["patients"] = patients.astype("int64")
    if by_sex is not None:
        logger.info("%s: patients summed over %s (%s)", path.name, published["sex"], ", ".join(sorted(set(by_sex))))
        out = out.groupby(pair, sort=False, as_index=False).agg(patients=("patients", "sum"))
    out = out.reset_index(drop=True)
    out.attrs[PUBLISHED_CODE] = published["lsoa_code"]
    out.attrs[PUBLISHED_PRACTICE] = published["practice_code"]
    logger.info(
        "%s: %s practices, %s LSOAs, %s patients; %s",
        path.name,
        f"{out['practice_code'].nunique():,}",
        f"{out['lsoa_code'].nunique():,}",
        f"{int(out['patients'].sum()):,}",
        lsoa_vintage(out),
    )
    return out


def _read_choices(path: Path, *, what: str, encoding: str | None) -> pd.DataFrame:
    """Read an NHS Choices ``¬``-separated file, detecting a UTF-8 re-save."""
    with v.require_file(path, what=what).open("rb") as handle:
        first_line = handle.readline(65536)
    if encoding is None:
        # Published as latin-1/Windows-1252 (¬ = 0xAC); a UTF-8 re-save has 0xC2 0xAC.
        encoding = "utf-8" if "¬".encode() in first_line else _CHOICES_ENCODING
    header = first_line.decode(encoding, errors="replace")
    if "Â¬" in header:
        raise InputDataError(
            [
                DataProblem(
                    str(path),
                    f"the file is UTF-8 text but was read as {encoding}: pass encoding='utf-8' (or None to detect)",
                    row=1,
                )
            ]
        )
    if _CHOICES_SEP not in header:
        found = max((",", ";", "\t", "|"), key=header.count)
        detail = f"it looks {found!r}-separated" if header.count(found) else "no separator was recognised"
        raise InputDataError(
            [
                DataProblem(
                    str(path),
                    "no '¬' separator in the header line: NHS Choices files are latin-1 text "
                    f"separated by '¬' ({detail}; was the file re-saved or decoded with the wrong encoding "
                    f"(read as {encoding})?)",
                    row=1,
                )
            ]
        )
    return v.read_table(path, sep=_CHOICES_SEP, encoding=encoding, what=what)


def _in_uk(lat: pd.Series, lon: pd.Series) -> pd.Series:
    """Mask of the coordinates inside the box of :data:`_UK_LAT` and :data:`_UK_LON` (blanks are not)."""
    return (lat.between(*_UK_LAT) & lon.between(*_UK_LON)).fillna(False).astype(bool)


def _choices_points(
    table: pd.DataFrame,
    *,
    path: Path,
    problems: ProblemCollector,
    code_column: str,
    strict: bool,
    kind: str,
) -> gpd.GeoSeries:
    """Check latitude/longitude; raise every problem collected so far, or return the points.

    Returns the WGS84 points of the rows with usable coordinates, indexed like ``table``.
    Text in a coordinate is always an error; blank or out-of-range coordinates leave the
    row out (a warning naming the file, each row and code, and the rows whose latitude and
    longitude look exchanged; blank ones only logged at INFO), or are errors when ``strict``.
    """
    lat = v.parse_numbers(table, "Latitude", problems=problems, allow_blank=True)
    lon = v.parse_numbers(table, "Longitude", problems=problems, allow_blank=True)
    usable = _in_uk(lat, lon)
    exchanged = ~usable & _in_uk(lon, lat)
    malformed = (lat.isna() & (table["Latitude"] != "")) | (lon.isna() & (table["Longitude"] != ""))
    unusable = table.index[~usable & ~malformed]  # malformed numbers are reported already
    if strict:
        for row in unusable:
            problems.add(
                f"{kind} {table.at[row, code_column]!r} has no usable coordinates "
                f"(latitude {table.at[row, 'Latitude']!r}, longitude {table.at[row, 'Longitude']!r}"
                f"{_EXCHANGED if exchanged[row] else ''})",
                row=int(row),
                column="Latitude",
            )
    problems.raise_if_any()
    # Rows with coordinates outside the UK (or exchanged) are a warning; rows with none are
    # noted only: the published files have a few (e.g. an Isle of Man hospital), and a warning
    # on every run about places far from any selection would teach planners to skip warnings.
    blank = (table["Latitude"] == "") | (table["Longitude"] == "")
    for rows, log in ((unusable[~blank[unusable]], logger.warning), (unusable[blank[unusable]], logger.info)):
        if len(rows):
            codes = [
                f"{table.at[r, code_column]} (row {r}{_EXCHANGED if exchanged[r] else ''})"  # type: ignore[str-bytes-safe]
                for r in rows
            ]
            log(
                "%s: %s %s(s) without usable coordinates left out: %s", path.name, f"{len(codes):,}", kind, v.few(codes)
            )
    return gpd.GeoSeries(gpd.points_from_xy(lon[usable], lat[usable]), index=table.index[usable], crs=WGS84)


def read_nhs_choices_gp(
    path: str | Path, *, strict: bool = False, encoding: str | None = None, with_rows: bool = False
) -> gpd.GeoDataFrame:
    """Read the NHS Choices GP practice file (``GP.csv``) with its coordinates.

    Parameters
    ----------
    path
        NHS Choices GP file: latin-1 text separated by ``¬`` with columns
        OrganisationCode, OrganisationName, Postcode, Latitude, Longitude, ParentODSCode
        (CCG) and optionally ParentName.
    strict
        Raise on practices without usable coordinates instead of leaving them out (they
        are always reported in the log with their codes and rows).
    encoding
        ``None`` detects the published latin-1 (read as its superset Windows-1252) or a
        UTF-8 re-save from the header line.
    with_rows
        Add columns ``row`` (the line of each practice in the file) and
        ``latitude_text``/``longitude_text`` (the coordinates as written), and keep the
        practices without usable coordinates (with an empty geometry), for messages.

    Returns
    -------
    geopandas.GeoDataFrame
        In EPSG:27700: ``practice_code`` (str, unique), ``name``, ``postcode``
        (normalised), ``ccg_code``, ``ccg_name``, (``row``, ``latitude_text``,
        ``longitude_text``), ``geometry`` (point; ``None`` without usable coordinates).

    Raises
    ------
    MissingFileError
        If the file does not exist.
    InputDataError
        If the encoding or separator is wrong, columns are missing (all named), a
        coordinate is not a number, a practice code is duplicated, or (``strict``) a
        practice lacks usable coordinates: every problem with its row and column.
    """
    path = Path(path)
    table = _read_choices(path, what="NHS Choices GP file", encoding=encoding)
    columns = {
        "OrganisationCode": "practice_code",
        "OrganisationName": "name",
        "Postcode": "postcode",
        "ParentODSCode": "ccg_code",
    }
    v.check_columns(table, [*columns, "Latitude", "Longitude"], file=path)
    v.require_rows(table, file=path, what="practices")
    table = table.apply(lambda s: s.str.strip())
    table["OrganisationCode"] = v.normalise_codes(table["OrganisationCode"])
    problems = ProblemCollector(path)
    v.check_unique(table, "OrganisationCode", problems=problems, what="practice code")
    points = _choices_points(
        table, path=path, problems=problems, code_column="OrganisationCode", strict=strict, kind="practice"
    )
    rows = table.index if with_rows else points.index
    out = table.loc[rows, list(columns)].rename(columns=columns)
    out["ccg_name"] = table.loc[rows, "ParentName"] if "ParentName" in table else ""
    out["postcode"] = normalise_postcode(out["postcode"])
    if with_rows:
        out["row"] = rows.to_numpy()
        out["latitude_text"] = table.loc[rows, "Latitude"]
        out["longitude_text"] = table.loc[rows, "Longitude"]
    result = gpd.GeoDataFrame(out, geometry=points.reindex(rows), crs=WGS84).reset_index(drop=True)
    return v.to_bng(result)


def read_nhs_choices_hospitals(
    path: str | Path, *, strict: bool = False, encoding: str | None = None
) -> gpd.GeoDataFrame:
    """Read the NHS Choices hospital file (``Hospital.csv``) with its coordinates.

    The published file lists a few sites twice under the same site code (once as
    "Independent Sector", once as "NHS Sector") at the same postcode and point: such
    repeats are merged (the NHS-sector record is kept) and logged. Repeats of a code at
    different places are an error.

    Parameters
    ----------
    path
        NHS Choices hospital file: latin-1, ``¬``-separated, with columns
        OrganisationCode, OrganisationName, Sector, Postcode, Latitude, Longitude,
        ParentODSCode (trust) and optionally SubType, ParentName.
    strict
        Raise on sites without usable coordinates instead of leaving them out (logged).
    encoding
        ``None`` detects the published latin-1 (Windows-1252) or a UTF-8 re-save.

    Returns
    -------
    geopandas.GeoDataFrame
        In EPSG:27700: ``site_id`` (str: ODS site code, unique), ``name``, ``postcode``,
        ``sector`` (``"NHS"`` or ``"Independent"``), ``subtype``, ``trust_code``,
        ``trust_name``, ``geometry`` (point).

    Raises
    ------
    MissingFileError
        If the file does not exist.
    InputDataError
        Wrong encoding or separator, missing columns, non-numeric coordinates, a site code
        repeated at different places, or (``strict``) a site without coordinates.
    """
    path = Path(path)
    table = _read_choices(path, what="NHS Choices hospital file", encoding=encoding)
    columns = {
        "OrganisationCode": "site_id",
        "OrganisationName": "name",
        "Postcode": "postcode",
        "Sector": "sector",
        "ParentODSCode": "trust_code",
    }
    v.check_columns(table, [*columns, "Latitude", "Longitude"], file=path)
    v.require_rows(table, file=path, what="hospital sites")
    table = table.apply(lambda s: s.str.strip())
    table["Postcode"] = normalise_postcode(table["Postcode"])

    problems = ProblemCollector(path)
    places = table.drop_duplicates(["OrganisationCode", "Postcode", "Latitude", "Longitude"])
    n_places = places.groupby("OrganisationCode").size()
    conflicting = table["OrganisationCode"].isin(n_places.index[n_places > 1])
    v.check_unique(table.loc[conflicting], "OrganisationCode", problems=problems, what="site code at different places")
    points = _choices_points(
        table, path=path, problems=problems, code_column="OrganisationCode", strict=strict, kind="site"
    )
    repeated = table.duplicated("OrganisationCode", keep=False)
    if repeated.any():
        nhs_first = table.assign(_rank=(~table["Sector"].str.startswith("NHS")).astype(int))
        keep_rows = nhs_first.sort_values("_rank", kind="stable").drop_duplicates("OrganisationCode").index
        merged = sorted(set(table.loc[repeated, "OrganisationCode"]))
        logger.info(
            "%s: %d site code(s) listed twice at the same place merged: %s", path.name, len(merged), v.few(merged)
        )
        table = table.loc[table.index.isin(keep_rows)]

    rows = table.index[table.index.isin(points.index)]
    out = table.loc[rows, list(columns)].rename(columns=columns)
    out["sector"] = out["sector"].str.replace(r"\s*Sector$", "", regex=True)
    out.insert(4, "subtype", table.loc[rows, "SubType"] if "SubType" in table else "")
    out["trust_name"] = table.loc[rows, "ParentName"] if "ParentName" in table else ""
    result = gpd.GeoDataFrame(out, geometry=points.loc[rows], crs=WGS84).reset_index(drop=True)
    logger.info("%s: %s hospital sites", path.name, f"{len(result):,}")
    return v.to_bng(result)
