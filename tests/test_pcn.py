"""The practice-to-PCN mapping: the real file, Redbridge's six PCNs, and bad files."""

from __future__ import annotations

import pytest

from geodata.errors import InputDataError, MissingFileError
from geodata.nhs import read_list_sizes
from geodata.pcn import PCN_MAPPING_FILE, UNALLOCATED_PCN, pcn_configuration, read_pcn_mapping

HEADER = (
    "PUBLICATION,EXTRACT_DATE,PRACTICE_CODE,PRACTICE_NAME,PRACTICE_POSTCODE,PCN_CODE,PCN_NAME,ONS_CCG_CODE,"
    "CCG_CODE,CCG_NAME,ONS_STP_CODE,STP_CODE,STP_NAME,ONS_COMM_REGION_CODE,COMM_REGION_CODE,COMM_REGION_NAME"
)


def _row(practice: str, pcn: str, pcn_name: str, stp: str = "QMF") -> str:
    return (
        f"GP_PRAC_PAT_LIST,01Jan2022,{practice},NAME {practice},IG1 1AA,{pcn},{pcn_name},E38000255,A3A8R,"
        f"NHS North East London CCG,E54000029,{stp},East London,E40000003,Y56,London"
    )


@pytest.fixture(scope="module")
def mapping(real_data):
    return read_pcn_mapping(real_data / PCN_MAPPING_FILE)


def test_real_mapping(mapping):
    assert len(mapping) == 6_527
    assert mapping["practice_code"].is_unique
    assert mapping.loc[mapping["allocated"], "pcn_code"].nunique() == 1_255 - 1  # README: 1,255 codes incl. "U"
    assert int((~mapping["allocated"]).sum()) == 68
    assert set(mapping.loc[~mapping["allocated"], "pcn_code"]) == {UNALLOCATED_PCN}
    assert mapping["stp_code"].nunique() == 42
    assert list(mapping.columns) == [
        "practice_code",
        "practice_name",
        "pcn_code",
        "pcn_name",
        "ccg_code",
        "ccg_name",
        "stp_code",
        "stp_name",
        "region_code",
        "region_name",
        "allocated",
    ]


def test_redbridge_practices_have_the_six_real_pcns(mapping, real_data, redbridge_pcns):
    # CCG 08N (Redbridge) exists in the 2021 list sizes; the 2022 mapping has merged it into A3A8R,
    # so practices are matched by practice code.
    sizes = read_list_sizes(real_data / "england" / "gp-reg-pat-prac-all_2021-01.csv")
    redbridge = sizes.loc[sizes["ccg_code"] == "08N", "practice_code"]
    config = pcn_configuration(redbridge, mapping)
    assert sorted(config.pcn_names.values()) == redbridge_pcns
    assert len(config.pcn_of) + len(config.unallocated) + len(config.missing) == len(redbridge)
    assert set(mapping.loc[mapping["practice_code"].isin(list(config.pcn_of)), "stp_code"]) == {"QMF"}


def test_practices_missing_from_the_mapping_are_listed(tmp_path):
    path = tmp_path / "map.csv"
    path.write_text("\n".join([HEADER, _row("F86001", "U00001", "ONE PCN"), _row("F86002", "U", "Unallocated")]) + "\n")
    config = pcn_configuration(["F86001", "F86002", "Y99999"], read_pcn_mapping(path))
    assert config.pcn_of == {"F86001": "U00001"}
    assert config.pcn_names == {"U00001": "ONE PCN"}
    assert config.unallocated == ("F86002",)
    assert config.missing == ("Y99999",)
    assert not config.complete


