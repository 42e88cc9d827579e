"""On-disk cache of computed arrays (travel-time matrices), keyed by content hashes.

An entry is two files in ``cache_dir()/<namespace>/``: ``<key>.npz`` (the arrays, no
pickles) and ``<key>.json`` (small metadata, including the SHA-256 of the ``.npz`` bytes).
Both are written atomically (temporary file in the same folder, then :func:`os.replace`),
the ``.json`` last, so a reader never sees half an entry. An entry that cannot be read back
exactly (truncated, edited, wrong shapes) is reported with a log warning and treated as a
miss, so the caller recomputes and overwrites it.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import tempfile
import zipfile
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from geodata.settings import cache_dir

__all__ = ["CacheEntry", "hash_parts", "hash_ids", "load_arrays", "save_arrays", "entry_paths"]

logger = logging.getLogger(__name__)

#: Bumped whenever the layout of cache entries changes; part of every entry's metadata.
CACHE_FORMAT = 1


@dataclass(frozen=True)
class CacheEntry:
    """Arrays and metadata read back from the cache.

    Parameters
    ----------
    arrays
        Name -> array, exactly as saved.
    meta
        The JSON metadata saved with the arrays.
    """

    arrays: dict[str, np.ndarray]
    meta: dict[str, Any]


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
    """Store arrays and JSON metadata under ``key``, atomically.

    A cache that cannot be written (read-only folder, full disk) is not an error: it is
    logged and ``False`` is returned.

    Parameters
    ----------
    key
        Hex digest naming the entry.
    arrays
        Numeric arrays to store (object arrays are refused by :func:`numpy.savez`'s
        pickle-free reader, so do not pass them).
    meta
        JSON-serialisable metadata.
    namespace
        Sub-folder of the cache folder.

    Returns
    -------
    bool
        ``True`` when the entry was written.
    """
    npz_path, json_path = entry_paths(key, namespace=namespace)
    buffer = io.BytesIO()
    np.savez(buffer, **{name: np.asarray(a) for name, a in arrays.items()})
    blob = buffer.getvalue()
    record = {
        "format": CACHE_FORMAT,
        "key": key,
        "npz_sha256": hashlib.sha256(blob).hexdigest(),
        "arrays": {name: [np.asarray(a).dtype.str, list(np.shape(a))] for name, a in arrays.items()},
        "meta": dict(meta),
    }
    try:
        _atomic_write(npz_path, blob)
        _atomic_write(json_path, json.dumps(record, indent=1, sort_keys=True).encode("utf-8"))
    except OSError as exc:
        logger.warning("could not write cache entry %s (%s); continuing without cache", npz_path, exc)
        return False
    logger.debug("cache entry written: %s", npz_path)
    return True


def load_arrays(key: str, *, namespace: str = "travel") -> CacheEntry | None:
    """Read the entry saved under ``key``.

    Parameters
    ----------
    key
        Hex digest naming the entry.
    namespace
        Sub-folder of the cache folder.

    Returns
    -------
    CacheEntry or None
        ``None`` when there is no entry, or when it is damaged (then a warning is logged
        and the caller is expected to recompute and overwrite it).
    """
    npz_path, json_path = entry_paths(key, namespace=namespace)
    if not json_path.exists() and not npz_path.exists():
        return None
    try:
        record = json.loads(json_path.read_text(encoding="utf-8"))
        if record.get("format") != CACHE_FORMAT or record.get("key") != key:
            raise ValueError("format or key mismatch")
        blob = npz_path.read_bytes()
        if hashlib.sha256(blob).hexdigest() != record["npz_sha256"]:
            raise ValueError("checksum mismatch")
        expected = record["arrays"]
        with np.load(io.BytesIO(blob), allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
        if set(arrays) != set(expected):
            raise ValueError("array names differ from the metadata")
        for name, (dtype, shape) in expected.items():
            if arrays[name].dtype.str != dtype or list(arrays[name].shape) != shape:
                raise ValueError(f"array {name!r} has the wrong dtype or shape")
    except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile) as exc:
        logger.warning("travel-time cache entry %s is damaged (%s); recomputing", npz_path.name, exc)
        return None
    return CacheEntry(arrays=arrays, meta=record["meta"])
