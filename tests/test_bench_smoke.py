"""Smoke test of the benchmark runner: the smallest real instance, end to end, as a user runs it.

No timing is asserted (speed is shown in ``docs/benchmarks.md``); the test checks that the
runner builds the instance from the real data, solves it, validates the plan and prints
one parseable JSON object as its last line, and that the report renders from it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RUN = ROOT / "bench" / "run.py"


def _run(args: list[str], real_data: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CATCHMENT_DATA_DIR": str(real_data), "CATCHMENT_CACHE_DIR": str(tmp_path / "cache")}
    return subprocess.run(
        [sys.executable, str(RUN), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
        check=False,
    )


def _last_json(stdout: str) -> dict:
    lines = [line for line in stdout.splitlines() if line.strip()]
    assert lines, "the runner printed nothing"
    return json.loads(lines[-1])


def test_list_names_every_instance(real_data, tmp_path):
    done = _run(["--list"], real_data, tmp_path)
    assert done.returncode == 0, done.stderr
    names = [line.split()[0] for line in done.stdout.splitlines() if line.strip()]
    assert names == [
        "redbridge-practices",
        "redbridge-lsoa",
        "london-practices",
        "london-lsoa",
        "synthetic-1k",
        "synthetic-5k",
        "synthetic-20k",
    ]


@pytest.fixture(scope="module")
def redbridge_run(real_data, tmp_path_factory):
    """One run of the smallest real instance with the p-median baseline (shared by the tests below)."""
    tmp = tmp_path_factory.mktemp("bench")
    return _run(
        [
            "redbridge-practices",
            "--no-save",
            "--time-limit",
            "60",
            "--baseline",
            "spopt-pmedian",
            "--baseline-time-limit",
            "30",
        ],
        real_data,
        tmp,
    )


def test_runner_prints_figures_of_a_valid_plan(redbridge_run, real_data):
    assert redbridge_run.returncode == 0, redbridge_run.stderr[-3000:]
    result = _last_json(redbridge_run.stdout)
    assert result["instance"] == "redbridge-practices"
    assert (result["units"], result["sites"]) == (42, 17)
    assert result["status"] in ("optimal", "feasible")
    assert result["valid"] is True and result["violations"] == {}
    assert result["polysystems"] >= 1 and result["polysystems_under_floor"] == 0
    for key in ("build_s", "solve_s", "total_s", "peak_mb"):
        assert result[key] > 0, key
    assert result["total_s"] == pytest.approx(result["build_s"] + result["solve_s"], abs=0.01)
    assert 0 <= result["gap"] < 0.01


def test_baseline_is_measured_and_validated(redbridge_run):
    result = _last_json(redbridge_run.stdout)
    base = result["baseline"]["spopt-pmedian"]
    assert base["status"] == "optimal"
    assert base["polysystems"] == result["polysystems"]  # p is set to our polysystem count
    # the p-median has no floor: any polysystem under it is a floor violation for the validator
    assert base["violations"].get("floor", 0) == base["polysystems_under_floor"]
    assert base["valid"] is (base["polysystems_under_floor"] == 0)
    # with as many hubs and no floor the p-median does as well or better on mean travel (both within 0.01%)
    assert base["mean_travel_min"] <= result["mean_travel_min"] * (1 + 1e-3)
    assert base["p"] == result["polysystems"]
    ratios = result["ratios"]["spopt-pmedian"]
    # ratios are rounded to 2 decimals
    assert ratios["speedup"] == pytest.approx(base["total_s"] / result["total_s"], rel=0.02, abs=0.005)
    # a warm-up build (reported on its own) filled the cache before the timed sides
    assert result["first_build_s"] > 0


def test_reused_baselines_keep_their_date_and_get_new_ratios(redbridge_run):
    sys.path.insert(0, str(ROOT))
    from bench.run import reuse_baselines

    previous = _last_json(redbridge_run.stdout)
    result = {
        **previous,
        "total_s": previous["total_s"] / 2,
        "baseline": {},
        "ratios": {},
        "date": "2099-01-01T00:00:00+00:00",
    }
    reuse_baselines(result, previous)
    base = result["baseline"]["spopt-pmedian"]
    assert base["reused"] is True and base["measured"] == previous["date"]
    assert base["p"] == previous["polysystems"]
    assert result["ratios"]["spopt-pmedian"]["speedup"] == pytest.approx(
        base["total_s"] / result["total_s"], rel=0.02, abs=0.005
    )
    assert result["speedup"] == result["ratios"]["spopt-pmedian"]["speedup"]


def test_report_renders_saved_results(redbridge_run, tmp_path):
    from bench.report import goals, load_results, render_markdown

    result = _last_json(redbridge_run.stdout)
    (tmp_path / "redbridge-practices.json").write_text(json.dumps(result))
    results = load_results(tmp_path)
    text = render_markdown(results, chart_name=None)
    assert "| `redbridge-practices` |" in text and "spopt-pmedian" in text
    verdicts = dict((g, v) for g, _, v in goals(results))
    assert verdicts["redbridge-practices proven optimal in under 1 s total"] in ("reached", "not reached")
    assert verdicts["london-lsoa contiguous gap ≤ 1% in under 10 min, peak memory < 8 GB"] == "not measured"


def test_speed_goal_is_judged_instance_by_instance():
    from bench.report import goals

    def run(name: str, ours: float, spopt: float) -> dict:
        return {
            "instance": name,
            "status": "optimal",
            "total_s": ours,
            "baseline": {"spopt-pmedian": {"status": "optimal", "total_s": spopt}},
        }

    def verdict(results: list[dict]) -> str:
        return [v for g, _, v in goals(results) if g.startswith("≥ 10×")][0]

    assert verdict([run("a", 1.0, 12.0), run("b", 1.0, 3.0)]) == "**partly**: reached on a only"
    assert verdict([run("a", 1.0, 12.0), run("b", 2.0, 25.0)]) == "reached"
    assert verdict([run("a", 1.0, 2.0)]) == "not reached"
    assert verdict([]) == "not measured"


def test_lp_gap_brackets_how_far_the_optimum_is_above_the_lp(real_data, tmp_path):
    env = {**os.environ, "CATCHMENT_DATA_DIR": str(real_data), "CATCHMENT_CACHE_DIR": str(tmp_path / "cache")}
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "lp_gap.py"), "redbridge-practices", "--time-limit", "60"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = _last_json(done.stdout)
    assert result["instance"] == "redbridge-practices" and result["status"] == "optimal"
    assert result["lp_covers_every_pair"] is True
    assert result["lp_bound"] <= result["mip_bound"] + 1e-9 and result["mip_bound"] <= result["objective"] + 1e-9
    low, high = result["optimum_above_lp"]
    assert 0.0 <= low <= high < 0.05 and high - low <= 1e-3


def test_generated_sections_survive_a_rewrite(tmp_path):
    from bench.docsections import keep_sections, section_blocks, write_section

    doc = tmp_path / "benchmarks.md"
    doc.write_text("# Benchmarks\n\nold table\n", encoding="utf-8")
    write_section(doc, "travel-times", "Travel times", "first", script="bench/travel_times.py")
    write_section(doc, "bounds", "Bounds", "b", script="bench/bounds.py")
    write_section(doc, "travel-times", "Travel times", "second", script="bench/travel_times.py")
    text = doc.read_text(encoding="utf-8")
    assert "first" not in text and text.count("## Travel times") == 1 and "second" in text
    assert list(section_blocks(text)) == ["travel-times", "bounds"]
    rewritten = keep_sections(text, "# Benchmarks\n\nnew table\n")  # as bench/report.py rewrites the document
    assert "new table" in rewritten and "old table" not in rewritten
    assert section_blocks(rewritten) == section_blocks(text)


def test_lns_fixing_bench_runs_both_ways():
    from bench.lns_fixing import render, run_once
    from tests.test_lns import _towns

    problem = _towns(n_units=120, n_sites=30, seed=3)
    rows = [run_once(problem, fixing=f, time_limit=15, mip_gap=1e-4, seed=1) for f in (False, True)]
    assert [r["fixing"] for r in rows] == [False, True]
    assert rows[0]["fixed"] == 0 and rows[1]["fixed"] > 0, rows
    text = render("towns", rows, command="python bench/lns_fixing.py", time_limit=15, mip_gap=1e-4)
    assert text.count("\n| ") == 3 and "| 2 | on |" in text and "Mean gap" in text


def test_national_bench_names_the_slowest_ccgs(tmp_path):
    import pandas as pd

    from bench.national import SLOWEST, slowest_ccgs

    assert slowest_ccgs(tmp_path) == ""  # no run there
    codes = [f"{i:02d}X" for i in range(SLOWEST + 2)]
    pd.DataFrame(
        {
            "ccg_code": [*codes, "99Z"],
            "status": ["feasible", *["optimal"] * (SLOWEST + 1), "below_floor"],
            "gap": [0.0123, *[0.0005] * (SLOWEST + 1), None],
            "runtime_s": [*[float(i + 1) for i in range(SLOWEST + 2)], None],
        }
    ).to_csv(tmp_path / "ccg_summary.csv", index=False)
    text = slowest_ccgs(tmp_path)
    total = sum(range(1, SLOWEST + 3))
    top = sum(range(3, SLOWEST + 3))
    assert text.startswith(f"Solve seconds of each CCG (wall, in its worker) add up to {total} s")
    assert f"the {SLOWEST} longest take {top} s of them: {codes[-1]} {SLOWEST + 2:.1f}, " in text
    assert "00X" not in text and "01X" not in text and "99Z" not in text
    # an unproven CCG among the slowest shows its status and gap
    pd.DataFrame(
        {
            "ccg_code": ["15E", "52R"],
            "status": ["feasible", "optimal"],
            "gap": [0.0123, 0.0009],
            "runtime_s": [120.0, 20.0],
        }
    ).to_csv(tmp_path / "ccg_summary.csv", index=False)
    assert slowest_ccgs(tmp_path).endswith(
        "the 2 longest take 140 s of them: 15E 120.0 (feasible, gap 1.23%), 52R 20.0."
    )


def test_national_bench_block_when_the_baseline_proved_every_ccg(tmp_path):
    import argparse

    from bench.national import markdown

    args = argparse.Namespace(out=tmp_path, baseline=tmp_path / "base", workers=2, note="")
    figures = {
        "time_limit_per_ccg_s": 120.0,
        **{f"{name}_{kind}_s": 1.0 for name in ("load", "start", "solve", "write") for kind in ("wall", "cpu")},
        "total_wall_s": 4.0,
        "total_cpu_s": 4.0,
        "ccgs": 2,
        "ccg_status": {"optimal": 2},
        "optimal": 2,
        "comparison": {
            "baseline": str(tmp_path / "base"),
            "baseline_commit": "abc1234",
            "baseline_total_s": 5.0,
            "baseline_load_s": 1.0,
            "baseline_solve_s": 3.0,
            "baseline_optimal": 2,
            "optimal_in_both": 2,
            "same_plan_where_optimal_in_both": 2,
            "different_plan_where_optimal_in_both": [],
            "proven_in_baseline_only": [],
            "proven_in_baseline_only_plan_worse": [],
            "national_mean_travel_min": {"baseline": 10.5, "this_run": 10.5},
            "ccgs_unproven_in_baseline": 0,
            "unproven_mean_travel_change_pct": {"mean": None, "max": None, "min": None},
        },
    }
    text = markdown(args, figures)
    assert "None" not in text
    assert "The baseline proved every CCG; patient-weighted national mean travel 10.5 min in the baseline" in text
