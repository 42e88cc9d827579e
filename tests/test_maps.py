"""Maps, report and picture of a plan (fast, no browser): offline pages, counts, colours."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pytest
import shapely

from catchment.build import build_demo
from catchment.metrics import polysystems_frame
from catchment.plan import Plan
from maps import (
    MAP_FILES,
    comparison_map,
    map_html,
    plan_geometry,
    plan_map,
    polysystem_changes,
    polysystem_colours,
    report_html,
    save_static_map,
    write_plan_outputs,
)
from maps.areas import VORONOI_METHOD, to_wgs84, touching_pairs, voronoi_cells
from maps.assets import leaflet_css, leaflet_js
from maps.palette import SIMILAR_DELTA_E, _delta_e, colour_graph, travel_breaks, travel_colour, travel_scale
from solvers import solve, solve_heuristic

# A request to another host: <script src="http...">, <link href="http...">, <img src=...>,
# <iframe src=...>, CSS url(http...) or @import.
EXTERNAL = re.compile(
    r"""<(?:script|img|iframe|source|embed)\b[^>]*\bsrc\s*=\s*["']?\s*(?:https?:)?//"""
    r"""|<link\b[^>]*\bhref\s*=\s*["']?\s*(?:https?:)?//"""
    r"""|url\(\s*["']?\s*(?:https?:)?//|@import""",
    re.IGNORECASE,
)


@pytest.fixture(scope="module")
def practice(tmp_path_factory):
    """The demo district in practice mode and its optimal plan (about 1 s)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CATCHMENT_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
        built = build_demo()
        return built, solve(built.problem)


@pytest.fixture(scope="module")
def lsoa(tmp_path_factory):
    """The demo district in LSOA mode with a quick (heuristic, contiguous) plan."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CATCHMENT_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
        built = build_demo(unit_type="lsoa")
        return built, solve_heuristic(built.problem)


@pytest.fixture(scope="module")
def practice_html(practice):
    built, plan = practice
    return map_html(plan_map(built, plan))


def _geojson_layers(m, name: str):
    return [c for c in m._children.values() if getattr(c, "layer_name", None) == name]


def _feature_groups(m, name: str):
    return [c for c in m._children.values() if type(c).__name__ == "FeatureGroup" and c.layer_name == name]


# ----------------------------------------------------------------------------- offline page
def test_map_page_links_no_cdn_and_inlines_leaflet(practice_html):
    assert not EXTERNAL.search(practice_html), EXTERNAL.search(practice_html).group(0)
    assert "cdn.jsdelivr" not in practice_html and "code.jquery.com" not in practice_html
    assert leaflet_js()[:200] in practice_html  # Leaflet itself is in the page
    assert "L.map(" in practice_html and "L.divIcon(" in practice_html
    assert "$(" not in practice_html.replace(leaflet_js(), "")  # nothing needs jQuery


def test_leaflet_css_has_its_images_inline():
    css = leaflet_css()
    assert "data:image/png;base64," in css
    assert "url(images/" not in css


def test_map_has_one_feature_per_polysystem_and_one_marker_per_hub(practice, practice_html):
    built, plan = practice
    m = plan_map(built, plan)
    (outlines,) = _geojson_layers(m, "Polysystems")
    ids = sorted(f["properties"]["polysystem_id"] for f in outlines.data["features"])
    assert ids == sorted(plan.polysystem_ids().values()) and len(ids) == 5
    (hubs,) = _feature_groups(m, "Hubs")
    markers = [c for c in hubs._children.values() if type(c).__name__ == "Marker"]
    assert len(markers) == len(plan.hub_options) == 5
    assert len(re.findall(r'"className": "catchment-hub catchment-hub-', practice_html)) == 5
    (practices,) = _feature_groups(m, "Practices")
    assert sum(type(c).__name__ == "CircleMarker" for c in practices._children.values()) == 42
    (candidates,) = _feature_groups(m, "Candidate sites not chosen")
    assert len(candidates._children) == len(built.sites) - len(plan.hub_options)


def test_map_key_box_and_popups_say_what_they_must(practice, practice_html):
    built, plan = practice
    table = polysystems_frame(built.problem, plan)
    assert plan.status_label in practice_html
    assert "Coverage" in practice_html and "100.0%" in practice_html
    assert built.problem.travel_label in practice_html
    for name in table["hub_site_name"]:
        assert name in practice_html
    # a hub popup lists its practices by name
    first = table.iloc[0]
    unit = plan.units_of(first["hub_site_id"])[0]
    name = built.units.set_index("unit_id").loc[unit, "name"]
    assert name in practice_html


def test_estimated_travel_times_are_labelled_estimate(practice):
    built, plan = practice
    problem = dataclasses.replace(built.problem, travel_source="estimate", travel_label="crow-fly x1.3 at 25 km/h")
    estimated = dataclasses.replace(built, problem=problem)
    page = map_html(plan_map(estimated, plan))
    assert "estimate: crow-fly x1.3 at 25 km/h" in page
    assert "Travel times are an estimate" in page
    assert "estimate: crow-fly" in report_html(estimated, plan)


