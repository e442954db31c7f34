"""Units renamed, merged or split between years, mapped to today's units, nothing dropped."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from transforms.domain.police_crosswalk import read_crosswalk, to_current_units
from transforms.sources.text import SchemaError

CROSSWALK = b"""old_code,new_code,share
010110,010120,1
010111,010121,1
010112,010121,1
010113,010122,0.6
010113,010123,0.4
"""


def reports() -> pd.DataFrame:
    rows = [("010110", 5), ("010111", 3), ("010112", 4), ("010113", 10), ("010200", 7)]
    return pd.DataFrame(
        [("2015-01", unit, "101", found) for unit, found in rows],
        columns=["month", "unit_code", "tsk_code", "found"],
    )


def test_renamed_merged_and_split_units_carry_their_figures_to_todays() -> None:
    current = to_current_units(
        reports(), read_crosswalk(CROSSWALK), ["month", "unit_code", "tsk_code"], ["found"]
    ).set_index("unit_code")
    assert current.loc["010120", "found"] == 5  # renamed
    assert current.loc["010121", "found"] == 7  # merged: 3 + 4
    assert current.loc[["010122", "010123"], "found"].tolist() == [6, 4]  # split 60/40
    assert current.loc[["010122", "010123"], "estimated"].all()
    assert not current.loc[["010120", "010121", "010200"], "estimated"].any()
    assert current.loc["010200", "found"] == 7  # not named: unchanged
    assert current["found"].sum() == reports()["found"].sum()  # nothing lost


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (b"old_code,new_code\n010110,010120\n", "columns"),
        (b"old_code,new_code,share\n10110,010120,1\n", "not KKOOUU"),
        (b"old_code,new_code,share\n010110,010120,0.5\n", "do not add up to 1"),
        (b"old_code,new_code,share\n010110,010120,x\n", "not a number"),
        (b"old_code,new_code,share\n010110,010120,1\n010120,010130,1\n", "both retired"),
    ],
)
def test_a_crosswalk_that_would_lose_or_invent_figures_is_refused(text: bytes, message: str):
    with pytest.raises(SchemaError, match=message):
        read_crosswalk(text)


@given(
    st.lists(st.integers(0, 10_000), min_size=1, max_size=5),
    st.lists(st.integers(1, 100), min_size=2, max_size=4),
)
def test_a_split_keeps_whole_counts_that_add_up_to_the_old_figure(
    found: list[int], weights: list[int]
) -> None:
    shares = [w / sum(weights) for w in weights]
    shares[-1] = 1 - sum(shares[:-1])
    text = "old_code,new_code,share\n" + "".join(
        f"010110,0102{i:02d},{s!r}\n" for i, s in enumerate(shares)
    )
    figures = pd.DataFrame(
        {
            "month": [f"2015-{m + 1:02d}" for m in range(len(found))],
            "unit_code": "010110",
            "tsk_code": "101",
            "found": found,
        }
    )
    current = to_current_units(
        figures, read_crosswalk(text.encode()), ["month", "unit_code", "tsk_code"], ["found"]
    )
    assert current.groupby("month")["found"].sum().tolist() == found
    for month, value in zip(figures["month"], found, strict=True):
        parts = current[current["month"] == month].sort_values("unit_code")["found"].tolist()
        assert all(abs(p - value * s) < 1 for p, s in zip(parts, shares, strict=True))
