"""Does the whole command end within its time limit plus the margin? Timing of ``optimise.py run``.

For each time limit, runs ``python optimise.py run SCENARIO --time-limit T`` in a fresh
process and measures its wall-clock time from start to exit (imports, build, solve,
validation, writing every output). The command promises to end within
``T + catchment.timing.time_limit_margin(T)`` (5 % + 10 s). The default scenario is a
full model of 162,006 unit-site pairs: the 402 GP practices in a box over inner London,
403 candidate sites (340 largest practices and 63 NHS hospital sites within 3 km), one
MIP (``method = "mip"``) with no pruning (``k_nearest`` above the number of sites).
It is written to a temporary folder; the data come from ``--data-dir`` (default
``$CATCHMENT_DATA_DIR``).

Usage::

    python bench/time_limits.py                       # limits 60 and 115 s
    python bench/time_limits.py --limits 30 60 115
    python bench/time_limits.py --scenario scenarios/redbridge-lsoa.toml --limits 2 10

One line per limit (actual seconds, actual / limit, the allowed end, within or not, the
objective and whether the plan says it was stopped by the time limit); the last line
printed is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from catchment.timing import STOPPED_BY_TIME_LIMIT, time_limit_margin  # noqa: E402

#: The 162,006-pair model: 402 practices x 403 sites, one MIP over every pair.
FULL_MODEL = """\
[scenario]
name = "timing: 402 inner-London practices x 403 sites, every pair"

[units]
type = "practice"
bbox = [-0.24, 51.455, 0.02, 51.585]

[sites]
hospitals_within_m = 3000
hospital_sector = "NHS"
largest_practices = 340

[travel]
source = "estimate"

[rules]
floor = 50000

[objective]
mean_travel = 1.0

[solver]
name = "highs"
time_limit = 60
method = "mip"
k_nearest = 1000
"""


def time_command(scenario: Path, time_limit: float, *, out: Path, data_dir: Path | None) -> dict:
    """Run the command once and measure it.

    Parameters
    ----------
    scenario
        Scenario file.
    time_limit
        ``--time-limit`` in seconds.
    out
        Output folder.
    data_dir
        ``--data-dir``, or ``None`` for the default.

    Returns
    -------
    dict
        ``time_limit_s``, ``actual_s``, ``ratio``, ``allowed_s``, ``within``, ``exit_code``
        and, when a plan was written, ``objective``, ``status`` and ``stopped_by_time_limit``.
    """
    cmd = [
        sys.executable,
        str(ROOT / "optimise.py"),
        "run",
        str(scenario),
        "--time-limit",
        str(time_limit),
        "--out",
        str(out),
        "-q",
    ]
    if data_dir is not None:
        cmd += ["--data-dir", str(data_dir)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    began = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    actual = time.perf_counter() - began
    allowed = time_limit + time_limit_margin(time_limit)
    row = {
        "time_limit_s": time_limit,
        "actual_s": round(actual, 2),
        "ratio": round(actual / time_limit, 3),
        "allowed_s": round(allowed, 2),
        "within": actual <= allowed,
        "exit_code": done.returncode,
    }
    solution = out / "solution.json"
    if done.returncode == 0 and solution.is_file():
        record = json.loads(solution.read_text())
        row.update(
            objective=record["objective"],
            status=record["status"],
            stopped_by_time_limit=record.get("stopped_by_time_limit"),
            note=STOPPED_BY_TIME_LIMIT in record.get("notes", []),
        )
    else:
        row["stderr"] = done.stderr[-2000:]
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limits", type=float, nargs="+", default=[60.0, 115.0], help="time limits (seconds)")
    parser.add_argument("--scenario", type=Path, help="scenario file (default: the 162,006-pair model)")
    parser.add_argument("--data-dir", type=Path, help="folder of the published data files")
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory(prefix="catchment-time-limits-") as tmp:
        scenario = args.scenario
        if scenario is None:
            scenario = Path(tmp) / "full-model.toml"
            scenario.write_text(FULL_MODEL)
        for k, limit in enumerate(args.limits):
            row = time_command(scenario.resolve(), limit, out=Path(tmp) / f"out{k}", data_dir=args.data_dir)
            rows.append(row)
            print(
                f"limit {limit:g} s: {row['actual_s']:.1f} s, {row['ratio']:.2f} x the limit; allowed "
                f"{row['allowed_s']:.1f} s: {'within' if row['within'] else 'OVER'}; exit {row['exit_code']}, "
                f"objective {row.get('objective')}, stopped by the time limit: {row.get('stopped_by_time_limit')}",
                flush=True,
            )
    print(json.dumps({"scenario": str(args.scenario or "162,006-pair full model"), "runs": rows}))
    return 0 if all(r["within"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
