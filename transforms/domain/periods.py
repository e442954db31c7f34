"""Calendar months: the unit of a police release and of one pipeline run."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime

# a month as settings, parameters and requests write it: YYYY-MM
MONTH_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])$"
# what Month.parse reads: YYYY-MM, or the police's file stem YYYYMM
_MONTH = re.compile(r"^(\d{4})-?(0[1-9]|1[0-2])$")


@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Month:
        """Accept ``2025-01`` or the police file stem ``202501``."""
        match = _MONTH.match(text.strip())
        if not match:
            raise ValueError(f"not a month: {text!r} (expected YYYY-MM or YYYYMM)")
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def of(cls, moment: date | datetime) -> Month:
        return cls(moment.year, moment.month)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def compact(self) -> str:
        """The police's file stem, e.g. ``202501``."""
        return f"{self.year:04d}{self.month:02d}"

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    def start_utc(self) -> datetime:
        return datetime(self.year, self.month, 1, tzinfo=UTC)

    def plus(self, months: int) -> Month:
        """The month ``months`` later (earlier when negative)."""
        index = self.year * 12 + self.month - 1 + months
        return Month(index // 12, index % 12 + 1)

    def next(self) -> Month:
        return Month(self.year + self.month // 12, self.month % 12 + 1)

    def months_until(self, last: Month) -> list[Month]:
        """This month and every month up to ``last``, inclusive."""
        months, current = [], self
        while current <= last:
            months.append(current)
            current = current.next()
        return months
