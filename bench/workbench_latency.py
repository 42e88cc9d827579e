"""Time from a move in the workbench to the updated verdict, in headless Chromium.

For each problem the workbench is served on this machine and opened in headless Chromium
(no network). Each move selects a unit by clicking its feature on the map, picks another
polysystem in the "move to" list, then clicks Move; the time is measured inside the page
(``performance.now()``) from that click until both the verdict (status, figures, broken
rules) and the map's styles show the new edit. The units and targets are drawn with a
fixed seed. Prints the median and the 95th percentile per problem.

Problems: ``redbridge`` (scenarios/redbridge.toml, 42 practices) and ``london-practices``
(every practice of the 33 London boroughs, bench/instances.py), both starting from today's
PCNs.

Usage::

    python bench/workbench_latency.py                       # both, 20 moves each
    python bench/workbench_latency.py redbridge --moves 10
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.browser import chromium  # noqa: E402

#: Clicks Move, then waits until the verdict and the map both show edit number arguments[0].
_MOVE_SCRIPT = """
const expected = arguments[0];
const done = arguments[arguments.length - 1];
const t0 = performance.now();
document.getElementById('move').click();
function check() {
    const v = document.getElementById('verdict-seq').textContent;
    const m = document.getElementById('map-seq').textContent;
    if (v === expected && m === expected) { done(performance.now() - t0); }
    else if (performance.now() - t0 > 60000) { done(-1); }
    else { requestAnimationFrame(check); }
}
check();
"""


def _scenario(name: str):  # noqa: ANN202
    from catchment.scenario import read_scenario

    if name == "redbridge":
        return read_scenario(ROOT / "scenarios" / "redbridge.toml")
    from bench.instances import london_scenario

    return london_scenario("practice")


def _wait(driver, test, timeout: float = 120.0):  # noqa: ANN001, ANN202
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        try:
            value = test()
            if value:
                return value
        except Exception:  # noqa: BLE001, S110 - element not there yet
            pass
        time.sleep(0.05)
    raise TimeoutError("the page did not get there in time")


def pick(driver, dropdown_id: str, value: str, *, search: str = "", tries: int = 3) -> None:  # noqa: ANN001
    """Choose ``value`` in a Dash dropdown (typing ``search`` into its search box first)."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    for attempt in range(tries):
        try:
            driver.find_element(By.ID, dropdown_id).click()
            if search:
                box = _wait(driver, lambda: driver.find_element(By.CSS_SELECTOR, "input.dash-dropdown-search"), 15)
                box.send_keys(search)
            _wait(  # found and clicked in one step: the list re-renders while it filters
                driver,
                lambda: driver.execute_script(
                    "const i = document.querySelector('.dash-dropdown-options input[value=\"' + arguments[0] + '\"]');"
                    "if (!i) { return false; } i.closest('label').click(); return true;",
                    value,
                ),
                15,
            )
            break
        except (TimeoutError, Exception):  # noqa: BLE001 - closed too early, stale: try again
            if attempt == tries - 1:
                raise
        finally:
            if driver.find_elements(By.CSS_SELECTOR, ".dash-dropdown-options"):
                ActionChains(driver).send_keys(Keys.ESCAPE).perform()
            _wait(driver, lambda: not driver.find_elements(By.CSS_SELECTOR, ".dash-dropdown-options"))


def measure(name: str, *, moves: int, seed: int) -> list[float]:
    from selenium.webdriver.common.by import By

    from workbench.app import create_app, serve_in_background
    from workbench.state import Session

    session = Session()
    started = time.perf_counter()
    session.open_scenario(_scenario(name), name)
    print(f"{name}: opened in {time.perf_counter() - started:.1f} s ({session.problem.n_units} units)", flush=True)
    server = serve_in_background(create_app(session))
    driver = chromium()
    times: list[float] = []
    try:
        driver.get(f"http://127.0.0.1:{server.server_port}/")
        _wait(driver, lambda: driver.find_element(By.ID, "status").text)
        _wait(driver, lambda: driver.find_element(By.ID, "map-seq").get_attribute("textContent") == str(session.edits))
        units = [u for u in session.problem.unit_ids if u in session.verdict.plan.assignment]
        rng = random.Random(seed)
        for _ in range(moves):
            unit = rng.choice(units)
            hub = session.verdict.plan.assignment[unit]
            target = rng.choice([h for h in session.verdict.plan.hubs if h != hub])
            label = session.verdict.plan.polysystem_ids()[target]
            driver.execute_script(
                "const el = document.querySelector('path.wb-unit-' + arguments[0]);"
                "el.dispatchEvent(new MouseEvent('click', {bubbles: true}));",
                unit,
            )
            _wait(driver, lambda u=unit: f"({u})" in driver.find_element(By.ID, "unit-info").text)
            pick(driver, "target", target, search=f"{label}:")
            expected = str(session.edits + 1)
            elapsed = driver.execute_async_script(_MOVE_SCRIPT, expected)
            if elapsed < 0:
                raise TimeoutError(f"{name}: no verdict within 60 s of a move")
            assert session.verdict.plan.assignment[unit] == target, "the move did not reach the session"
            times.append(float(elapsed))
    finally:
        driver.quit()
        server.shutdown()
    return times


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", default=["redbridge", "london-practices"])
    parser.add_argument("--moves", type=int, default=20)
    parser.add_argument("--seed", type=int, default=16)
    args = parser.parse_args(argv)
    rows = []
    for name in args.names:
        cpu = time.process_time()
        times = measure(name, moves=args.moves, seed=args.seed)
        rows.append((name, len(times), statistics.median(times), _p95(times), max(times)))
        print(
            f"{name:18s} moves {len(times):3d}  median {statistics.median(times):7.0f} ms  "
            f"p95 {_p95(times):7.0f} ms  max {max(times):7.0f} ms  (server CPU {time.process_time() - cpu:.1f} s)",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
