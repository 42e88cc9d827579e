"""The map and the report in a real browser with NO network (headless Chromium).

Chromium runs behind a proxy that points nowhere, so any CDN request fails: the pages must
still draw their polygons, markers, popups and legend, with no JavaScript error. Only the
OpenStreetMap background tiles may fail to load (they are optional by design).

Needs the Debian packages ``chromium`` and ``chromium-driver`` and the ``selenium`` package.
In CI (``$CI`` set) they are always installed, so their absence FAILS the tests; locally the
tests are skipped without them. Screenshots are kept in ``/tmp/map-shots/``.
"""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pytest

from catchment.build import build_demo
from catchment.metrics import polysystems_frame
from maps import write_plan_outputs
from solvers import solve, solve_heuristic

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SHOTS = Path("/tmp/map-shots")
# The only requests allowed to fail: background tiles, which need the internet by design.
OPTIONAL_HOSTS = ("tile.openstreetmap.org",)


def _require_browser() -> None:
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.is_file()]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("the selenium package")
    if missing:
        message = f"headless browser test needs {', '.join(missing)} (apt-get install chromium chromium-driver)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    _require_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--proxy-server=127.0.0.1:9",
        "--proxy-bypass-list=<-loopback>",
        "--window-size=1400,900",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    """map.html / report.html for the demo in practice mode and in LSOA mode."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CATCHMENT_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
        practice = build_demo()
        practice_plan = solve(practice.problem)
        lsoa = build_demo(unit_type="lsoa")
        lsoa_plan = solve_heuristic(lsoa.problem)
    folders = {}
    for name, built, plan in (("practice", practice, practice_plan), ("lsoa", lsoa, lsoa_plan)):
        folder = tmp_path_factory.mktemp(name)
        write_plan_outputs(folder, built, plan)
        folders[name] = (folder, built, plan)
    return folders


def _open(driver, path: Path, selector: str, count: int) -> None:
    """Load a page and wait until ``count`` elements match ``selector``."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get_log("browser")  # forget earlier pages
    driver.get(path.as_uri())
    WebDriverWait(driver, 20).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, selector)) >= count)


def _errors(driver) -> list[str]:
    """SEVERE console entries other than failed background tiles."""
    entries = driver.get_log("browser")
    return [
        e["message"]
        for e in entries
        if e["level"] == "SEVERE"
        and not (e.get("source") == "network" and any(host in e["message"] for host in OPTIONAL_HOSTS))
    ]


def _count(driver, selector: str) -> int:
    from selenium.webdriver.common.by import By

    return len(driver.find_elements(By.CSS_SELECTOR, selector))


