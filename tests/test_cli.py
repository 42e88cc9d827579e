"""The command line end to end: demo, run, evaluate, exit codes, atomic outputs."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pandas as pd
import pytest

import optimise
from catchment.metrics import ASSIGNMENT_COLUMNS, POLYSYSTEM_COLUMNS
from catchment.outputs import MARKER

ROOT = Path(__file__).resolve().parents[1]


def _run(*argv: str) -> int:
    return optimise.main([*argv, "--quiet"])


@pytest.fixture(scope="module")
def demo_out(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "out"
    assert optimise.main(["demo", "--out", str(out), "--quiet"]) == optimise.EXIT_OK
    return out


def test_demo_writes_the_contract_files(demo_out):
    assignments = pd.read_csv(demo_out / "assignments.csv")
    polysystems = pd.read_csv(demo_out / "polysystems.csv")
    solution = json.loads((demo_out / "solution.json").read_text())
    assert list(assignments.columns[: len(ASSIGNMENT_COLUMNS)]) == list(ASSIGNMENT_COLUMNS)
    assert list(polysystems.columns[: len(POLYSYSTEM_COLUMNS)]) == list(POLYSYSTEM_COLUMNS)
    assert len(assignments) == 42 and assignments["polysystem_id"].notna().all()
    assert (polysystems["population"] >= 50_000).all()
    assert polysystems["population"].sum() == assignments["population"].sum()
    for key in (
        "status",
        "proven_optimal",
        "objective",
        "bound",
        "gap",
        "solver",
        "runtime_s",
        "load_s",
        "travel_source",
        "scenario",
        "input_files",
    ):
        assert key in solution, key
    assert solution["status"] == "optimal" and solution["proven_optimal"] is True
    assert solution["travel_source"] == "network"
    assert solution["gap"] <= 1e-4
    import pyogrio

    layers = {name for name, _ in pyogrio.list_layers(demo_out / "polysystems.gpkg")}
    assert {"units", "polysystems", "hubs", "sites"} <= layers
    assert not list(demo_out.parent.glob(".out.*")), "staging folder left behind"


def test_redbridge_practices_proven_optimal(tmp_path, capsys):
    out = tmp_path / "rb"
    assert _run("run", str(ROOT / "scenarios" / "redbridge.toml"), "--out", str(out)) == optimise.EXIT_OK
    assignments = pd.read_csv(out / "assignments.csv", dtype={"unit_id": str})
    polysystems = pd.read_csv(out / "polysystems.csv")
    solution = json.loads((out / "solution.json").read_text())
    assert len(assignments) == 42 and assignments["population"].sum() == 337_420
    assert (polysystems["population"] >= 50_000).all()
    assert solution["proven_optimal"] is True
    assert solution["travel_source"] == "estimate"
    assert "estimate" in solution["travel_label"]
    assert "estimate" in capsys.readouterr().out
    assert len(solution["input_files"]) >= 5 and all(len(h) == 64 for h in solution["input_files"].values())

    # planners' "test this configuration": the optimal plan re-evaluated scores the same
    config = tmp_path / "config.csv"
    assignments[["unit_id", "polysystem_id", "hub_site_id"]].to_csv(config, index=False)
    ev_out = tmp_path / "ev"
    assert (
        _run("evaluate", str(ROOT / "scenarios" / "redbridge.toml"), "--plan", str(config), "--out", str(ev_out))
        == optimise.EXIT_OK
    )
    evaluated = json.loads((ev_out / "solution.json").read_text())
    assert evaluated["objective"] == pytest.approx(solution["objective_terms"]["mean_travel"], rel=1e-9)
    assert (ev_out / "violations.txt").read_text() == "none\n"

    # merge two polysystems' practices into one and split off a tiny one: floor broken
    broken = assignments[["unit_id", "polysystem_id"]].copy()
    broken.loc[broken.index[0], "polysystem_id"] = "TINY"
    broken.to_csv(config, index=False)
    assert (
        _run("evaluate", str(ROOT / "scenarios" / "redbridge.toml"), "--plan", str(config), "--out", str(ev_out))
        == optimise.EXIT_BREAKS_RULES
    )
    assert "floor" in (ev_out / "violations.txt").read_text()
    assert json.loads((ev_out / "solution.json").read_text())["status"] == "breaks_rules"
    assert "breaks" in capsys.readouterr().out


def test_evaluate_names_the_configurations_own_polysystem_ids(tmp_path, capsys):
    """A split polysystem renumbers the engine's ids: messages and outputs name the planner's too."""
    scenario = str(ROOT / "scenarios" / "redbridge.toml")
    base = tmp_path / "base"
    assert _run("run", scenario, "--out", str(base), "--no-exports") == optimise.EXIT_OK
    split = pd.read_csv(base / "assignments.csv", dtype={"unit_id": str})[["unit_id", "polysystem_id"]]
    fourth = split.index[split["polysystem_id"] == "PS04"][1::2]
    split.loc[fourth, "polysystem_id"] = "PS04b"
    config = tmp_path / "split.csv"
    split.to_csv(config, index=False)
    out = tmp_path / "ev"
    capsys.readouterr()
    code = _run("evaluate", scenario, "--plan", str(config), "--out", str(out), "--no-exports")
    assert code == optimise.EXIT_BREAKS_RULES
    printed = capsys.readouterr().out
    units = pd.read_csv(out / "assignments.csv", dtype={"unit_id": str})
    polysystems = pd.read_csv(out / "polysystems.csv")
    assert units["configured_polysystem_id"].tolist() == split["polysystem_id"].tolist()
    mapping = dict(zip(polysystems["polysystem_id"], polysystems["configured_polysystem_id"], strict=True))
    assert json.loads((out / "solution.json").read_text())["configured_polysystems"] == mapping
    engine_id = next(ps for ps, yours in mapping.items() if yours == "PS04b")
    assert engine_id != "PS04b" and mapping.get("PS06") != "PS06"  # the engine renumbered them
    violations = (out / "violations.txt").read_text()
    assert f"polysystem {engine_id} (your 'PS04b', hub " in violations
    assert f"polysystem {engine_id} (your 'PS04b', hub " in printed
    assert f"the outputs call it {engine_id}" in printed


def _scenario(tmp_path: Path, extra_rules: str) -> Path:
    text = (ROOT / "scenarios" / "redbridge.toml").read_text().replace("floor = 50000", extra_rules)
    path = tmp_path / "s.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("rules", "expected"),
    [
        ("floor = 400000", "400,000"),
        ("floor = 50000\nmax_travel_min = 1", "1 min"),
    ],
)
def test_impossible_requests_are_diagnosed_and_write_nothing(tmp_path, capsys, rules, expected):
    out = tmp_path / "out"
    code = _run("run", str(_scenario(tmp_path, rules)), "--out", str(out))
    err = capsys.readouterr().err
    assert code == optimise.EXIT_INFEASIBLE
    assert "INFEASIBLE" in err and expected in err
    assert not out.exists()
    assert not any(p.name.startswith(".out") for p in tmp_path.iterdir())


def test_bad_input_exits_2_and_keeps_previous_outputs(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "assignments.csv").write_text("previous run\n")
    (out / MARKER).write_text('{"written_by": "catchment-planner"}\n')  # an earlier run's folder
    path = tmp_path / "s.toml"
    path.write_text((ROOT / "scenarios" / "redbridge.toml").read_text() + '\n[data]\nlist_sizes = "nope.csv"\n')
    assert _run("run", str(path), "--out", str(out)) == optimise.EXIT_INPUT
    assert "nope.csv" in capsys.readouterr().err
    assert (out / "assignments.csv").read_text() == "previous run\n"


def test_invalid_scenario_lists_every_problem(tmp_path, capsys):
    path = tmp_path / "bad.toml"
    path.write_text('[units]\ntype = "ward"\n[rules]\nfloor = -5\n')
    assert _run("run", str(path)) == optimise.EXIT_INPUT
    err = capsys.readouterr().err
    assert "bad.toml: [units] type" in err and "[rules] floor" in err


def test_data_warnings_are_shown_without_the_source_line():
    """A planner reads "SnapWarning: ...", not a file path of the engine and a line of its code."""
    from geodata.errors import EstimateWarning, SnapWarning

    shown = optimise._format_warning(SnapWarning("3 of 64 origins lie far"), SnapWarning, "/x/catchment/travel.py", 9)
    assert shown == "SnapWarning: 3 of 64 origins lie far"
    assert optimise._format_warning("placeholder", EstimateWarning, "/x/y.py", 1) == "EstimateWarning: placeholder"
    other = optimise._format_warning(DeprecationWarning("old"), DeprecationWarning, "/x/lib.py", 7)
    assert "/x/lib.py:7" in other  # a library's warning keeps where it came from


def test_batch_commands_name_the_scenario_workers_they_do_not_use(tmp_path, caplog):
    """Before, [solver] workers was dropped by shortlist, sweep and phase without a word."""
    import argparse
    import logging

    from catchment.scenario import read_scenario

    path = tmp_path / "s.toml"
    path.write_text('[units]\nccg = "08N"\n[sites]\nlargest_practices = 3\n[solver]\nworkers = 2\n')
    scenario = read_scenario(path)
    for command, warned in (("sweep", True), ("shortlist", True), ("phase", True), ("run", False)):
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="optimise"):
            optimise._options(argparse.Namespace(command=command, solver=None, time_limit=None), scenario)
        messages = [r.getMessage() for r in caplog.records]
        assert bool(messages) == warned, (command, messages)
        if warned:
            assert messages[0].startswith(f"{path}: [solver] workers is not used by {command}")


def test_a_command_leaves_the_processs_warnings_as_it_found_them(tmp_path, capsys):
    """A command routes warnings through logging while it runs, then puts Python's handling back.

    Otherwise the first command of a process changed how every later warning in it is shown
    (a test's ``pytest.warns`` around a command then passed or failed by the order the tests ran).
    """
    show, words = warnings.showwarning, warnings.formatwarning
    assert _run("run", str(tmp_path / "missing.toml")) == optimise.EXIT_INPUT  # a command that went through _main
    assert warnings.showwarning is show and warnings.formatwarning is words
