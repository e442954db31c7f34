"""Is the published release as recent as the policy promises? The check behind the late alarm.

Under the policy's ``release_lag_months``, month M is due once that many full months have passed
since its end: on the first day of ``M + 1 + lag``. A publisher gets ``grace_days`` more before
the release counts as late (police data arrive some days into the month).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from transforms.domain.periods import Month


@dataclass(frozen=True)
class Freshness:
    published: Month | None  # newest month in the latest release
    expected: Month  # newest month that should be in it by now
    due: date  # when ``expected`` became late

    @property
    def late(self) -> bool:
        return self.published is None or self.published < self.expected

    def message(self, today: date) -> str:
        if not self.late:
            return f"current: the latest release covers {self.published}"
        have = f"covers up to {self.published}" if self.published else "does not exist"
        return (
            f"the release is late: it {have}, but {self.expected} was due by {self.due} "
            f"({(today - self.due).days} days ago)"
        )


def freshness(
    published: Month | None,
    today: date,
    lag_months: int,
    grace_days: int,
    last_month: Month | None = None,
) -> Freshness | None:
    """None when nothing is due yet; ``last_month`` caps what is expected (a closed series)."""
    month = Month.of(today)
    while True:  # the newest month whose due date (release day + grace) has passed
        month = month.plus(-1)
        due = month.plus(1 + lag_months).first_day + timedelta(days=grace_days)
        if due <= today:
            break
    if last_month is not None and last_month < month:
        month = last_month
        due = month.plus(1 + lag_months).first_day + timedelta(days=grace_days)
    if due > today:
        return None
    return Freshness(published, month, due)