def test_lsoa_map_draws_dissolved_polysystems_and_unit_tooltips(lsoa):
    built, plan = lsoa
    m = plan_map(built, plan)
    (outlines,) = _geojson_layers(m, "Polysystems")
    assert len(outlines.data["features"]) == len(plan.hub_options)
    (areas,) = _geojson_layers(m, "Small areas by polysystem")
    assert len(areas.data["features"]) == built.problem.n_units == 150
    tooltip = next(c for c in areas._children.values() if type(c).__name__ == "GeoJsonTooltip")
    assert {"area_id", "name", "polysystem_id", "travel_min"} <= set(tooltip.fields)
    page = map_html(m)
    assert not EXTERNAL.search(page)
    assert "dissolved LSOA boundaries" in page


def test_practice_areas_leave_out_far_areas_and_say_so(practice):
    built, plan = practice
    geometry = plan_geometry(built, plan, min_patients=1000)
    registered = built.registrations.groupby("lsoa_code")["patients"].sum()
    assert set(geometry.areas["area_id"]) == set(registered.index[registered >= 1000])
    assert "not drawn" in geometry.method
    assert geometry.areas["share"].between(0, 1).all()


# ----------------------------------------------------------------------------- colours
def test_neighbouring_polysystems_have_different_colours(practice, lsoa):
    for built, plan in (practice, lsoa):
        geometry = plan_geometry(built, plan)
        colours = polysystem_colours(plan, geometry)
        pairs = touching_pairs(geometry.polysystems, "polysystem_id")
        assert pairs, "the demo's polysystems touch each other"
        for a, b in pairs:
            assert colours[a] != colours[b]
            assert _delta_e(colours[a], colours[b]) >= SIMILAR_DELTA_E


def test_colour_graph_separates_neighbours_and_keeps_preferences():
    ids = ["a", "b", "c", "d", "e"]
    wheel = [("a", x) for x in "bcde"] + [("b", "c"), ("c", "d"), ("d", "e"), ("e", "b")]
    colours = colour_graph(ids, wheel)
    for x, y in wheel:
        assert colours[x] != colours[y]
    palette = ("#111111", "#EEEEEE", "#0072B2", "#E69F00")
    kept = colour_graph(["p", "q"], [("p", "q")], palette=palette, preferred={"p": "#E69F00", "q": "#E69F00"})
    assert kept["p"] != kept["q"] and "#E69F00" in kept.values()


def test_travel_classes_cover_every_time():
    times = [0.0, 3.2, 7.9, 13.9]
    breaks = travel_breaks(times)
    assert breaks[0] == 0 and breaks[-1] > max(times) and len(breaks) - 1 <= 7
    assert len({travel_colour(t, breaks) for t in times}) >= 3
    assert travel_colour(float("inf"), breaks) == "#BBBBBB"


@pytest.mark.parametrize("top", [839.0, 841.0, 1_081.0, 9_999.0, 99_999_999.0, 1e15, 1e300])
def test_travel_classes_stay_within_the_colours_however_long_the_time(top):
    """A matrix's "no route" placeholder (9999) or a speed near 0 gives times of days or more."""
    times = [0.0, 12.5, top]
    breaks = travel_breaks(times)
    assert breaks[0] == 0 and breaks[-1] > top and len(breaks) - 1 <= 8
    legend = travel_scale(breaks)
    assert len(legend) == len(breaks) - 1 and len({colour for colour, _ in legend}) == len(legend)
    assert travel_colour(top, breaks) == legend[-1][0]


# ----------------------------------------------------------------------------- shapes
def test_voronoi_fallback_without_boundaries(practice):
    built, plan = practice
    bare = dataclasses.replace(built, areas=None, registrations=None)
    geometry = plan_geometry(bare, plan)
    assert geometry.approximate and geometry.method == VORONOI_METHOD
    assert len(geometry.areas) == 42 and len(geometry.polysystems) == 5
    # every practice lies in its own cell, and the cells do not overlap
    cells = geometry.areas.set_index("area_id").geometry
    points = built.units.set_index("unit_id").geometry
    assert all(cells[u].buffer(1.0).contains(points[u]) for u in cells.index)
    assert cells.union_all().area == pytest.approx(cells.area.sum(), rel=1e-6)
    page = map_html(plan_map(bare, plan))
    assert "Approximate areas (Voronoi cells)" in page and "Areas are approximate" in page


def test_voronoi_cells_of_co_located_points_are_shared():
    import geopandas as gpd

    points = gpd.GeoSeries(gpd.points_from_xy([0, 0, 100, 50], [0, 0, 0, 80]), crs="EPSG:27700")
    clip = shapely.box(-200, -200, 300, 300)
    cells = voronoi_cells(points, clip=clip)
    assert cells.iloc[1].is_empty and not cells.iloc[0].is_empty
    assert sum(c.area for c in cells) == pytest.approx(clip.area)


