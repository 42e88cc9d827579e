"""ONS's LSOA (2011) to LSOA (2021) lookup: the reader's checks, and registrations carried between vintages."""

from __future__ import annotations

import pandas as pd
import pytest

from geodata.boundaries import lsoa_vintage
from geodata.errors import InputDataError
from geodata.lookup import read_lsoa_lookup, registrations_to_vintage

HEADER = "LSOA11CD,LSOA11NM,CHGIND,LSOA21CD,LSOA21NM,LAD22CD,LAD22NM,LAD22NMW,ObjectId\n"
#: E01000001 unchanged; E01000002 split into E01033800 and E01033801; E01000003 and E01000004
#: merged into E01033802; E01000005 and E01000006 redrawn across E01033803 and E01033804.
ROWS = [
    ("E01000001", "U", "E01000001"),
    ("E01000002", "S", "E01033800"),
    ("E01000002", "S", "E01033801"),
    ("E01000003", "M", "E01033802"),
    ("E01000004", "M", "E01033802"),
    ("E01000005", "X", "E01033803"),
    ("E01000005", "X", "E01033804"),
    ("E01000006", "X", "E01033804"),
]


def _lookup(tmp_path, rows=ROWS, header=HEADER):
    path = tmp_path / "LSOA11_LSOA21_LAD22_EW_LU.csv"
    lines = [
        f"{a},City of London 001A,{c},{b},City of London 001A,E09000001,City of London,,{i}\n"
        for i, (a, c, b) in enumerate(rows, 1)
    ]
    path.write_text("\ufeff" + header + "".join(lines), encoding="utf-8")
    return path


def test_the_published_layout_is_read(tmp_path):
    lookup = read_lsoa_lookup(_lookup(tmp_path))
    assert list(lookup.columns) == ["lsoa11_code", "lsoa21_code", "change"]
    assert len(lookup) == len(ROWS) and lookup["change"].tolist() == [c for _, c, _ in ROWS]


@pytest.mark.parametrize(
    ("rows", "header", "expected"),
    [
        (
            [*ROWS[:3], ("E01000003", "Q", "E01033802")],
            HEADER,
            "row 5, column 'CHGIND': unknown change indicator 'Q': expected U (unchanged), S (a 2011 LSOA split",
        ),
        ([("E01000001", "U", "")], HEADER, "row 2, column 'LSOA21CD': '' is not an LSOA code"),
        ([ROWS[0], ROWS[0]], HEADER, "row 2, column 'LSOA11CD, LSOA21CD': duplicate pair ('E01000001', 'E01000001')"),
        (ROWS, HEADER.replace("CHGIND", "CHANGE"), "column 'CHGIND': required column is missing"),
    ],
)
def test_a_bad_lookup_is_named_by_file_row_and_column(tmp_path, rows, header, expected):
    path = _lookup(tmp_path, rows, header)
    with pytest.raises(InputDataError) as info:
        read_lsoa_lookup(path)
    assert f"{path}, {expected}" in str(info.value)


def _registrations(codes: dict[str, int], column: str) -> pd.DataFrame:
    frame = pd.DataFrame(
        {"practice_code": "F86001", "lsoa_code": list(codes), "patients": list(codes.values())}, dtype=object
    )
    frame["patients"] = frame["patients"].astype("int64")
    frame.attrs["published_lsoa_column"] = column
    return frame


def test_2021_registrations_are_carried_to_2011_exactly_where_the_lookup_is_one_to_one(tmp_path):
    lookup = read_lsoa_lookup(_lookup(tmp_path))
    reg = _registrations(
        {
            "E01000001": 100,
            "E01033800": 30,
            "E01033801": 20,
            "E01033802": 90,
            "E01033803": 7,
            "E01033804": 11,
            "NO2011": 5,
            "W01000001": 3,
        },
        "LSOA21CD",
    )
    population = pd.Series({"E01000003": 1000.0, "E01000004": 2000.0, "E01000005": 1500.0, "E01000006": 500.0})
    carried = registrations_to_vintage(reg, lookup, year=2011, population=population)
    got = carried.registrations.set_index("lsoa_code")["patients"]
    assert got.sum() == pytest.approx(reg["patients"].sum(), rel=1e-15)  # none created or lost
    assert got["E01000001"] == 100  # unchanged
    assert got["E01000002"] == 50  # a split LSOA's 2021 pieces summed back into it
    assert got["E01000003"] == pytest.approx(30) and got["E01000004"] == pytest.approx(60)  # by population
    assert got["E01000005"] == pytest.approx(7 + 11 * 0.75) and got["E01000006"] == pytest.approx(11 * 0.25)
    assert got["NO2011"] == 5 and got["W01000001"] == 3  # codes the lookup does not know are kept
    estimated = carried.apportioned.set_axis(carried.registrations["lsoa_code"])
    assert estimated.sum() == pytest.approx(90 + 11)  # E01033802 and E01033804 have several 2011 partners
    assert estimated["E01000001"] == 0 and estimated["E01000002"] == 0
    assert lsoa_vintage(carried.registrations).year == 2011


def test_2011_registrations_are_carried_to_2021_and_without_populations_in_equal_parts(tmp_path):
    lookup = read_lsoa_lookup(_lookup(tmp_path))
    reg = _registrations({"E01000002": 10, "E01000003": 4, "E01000004": 6}, "LSOA11CD")
    carried = registrations_to_vintage(reg, lookup, year=2021, population=pd.Series(dtype=float))
    got = carried.registrations.set_index("lsoa_code")["patients"]
    assert got.to_dict() == {"E01033800": 5.0, "E01033801": 5.0, "E01033802": 10.0}
    assert carried.apportioned.tolist() == [5.0, 5.0, 0.0]  # the split is apportioned; the merger is exact
