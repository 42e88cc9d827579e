"""Today's PCN configuration of Redbridge, scored under the scenario's rules."""

from __future__ import annotations

import pytest

from catchment.build import build_from_scenario
from catchment.current import NO_PCN_LABEL, pcn_configuration_frame, pcn_labels, pcn_notes
from catchment.evaluate import plan_from_configuration
from catchment.scenario import read_scenario
from geodata.pcn import PCN_MAPPING_FILE, PcnConfiguration, pcn_configuration, read_pcn_mapping


@pytest.fixture(scope="module")
def redbridge(real_data):
    built = build_from_scenario(read_scenario("scenarios/redbridge.toml"), data_dir=real_data)
    config = pcn_configuration(built.problem.unit_ids, read_pcn_mapping(real_data / PCN_MAPPING_FILE))
    return built.problem, config


def test_redbridge_pcns_scored_with_their_breaches(redbridge, redbridge_pcns):
    problem, config = redbridge
    assert config.complete and pcn_notes(config) == ()
    plan = plan_from_configuration(problem, pcn_configuration_frame(problem.unit_ids, config))
    assert len(plan.hub_options) == 6
    # the hand measurement: 5.77 min mean travel (crow-fly estimate)
    assert plan.objective == pytest.approx(5.77, abs=0.005)
    assert plan.status == "breaks_rules"  # two PCNs are below the 50,000 floor of redbridge.toml
    below = sorted(v for v in map(str, plan.violations) if v.startswith("floor"))
    assert len(below) == 2 and "29,356 people" in below[1] and "48,902 people" in below[0]
    assert set(pcn_labels(problem.unit_ids, config).values()) == set(redbridge_pcns)


def test_practices_without_a_pcn_are_polysystems_of_their_own():
    config = PcnConfiguration(
        pcn_of={"A": "U1", "B": "U1"}, pcn_names={"U1": "ONE PCN"}, unallocated=("C",), missing=("D",)
    )
    frame = pcn_configuration_frame(["A", "B", "C", "D"], config)
    assert frame["polysystem_id"].tolist() == ["U1", "U1", NO_PCN_LABEL.format(code="C"), NO_PCN_LABEL.format(code="D")]
    assert pcn_labels(["A", "C"], config) == {"A": "ONE PCN", "C": "no PCN (C)"}
    notes = pcn_notes(config)
    assert len(notes) == 2 and notes[0].endswith(": C") and notes[1].endswith(": D")


def test_compare_redbridge_pcns_with_the_optimum(redbridge):
    from catchment.compare import MOVES_COLUMNS, compare_plans
    from solvers import solve

    problem, config = redbridge
    current = plan_from_configuration(problem, pcn_configuration_frame(problem.unit_ids, config))
    proposed = solve(problem)
    comparison = compare_plans(problem, current, proposed)
    figures = comparison.as_dict(problem.unit_type)
    assert figures["adjusted_rand_index"] == pytest.approx(0.38, abs=0.005)  # the hand measurement
    assert figures["practices_moved"] == len(comparison.moves) > 0
    assert figures["patients_moved"] == pytest.approx(comparison.moves["population"].sum())
    assert figures["current"]["rules_broken"] == 2 and figures["proposed"]["rules_broken"] == 0
    assert figures["proposed"]["mean_travel_min"] < figures["current"]["mean_travel_min"]
    assert tuple(comparison.moves.columns) == MOVES_COLUMNS
    assert (comparison.moves["from_continues_as"] != comparison.moves["to"]).all()
    same = compare_plans(problem, proposed, proposed)
    assert same.adjusted_rand_index == 1.0 and same.units_moved == 0 and same.moves.empty