def test_every_problem_is_named_with_row_and_column(tmp_path):
    path = tmp_path / "map.csv"
    rows = [
        HEADER,
        _row("F86001", "U00001", "ONE PCN"),
        _row("F86001", "U00002", "TWO PCN"),  # duplicate practice
        _row("", "U00001", "ONE PCN"),  # blank practice code (line 4)
        _row("F86004", "", "NO PCN"),  # blank PCN code (line 5)
        _row("F86005", "U00002", "ANOTHER NAME"),
    ]  # a second name for U00002 (line 6)
    path.write_text("\n".join(rows) + "\n")
    with pytest.raises(InputDataError) as caught:
        read_pcn_mapping(path)
    text = str(caught.value)
    assert str(path) in text
    assert "duplicate practice code 'F86001' (rows 2, 3)" in text
    assert "missing practice code" in text and "row 4" in text
    assert "missing pcn code" in text and "row 5" in text
    assert "PCN code 'U00002' has 2 names: 'ANOTHER NAME', 'TWO PCN'" in text


def test_missing_columns_are_all_named(tmp_path):
    path = tmp_path / "map.csv"
    path.write_text("PRACTICE_CODE,PCN_CODE\nF86001,U00001\n")
    with pytest.raises(InputDataError) as caught:
        read_pcn_mapping(path)
    for column in ("PCN_NAME", "STP_CODE", "CCG_CODE", "COMM_REGION_NAME"):
        assert column in str(caught.value)


def test_missing_file(tmp_path):
    with pytest.raises(MissingFileError, match="nowhere.csv"):
        read_pcn_mapping(tmp_path / "nowhere.csv")


def test_practices_of_stp_and_pcn(mapping, real_data):
    from geodata.errors import UnknownCodeError
    from geodata.pcn import practices_of

    qmf = practices_of(mapping, stp="QMF")
    assert len(qmf) == int((mapping["stp_code"] == "QMF").sum()) > 200
    new_cross = practices_of(mapping, pcn="U08578")
    assert {"F86010", "F86060"} <= set(new_cross) <= set(qmf)
    assert set(practices_of(mapping, stp="QMF", pcn=["U08578"])) == set(qmf)
    with pytest.raises(UnknownCodeError, match=r"unknown STP code\(s\) 'QMX' \(did you mean") as caught:
        practices_of(mapping, stp="QMX", file=real_data / PCN_MAPPING_FILE)
    assert PCN_MAPPING_FILE.split("/")[-1] in str(caught.value) and "stp_code" in str(caught.value)


def test_scenario_selects_practices_by_stp_and_pcn(real_data, mapping):
    from catchment.build import build_from_scenario
    from catchment.scenario import parse_scenario
    from geodata.errors import ScenarioError

    built = build_from_scenario(parse_scenario({"units": {"pcn": ["U08578", "U03653"]}}), data_dir=real_data)
    expected = set(mapping.loc[mapping["pcn_code"].isin(["U08578", "U03653"]), "practice_code"])
    assert set(built.problem.unit_ids) <= expected and len(built.problem.unit_ids) >= len(expected) - 1
    with pytest.raises(ScenarioError, match=r"\[units\] pcn: unknown PCN code\(s\) 'U0857' \(did you mean") as caught:
        build_from_scenario(parse_scenario({"units": {"pcn": "U0857"}}), data_dir=real_data)
    assert PCN_MAPPING_FILE.split("/")[-1] in str(caught.value)


def test_a_code_in_other_letter_case_is_suggested_alone():
    """``08n`` for ``08N``: the code itself, not three look-alikes (08N, 08Y, 08X) of one ratio."""
    from geodata.errors import UnknownCcgError, UnknownCodeError, close_codes

    known = ["08N", "08X", "08Y", "07L", "E09000026"]
    assert close_codes(["08n", "e09000026", "08Z", "QQQ"], known) == {
        "08n": ("08N",),
        "e09000026": ("E09000026",),
        "08Z": ("08Y", "08X", "08N"),  # difflib: best first, ties last-listed first
        "QQQ": (),
    }
    assert "unknown CCG code(s) '08n' (did you mean '08N'?)" in str(
        UnknownCodeError("list.csv", kind="ccg", codes=["08n"], known=known)
    )
    message = str(UnknownCcgError(["08n", "QQQ"], known=known, file="list.csv", column="CCG_CODE", area="CCG"))
    assert message.startswith("unknown CCG code(s) 08n (did you mean '08N'?), QQQ: not in column 'CCG_CODE'")
