"""The police statistical report ("Statistický výkaz č. 1"), on the real 2013 Benešov workbook."""

from __future__ import annotations

from pathlib import Path

import pytest

from transforms.sources.police_reports import read_report_workbook
from transforms.sources.text import SchemaError


@pytest.fixture(scope="module")
def report(shared_sources: Path):
    return read_report_workbook((shared_sources / "czech-crime" / "a0101__.xls").read_bytes())


def test_every_unit_sheet_is_read(report) -> None:
    assert sorted(report["unit_code"].unique()) == [
        "010110",
        "010111",
        "010112",
        "010114",
        "010117",
        "010118",
        "010119",
    ]
    assert report.groupby("unit_code").size().eq(212).all()  # page headers skipped
    assert set(report["period_start"]) == {"2013-01-01"}
    assert set(report["period_end"]) == {"2013-12-31"}


def test_leaf_codes_lose_their_float_and_ranges_are_subtotals(report) -> None:
    benesov = report[report["unit_code"] == "010110"].set_index("tsk_code")
    assert benesov.loc["103", "tsk_name"] == "Vraždy motiv. osob. vztahy"
    assert not benesov.loc["103", "is_subtotal"]
    assert benesov.loc["101-106", "is_subtotal"]
    total = benesov.loc["101-903"]
    assert (total["tsk_name"], total["found"], total["solved"]) == ("CELKOVÁ KRIMINALITA", 819, 239)
    assert total["solved_percent"] == pytest.approx(29.1819, abs=1e-3)
    # the subtotal is the sum of its leaves
    leaves = benesov[~benesov["is_subtotal"]]
    murders = leaves.loc[[c for c in leaves.index if 101 <= int(c) <= 106], "found"].sum()
    assert murders == benesov.loc["101-106", "found"]


def test_not_a_workbook_is_refused() -> None:
    with pytest.raises(SchemaError, match=r"not a readable \.xls"):
        read_report_workbook(b"this is not a spreadsheet")
