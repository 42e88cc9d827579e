"""`evaluate --plan pcn` and `compare`: today's PCNs of Redbridge against the optimum."""

from __future__ import annotations

import json

import pandas as pd
import pytest

import optimise
from catchment.compare import MOVES_COLUMNS
from catchment.current import PCN_TABLE_COLUMNS
from catchment.outputs import MARKER


def _run(*argv: str) -> int:
    return optimise.main([*argv, "--quiet"])


def test_evaluate_today_s_pcns(tmp_path, real_data, capsys, redbridge_pcns):
    out = tmp_path / "pcn"
    code = _run(
        "evaluate", "scenarios/redbridge.toml", "--plan", "pcn", "--out", str(out), "--data-dir", str(real_data)
    )
    assert code == optimise.EXIT_BREAKS_RULES  # two PCNs are below the 50,000 floor
    pcns = pd.read_csv(out / "pcns.csv", keep_default_na=False)
    assert tuple(pcns.columns) == PCN_TABLE_COLUMNS and len(pcns) == 6
    assert sorted(pcns["pcn_name"]) == redbridge_pcns
    assert (pcns["rules_broken"] != "").sum() == 2 and pcns["population"].sum() == 337_420
    solution = json.loads((out / "solution.json").read_text())
    assert solution["status"] == "breaks_rules" and len(solution["violations"]) == 2
    assert solution["objective"] == pytest.approx(5.7694, abs=1e-4)
    assert "Today's PCNs and the rules each breaks" in capsys.readouterr().out


def test_compare_today_s_pcns_with_the_pcn_optimum(tmp_path, real_data):
    out = tmp_path / "cmp"
    code = _run(
        "compare", "scenarios/redbridge-pcn.toml", "--plan", "pcn", "--out", str(out), "--data-dir", str(real_data)
    )
    assert code == optimise.EXIT_BREAKS_RULES  # the current side breaks the PCN rules
    assert (out / MARKER).is_file()
    for side in ("current", "proposed"):
        for name in ("solution.json", "assignments.csv", "polysystems.csv", "map.html", "report.html"):
            assert (out / side / name).is_file(), (side, name)
    figures = json.loads((out / "comparison.json").read_text())
    for key in ("adjusted_rand_index", "practices_moved", "patients_moved", "current", "proposed"):
        assert key in figures
    for side in ("current", "proposed"):
        for key in ("polysystems", "mean_travel_min", "max_travel_min", "rules_broken", "status"):
            assert key in figures[side]
    # each side's figures are those of its own solution.json (re-derived by the metrics and validator)
    for side in ("current", "proposed"):
        solution = json.loads((out / side / "solution.json").read_text())
        assert figures[side]["status"] == solution["status"]
        assert figures[side]["rules_broken"] == len(solution["violations"])
        assert figures[side]["mean_travel_min"] == pytest.approx(solution["objective_terms"]["mean_travel"])
    assert figures["proposed"]["status"] == "optimal" and figures["proposed"]["rules_broken"] == 0
    assert figures["current"]["rules_broken"] > 0
    moves = pd.read_csv(out / "moves.csv")
    assert tuple(moves.columns) == MOVES_COLUMNS and len(moves) == figures["practices_moved"]
    assert moves["population"].sum() == pytest.approx(figures["patients_moved"])
    page = (out / "comparison.html").read_text()
    assert "current" in page and "proposed" in page and "cdn." not in page
    assert f"Adjusted Rand index of the two groupings: {figures['adjusted_rand_index']:.3f}" in page
    assert "Rules broken" in page


