"""On-disk cache of computed results, keyed by content hashes.

An entry in ``cache_dir()/<namespace>/`` (see :func:`geodata.settings.cache_dir`) is
``<key>.npz`` (arrays, no pickles), one ``<key>.<name>.parquet`` per table (GeoParquet for
GeoDataFrames, so geometry and CRS travel with it) and ``<key>.json`` listing every part
with its SHA-256 — :func:`save_entry`, :func:`load_entry`. Travel-time matrices are
arrays only (:func:`save_arrays`, :func:`load_arrays`); a whole built problem has tables
too.

Every part is written atomically (temporary file in the same folder, then
:func:`os.replace`), the ``.json`` last, so a reader never sees half an entry. An entry
that cannot be read back exactly (missing part, truncated, edited, wrong shapes, a part
from another write) is reported with a log warning and treated as a miss: the caller
recomputes and overwrites it. A cache that cannot be written is logged, never an error.

Input files are identified by content (:func:`file_digest`, SHA-256; a folder read as one
input by the digests of the files read from it, :func:`folder_digest`), never by name or date alone: a
file replaced by another with the same name, or restored with an old date, is seen as
changed. Hashing every input on every call would cost about 1 ms per MB, so
the digest is remembered against the file's *stat key* (path, device, inode, size,
modification and status-change times in nanoseconds), in memory and under
``cache_dir()/digests``. Any write to a file changes its status-change time (which, unlike
the modification time, user tools cannot set back), so a changed file always gets a new
stat key and is hashed again. One race remains: a file rewritten within the timestamp
granularity of its file system right after it was hashed. As git does for its index
("racily clean" entries), a digest is only remembered once the file's times are
:data:`SETTLE_S` seconds in the past; a younger file is hashed on every call.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import re
import tempfile
import time
import zipfile
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa

from geodata.postcodes import codepoint_folder_files
from geodata.settings import cache_dir

__all__ = [
    "CacheEntry",
    "SETTLE_S",
    "hash_parts",
    "hash_ids",
    "file_digest",
    "folder_digest",
    "input_digest",
    "load_arrays",
    "save_arrays",
    "load_entry",
    "save_entry",
    "entry_paths",
]

logger = logging.getLogger(__name__)

#: Bumped whenever the layout of cache entries changes; part of every entry's metadata.
CACHE_FORMAT = 2
#: Seconds a file must have been left alone before its digest is remembered by stat key.
SETTLE_S = 2.0

_HEX64 = re.compile(r"[0-9a-f]{64}")
#: Digests remembered in this process: stat key -> SHA-256.
_DIGESTS: dict[str, str] = {}


@dataclass(frozen=True)
class CacheEntry:
    """Arrays and metadata read back from the cache.

    Parameters
    ----------
    arrays
        Name -> array, exactly as saved.
    meta
        The JSON metadata saved with the arrays.
    frames
        Name -> (Geo)DataFrame, for entries written by :func:`save_entry`.
    """

    arrays: dict[str, np.ndarray]
    meta: dict[str, Any]
    frames: dict[str, pd.DataFrame] = field(default_factory=dict)


def hash_parts(*parts: bytes | str | np.ndarray) -> str:
    """SHA-256 (hex) of several parts, each length-prefixed so that boundaries matter.

    Parameters
    ----------
    *parts
        Bytes, text (UTF-8 encoded) or numpy arrays (dtype, shape and C-ordered bytes).

    Returns
    -------
    str
        64 hexadecimal characters.
    """
    digest = hashlib.sha256()
    for part in parts:
        if isinstance(part, np.ndarray):
            arr = np.ascontiguousarray(part)
            header = f"{arr.dtype.str}{arr.shape}".encode()
            blob = arr.tobytes()
            digest.update(len(header).to_bytes(8, "little") + header)
        elif isinstance(part, str):
            blob = part.encode("utf-8")
        else:
            blob = bytes(part)
        digest.update(len(blob).to_bytes(8, "little"))
        digest.update(blob)
    return digest.hexdigest()


def hash_ids(ids: Iterable[Hashable]) -> str:
    """SHA-256 (hex) of a sequence of identifiers, sensitive to order, value and type.

    Integer identifiers are hashed as an ``int64`` array (fast for 100k node ids); anything
    else through ``repr`` so that ``1`` and ``"1"`` differ.

    Parameters
    ----------
    ids
        Identifiers (numpy scalars are converted to Python scalars first).

    Returns
    -------
    str
        64 hexadecimal characters.
    """
    items = [i.item() if isinstance(i, np.generic) else i for i in ids]
    if items and all(type(i) is int for i in items):
        try:
            return hash_parts("int64", np.asarray(items, dtype=np.int64))
        except OverflowError:
            pass
    return hash_parts("repr", "\x1f".join(repr(i) for i in items))


def entry_paths(key: str, *, namespace: str = "travel") -> tuple[Path, Path]:
    """Paths of the ``.npz`` and ``.json`` files of a cache entry.

    Parameters
    ----------
    key
        Hex digest naming the entry.
    namespace
        Sub-folder of :func:`geodata.settings.cache_dir`.

    Returns
    -------
    tuple of Path
        ``(npz_path, json_path)``.
    """
    folder = cache_dir() / namespace
    return folder / f"{key}.npz", folder / f"{key}.json"


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def save_arrays(
    key: str,
    arrays: Mapping[str, np.ndarray],
    meta: Mapping[str, Any],
    *,
    namespace: str = "travel",
) -> bool:
    """Store arrays and JSON metadata under ``key``: :func:`save_entry` without tables."""
    return save_entry(key, arrays=arrays, meta=meta, namespace=namespace)


def load_arrays(key: str, *, namespace: str = "travel") -> CacheEntry | None:
    """Read an entry of :func:`save_arrays` (see :func:`load_entry`)."""
    return load_entry(key, namespace=namespace)


# ---------------------------------------------------------------------------- file digests
def file_digest(path: str | Path, *, cache: bool = True) -> str:
    """SHA-256 (hex) of a file's bytes, remembered by stat key (see the module notes).

    Parameters
    ----------
    path
        An existing file.
    cache
        Look the digest up (and remember it) by stat key, in memory and under
        ``cache_dir()/digests``. ``False`` always reads and hashes the whole file.

    Returns
    -------
    str
        64 hexadecimal characters.

    Raises
    ------
    OSError
        If the file cannot be read (e.g. it does not exist).
    """
    path = Path(path)
    if not cache:
        return _hash_file(path)
    st = path.stat()
    stat_key = "\x1f".join(
        str(x) for x in (path.resolve(), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    )
    known = _DIGESTS.get(stat_key)
    if known is not None:
        return known
    record = cache_dir() / "digests" / f"{hash_parts(stat_key)}.txt"
    try:
        known = record.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        known = None
    if known is not None and _HEX64.fullmatch(known):
        _DIGESTS[stat_key] = known
        return known
    digest = _hash_file(path)
    settled = time.time_ns() - max(st.st_mtime_ns, st.st_ctime_ns) > SETTLE_S * 1e9
    if settled:
        _DIGESTS[stat_key] = digest
        try:
            _atomic_write(record, digest.encode("ascii"))
        except OSError as exc:
            logger.debug("could not remember the digest of %s (%s)", path, exc)
    return digest


def _hash_file(path: Path) -> str:
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def folder_digest(path: str | Path, *, cache: bool = True) -> str:
    """SHA-256 (hex) of a folder read as one input: the relative path and :func:`file_digest` of each file read.

    The files are those its reader reads, in sorted order: Code-Point Open unpacked is the
    only input that may be a folder, so they are
    :func:`geodata.postcodes.codepoint_folder_files` (its area files and column headers
    file), the one list :func:`geodata.postcodes.read_codepoint` reads too. A file read
    that is added, removed, renamed or changed changes the digest; any other file of the
    folder (a ``.DS_Store``, a README, a PDF of documentation) does not.

    Parameters
    ----------
    path
        An existing folder.
    cache
        Passed to :func:`file_digest` for each file.

    Returns
    -------
    str
        64 hexadecimal characters.

    Raises
    ------
    OSError
        If a file cannot be read.
    InputDataError
        If the folder or one of its sub-folders cannot be listed, or its files are not
        what the reader accepts (see :func:`geodata.postcodes.codepoint_folder_files`).
    """
    path = Path(path)
    files = codepoint_folder_files(path)
    return hash_parts(*(part for rel in files for part in (rel, file_digest(path / rel, cache=cache))))


def input_digest(path: str | Path, *, cache: bool = True) -> str | None:
    """The digest of an input: :func:`file_digest` of a file, :func:`folder_digest` of a folder.

    Parameters
    ----------
    path
        A file, or a folder read as one input (e.g. Code-Point Open unpacked).
    cache
        Passed to :func:`file_digest`.

    Returns
    -------
    str or None
        64 hexadecimal characters; ``None`` when ``path`` is neither a file nor a folder
        (e.g. it does not exist).

    Raises
    ------
    OSError
        If a file cannot be read.
    InputDataError
        If a folder cannot be listed, or its files are not what its reader accepts
        (see :func:`folder_digest`).
    """
    path = Path(path)
    if path.is_file():
        return file_digest(path, cache=cache)
    if path.is_dir():
        return folder_digest(path, cache=cache)
    return None


# ---------------------------------------------------------------------------- arrays and tables
def _part_path(key: str, name: str, *, namespace: str) -> Path:
    return cache_dir() / namespace / f"{key}.{name}.parquet"


def save_entry(
    key: str,
    *,
    arrays: Mapping[str, np.ndarray] | None = None,
    frames: Mapping[str, pd.DataFrame] | None = None,
    meta: Mapping[str, Any] | None = None,
    namespace: str,
) -> bool:
    """Store arrays, tables and JSON metadata under ``key``, atomically.

    Parameters
    ----------
    key
        Hex digest naming the entry.
    arrays
        Numeric or fixed-width text arrays (no object arrays).
    frames
        Name (letters, digits, ``_``, ``-``) -> DataFrame or GeoDataFrame. Stored as
        (Geo)Parquet with their index; dtypes, geometry and CRS are kept.
    meta
        JSON-serialisable metadata.
    namespace
        Sub-folder of the cache folder.

    Returns
    -------
    bool
        ``True`` when the entry was written; ``False`` (logged) when the cache could not
        be written.
    """
    npz_path, json_path = entry_paths(key, namespace=namespace)
    arrays = {name: np.asarray(a) for name, a in (arrays or {}).items()}
    parts: dict[str, bytes] = {}
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)  # type: ignore[arg-type]  # the stub takes the arrays for allow_pickle
    parts[npz_path.name] = buffer.getvalue()
    tables: dict[str, dict[str, Any]] = {}
    for name, frame in (frames or {}).items():
        if not re.fullmatch(r"[A-Za-z0-9_-]+", name):
            raise ValueError(f"cache table name {name!r} must be letters, digits, '_' or '-'")
        buffer = io.BytesIO()
        try:
            frame.to_parquet(buffer)
        except (ValueError, TypeError, pa.ArrowException) as exc:  # e.g. an object column of mixed types
            logger.warning("table %r cannot be cached (%s); continuing without cache", name, exc)
            return False
        part = _part_path(key, name, namespace=namespace).name
        parts[part] = buffer.getvalue()
        tables[name] = {"file": part, "geo": isinstance(frame, gpd.GeoDataFrame)}
    record = {
        "format": CACHE_FORMAT,
        "key": key,
        "parts": {part: hashlib.sha256(blob).hexdigest() for part, blob in parts.items()},
        "npz": npz_path.name,
        "arrays": {name: [a.dtype.str, list(a.shape)] for name, a in arrays.items()},
        "frames": tables,
        "meta": dict(meta or {}),
    }
    try:
        for part, blob in parts.items():
            _atomic_write(npz_path.parent / part, blob)
        _atomic_write(json_path, json.dumps(record, indent=1, sort_keys=True).encode("utf-8"))
    except OSError as exc:
        logger.warning("could not write cache entry %s (%s); continuing without cache", json_path, exc)
        return False
    for stale in json_path.parent.glob(f"{key}.*.parquet"):  # tables of an earlier entry
        if stale.name not in parts:
            stale.unlink(missing_ok=True)
    logger.debug("cache entry written: %s (%d parts)", json_path, len(parts))
    return True


def load_entry(key: str, *, namespace: str) -> CacheEntry | None:
    """Read the entry :func:`save_entry` wrote under ``key``.

    Parameters
    ----------
    key
        Hex digest naming the entry.
    namespace
        Sub-folder of the cache folder.

    Returns
    -------
    CacheEntry or None
        ``None`` when there is no entry, or when any part of it is missing or damaged
        (then a warning is logged and the caller is expected to recompute it).
    """
    npz_path, json_path = entry_paths(key, namespace=namespace)
    if not json_path.exists():
        return None
    try:
        record = json.loads(json_path.read_text(encoding="utf-8"))
        if isinstance(record, dict) and record.get("key") == key and record.get("format") != CACHE_FORMAT:
            logger.info("cache entry %s/%s was written by another version; recomputing", namespace, json_path.name)
            return None
        if record.get("format") != CACHE_FORMAT or record.get("key") != key:
            raise ValueError("format or key mismatch")
        blobs = {}
        for part, digest in record["parts"].items():
            if Path(part).name != part or not part.startswith(f"{key}."):
                raise ValueError(f"unexpected part name {part!r}")
            blob = (json_path.parent / part).read_bytes()
            if hashlib.sha256(blob).hexdigest() != digest:
                raise ValueError(f"checksum mismatch in {part}")
            blobs[part] = blob
        with np.load(io.BytesIO(blobs[record["npz"]]), allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
        expected = record["arrays"]
        if set(arrays) != set(expected):
            raise ValueError("array names differ from the metadata")
        for name, (dtype, shape) in expected.items():
            if arrays[name].dtype.str != dtype or list(arrays[name].shape) != shape:
                raise ValueError(f"array {name!r} has the wrong dtype or shape")
        frames = {}
        for name, table in record["frames"].items():
            source = io.BytesIO(blobs[table["file"]])
            frames[name] = gpd.read_parquet(source) if table["geo"] else pd.read_parquet(source)
    except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile, pa.ArrowException) as exc:
        logger.warning("cache entry %s/%s is damaged (%s); recomputing", namespace, json_path.name, exc)
        return None
    return CacheEntry(arrays=arrays, meta=record["meta"], frames=frames)