def _screenshot(driver, name: str, *, max_share: float = 0.7) -> Path:
    """Save a screenshot; fail if it is blank or more than ``max_share`` one colour."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / name
    assert driver.save_screenshot(str(path))
    image = mpimg.imread(path)[..., :3]
    assert image.std() > 0.08, f"{path} looks blank"
    _, counts = np.unique((image * 255).astype(np.uint8).reshape(-1, 3), axis=0, return_counts=True)
    assert counts.max() / counts.sum() < max_share, f"{path} is mostly one colour"
    return path


def test_plan_map_renders_offline(browser, outputs):
    from selenium.webdriver.common.by import By

    folder, built, plan = outputs["practice"]
    n_hubs = len(plan.hub_options)
    _open(browser, folder / "map.html", ".leaflet-marker-icon.catchment-hub", n_hubs)
    assert _count(browser, "path.catchment-polysystem") == n_hubs
    assert _count(browser, ".leaflet-marker-icon.catchment-hub") == n_hubs
    assert _count(browser, "path.catchment-practice") == built.problem.n_units == 42
    assert _count(browser, "path.catchment-area") > 100
    assert _count(browser, ".catchment-key") == 1 and _count(browser, ".catchment-legend") == 1
    assert _count(browser, ".leaflet-control-layers") == 1
    key = browser.find_element(By.CSS_SELECTOR, ".catchment-key").text
    assert "optimal" in key and "Coverage" in key and "100.0%" in key
    # a hub's popup opens with its details (no jQuery, no CDN)
    table = polysystems_frame(built.problem, plan)
    from selenium.webdriver.support.ui import WebDriverWait

    browser.find_elements(By.CSS_SELECTOR, ".leaflet-marker-icon.catchment-hub")[0].click()
    popup = WebDriverWait(browser, 10).until(
        lambda d: "".join(
            e.get_attribute("textContent") for e in d.find_elements(By.CSS_SELECTOR, ".leaflet-popup-content")
        )
    )
    assert table["hub_site_name"].iloc[0] in popup and "Capital cost" in popup
    WebDriverWait(browser, 10).until(
        lambda d: d.execute_script("return getComputedStyle(document.querySelector('.leaflet-popup')).opacity") == "1"
    )
    _screenshot(browser, "plan-map-practice.png")
    assert _errors(browser) == []


def test_travel_layer_and_its_legend_switch_on(browser, outputs):
    from selenium.webdriver.common.by import By

    folder, _, plan = outputs["practice"]
    _open(browser, folder / "map.html", ".leaflet-marker-icon.catchment-hub", len(plan.hub_options))
    assert _count(browser, "path.catchment-travel") == 0 and _count(browser, ".catchment-layer-legend") == 0
    label = next(
        e
        for e in browser.find_elements(By.CSS_SELECTOR, ".leaflet-control-layers-overlays label")
        if "Travel time" in e.text
    )
    label.click()
    assert _count(browser, "path.catchment-travel") > 100
    assert "Travel time to hub" in browser.find_element(By.CSS_SELECTOR, ".catchment-layer-legend").text
    _screenshot(browser, "plan-map-travel.png")
    assert _errors(browser) == []


def test_lsoa_map_renders_offline(browser, outputs):
    folder, built, plan = outputs["lsoa"]
    n_hubs = len(plan.hub_options)
    _open(browser, folder / "map.html", "path.catchment-area", built.problem.n_units)
    assert _count(browser, "path.catchment-polysystem") == n_hubs
    assert _count(browser, ".leaflet-marker-icon.catchment-hub") == n_hubs
    assert _count(browser, "path.catchment-area") == 150
    _screenshot(browser, "plan-map-lsoa.png")
    assert _errors(browser) == []


def test_report_renders_offline_with_map_table_and_charts(browser, outputs):
    from selenium.webdriver.common.by import By

    folder, _, plan = outputs["practice"]
    n_hubs = len(plan.hub_options)
    _open(browser, folder / "report.html", "svg.chart", 3)
    rows = browser.find_elements(By.CSS_SELECTOR, "table.polysystems tr")
    assert len(rows) == n_hubs + 2
    assert "optimal" in browser.find_element(By.CSS_SELECTOR, ".status").text
    _screenshot(browser, "report-top.png", max_share=0.9)  # a page of text on white
    browser.switch_to.frame(browser.find_element(By.CSS_SELECTOR, "iframe.map"))
    try:
        from selenium.webdriver.support.ui import WebDriverWait

        WebDriverWait(browser, 20).until(
            lambda d: len(d.find_elements(By.CSS_SELECTOR, ".leaflet-marker-icon.catchment-hub")) >= n_hubs
        )
        assert _count(browser, "path.catchment-polysystem") == n_hubs
        assert _count(browser, "img.leaflet-tile") == 0  # no background tiles: no request at all
    finally:
        browser.switch_to.default_content()
    browser.execute_script("document.querySelector('iframe.map').scrollIntoView()")
    _screenshot(browser, "report-map.png")
    # the report makes no request at all, so nothing may fail, not even tiles
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []


def test_missing_browser_fails_in_ci_and_skips_locally(monkeypatch):
    """Without Chromium the tests fail under CI instead of silently skipping."""
    import sys

    monkeypatch.setattr(sys.modules[__name__], "CHROMIUM", Path("/nonexistent/chromium"))
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="chromium"):
        _require_browser()
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception):
        _require_browser()
