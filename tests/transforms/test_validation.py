"""The frames the suites are run on give GX the rows plain pandas would."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from transforms.validation import RowConditionFrame, validation_view

VALUES = ["published", "suppressed", "a b", "Ž"]
maybe_value = st.one_of(st.none(), st.sampled_from(VALUES))


@st.composite
def frames(draw: st.DrawFn) -> pd.DataFrame:
    rows = draw(st.integers(0, 12))
    column = st.lists(maybe_value, min_size=rows, max_size=rows)
    numbers = draw(
        st.lists(st.one_of(st.just(float("nan")), st.floats(0, 9)), min_size=rows, max_size=rows)
    )
    frame = pd.DataFrame(
        {
            "status": pd.Categorical(draw(column), categories=VALUES[:3]),
            "text": pd.array(draw(column), dtype="str"),
            "objects": pd.Series(draw(column), dtype=object),
            "count": pd.Series(numbers, dtype="float64"),
        }
    )
    # the index a slice of a larger table has: the rows keep their labels
    return frame.set_axis(range(100, 100 + 2 * rows, 2))


conditions = st.one_of(
    st.builds(
        lambda column, op, value, quote: f"{column} {op} {quote}{value}{quote}",
        st.sampled_from(["status", "text", "objects"]),
        st.sampled_from(["==", "!="]),
        st.sampled_from([*VALUES, "absent"]),
        st.sampled_from(['"', "'"]),
    ),
    # not one column against one value: DataFrame.query answers
    st.sampled_from(['status == "published" and count > 3', "count > 3", 'count == "3"']),
)


@settings(max_examples=300, deadline=None)
@given(frames(), conditions)
def test_row_conditions_select_the_rows_query_selects(frame: pd.DataFrame, condition: str) -> None:
    expected = frame.query(condition, parser="pandas")
    found = RowConditionFrame(frame).query(condition, parser="pandas")
    pd.testing.assert_frame_equal(pd.DataFrame(found), expected)


@settings(max_examples=200, deadline=None)
@given(frames(), conditions, conditions)
def test_conditions_asked_again_or_of_a_selection_select_what_query_selects(
    frame: pd.DataFrame, first: str, second: str
) -> None:
    """A frame answers each condition once and keeps the rows; asked again, or asked about rows
    it selected, it still gives what ``DataFrame.query`` gives."""
    view = RowConditionFrame(frame)
    for condition in (first, second, first, second):
        found = view.query(condition, parser="pandas")
        pd.testing.assert_frame_equal(pd.DataFrame(found), frame.query(condition, parser="pandas"))
    selected = view.query(first, parser="pandas")
    expected = frame.query(first, parser="pandas").query(second, parser="pandas")
    pd.testing.assert_frame_equal(pd.DataFrame(selected.query(second, parser="pandas")), expected)


def test_the_validation_view_answers_row_conditions_itself(monkeypatch) -> None:
    view = validation_view(pd.DataFrame({"status": ["published", None, "suppressed"]}))
    assert isinstance(view, RowConditionFrame)
    assert isinstance(view.iloc[:2], RowConditionFrame)  # slices keep the fast path
    monkeypatch.setattr(pd.DataFrame, "query", lambda *_, **__: pytest.fail("parsed by pandas"))
    assert view.query('status!="published"', parser="pandas").index.tolist() == [1, 2]
