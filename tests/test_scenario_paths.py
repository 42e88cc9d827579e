"""What a scenario may open: local files named by its path keys, relative to --data-dir; never a URL."""

from __future__ import annotations

from pathlib import Path

import pytest

from catchment.scenario import PATH_KEYS, parse_scenario, read_scenario
from geodata.errors import ScenarioError

BASE = {"units": {"type": "practice", "ccg": "08N"}, "sites": {"largest_practices": 3}}


def test_urls_are_refused_in_every_path_key_at_once(tmp_path):
    path = tmp_path / "remote.toml"
    path.write_text(
        '[units]\npolygon = "https://example.org/area.gpkg"\nfile = "https://example.org/units.csv"\n'
        '[sites]\nfile = "s3://bucket/sites.csv"\noptions_file = "ftp://host/options.csv"\n'
        '[travel]\nsource = "matrix"\nmatrix = "http://example.org/times.csv"\nnetwork = "/vsicurl/http://h/x.osm"\n'
        '[data]\nlist_sizes = "https://files.digital.nhs.uk/list.csv"\n',
        encoding="utf-8",
    )
    with pytest.raises(ScenarioError) as error:
        read_scenario(path)
    # only the URLs here (the other problems, e.g. a units file beside a polygon, are named elsewhere)
    problems = [p for p in error.value.problems if "local file" in p]
    named = {p.split(": ", 1)[1].split(" must")[0] for p in problems}
    assert named == {f"[{s}] {k}" for s, k in PATH_KEYS} | {"[data] list_sizes"}
    assert all(p.startswith(f"{path}: ") for p in problems)


def test_relative_paths_resolve_under_the_data_folder_not_the_scenario(tmp_path):
    data = tmp_path / "data"
    scenario = parse_scenario(
        {**BASE, "sites": {"file": "mine/sites.csv"}}, source="s.toml", path=tmp_path / "scenarios" / "s.toml"
    )
    assert scenario.resolve(scenario.sites.file, data) == data / "mine" / "sites.csv"
    assert scenario.resolve("../elsewhere/sites.csv", data) == data / ".." / "elsewhere" / "sites.csv"
    assert scenario.resolve("/srv/estates/sites.csv", data) == Path("/srv/estates/sites.csv")
    assert scenario.resolve("~/sites.csv", data) == Path.home() / "sites.csv"
