"""The changelog between two releases: every changed figure, nothing else, no hidden count."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from transforms.publish.changelog import write_changes


def counts_file(path: Path, rows: list[tuple[str, str, str, int | None, str]]) -> Path:
    """A counts table of (unit code, period, offence code, count, status) rows."""
    frame = pd.DataFrame(rows, columns=["geo_code", "period", "offence_code", "count", "status"])
    frame["geo_level"] = "municipality"
    frame["geo_name"] = frame["geo_code"].map(lambda c: f"Obec {c}")
    frame["offence_name"] = frame["offence_code"].map(lambda c: f"druh {c}")
    frame["count"] = frame["count"].astype("Int64")
    frame.to_parquet(path, index=False)
    return path


@pytest.fixture
def releases(tmp_path: Path) -> tuple[Path, Path]:
    before = [
        ("1", "2025-01", "18", 4, "published"),
        ("1", "2025-02", "18", 5, "published"),
        ("1", "2025", "18", 9, "published"),
        ("2", "2025-01", "18", None, "suppressed"),
        ("2", "2025-02", "18", 3, "published"),
        ("2", "2025", "18", None, "suppressed"),
        ("1", "2024-12", "18", 7, "published"),
        ("1", "2024", "18", 7, "published"),
    ]
    now = [
        ("1", "2025-01", "18", 6, "published"),  # revised
        ("1", "2025-02", "18", 5, "published"),
        ("1", "2025-03", "18", 3, "published"),  # a month added
        ("1", "2025", "18", 14, "published"),  # the year over three months now
        ("2", "2025-01", "18", None, "suppressed"),
        ("2", "2025-02", "18", None, "suppressed"),  # hidden now
        ("2", "2025-03", "18", 8, "published"),
        ("2", "2025", "18", 12, "published"),
        ("3", "2025-01", "18", 0, "published"),  # a unit the previous release had not
        ("3", "2025-02", "18", 0, "published"),
        ("3", "2025-03", "18", 0, "published"),
        ("3", "2025", "18", 0, "published"),
        ("1", "2024-12", "18", 7, "published"),
        ("1", "2024", "18", 7, "published"),
    ]
    return counts_file(tmp_path / "before.parquet", before), counts_file(
        tmp_path / "now.parquet", now
    )


def test_every_changed_figure_and_nothing_else(releases, tmp_path: Path) -> None:
    before, now = releases
    summary = write_changes(before, now, tmp_path / "changes.csv")
    changes = pd.read_csv(tmp_path / "changes.csv", dtype={"geo_code": str, "period": str})
    listed = list(changes[["change", "geo_code", "period"]].itertuples(index=False, name=None))
    assert listed == [
        ("revised", "1", "2025-01"),
        ("now_suppressed", "2", "2025-02"),
        ("new", "3", "2025-01"),
        ("new", "3", "2025-02"),
    ]
    revised = changes.iloc[0]
    assert (revised["count_before"], revised["count_now"]) == (4, 6)
    # a cell hidden now shows the count its earlier release published, and none for now
    hidden = changes.iloc[1]
    assert hidden["count_before"] == 3 and pd.isna(hidden["count_now"])
    assert summary["months_added"] == ["2025-03"]
    assert summary["years_over_other_months"] == ["2025"]
    assert summary["months_with_changes"] == ["2025-01", "2025-02"]
    assert summary["cells"] == {
        "revised": 1,
        "now_suppressed": 1,
        "now_published": 0,
        "new": 2,
        "gone": 0,
    }


def test_a_hidden_count_is_never_in_the_file(releases, tmp_path: Path) -> None:
    """Every count in the changelog is one its own release published."""
    before, now = releases
    write_changes(before, now, tmp_path / "changes.csv")
    changes = pd.read_csv(tmp_path / "changes.csv")
    for when in ("before", "now"):
        hidden = changes[f"status_{when}"] == "suppressed"
        assert changes.loc[hidden, f"count_{when}"].isna().all()


def test_a_first_release_has_an_empty_changelog(releases, tmp_path: Path) -> None:
    _, now = releases
    summary = write_changes(None, now, tmp_path / "changes.csv")
    assert pd.read_csv(tmp_path / "changes.csv").empty
    assert summary["compared_with"] is None and summary["months_added"] == []
