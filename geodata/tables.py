"""Reading and checking published tables: one place for every input-data check.

The loaders in :mod:`geodata.nhs`, :mod:`geodata.ons`, :mod:`geodata.postcodes` and
:mod:`geodata.practices` read through these helpers so that every problem is reported the
same way: an :class:`~geodata.errors.InputDataError` naming the file, the row (the line an
editor shows, header included) and the column, listing *every* problem found at once. A
raw ``KeyError``, ``UnicodeDecodeError`` or pandas ``ParserError`` never reaches the user.

While a table is being checked its index holds the editor line number of each row (see
:func:`read_table`); loaders reset the index before returning.

Speed: well-formed files take a fast path (Arrow's multi-threaded CSV reader, Arrow string
kernels for numbers, hashing of integer codes for duplicates). Whenever the fast path
meets anything unusual (a parse error, a cell that is not a plain decimal number, a
duplicate) the careful pandas path runs instead, so every error message, row and column is
exactly what the careful path reports.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import logging
import re
import sqlite3
import warnings
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pyogrio
import pyogrio.errors
import shapely

from .errors import DataProblem, InputDataError, MissingFileError, ProblemCollector, shown_limit
from .settings import BNG

logger = logging.getLogger(__name__)

__all__ = [
    "require_file",
    "read_table",
    "read_parquet_table",
    "read_vector",
    "find_column",
    "matched_columns",
    "rename_columns",
    "check_columns",
    "published_columns",
    "check_unique",
    "check_parts",
    "require_rows",
    "outside_gb",
    "GB_BNG_EXTENT",
    "isin",
    "parse_numbers",
    "parse_dates",
    "normalise_codes",
    "missing_value",
    "check_filled",
    "snake_case",
    "to_bng",
    "few",
]

#: How many example codes or rows a single problem message quotes.
_SHOWN = 20

#: A plain decimal number (what the fast path of :func:`parse_numbers` converts with Arrow;
#: anything else, e.g. ``"inf"`` or ``"12a"``, goes through pandas).
_PLAIN_NUMBER = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"
#: British National Grid extent (metres: west, south, east, north) of Great Britain and its
#: islands, the grid's own limits: a point outside cannot be in Great Britain.
GB_BNG_EXTENT = (0.0, 0.0, 700_000.0, 1_300_000.0)

#: Field separator substituted for a non-ASCII one (e.g. ``"¬"``) on the fast path.
_UNIT_SEPARATOR = "\x1f"


def require_file(path: str | Path, *, what: str = "input file") -> Path:
    """Return ``path`` as a :class:`~pathlib.Path`, or raise if it is not an existing file.

    Parameters
    ----------
    path
        File to check.
    what
        Description used in the error message, e.g. ``"epraccur file"``.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    MissingFileError
        If ``path`` does not exist or is a folder.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise MissingFileError(path, what=what)
    return path


def _raw_bytes(path: Path, member: str | None = None) -> bytes:
    """Bytes of ``path``, or of its file ``member`` (a zip archive), decompressed when the name ends in ``.gz``."""
    if member is not None:
        try:
            with zipfile.ZipFile(path) as archive:
                return archive.read(member)
        except (zipfile.BadZipFile, KeyError, OSError, EOFError) as exc:
            problem = DataProblem(str(path), f"cannot read {member} from the zip archive ({exc})")
            raise InputDataError([problem]) from None
    if path.name.lower().endswith(".gz"):
        try:
            with gzip.open(path, "rb") as handle:
                return handle.read()
        except (OSError, EOFError) as exc:
            raise InputDataError([DataProblem(str(path), f"not a readable gzip file ({exc})")]) from None
    return path.read_bytes()


