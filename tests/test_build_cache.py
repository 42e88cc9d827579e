"""The on-disk cache of built problems (:mod:`catchment.build`) and its building blocks.

A second build of an unchanged scenario is read from the cache and gives the very same
problem; a changed input file, a damaged entry or ``cache=False`` make it read the files
again. Every test has its own empty cache folder (``tests/conftest.py``).
"""

from __future__ import annotations

import hashlib
import logging
import os
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point

from catchment import build as build_module
from catchment.build import BUILD_CACHE_NAMESPACE, BuiltProblem, build_from_scenario
from catchment.scenario import Scenario, parse_scenario, read_toml
from geodata import cache as gc
from geodata import tables as v
from geodata.errors import DataWarning, ProblemCollector
from geodata.postcodes import codepoint_folder_files
from geodata.settings import cache_dir

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
#: A practice of NHS Redbridge CCG (08N) and its published list size (January 2021).
PRACTICE, LIST_SIZE = "F86007", 12954


def _scenario(name: str = "redbridge.toml", **changes: dict) -> Scenario:
    """A scenario of ``scenarios/`` with some of its tables updated."""
    raw = read_toml(SCENARIOS / name)
    for section, values in changes.items():
        raw[section] = {**raw.get(section, {}), **values}
    return parse_scenario(raw, source=name)


def _entries() -> list[Path]:
    folder = cache_dir() / BUILD_CACHE_NAMESPACE
    return sorted(folder.glob("*.json")) if folder.is_dir() else []