def test_simplified_shapes_keep_shared_edges(lsoa):
    built, _ = lsoa
    simplified = to_wgs84(built.units[["unit_id", "geometry"]], simplify_m=15.0)
    assert simplified.crs.to_epsg() == 4326
    vertices = shapely.get_num_coordinates(simplified.geometry.to_numpy()).sum()
    assert vertices < shapely.get_num_coordinates(built.units.geometry.to_numpy()).sum()
    overlap = simplified.to_crs("EPSG:27700").geometry.area.sum() - simplified.to_crs("EPSG:27700").union_all().area
    assert overlap < 1.0  # square metres: neighbours were simplified together


# ----------------------------------------------------------------------------- comparison
def test_polysystem_changes_match_polysystems_by_shared_population(practice):
    built, plan = practice
    assert not polysystem_changes(built.problem, plan, plan)["changed"].any()
    unit = next(iter(plan.assignment))
    other = next(h for h in plan.hub_options if h != plan.assignment[unit])
    moved = Plan({**plan.assignment, unit: other}, plan.hub_options, status="feasible")
    changes = polysystem_changes(built.problem, plan, moved)
    assert changes.loc[changes["changed"], "unit_id"].tolist() == [unit]


def test_comparison_map_highlights_changed_units(practice):
    built, plan = practice
    heuristic = solve_heuristic(built.problem)
    changes = polysystem_changes(built.problem, heuristic, plan)
    m = comparison_map(built, heuristic, plan, labels=("existing", "optimised"))
    (layer,) = [c for c in m._children.values() if getattr(c, "layer_name", "").startswith("Units that change")]
    assert len(layer._children) == int(changes["changed"].sum())
    page = map_html(m)
    assert not EXTERNAL.search(page)
    assert "existing: Polysystems" in page and "optimised: Polysystems" in page
    assert f"{int(changes['changed'].sum())} of 42 units change polysystem" in page


# ----------------------------------------------------------------------------- report and picture
def test_report_is_self_contained_with_table_map_and_charts(practice):
    built, plan = practice
    page = report_html(built, plan)
    assert not EXTERNAL.search(page), EXTERNAL.search(page).group(0)
    assert "tile.openstreetmap" not in page  # the embedded map has no tiles
    table = re.search(r"<table class='data polysystems'>(.*?)</table>", page, re.DOTALL).group(1)
    assert table.count("<tr>") == 1 + len(plan.hub_options) + 1  # header, polysystems, total
    for label in ("population per polysystem", "distribution of travel times", "capital by option"):
        assert f'aria-label="{label}"' in page
    assert page.count('<svg role="img"') == 3
    assert "<iframe class='map'" in page and "srcdoc=" in page
    assert plan.status_label in page and "Best bound" in page and "Gap" in page
    from catchment.metrics import capital_cost

    assert f"£{capital_cost(built.problem, plan) / 1e6:,.2f}m" in page  # total capital, recomputed


def test_report_says_feasible_not_proven_optimal(practice):
    built, _ = practice
    plan = solve_heuristic(built.problem)
    assert plan.status == "feasible"
    page = report_html(built, plan)
    assert "feasible, not proven optimal" in page
    assert "did not prove that no better plan exists" in page


def _assert_not_blank(path: Path) -> None:
    image = mpimg.imread(path)[..., :3]
    assert image.std() > 0.08
    colours, counts = np.unique((image * 255).astype(np.uint8).reshape(-1, 3), axis=0, return_counts=True)
    assert counts.max() / counts.sum() < 0.6  # not mostly one colour
    assert len(colours) > 50


def test_static_picture_is_written_and_not_blank(practice, tmp_path):
    built, plan = practice
    path = save_static_map(built, plan, tmp_path / "map.png", dpi=80)
    assert path.stat().st_size > 10_000
    _assert_not_blank(path)


def test_write_plan_outputs_writes_the_three_files(lsoa, tmp_path):
    built, plan = lsoa
    paths = write_plan_outputs(tmp_path, built, plan)
    assert set(paths) == set(MAP_FILES)
    assert all(p.is_file() and p.stat().st_size > 10_000 for p in paths.values())
    assert not EXTERNAL.search(paths["report.html"].read_text(encoding="utf-8"))
    _assert_not_blank(paths["map.png"])


def test_polysystem_areas_are_drawn_once_per_plan_and_handed_out_as_copies(practice):
    from catchment import outputs

    built, plan = practice
    first = outputs.polysystem_areas(built, plan)
    first["mine"] = 1  # a caller's column stays with the caller
    second = outputs.polysystem_areas(built, plan)
    assert "mine" not in second.columns
    assert second.geometry.geom_equals(first.geometry).all()
    hub = plan.hubs[0]
    unit = next(u for u in plan.assignment if plan.assignment[u] != hub and u not in plan.hub_options)
    moved = dataclasses.replace(plan, assignment={**plan.assignment, unit: hub})
    changed = outputs.polysystem_areas(built, moved)
    assert (
        changed.set_index("hub_site_id").loc[hub, "population"] > second.set_index("hub_site_id").loc[hub, "population"]
    )
    # another problem with the same plan is drawn anew, not taken from the first one's areas
    other = dataclasses.replace(built, areas=built.areas.iloc[:0])
    assert len(outputs.polysystem_areas(other, plan)) == 0 < len(second)