#: Leading bytes of files that are not delimited text, and what they are.
_SIGNATURES = (
    (b"SQLite format 3\x00", "a GeoPackage or another SQLite database"),
    (b"PK\x03\x04", "an Excel workbook (.xlsx) or another zip archive"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Excel workbook (.xls) or another Office file"),
    (b"\x89PNG", "a PNG image"),
    (b"%PDF", "a PDF document"),
    (b"\x1f\x8b", "gzip-compressed data (a compressed table must be named .gz)"),
)
#: Share of control characters (not tab or line ends) from which a file counts as binary.
_BINARY_SHARE = 0.05


def _not_text(raw: bytes) -> str | None:
    """What ``raw`` looks like when it is clearly not a delimited text table, else None."""
    for signature, kind in _SIGNATURES:
        if raw.startswith(signature):
            return kind
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return None  # UTF-16 text: the decoding error says so
    head = raw[:8192]
    controls = sum(1 for byte in head if byte < 0x20 and byte not in b"\t\n\r\x0b\x0c")
    if b"\x00" in head or (head and controls / len(head) >= _BINARY_SHARE):
        return "binary data, not text"
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if start == b"{" or (start == b"[" and _is_json(raw)):
        geo = re.search(rb'"type"\s*:\s*"(FeatureCollection|Feature)"', head)
        return "GeoJSON" if geo else "JSON"
    return None


def _is_json(raw: bytes) -> bool:
    try:
        json.loads(raw)
    except ValueError:
        return False
    return True


def _codec(encoding: str) -> str:
    return "utf-8-sig" if encoding.lower().replace("_", "-") in {"utf-8", "utf8"} else encoding


def _decode(path: Path, raw: bytes, encoding: str) -> str:
    """Decode ``raw`` (the bytes of ``path``) or raise naming the line of the first bad byte."""
    codec = _codec(encoding)
    try:
        return raw.decode(codec)
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        line_start = raw.rfind(b"\n", 0, exc.start) + 1
        hint = ""
        if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
            hint = " (the file looks like UTF-16: save it as UTF-8)"
        elif codec.startswith("utf-8"):
            hint = " (is it latin-1/Windows-1252? save it as UTF-8)"
        raise InputDataError(
            [
                DataProblem(
                    str(path),
                    f"cannot be decoded as {encoding}: byte 0x{raw[exc.start]:02x} (byte "
                    f"{exc.start - line_start + 1} of the line) is not valid {encoding}{hint}",
                    row=line,
                )
            ]
        ) from None


def read_table(
    path: str | Path,
    *,
    sep: str = ",",
    encoding: str = "utf-8",
    header: bool = True,
    what: str = "input file",
    expects: str | None = None,
    member: str | None = None,
) -> pd.DataFrame:
    """Read a delimited text file as strings, indexed by editor line number.

    Every cell is read as text (blank cells as ``""``) so that numbers and codes can be
    checked, and reported by row, by :func:`parse_numbers` and friends.

    Parameters
    ----------
    path
        CSV file (``.gz`` allowed).
    sep
        Field separator: one character (e.g. NHS Choices' ``"¬"``), or several (a regular
        expression, read by pandas' python engine). Files are read by Arrow's CSV reader;
        when it fails (ragged rows, bad quoting) pandas reads the file instead, so that
        the error names the line as pandas does.
    encoding
        Expected text encoding.
    header
        Whether the first line holds column names. Headerless files get integer column
        labels 1, 2, ... (the 1-based positions an editor or a file specification uses).
    what
        Description used if the file is missing.
    expects
        What the file should be, e.g. ``"a CSV with columns ..."``, added to the message
        when the file is empty or is not a text table at all (JSON, a GeoPackage, a
        workbook, binary data).
    member
        The name of the table inside ``path``, a zip archive (e.g. ``Data/CSV/ig.csv``);
        messages then name the file as ``<path> (<member>)``.

    Returns
    -------
    pandas.DataFrame
        All columns of dtype ``str``; index = line number in the file (1-based, header
        line included). Column names are stripped of surrounding spaces.

    Raises
    ------
    MissingFileError
        If the file does not exist.
    InputDataError
        If it is not a text table (JSON, a GeoPackage, a workbook, binary data: named when
        recognised), cannot be decoded, is empty, or has rows with too many fields.
    """
    path = require_file(path, what=what)
    raw = _raw_bytes(path, member)
    if member is not None:
        path = Path(f"{path} ({member})")  # as messages name it
    wanted = f"; {expects}" if expects else ""
    kind = _not_text(raw)
    if kind is not None:
        table = "CSV" if sep == "," else f"{sep!r}-separated text"
        raise InputDataError([DataProblem(str(path), f"not a {table} {what}: it looks like {kind}{wanted}")])
    text = _decode(path, raw, encoding)
    if not text.strip():
        raise InputDataError([DataProblem(str(path), f"the file is empty{wanted}")])
    if header:
        _check_separator(path, text, sep)
    first_line = 2 if header else 1
    frame = _read_table_arrow(raw, text, sep=sep, encoding=encoding, header=header)
    if frame is not None:
        frame.index = pd.RangeIndex(first_line, first_line + len(frame), name="line")
        return frame
    source: io.BytesIO | io.StringIO
    if len(sep) == 1 and sep.isascii():
        engine, source, codec = "c", io.BytesIO(raw), _codec(encoding)
    else:  # pandas' C parser only splits on one-byte separators
        engine, source, codec = "python", io.StringIO(text), None
    try:
        frame = pd.read_csv(  # type: ignore[call-overload]  # the stub has one overload per buffer type
            source,
            encoding=codec,
            sep=sep,
            header=0 if header else None,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            skip_blank_lines=True,
            engine=engine,
        )
    except pd.errors.ParserError as exc:
        raise InputDataError([DataProblem(str(path), f"not a valid {sep!r}-separated table: {exc}")]) from None
    except pd.errors.EmptyDataError:
        raise InputDataError([DataProblem(str(path), "the file has no columns")]) from None
    if header and not isinstance(frame.index, pd.RangeIndex):
        # pandas takes the extra leading fields of rows longer than the header as an index
        # (every value then sits one column off): never read such a file
        raise InputDataError(_long_rows(path, text, sep))
    if header:
        frame.columns = [str(c).strip() for c in frame.columns]
    else:
        frame.columns = range(1, frame.shape[1] + 1)
    frame.index = pd.RangeIndex(first_line, first_line + len(frame), name="line")
    return frame


def _check_separator(path: Path, text: str, sep: str) -> None:
    """Raise when the header line has no ``sep`` but a ';' or a tab: another separator."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    if sep in first:
        return
    for other, name in ((";", "';'"), ("\t", "a tab")):
        if other != sep and other in first:
            raise InputDataError(
                [
                    DataProblem(
                        str(path),
                        f"the file seems to use {name} as separator: a {sep!r}-separated file is expected "
                        f"(header line: {first.strip()[:200]!r})",
                        row=1,
                    )
                ]
            )


def _long_rows(path: Path, text: str, sep: str) -> list[DataProblem]:
    """One problem per row (up to :data:`_SHOWN`) with more fields than the header line."""
    rows: Iterable[list[str]]
    if len(sep) == 1:
        rows = csv.reader(io.StringIO(text), delimiter=sep)
    else:
        rows = (re.split(sep, line) for line in io.StringIO(text).read().splitlines())
    problems: list[DataProblem] = []
    width = None
    for number, fields in enumerate(rows, start=1):
        line = getattr(rows, "line_num", number)
        if width is None:
            width = len(fields)
        elif len(fields) > width and len(problems) < _SHOWN:
            problems.append(DataProblem(str(path), f"{len(fields)} fields, but the header line has {width}", row=line))
    return problems or [DataProblem(str(path), "rows have more fields than the header line")]


def _read_table_arrow(raw: bytes, text: str, *, sep: str, encoding: str, header: bool) -> pd.DataFrame | None:
    """Fast path of :func:`read_table`: Arrow's CSV reader, every column as text.

    Returns ``None`` (the caller then uses pandas) whenever the result could differ from
    pandas' reading: a parse error (ragged rows, bad quoting), a separator longer than one
    character, or header names pandas would rename (blank or repeated).
    """
    if len(sep) != 1:
        return None
    if sep.isascii() and _codec(encoding) == "utf-8-sig":
        data = raw  # Arrow skips a UTF-8 byte-order mark itself
        delimiter = sep
    else:  # one byte per field separator: re-encode the decoded text as UTF-8
        delimiter = sep if sep.isascii() else _UNIT_SEPARATOR
        if delimiter != sep and _UNIT_SEPARATOR in text:
            return None
        data = (text if delimiter == sep else text.replace(sep, delimiter)).encode("utf-8")
    start = len(text) - len(text.lstrip("\r\n"))
    end = text.find("\n", start)
    first = text[start:] if end < 0 else text[start:end]
    n_max = first.count(sep) + 1  # fields of the first row, at most (quoted separators count too)
    try:
        table = pacsv.read_csv(
            pa.py_buffer(data),
            read_options=pacsv.ReadOptions(autogenerate_column_names=True),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types={f"f{i}": pa.string() for i in range(n_max)},
                null_values=[],
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except pa.ArrowException as exc:
        # ArrowInvalid/NotImplemented: a file pandas reads differently (ragged rows, bad quoting).
        # Any other Arrow failure (once in CI: "a chunk failed converting for an unknown
        # reason" from its threaded reader) is not the user's: pandas reads the same bytes.
        logger.debug("Arrow's CSV reader gave up (%s); reading with pandas", exc)
        return None
    if table.num_columns == 0 or not all(pa.types.is_string(t) for t in table.schema.types):
        return None
    if delimiter != sep:
        restored = [
            pc.replace_substring(column, delimiter, sep)
            if pc.any(pc.match_substring(column, delimiter)).as_py()
            else column
            for column in table.columns
        ]
        table = pa.table(restored, names=table.column_names)
    if header:
        if table.num_rows == 0:
            return None
        names: list[str] | list[int] = [str(table.column(i)[0].as_py()).strip() for i in range(table.num_columns)]
        if any(not name for name in names) or len(set(names)) != len(names):
            return None  # pandas names them "Unnamed: 3" or "X.1"
        table = table.slice(1)
    else:
        names = list(range(1, table.num_columns + 1))
    frame = table.to_pandas()
    frame.columns = names
    return frame


def read_parquet_table(
    path: str | Path, *, what: str = "input file", columns: Callable[[str], bool] | None = None
) -> pd.DataFrame:
    """Read a Parquet file, its index (if any) as columns, indexed by record number.

    Parameters
    ----------
    path
        Parquet file.
    what
        Description used if the file is missing.
    columns
        Predicate on a column name (stripped): only the columns it accepts, and the index
        columns, are read. ``None`` reads every column.

    Returns
    -------
    pandas.DataFrame
        Index = 1-based record number (Parquet has no header line, so "row" in messages
        about Parquet files is the record number).

    Raises
    ------
    MissingFileError
        If the file does not exist.
    InputDataError
        If the file is not valid Parquet.
    """
    path = require_file(path, what=what)
    try:
        selected = None
        if columns is not None:
            schema = pq.read_schema(path)
            index_columns = {c for c in (schema.pandas_metadata or {}).get("index_columns", []) if isinstance(c, str)}
            selected = [n for n in schema.names if n in index_columns or columns(str(n).strip())]
        frame = pd.read_parquet(path, columns=selected)
    except Exception as exc:  # pyarrow raises several unrelated exception types
        raise InputDataError([DataProblem(str(path), f"not a readable Parquet file ({exc})")]) from None
    if not isinstance(frame.index, pd.RangeIndex) or frame.index.name is not None:
        frame = frame.reset_index()
    frame.columns = [str(c).strip() for c in frame.columns]
    frame.index = pd.RangeIndex(1, len(frame) + 1, name="record")
    return frame


def read_vector(path: str | Path, *, what: str = "input file", layer: str | int | None = None) -> gpd.GeoDataFrame:
    """Read a GeoPackage / GeoJSON / shapefile with pyogrio (Arrow when available).

    Parameters
    ----------
    path
        Vector file.
    what
        Description used if the file is missing.
    layer
        Layer name or index; the first layer when ``None``.

    Returns
    -------
    geopandas.GeoDataFrame
        Index = 1-based feature number; column names stripped.

    Raises
    ------
    MissingFileError
        If the file does not exist.
    InputDataError
        If it cannot be read, has no coordinate reference system, or has no geometry.
    """
    path = require_file(path, what=what)
    if path.suffix.lower() == ".gpkg":
        _check_geopackage(path)
    try:
        frame = gpd.read_file(path, engine="pyogrio", layer=layer, use_arrow=True)
        expected = pyogrio.read_info(path, layer=layer).get("features", -1)
    except _VECTOR_ERRORS as exc:
        raise InputDataError([DataProblem(str(path), f"not a readable vector file ({exc})")]) from None
    if expected is not None and expected >= 0 and len(frame) != expected:
        # GDAL's Arrow reader stops quietly at a damaged record: never plan on part of a file
        raise InputDataError(
            [DataProblem(str(path), f"the file is damaged: {len(frame):,} of its {expected:,} features could be read")]
        )
    if not isinstance(frame, gpd.GeoDataFrame) or frame.geometry.name not in frame:
        raise InputDataError([DataProblem(str(path), "the file has no geometry")])
    if frame.crs is None:
        raise InputDataError([DataProblem(str(path), "the file declares no coordinate reference system")])
    frame.columns = [c if c == frame.geometry.name else str(c).strip() for c in frame.columns]
    frame.index = pd.RangeIndex(1, len(frame) + 1, name="feature")
    return frame


#: What reading a damaged or foreign vector file can raise (GDAL through pyogrio, GEOS).
_VECTOR_ERRORS = (
    pyogrio.errors.DataSourceError,
    pyogrio.errors.DataLayerError,
    pyogrio.errors.FeatureError,
    pyogrio.errors.FieldError,
    pyogrio.errors.GeometryError,
    pyogrio.errors.CRSError,
    shapely.errors.GEOSException,
    ValueError,
    OSError,
)


def _check_geopackage(path: Path) -> None:
    """Raise naming ``path`` if SQLite finds the GeoPackage damaged (a few milliseconds)."""
    connection = None
    try:
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        result = [row[0] for row in connection.execute("PRAGMA quick_check(5)")]
    except sqlite3.Error as exc:
        result = [str(exc)]
    finally:
        if connection is not None:
            connection.close()
    if result != ["ok"]:
        detail = "; ".join(line for text in result for line in str(text).splitlines() if line.strip())[:300]
        raise InputDataError([DataProblem(str(path), f"the GeoPackage is damaged (SQLite: {detail})")])


def find_column(frame: pd.DataFrame, pattern: str) -> str | None:
    """Name of the first column matching ``pattern`` (a regular expression, case-insensitive).

    Parameters
    ----------
    frame
        Table to search.
    pattern
        Regular expression matched against the whole column name.

    Returns
    -------
    str or None
    """
    rx = re.compile(pattern, re.IGNORECASE)
    return next((c for c in frame.columns if isinstance(c, str) and rx.fullmatch(c)), None)


def matched_columns(frame: pd.DataFrame, spec: Mapping[str, tuple[str, str]]) -> dict[str, str]:
    """The column of ``frame`` each tidy name of ``spec`` matches, as published.

    Parameters
    ----------
    frame
        Table as read.
    spec
        ``tidy name -> (regex, description)``, as for :func:`rename_columns`.

    Returns
    -------
    dict
        Tidy name -> the published column name (e.g. ``"lsoa_code" -> "LSOA21CD"``), for
        the tidy names found; messages about a column name it as the file does.
    """
    return {tidy: found for tidy, (pattern, _) in spec.items() if (found := find_column(frame, pattern)) is not None}


def rename_columns(
    frame: pd.DataFrame,
    spec: Mapping[str, tuple[str, str]],
    *,
    file: str | Path,
    required: Iterable[str],
) -> pd.DataFrame:
    """Rename published columns (found by pattern) to tidy names, checking required ones.

    Parameters
    ----------
    frame
        Table as read.
    spec
        ``tidy name -> (regex, description)``; the regex is matched case-insensitively
        against whole column names; the description (usually the published name) is used
        in the error message.
    file
        File name for error messages.
    required
        Tidy names that must be found.

    Returns
    -------
    pandas.DataFrame
        ``frame`` with the found columns renamed, the others kept as they are.

    Raises
    ------
    InputDataError
        Listing every required column that is missing, and the columns present.
    """
    required = set(required)
    matched = matched_columns(frame, spec)
    problems = ProblemCollector(file)
    for tidy, (_, description) in spec.items():
        if tidy not in matched and tidy in required:
            problems.add(f"required column is missing (columns found: {_listing(frame.columns)})", column=description)
    problems.raise_if_any()
    return frame.rename(columns={found: tidy for tidy, found in matched.items()})


def check_columns(frame: pd.DataFrame, columns: Iterable[str], *, file: str | Path) -> None:
    """Raise one error naming every column of ``columns`` missing from ``frame``.

    Parameters
    ----------
    frame
        Table as read.
    columns
        Column names that must be present.
    file
        File name for error messages.

    Raises
    ------
    InputDataError
        If any column is missing.
    """
    published_columns(frame, {column: column for column in columns}, file=file)


def published_columns(
    frame: pd.DataFrame, columns: Mapping[str | tuple[str, ...], str], *, file: str | Path
) -> dict[str, str]:
    """The published name of each column in this file, where a publisher renamed some.

    Parameters
    ----------
    frame
        Table as read.
    columns
        Published name -> tidy name; the key may be a tuple of the names the column has had,
        the earliest first (e.g. ``("CCG_CODE", "SUB_ICB_LOCATION_CODE")``: NHS Digital
        renamed it in July 2022). The first name the file has is used.

    Returns
    -------
    dict
        The name found in the file -> tidy name, in the order of ``columns``.

    Raises
    ------
    InputDataError
        Naming every column the file has under none of its names.
    """
    problems = ProblemCollector(file)
    found: dict[str, str] = {}
    for names, tidy in columns.items():
        options = (names,) if isinstance(names, str) else tuple(names)
        name = next((n for n in options if n in frame.columns), None)
        if name is None:
            also = f" (or {' or '.join(options[1:])}, as later files name it)" if len(options) > 1 else ""
            problems.add(
                f"required column is missing{also} (columns found: {_listing(frame.columns)})", column=options[0]
            )
        else:
            found[name] = tidy
    problems.raise_if_any()
    return found


def outside_gb(points: gpd.GeoSeries) -> np.ndarray:
    """Mask of the points (any CRS) that lie outside :data:`GB_BNG_EXTENT` or cannot be placed."""
    bng = to_bng(gpd.GeoDataFrame(geometry=points.reset_index(drop=True))).geometry
    x, y = bng.x.to_numpy(), bng.y.to_numpy()
    west, south, east, north = GB_BNG_EXTENT
    with np.errstate(invalid="ignore"):
        inside = (x >= west) & (x <= east) & (y >= south) & (y <= north)
    return ~inside


def require_rows(frame: pd.DataFrame, *, file: str | Path, what: str = "data rows") -> None:
    """Raise naming ``file`` when a table has a header but no rows (e.g. a failed download).

    Parameters
    ----------
    frame
        Table as read.
    file
        File name for the error message.
    what
        What the rows are, e.g. ``"practices"``.

    Raises
    ------
    InputDataError
        If ``frame`` has no rows.
    """
    if len(frame) == 0:
        raise InputDataError([DataProblem(str(file), f"the file has a header line but no {what}")])


def check_unique(
    frame: pd.DataFrame,
    column: str | Sequence[str],
    *,
    problems: ProblemCollector,
    label: str | None = None,
    what: str = "code",
) -> None:
    """Add one problem per duplicated value of ``column``, naming all the rows holding it.

    Parameters
    ----------
    frame
        Table indexed by editor line number (see :func:`read_table`).
    column
        Column (or columns, checked as a combination) whose values must be unique.
    problems
        Collector receiving the problems.
    label
        Column name shown in messages (defaults to ``column``).
    what
        Noun for the value, e.g. ``"practice code"``.
    """
    columns = [column] if isinstance(column, str) else list(column)
    dup = frame.duplicated(columns, keep=False)
    if not dup.any():
        return
    shown = label if label is not None else ", ".join(map(str, columns))
    for key, group in frame.loc[dup].groupby(columns, sort=True):
        value = key if isinstance(key, tuple) and len(columns) > 1 else (key[0] if isinstance(key, tuple) else key)
        rows = ", ".join(str(r) for r in group.index)
        problems.add(f"duplicate {what} {value!r} (rows {rows})", row=int(group.index[0]), column=shown)


def check_parts(
    frame: pd.DataFrame,
    parts: Iterable[str],
    whole: str,
    *,
    problems: ProblemCollector,
    labels: Mapping[str, str] | None = None,
) -> None:
    """Add one problem per cell of a ``parts`` column greater than its row's ``whole`` (a band of a total).

    Parameters
    ----------
    frame
        Table of numbers (as :func:`parse_numbers` returns them) indexed by editor line number;
        missing cells (already reported) are not compared.
    parts
        Columns each of which is a part of ``whole`` (e.g. an age band of a population).
    whole
        Column of the total.
    problems
        Collector receiving the problems (row = index label, column = the part's label).
    labels
        Column -> name shown in messages (defaults to the column).
    """
    shown = dict(labels or {})
    total = frame[whole].astype("float64")
    for part in parts:
        values = frame[part].astype("float64")
        for row in frame.index[(values > total).to_numpy(dtype=bool)]:
            problems.add(
                f"{_cell(frame[part].loc[row])} is above {_cell(frame[whole].loc[row])}, the row's "
                f"{shown.get(whole, whole)!r}, of which it is a part",
                row=int(row),
                column=shown.get(part, part),
            )


def isin(values: pd.Series, candidates: Iterable[object]) -> pd.Series:
    """``values.isin(candidates)``, by hashing: fast for many candidates.

    pandas' :meth:`~pandas.Series.isin` on Arrow-backed text converts every candidate to an
    Arrow scalar one at a time (seconds for a million candidates); this looks the values
    up in an index of the distinct candidates instead.

    Parameters
    ----------
    values
        Values to test.
    candidates
        Values to look for (any sequence, Series or Index; repeats allowed).

    Returns
    -------
    pandas.Series
        Boolean, indexed like ``values``.
    """
    if not isinstance(candidates, (pd.Series, pd.Index, np.ndarray, list, tuple)):
        candidates = list(candidates)
    index = pd.Index(candidates).unique()
    if _is_arrow_text(values) and (_is_arrow_text(index) or pd.api.types.is_string_dtype(index.dtype)):
        try:
            value_set = pa.array(index.to_numpy(), type=pa.string(), from_pandas=True)
            found = pc.is_in(pa.array(values), value_set=value_set)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            pass  # candidates that are not all text: hash lookup below
        else:
            mask = np.asarray(found.to_numpy(zero_copy_only=False), dtype=bool)
            return pd.Series(mask, index=values.index, name=values.name)
    found = index.get_indexer(values) >= 0  # type: ignore[arg-type]  # pandas takes any array-like
    return pd.Series(found, index=values.index, name=values.name)


def _is_arrow_text(values: pd.Series | pd.Index) -> bool:
    return isinstance(values.dtype, pd.StringDtype) and values.dtype.storage == "pyarrow"


def _plain_numbers(values: pd.Series, *, thousands: bool) -> tuple[pd.Series, pd.Series] | None:
    """Fast path of :func:`parse_numbers` for Arrow-backed text of plain decimal numbers.

    Returns ``(numbers, blank)`` when every non-blank cell is a plain decimal number, else
    ``None`` (the caller then converts with pandas and reports the bad cells).
    """
    if not _is_arrow_text(values):
        return None
    text = pc.utf8_trim_whitespace(pa.array(values))
    if thousands:
        text = pc.replace_substring(text, ",", "")
    blank = pc.or_kleene(pc.is_null(text), pc.equal(text, ""))
    blank = pc.fill_null(blank, True)
    plain = pc.fill_null(pc.or_(blank, pc.match_substring_regex(text, _PLAIN_NUMBER)), False)
    if not pc.all(plain).as_py():
        return None
    try:
        numbers = pc.cast(pc.if_else(blank, pa.scalar(None, pa.string()), text), pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    as_float = np.asarray(numbers.to_numpy(zero_copy_only=False), dtype="float64")
    if not np.isfinite(as_float[~np.asarray(blank)]).all():
        return None  # overflow to infinity: let pandas decide
    return (
        pd.Series(as_float, index=values.index, name=values.name),
        pd.Series(np.asarray(blank, dtype=bool), index=values.index, name=values.name),
    )


def _cell(value: object) -> str:
    """A cell as shown in a message: text quoted (``'-5'``), a number plain (``-5``, not ``np.int64(-5)``)."""
    return repr(value.item() if isinstance(value, np.generic) else value)


def parse_numbers(
    frame: pd.DataFrame,
    column: str,
    *,
    problems: ProblemCollector,
    label: str | None = None,
    integer: bool = False,
    minimum: float | None = None,
    maximum: float | None = None,
    allow_blank: bool = False,
    thousands: bool = False,
) -> pd.Series:
    """Convert a text column to numbers, adding one problem per unusable cell.

    Surrounding spaces are accepted.

    Parameters
    ----------
    frame
        Table indexed by editor line number.
    column
        Column to convert.
    problems
        Collector receiving the problems (row = index label, column = ``label``).
    label
        Column name shown in messages (defaults to ``column``).
    integer
        Require whole numbers; the result is then ``Int64``.
    minimum
        Smallest allowed value, or ``None``.
    maximum
        Largest allowed value, or ``None`` (e.g. :data:`geodata.settings.MAX_POPULATION`
        for a population: a value of the right type can still be absurd).
    allow_blank
        Whether blank cells are allowed (they become missing values).
    thousands
        Accept thousands separators (``"1,749"``), as in published counts.

    Infinite values (``inf``, ``-inf``, or a number too large for a float) are bad cells.

    Returns
    -------
    pandas.Series
        ``float64`` (or ``Int64`` when ``integer``), missing where the cell was blank or bad.
    """
    shown = label if label is not None else str(column)
    values = frame[column]
    if pd.api.types.is_numeric_dtype(values):
        numbers = values.astype("float64")
        blank = numbers.isna()
        bad = pd.Series(False, index=frame.index)
    elif (fast := _plain_numbers(values, thousands=thousands)) is not None:
        numbers, blank = fast
        bad = pd.Series(False, index=frame.index)
    else:
        text = values.astype(str).str.strip()
        if thousands:
            text = text.str.replace(",", "", regex=False)
        blank = (text == "") | values.isna()
        numbers = pd.to_numeric(text.where(~blank), errors="coerce")
        bad = numbers.isna() & ~blank
    for row in frame.index[bad]:
        problems.add(f"{values.loc[row]!r} is not a number", row=int(row), column=shown)
    infinite = ~bad & ~blank & ~np.isfinite(numbers.to_numpy(dtype="float64"))
    for row in frame.index[infinite]:
        problems.add(f"{_cell(values.loc[row])} is not a finite number", row=int(row), column=shown)
    bad = bad | infinite
    if not allow_blank:
        for row in frame.index[blank]:
            problems.add(missing_value("a number"), row=int(row), column=shown)
    ok = ~bad & ~blank
    if integer:
        for row in frame.index[ok & (numbers % 1 != 0)]:
            problems.add(f"{_cell(values.loc[row])} is not a whole number", row=int(row), column=shown)
    if minimum is not None:
        for row in frame.index[ok & (numbers < minimum)]:
            problems.add(f"{_cell(values.loc[row])} is below the minimum {minimum:g}", row=int(row), column=shown)
    if maximum is not None:
        above = ok & (numbers > maximum)
        most = shown_limit(maximum)
        accepted = f"{shown_limit(minimum)} to {most}" if minimum is not None else f"at most {most}"
        for row in frame.index[above]:
            problems.add(
                f"{_cell(values.loc[row])} is above the maximum {most}, not a plausible value (accepted: {accepted})",
                row=int(row),
                column=shown,
            )
        ok = ok & ~above
    if integer:
        whole = numbers.where(ok & (numbers % 1 == 0))
        return whole.round().astype("Int64")
    return numbers.where(ok).astype("float64")


def normalise_codes(values: pd.Series) -> pd.Series:
    """Published codes (ODS practice codes, ONS LSOA codes) as they are defined: upper case, no spaces around.

    ``" f86007 "`` -> ``"F86007"``. Missing cells stay missing (never the text ``"nan"``);
    a blank cell stays ``""`` (:func:`check_filled` reports both).

    Parameters
    ----------
    values
        Codes as read (text, or numbers from a Parquet file).

    Returns
    -------
    pandas.Series
        Indexed like ``values``.
    """
    if not isinstance(values.dtype, pd.StringDtype):
        values = values.map(str, na_action="ignore")
    return values.str.strip().str.upper()


def missing_value(need: str) -> str:
    """The problem said of a blank cell where ``need`` (``"a number"``, ``"a code"``) is required."""
    return f"missing value ({need} is required)"


def check_filled(
    frame: pd.DataFrame, column: str, *, problems: ProblemCollector, label: str | None = None, need: str = "a value"
) -> pd.Series:
    """Add one problem per blank cell of ``column`` (empty, spaces only or missing).

    Parameters
    ----------
    frame
        Table indexed by editor line number.
    column
        Column that must be filled.
    problems
        Collector receiving the problems (row = index label, column = ``label``).
    label
        Column name shown in messages (defaults to ``column``).
    need
        What the cell must hold, as :func:`missing_value` says it.

    Returns
    -------
    pandas.Series
        Boolean mask of the blank cells, indexed like ``frame``.
    """
    values = frame[column]
    text = values if isinstance(values.dtype, pd.StringDtype) else values.map(str, na_action="ignore")
    blank = (text.isna() | (text.str.strip() == "")).fillna(True).astype(bool)
    shown = label if label is not None else str(column)
    for row in frame.index[blank]:
        problems.add(missing_value(need), row=int(row), column=shown)
    return blank


def parse_dates(
    frame: pd.DataFrame,
    column: str,
    *,
    problems: ProblemCollector,
    fmt: str,
    label: str | None = None,
    allow_blank: bool = True,
) -> pd.Series:
    """Convert a text column of dates in format ``fmt``, adding one problem per bad cell.

    Parameters
    ----------
    frame
        Table indexed by editor line number.
    column
        Column to convert.
    problems
        Collector receiving the problems.
    fmt
        :func:`datetime.datetime.strptime` format, e.g. ``"%Y%m%d"``.
    label
        Column name shown in messages (defaults to ``column``).
    allow_blank
        Whether blank cells are allowed (they become ``NaT``).

    Returns
    -------
    pandas.Series
        ``datetime64`` values, ``NaT`` where blank or bad.
    """
    shown = label if label is not None else str(column)
    text = frame[column].astype(str).str.strip()
    blank = text == ""
    dates = pd.to_datetime(text.where(~blank), format=fmt, errors="coerce")
    for row in frame.index[dates.isna() & ~blank]:
        problems.add(f"{text.loc[row]!r} is not a date in the form {fmt}", row=int(row), column=shown)
    if not allow_blank:
        for row in frame.index[blank]:
            problems.add("missing date", row=int(row), column=shown)
    return dates


def to_bng(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Return ``frame`` in British National Grid (a no-op when it already is)."""
    if frame.crs is not None and frame.crs.equals(BNG):
        return frame
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # pyproj on empty frames
        return frame.to_crs(BNG)


def snake_case(name: str) -> str:
    """Tidy column name: ``"Persons_65+"`` -> ``"persons_65_plus"``, ``"(0-15)"`` -> ``"0_15"``.

    Parameters
    ----------
    name
        Published column name.

    Returns
    -------
    str
    """
    text = str(name).replace("+", "_plus").replace("&", "_and_")
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", text)
    text = re.sub(r"[^0-9A-Za-z]+", "_", text)
    return text.strip("_").lower()


def few(items: Iterable[object], limit: int = _SHOWN) -> str:
    """``"a, b, c"`` for up to ``limit`` items, then ``"... (N in all)"``."""
    texts = [str(i) for i in items]
    shown = ", ".join(texts[:limit])
    return shown if len(texts) <= limit else f"{shown}, ... ({len(texts):,} in all)"


def _listing(columns: Iterable[object]) -> str:
    return few((str(c) for c in columns), limit=30)