def _count_reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the builds that read the data files (cache misses)."""
    calls: list[int] = []
    real = build_module._build_data

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(build_module, "_build_data", counting)
    return calls


def assert_same_build(a: BuiltProblem, b: BuiltProblem) -> None:
    pa_, pb = a.problem, b.problem
    for name in (
        "unit_ids",
        "unit_type",
        "site_ids",
        "site_names",
        "site_types",
        "site_status",
        "options",
        "groups",
        "adjacency",
        "site_unit",
        "unit_names",
        "travel_source",
        "travel_label",
        "rules",
        "objective",
    ):
        assert getattr(pa_, name) == getattr(pb, name), name
    for name in ("population", "travel_min", "deprivation"):
        x, y = getattr(pa_, name), getattr(pb, name)
        assert (x is None) == (y is None), name
        if x is not None:
            assert x.dtype == y.dtype and np.array_equal(x, y), name
    for name in ("units", "sites", "areas", "registrations", "boundaries"):
        x, y = getattr(a, name), getattr(b, name)
        assert (x is None) == (y is None), name
        if x is not None:
            pd.testing.assert_frame_equal(x, y, check_exact=True)
    assert a.travel_description == b.travel_description
    assert dict(a.input_files) == dict(b.input_files)


@pytest.fixture(scope="module")
def reference(real_data) -> BuiltProblem:
    """Redbridge practices built straight from the files."""
    return build_from_scenario(_scenario(), data_dir=real_data, cache=False)


# ---------------------------------------------------------------------------- built problems
def test_second_build_is_read_from_cache(real_data, reference, monkeypatch, caplog):
    reads = _count_reads(monkeypatch)
    first = build_from_scenario(_scenario(), data_dir=real_data)
    assert len(reads) == 1 and len(_entries()) == 1
    with caplog.at_level(logging.INFO, logger="catchment.build_cache"):
        second = build_from_scenario(_scenario(), data_dir=real_data)
    assert len(reads) == 1, "the second build read the data files again"
    assert "read from cache" in caplog.text
    assert_same_build(first, reference)
    assert_same_build(second, reference)
    assert second.problem.n_units == 42 and second.problem.total_population == 337_420


def test_lsoa_build_keeps_adjacency_and_hosts(real_data, monkeypatch):
    reads = _count_reads(monkeypatch)
    scenario = _scenario("redbridge-lsoa.toml")
    first = build_from_scenario(scenario, data_dir=real_data)
    second = build_from_scenario(scenario, data_dir=real_data)
    assert len(reads) == 1
    assert_same_build(first, second)
    assert second.problem.n_units == 161 and len(second.problem.adjacency) > 161
    assert all(s is not None for s in second.problem.site_unit)
    assert second.areas is second.units


def test_rules_are_not_part_of_the_entry(real_data, monkeypatch):
    reads = _count_reads(monkeypatch)
    build_from_scenario(_scenario(), data_dir=real_data)
    lower = build_from_scenario(_scenario(rules={"floor": 40_000}), data_dir=real_data)
    assert len(reads) == 1
    assert lower.problem.rules.floor == 40_000
    moved = build_from_scenario(_scenario(sites={"largest_practices": 5}), data_dir=real_data)
    assert len(reads) == 2, "a change of candidate sites must read the data again"
    assert moved.problem.n_sites < lower.problem.n_sites


def test_cache_off_reads_the_files_and_writes_nothing(real_data, reference, monkeypatch):
    reads = _count_reads(monkeypatch)
    build_from_scenario(_scenario(), data_dir=real_data)
    assert len(reads) == 1
    written = sorted(p.name for p in cache_dir().rglob("*"))
    again = build_from_scenario(_scenario(), data_dir=real_data, cache=False)
    assert len(reads) == 2, "cache=False used the cache"
    assert sorted(p.name for p in cache_dir().rglob("*")) == written
    assert_same_build(again, reference)


def test_changed_input_file_invalidates_the_entry(real_data, tmp_path, monkeypatch):
    sizes = tmp_path / "list-sizes.csv"
    sizes.write_bytes((real_data / "england/gp-reg-pat-prac-all_2021-01.csv").read_bytes())
    scenario = _scenario(data={"list_sizes": str(sizes)})
    reads = _count_reads(monkeypatch)
    before = build_from_scenario(scenario, data_dir=real_data)
    position = before.problem.unit_index(PRACTICE)
    assert before.problem.population[position] == LIST_SIZE

    text = sizes.read_text()
    old_row = f",{PRACTICE},IG7 4DF,ALL,ALL,{LIST_SIZE}\n"
    assert text.count(old_row) == 1
    sizes.write_text(text.replace(old_row, f",{PRACTICE},IG7 4DF,ALL,ALL,{LIST_SIZE + 1000}\n"))
    after = build_from_scenario(scenario, data_dir=real_data)
    assert len(reads) == 2, "the changed list-size file was not read again"
    assert after.problem.population[position] == LIST_SIZE + 1000
    assert after.input_files[str(sizes)] == hashlib.sha256(sizes.read_bytes()).hexdigest()

    again = build_from_scenario(scenario, data_dir=real_data)
    assert len(reads) == 2
    assert again.problem.population[position] == LIST_SIZE + 1000


def _truncate_units_table(entry: Path) -> None:
    part = entry.with_name(entry.name.replace(".json", ".units.parquet"))
    part.write_bytes(part.read_bytes()[:100])


def _garble_metadata(entry: Path) -> None:
    entry.write_text("{not json")


def _drop_arrays(entry: Path) -> None:
    entry.with_suffix(".npz").unlink()


@pytest.mark.parametrize("damage", [_truncate_units_table, _garble_metadata, _drop_arrays])
def test_damaged_entry_is_rebuilt(real_data, reference, monkeypatch, caplog, damage):
    reads = _count_reads(monkeypatch)
    build_from_scenario(_scenario(), data_dir=real_data)
    (entry,) = _entries()
    damage(entry)
    with caplog.at_level(logging.WARNING):
        rebuilt = build_from_scenario(_scenario(), data_dir=real_data)
    assert len(reads) == 2
    assert "damaged" in caplog.text
    assert_same_build(rebuilt, reference)
    assert_same_build(build_from_scenario(_scenario(), data_dir=real_data), reference)
    assert len(reads) == 2, "the rebuilt entry was not written back"


def test_warnings_are_raised_again_on_a_hit(real_data, monkeypatch):
    real = build_module._build_data

    def warning_build(*args, **kwargs):
        data = real(*args, **kwargs)
        warnings.warn("3 practice(s) left out, no coordinates", DataWarning, stacklevel=1)
        return data

    monkeypatch.setattr(build_module, "_build_data", warning_build)
    with pytest.warns(DataWarning, match="3 practice"):
        build_from_scenario(_scenario(), data_dir=real_data)

    def no_build(*args, **kwargs):
        raise AssertionError("the data files were read again")

    monkeypatch.setattr(build_module, "_build_data", no_build)
    with pytest.warns(DataWarning, match="3 practice"):
        build_from_scenario(_scenario(), data_dir=real_data)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)
        with pytest.raises(DataWarning, match="3 practice"):
            build_from_scenario(_scenario(), data_dir=real_data)


def test_logged_data_warnings_are_logged_again_on_a_hit(real_data, tmp_path, monkeypatch, caplog):
    # the list-size file without the row of PRACTICE: its PCN names it as not an open practice
    sizes = tmp_path / "list-sizes.csv"
    lines = (real_data / "england/gp-reg-pat-prac-all_2021-01.csv").read_text().splitlines(keepends=True)
    kept = [line for line in lines if f",{PRACTICE}," not in line]
    assert len(kept) == len(lines) - 1
    sizes.write_text("".join(kept))
    raw = read_toml(SCENARIOS / "redbridge.toml")
    raw["units"] = {"type": "practice", "pcn": ["U03653", "U51307"]}
    raw["rules"] = {"floor": 10_000}
    raw["data"] = {"list_sizes": str(sizes)}
    scenario = parse_scenario(raw, source="redbridge-pcns.toml")
    reads = _count_reads(monkeypatch)
    message = "1 practice(s) of PCN U03653, U51307 are not open practices with a list size"
    for build in ("first", "second"):
        caplog.clear()
        with caplog.at_level(logging.INFO):
            build_from_scenario(scenario, data_dir=real_data)
        shown = [r for r in caplog.records if message in r.getMessage() and r.getMessage().endswith(PRACTICE)]
        assert len(shown) == 1, f"the {build} build did not log the warning once"
        assert (shown[0].name, shown[0].levelno) == ("geodata.practices", logging.WARNING)
    assert len(reads) == 1 and "read from cache" in caplog.text


def test_builds_in_two_threads_store_only_their_own_warnings(monkeypatch):
    """Two builds at once (the workbench serves requests in threads): each entry keeps its own warnings.

    Python's warning capture is process-wide, so the second build waits for the first: with
    both inside at once, the first one's exit restored the warning state the second was
    recording with, and the second build's warning was lost from its entry.
    """
    import threading

    from catchment import build_cache

    stored: dict[str, tuple[list[str], list[str]]] = {}
    monkeypatch.setattr(
        build_cache,
        "_store_built_data",
        lambda key, scenario, data, records, logged: stored.__setitem__(
            key, ([r["message"] for r in records], [r["message"] for r in logged])
        ),
    )
    a_inside, a_may_finish, b_inside = threading.Event(), threading.Event(), threading.Event()

    def work(name: str) -> object:
        if name == "A":
            a_inside.set()
            a_may_finish.wait(timeout=30)
        else:
            b_inside.set()
        warnings.warn(f"data warning of build {name}", UserWarning, stacklevel=1)
        logging.getLogger("geodata.practices").warning("warning of build %s", name)
        return object()

    def build(name: str) -> None:
        build_cache.build_and_store(_scenario(), name, lambda: work(name))

    with warnings.catch_warnings():  # the builds re-issue their warnings: not this test's output
        warnings.simplefilter("ignore")
        first = threading.Thread(target=build, args=("A",))
        first.start()
        assert a_inside.wait(timeout=30)
        second = threading.Thread(target=build, args=("B",))
        second.start()
        b_started_early = b_inside.wait(timeout=1.0)  # it waits for A (without the lock it starts at once)
        a_may_finish.set()
        for thread in (first, second):
            thread.join(timeout=60)
    assert not b_started_early
    assert stored == {
        "A": (["data warning of build A"], ["warning of build A"]),
        "B": (["data warning of build B"], ["warning of build B"]),
    }


def test_unwritable_cache_folder_is_not_an_error(real_data, reference, tmp_path, monkeypatch, caplog):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    monkeypatch.setenv("CATCHMENT_CACHE_DIR", str(blocker))
    with caplog.at_level(logging.WARNING, logger="geodata.cache"):
        built = build_from_scenario(_scenario(), data_dir=real_data)
    assert "could not write cache entry" in caplog.text
    assert_same_build(built, reference)


# ---------------------------------------------------------------------------- building blocks
def test_entry_round_trip_and_tampering(caplog):
    frame = gpd.GeoDataFrame(
        {"code": pd.Series(["a", "b"], dtype="str"), "size": pd.array([3, None], dtype="Int64")},
        geometry=[Point(530_000, 180_000), Point(531_000, 181_000)],
        crs="EPSG:27700",
    )
    table = pd.DataFrame({"x": [1.5, np.nan]})
    arrays = {"minutes": np.arange(6, dtype=float).reshape(2, 3)}
    assert gc.save_entry("k1", arrays=arrays, frames={"points": frame, "plain": table}, meta={"n": 2}, namespace="t")
    entry = gc.load_entry("k1", namespace="t")
    assert entry is not None and entry.meta == {"n": 2}
    np.testing.assert_array_equal(entry.arrays["minutes"], arrays["minutes"])
    pd.testing.assert_frame_equal(entry.frames["points"], frame)
    pd.testing.assert_frame_equal(entry.frames["plain"], table)
    assert entry.frames["points"].crs.to_epsg() == 27700

    part = cache_dir() / "t" / "k1.points.parquet"
    blob = bytearray(part.read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    part.write_bytes(bytes(blob))
    with caplog.at_level(logging.WARNING, logger="geodata.cache"):
        assert gc.load_entry("k1", namespace="t") is None
    assert "checksum mismatch" in caplog.text
    assert gc.load_entry("missing", namespace="t") is None


def test_entry_of_another_format_is_a_quiet_miss(caplog):
    assert gc.save_arrays("k2", {"a": np.arange(3.0)}, {"n": 1}, namespace="t")
    entry = gc.load_arrays("k2", namespace="t")
    assert entry is not None and entry.meta == {"n": 1} and entry.frames == {}
    path = cache_dir() / "t" / "k2.json"
    path.write_text(
        path.read_text(encoding="utf-8").replace(f'"format": {gc.CACHE_FORMAT}', '"format": 1'), encoding="utf-8"
    )
    with caplog.at_level(logging.INFO, logger="geodata.cache"):
        assert gc.load_arrays("k2", namespace="t") is None
    assert "another version" in caplog.text and "damaged" not in caplog.text


def test_file_digest_is_the_content_hash(tmp_path, monkeypatch):
    monkeypatch.setattr(gc, "_DIGESTS", {})
    path = tmp_path / "data.csv"
    path.write_bytes(b"a,b\n1,2\n")
    assert gc.file_digest(path) == hashlib.sha256(b"a,b\n1,2\n").hexdigest()
    assert gc.file_digest(path, cache=False) == hashlib.sha256(b"a,b\n1,2\n").hexdigest()
    # a file changed a moment ago is not remembered (its times may not have moved yet)
    assert not (cache_dir() / "digests").exists()


def test_file_digest_remembered_by_stat_key(tmp_path, monkeypatch):
    monkeypatch.setattr(gc, "_DIGESTS", {})
    monkeypatch.setattr(gc, "SETTLE_S", -1.0)  # every file counts as settled
    path = tmp_path / "data.csv"
    path.write_bytes(b"a,b\n1,2\n")
    first = gc.file_digest(path)
    (record,) = (cache_dir() / "digests").glob("*.txt")
    assert record.read_text() == first

    # same size, new content, new modification time: hashed again
    st = path.stat()
    path.write_bytes(b"a,b\n3,4\n")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    assert gc.file_digest(path) == hashlib.sha256(b"a,b\n3,4\n").hexdigest()

    # a garbled record (and nothing in memory) is not trusted
    monkeypatch.setattr(gc, "_DIGESTS", {})
    for other in (cache_dir() / "digests").glob("*.txt"):
        other.write_text("not a digest")
    assert gc.file_digest(path) == hashlib.sha256(b"a,b\n3,4\n").hexdigest()


def test_folder_digest_changes_with_any_of_its_files(tmp_path, monkeypatch):
    """A folder read as one input (Code-Point Open unpacked) had no digest: its changes went unseen."""
    monkeypatch.setattr(gc, "_DIGESTS", {})
    monkeypatch.setattr(gc, "SETTLE_S", -1.0)  # digests remembered by stat key, as for settled files
    folder = tmp_path / "codepo_gb"
    (folder / "Data/CSV").mkdir(parents=True)
    (folder / "Data/CSV/ig.csv").write_bytes(b'"IG1 4DR",10,544000,186900\n')
    (folder / "Data/CSV/rm.csv").write_bytes(b'"RM6 4XX",10,547000,188000\n')
    first = gc.folder_digest(folder)
    assert gc.input_digest(folder) == gc.input_digest(folder, cache=False) == first
    copy = tmp_path / "copy"
    (copy / "Data/CSV").mkdir(parents=True)
    for name in ("ig.csv", "rm.csv"):
        (copy / "Data/CSV" / name).write_bytes((folder / "Data/CSV" / name).read_bytes())
    assert gc.folder_digest(copy) == first, "the digest depends on the content, not on where the folder is"

    seen = {first}
    (folder / "Data/CSV/rm.csv").write_bytes(b'"RM6 4XX",10,547000,188001\n')  # one area file changed
    seen.add(gc.folder_digest(folder))
    (folder / "Data/CSV/rm.csv").rename(folder / "Data/CSV/rm2.csv")  # renamed
    seen.add(gc.folder_digest(folder))
    (folder / "Data/CSV/e.csv").write_bytes(b"")  # added, even empty
    seen.add(gc.folder_digest(folder))
    assert len(seen) == 4
    assert gc.input_digest(folder / "Data/CSV/ig.csv") == gc.file_digest(folder / "Data/CSV/ig.csv")
    assert gc.input_digest(tmp_path / "missing") is None


def test_folder_digest_covers_only_the_files_read(tmp_path, monkeypatch):
    """Every file of the folder was hashed: a .DS_Store, a README or a PDF of Doc/ changing
    forced a rebuild and changed the recorded digest, though Code-Point Open never reads them."""
    monkeypatch.setattr(gc, "_DIGESTS", {})
    folder = tmp_path / "codepo_gb"
    (folder / "Data/CSV").mkdir(parents=True)
    (folder / "Doc").mkdir()
    (folder / "Data/CSV/ig.csv").write_bytes(b'"IG1 4DR",10,544000,186900\n')
    headers = folder / "Doc/Code-Point_Open_Column_Headers.csv"
    headers.write_bytes(b"PC,PQ,EA,NO\n")
    assert codepoint_folder_files(folder) == ["Data/CSV/ig.csv", "Doc/Code-Point_Open_Column_Headers.csv"]
    first = gc.folder_digest(folder)

    (folder / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    (folder / "Data/CSV/.DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    (folder / "README.txt").write_text("Code-Point Open, downloaded in May\n")
    (folder / "Doc/Code-Point_Open_user_guide.pdf").write_bytes(b"%PDF-1.4")
    assert gc.folder_digest(folder) == first, "a file the reader does not read changed the digest"
    (folder / "Doc/Code-Point_Open_user_guide.pdf").write_bytes(b"%PDF-1.7")
    assert gc.input_digest(folder) == first

    headers.write_bytes(b"PC,PQ,EA,NO,CY\n")  # the headers file is read: it counts
    assert gc.folder_digest(folder) != first


# ---------------------------------------------------------------------------- fast reading paths
TABLES = {
    "bom, quotes, blank line": ('\ufeffCODE,NAME,N\nA1,"Smith, ""Jr""",1\n\nB2,,2\n', ",", "utf-8", True),
    "headerless, quoted newline": ('"E1  0AA",10,"x\ny"\n"E1  0AB",20,""\n', ",", "utf-8", False),
    "NHS Choices layout": ('Code¬Name¬Note\nRQ1¬St Mary’s – A&E¬"a¬b"\nRQ2¬Ward 2¬\n', "¬", "cp1252", True),
}


