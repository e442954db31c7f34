from __future__ import annotations

from datetime import date
from typing import Any

from transforms.domain.periods import Month
from transforms.publish.freshness import freshness


def test_a_month_is_due_after_the_lag_and_the_grace_days() -> None:
    # lag 1: March is due on 1 May, late after 8 May with 7 days' grace
    on_time = freshness(Month(2025, 2), date(2025, 5, 7), lag_months=1, grace_days=7)
    assert on_time is not None and on_time.expected == Month(2025, 2) and not on_time.late
    late = freshness(Month(2025, 2), date(2025, 5, 8), lag_months=1, grace_days=7)
    assert late is not None and late.expected == Month(2025, 3) and late.late
    assert late.due == date(2025, 5, 8)
    assert "2025-03 was due by 2025-05-08" in late.message(date(2025, 5, 10))


def test_a_current_release_is_not_late() -> None:
    result = freshness(Month(2025, 3), date(2025, 5, 20), lag_months=1, grace_days=7)
    assert result is not None and not result.late


def test_no_release_at_all_is_late() -> None:
    result = freshness(None, date(2025, 5, 20), lag_months=0, grace_days=0)
    assert result is not None and result.late and result.expected == Month(2025, 4)
    assert "does not exist" in result.message(date(2025, 5, 20))


def test_a_closed_series_is_not_late_after_its_last_month() -> None:
    result = freshness(
        Month(2025, 3), date(2026, 11, 23), lag_months=1, grace_days=7, last_month=Month(2025, 3)
    )
    assert result is not None and not result.late


def test_the_year_boundary() -> None:
    result = freshness(Month(2025, 10), date(2026, 1, 10), lag_months=1, grace_days=7)
    assert result is not None and result.expected == Month(2025, 11) and result.late


def test_the_sample_release_is_late_today_unless_the_series_is_closed(
    pipeline_run: dict[str, Any],
) -> None:
    from transforms.pipeline.publish.operations import check_freshness

    settings = pipeline_run["settings"]
    late = check_freshness(settings, date(2026, 11, 23))
    assert late["late"] and late["published"] == "2025-03" and late["expected"] == "2026-09"
    closed = check_freshness(
        settings.model_copy(update={"last_month": "2025-03"}), date(2026, 11, 23)
    )
    assert not closed["late"]
