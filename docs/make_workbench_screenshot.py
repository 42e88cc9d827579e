"""Regenerate docs/workbench.png: the workbench on Redbridge in headless Chromium (no network).

Opens ``scenarios/redbridge.toml`` (today's PCNs), moves one practice so that the verdict
lists a broken rule, and takes a picture of the page.

    python docs/make_workbench_screenshot.py
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.browser import chromium  # noqa: E402
from bench.workbench_latency import pick  # noqa: E402


def main() -> int:
    from selenium.webdriver.common.by import By

    from workbench.app import create_app, serve_in_background
    from workbench.state import Session

    os.chdir(ROOT)  # the page names the scenario as opened: scenarios/redbridge.toml, not a local path
    session = Session()
    session.open_file("scenarios/redbridge.toml")
    server = serve_in_background(create_app(session, scenario_path="scenarios/redbridge.toml"))
    driver = chromium(width=1500, height=900)
    try:
        driver.get(f"http://127.0.0.1:{server.server_port}/")
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not driver.find_elements(By.CSS_SELECTOR, "path.wb-unit"):
            time.sleep(0.2)
        plan = session.verdict.plan
        unit = next(u for u in plan.units_of(plan.hubs[2]) if u not in plan.hub_options)
        target = plan.hubs[0]
        driver.execute_script(
            "document.querySelector('path.wb-unit-' + arguments[0])"
            ".dispatchEvent(new MouseEvent('click', {bubbles: true}));",
            unit,
        )
        time.sleep(1)
        pick(driver, "target", target, search=plan.polysystem_ids()[target] + ":")
        driver.execute_script("document.getElementById('move').click();")
        time.sleep(4)
        out = ROOT / "docs" / "workbench.png"
        driver.save_screenshot(str(out))
        print(f"wrote {out}")
    finally:
        driver.quit()
        server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