@pytest.mark.parametrize("name", list(TABLES))
def test_arrow_table_reading_matches_pandas(tmp_path, monkeypatch, name):
    text, sep, encoding, header = TABLES[name]
    path = tmp_path / "table.csv"
    path.write_bytes(text.encode(encoding))
    raw = path.read_bytes()
    assert (
        v._read_table_arrow(raw, raw.decode(v._codec(encoding)), sep=sep, encoding=encoding, header=header) is not None
    )
    fast = v.read_table(path, sep=sep, encoding=encoding, header=header)
    monkeypatch.setattr(v, "_read_table_arrow", lambda *args, **kwargs: None)
    careful = v.read_table(path, sep=sep, encoding=encoding, header=header)
    pd.testing.assert_frame_equal(fast, careful, check_exact=True)


def test_arrow_number_parsing_matches_pandas(monkeypatch):
    frame = pd.DataFrame(
        {"n": [" 12 ", "+3", "1e3", ".5", "", "1,749", "-0.25"]}, index=pd.RangeIndex(2, 9), dtype="str"
    )
    results = []
    for fast in (True, False):
        if not fast:
            monkeypatch.setattr(v, "_plain_numbers", lambda *args, **kwargs: None)
        problems = ProblemCollector("x.csv")
        numbers = v.parse_numbers(frame, "n", problems=problems, allow_blank=True, thousands=True)
        results.append((numbers, [(p.row, p.message) for p in problems.problems]))
    pd.testing.assert_series_equal(results[0][0], results[1][0], check_exact=True)
    assert results[0][1] == results[1][1] == []
    np.testing.assert_array_equal(results[0][0].to_numpy(), [12.0, 3.0, 1000.0, 0.5, np.nan, 1749.0, -0.25])