def test_compare_against_a_file_and_bad_uses(tmp_path, real_data):
    current = tmp_path / "pcn"
    assert _run("evaluate", "scenarios/redbridge.toml", "--plan", "pcn", "--out", str(current), "--data-dir",
                str(real_data)) == optimise.EXIT_BREAKS_RULES  # fmt: skip
    assigned = pd.read_csv(current / "assignments.csv")
    config = tmp_path / "config.csv"
    assigned[["unit_id", "polysystem_id"]].to_csv(config, index=False)
    out = tmp_path / "same"
    code = _run("compare", "scenarios/redbridge.toml", "--plan", "pcn", "--against", str(config), "--out", str(out),
                "--data-dir", str(real_data))  # fmt: skip
    assert code == optimise.EXIT_BREAKS_RULES
    figures = json.loads((out / "comparison.json").read_text())
    assert figures["adjusted_rand_index"] == 1.0 and figures["practices_moved"] == 0
    # the demo has no PCNs; phase takes no "pcn"; LSOA units have no PCNs
    assert _run("evaluate", "demo", "--plan", "pcn", "--out", str(tmp_path / "d")) == optimise.EXIT_INPUT
    with pytest.raises(SystemExit) as caught:
        _run("phase", "demo", "--annual-budget", "1e6", "--plan", "pcn")
    assert caught.value.code == 2
    code = _run("evaluate", "scenarios/redbridge-lsoa.toml", "--plan", "pcn", "--out", str(tmp_path / "l"),
                "--data-dir", str(real_data))  # fmt: skip
    assert code == optimise.EXIT_INPUT


def test_national_compare_pcn(tmp_path, real_data):
    from solvers.national import PCN_COMPARISON_COLUMNS

    out = tmp_path / "national"
    code = _run("national", "--ccg", "08N", "07T", "--compare", "pcn", "--serial", "--out", str(out), "--data-dir",
                str(real_data))  # fmt: skip
    assert code == optimise.EXIT_OK
    table = pd.read_csv(out / "pcn_comparison.csv").set_index("ccg_code")
    assert tuple(["ccg_code", *table.columns]) == PCN_COMPARISON_COLUMNS and set(table.index) == {"08N", "07T"}
    redbridge = table.loc["08N"]
    assert redbridge["pcns"] == 6 and redbridge["pcn_rules_broken"] == 2
    assert redbridge["adjusted_rand_index"] == pytest.approx(0.384, abs=0.001)
    assert redbridge["improvement_pct"] == pytest.approx(100 * (5.7694 - 5.1628) / 5.7694, abs=0.05)
    summary = json.loads((out / "national.json").read_text())["pcn_comparison"]
    assert summary["ccgs"] == 2 and summary["ccgs_compared"] == 2
    assert summary["practices_moved"] == int(table["practices_moved"].sum())
    page = (out / "pcn_comparison.html").read_text()
    assert "<svg" in page and "08N" in page and "http" not in page.replace("http://www.w3.org", "")


def test_compare_says_the_travel_times_are_an_estimate(tmp_path, real_data, capsys):
    """redbridge.toml's travel times are the crow-fly estimate: the comparison's terminal lines and
    comparison.json say so, as each side's solution.json does."""
    current = tmp_path / "pcn"
    assert _run("evaluate", "scenarios/redbridge.toml", "--plan", "pcn", "--out", str(current), "--data-dir",
                str(real_data)) == optimise.EXIT_BREAKS_RULES  # fmt: skip
    config = tmp_path / "config.csv"
    pd.read_csv(current / "assignments.csv")[["unit_id", "polysystem_id"]].to_csv(config, index=False)
    capsys.readouterr()
    out = tmp_path / "cmp"
    assert _run("compare", "scenarios/redbridge.toml", "--plan", "pcn", "--against", str(config), "--out", str(out),
                "--data-dir", str(real_data)) == optimise.EXIT_BREAKS_RULES  # fmt: skip
    solution = json.loads((out / "current" / "solution.json").read_text())
    assert solution["travel_source"] == "estimate" and "estimate" in solution["travel_label"]
    figures = json.loads((out / "comparison.json").read_text())
    assert figures["travel_source"] == "estimate" and figures["travel_label"] == solution["travel_label"]
    assert f"travel times: {solution['travel_label']}" in capsys.readouterr().out