def test_isin_matches_pandas():
    values = pd.Series(["E01", "E02", None, "E04"], dtype="str")
    for candidates in (["E02"], ["E02", None], pd.Series(["E04", "E04"], dtype="str"), [1, "E01"], set(), ("E01",)):
        assert v.isin(values, candidates).tolist() == values.isin(list(candidates)).tolist()


def test_data_roles_the_scenario_never_reads_are_named():
    """Before, a [data] role the selection never opens (registrations for LSOAs) was accepted without a word."""
    from catchment.build import unread_data_roles
    from catchment.scenario import parse_scenario

    every = {"registrations": "r.parquet", "pcn_mapping": "p.csv", "hospitals": "h.csv", "population": "pop.csv"}
    every |= {"epraccur": "e.csv", "centroids": "c.csv", "land": "l.geojson", "lsoa_lookup": "lu.csv"}

    def unread(units, sites):
        return set(unread_data_roles(parse_scenario({"units": units, "sites": sites, "data": every})))

    lsoa = unread({"type": "lsoa", "lad": "E09000026"}, {"hospitals_within_m": False, "largest_practices": 3})
    assert lsoa == {"registrations", "pcn_mapping", "hospitals", "lsoa_lookup"}
    practice = unread({"ccg": "08N"}, {})
    assert practice == {"population"}
    own = unread({"file": "u.csv"}, {})
    assert own == {"registrations", "population", "epraccur", "centroids", "lsoa_lookup"}
