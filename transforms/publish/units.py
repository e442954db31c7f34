"""Each unit's published figures, gathered for its own page and download.

A release's counts table holds every (unit, period, offence) cell once; a unit's page needs
its own cells side by side: offences down, periods across. :class:`UnitFiguresBuilder` fills
one array of every unit's cells while the counts are written, year by year, from the text
columns' dictionary codes (no Python string per cell). Only what the table publishes goes in:
a hidden cell is :data:`HIDDEN`, whatever its count, so nothing built from here (a page, a
chart, a rolling sum, a rank) can tell more about it than the table does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from transforms.domain.counting import NONSENSITIVE
from transforms.privacy.policy import RateRules

HIDDEN = -1  # a suppressed cell
ABSENT = -2  # no such cell: an offence the table has no row for at this unit's level
UNIT_LEVELS = ("country", "region", "district", "municipality")
# municipalities are compared with those of about their size in their region
SIZE_BANDS = (0, 1_000, 5_000, 20_000, 100_000)


@dataclass(frozen=True)
class Offence:
    code: str
    level: str  # total, group or type
    name: str


@dataclass
class UnitFigures:
    """Every unit's published cells: ``counts[unit, offence, period]`` (:data:`HIDDEN`,
    :data:`ABSENT` or the count); units, offences and periods in the order of first sight,
    ``periods`` sorted at the end (months, then years)."""

    units: pd.DataFrame  # level, code, name, population
    offences: list[Offence]
    periods: list[str]
    counts: np.ndarray

    @property
    def months(self) -> list[str]:
        return [p for p in self.periods if len(p) == 7]

    def offence_index(self, code: str) -> int:
        return next(i for i, o in enumerate(self.offences) if o.code == code)

    def headline(self) -> np.ndarray:
        """Each unit's total of all offences the table counts at its level, by period."""
        return self.counts[:, self.offence_index(NONSENSITIVE), :]


class UnitFiguresBuilder:
    """Collects :class:`UnitFigures` from a release's counts tables (a year at a time): each
    part becomes a dense block of its own periods, small next to the part itself."""

    def __init__(self) -> None:
        self._units: dict[tuple[str, ...], int] = {}
        self._unit_rows: list[tuple[str, str, str, int | None]] = []
        self._offences: dict[tuple[str, ...], int] = {}
        self._offence_rows: list[Offence] = []
        self._blocks: list[tuple[np.ndarray, list[str]]] = []

    def add(self, table: pa.Table) -> None:
        """One part of the counts table (any rows of it)."""
        unit_keys = _Keys(table, ["geo_level", "geo_code"])
        if any(key not in self._units for key in unit_keys.used):  # names read once per unit
            for level, code, name, population in _distinct(
                table, ["geo_level", "geo_code", "geo_name", "population"]
            ):
                if (level, code) not in self._units:
                    self._units[(level, code)] = len(self._unit_rows)
                    self._unit_rows.append((level, code, name, population))
        offence_keys = _Keys(table, ["offence_code"])
        if any(key not in self._offences for key in offence_keys.used):
            for code, level, name in _distinct(
                table, ["offence_code", "offence_level", "offence_name"]
            ):
                if (code,) not in self._offences:
                    self._offences[(code,)] = len(self._offence_rows)
                    self._offence_rows.append(Offence(code, level, name))
        period_keys = _Keys(table, ["period"])
        periods = sorted(p for (p,) in period_keys.used)
        count = pc.fill_null(table["count"], 0).to_numpy(zero_copy_only=False)
        block = np.full((len(self._units), len(self._offences), len(periods)), ABSENT, np.int32)
        block[
            unit_keys.numbers(self._units),
            offence_keys.numbers(self._offences),
            period_keys.numbers({(p,): i for i, p in enumerate(periods)}),
        ] = np.where(_published(table), count, HIDDEN)
        self._blocks.append((block, periods))

    def build(self) -> UnitFigures:
        periods = sorted(
            {p for _, block_periods in self._blocks for p in block_periods},
            key=lambda p: (len(p) == 4, p),  # months, then years
        )
        where = {p: i for i, p in enumerate(periods)}
        counts = np.full((len(self._units), len(self._offences), len(periods)), ABSENT, np.int32)
        for block, block_periods in self._blocks:
            units, offences, _ = block.shape
            at = [where[p] for p in block_periods]
            # parts may share periods (rows of one year in two parts): a cell one part has no
            # row for keeps what another part gave it
            merged = counts[:units, :offences, at]
            np.copyto(merged, block, where=block != ABSENT)
            counts[:units, :offences, at] = merged
        # object columns: a population is an int or None, never a float NaN
        units = pd.DataFrame(
            self._unit_rows, columns=["level", "code", "name", "population"], dtype=object
        )
        return UnitFigures(units, self._offence_rows, periods, counts)


def _published(table: pa.Table) -> np.ndarray:
    status = table["status"].combine_chunks()
    if not pa.types.is_dictionary(status.type):
        status = status.dictionary_encode()
    published = np.array(status.dictionary.cast(pa.string()).to_pylist()) == "published"
    return published[status.indices.to_numpy()]


def _distinct(table: pa.Table, columns: list[str]) -> list[tuple[Any, ...]]:
    keys = table.select(columns).group_by(columns).aggregate([])
    return list(zip(*(keys[c].to_pylist() for c in columns), strict=True))


class _Keys:
    """A table's rows keyed by some of its text columns, as one integer per row combined from
    the columns' dictionary codes: no string per row, each distinct key looked up once."""

    def __init__(self, table: pa.Table, columns: list[str]) -> None:
        self.combined = np.zeros(table.num_rows, dtype=np.int64)
        self.dictionaries: list[list[str]] = []
        for name in columns:
            column = table[name].combine_chunks()
            if not pa.types.is_dictionary(column.type):
                column = column.dictionary_encode()
            self.dictionaries.append(column.dictionary.cast(pa.string()).to_pylist())
            self.combined *= len(self.dictionaries[-1])
            self.combined += column.indices.to_numpy()
        size = int(np.prod([len(d) for d in self.dictionaries]))
        self.present = np.flatnonzero(np.bincount(self.combined, minlength=size))
        self.used = [self._key(k) for k in self.present.tolist()]

    def _key(self, combined: int) -> tuple[str, ...]:
        parts = []
        for dictionary in reversed(self.dictionaries):
            combined, index = divmod(combined, len(dictionary))
            parts.append(dictionary[index])
        return tuple(reversed(parts))

    def numbers(self, numbers: dict[tuple[str, ...], int]) -> np.ndarray:
        """Each row's number for its key in ``numbers``."""
        lookup = np.full(int(self.present.max(initial=0)) + 1, -1, dtype=np.int32)
        lookup[self.present] = [numbers[key] for key in self.used]
        return lookup[self.combined]


def _by_month_number(months: Sequence[str], values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``values`` (…, months) spread over every month from the first to the last
    (:data:`ABSENT` where a month is not in the release), and each month's place there."""
    number = np.array([int(m[:4]) * 12 + int(m[5:7]) - 1 for m in months], dtype=np.int64)
    place = number - (number.min() if len(number) else 0)
    dense = np.full((*values.shape[:-1], int(place.max(initial=-1)) + 1), ABSENT, np.int64)
    dense[..., place] = values
    return dense, place


def year_earlier(months: Sequence[str], values: np.ndarray) -> np.ndarray:
    """Each month's value twelve months before (:data:`ABSENT` where that month is not in the
    release); ``values``: (…, months)."""
    dense, place = _by_month_number(months, values)
    earlier = np.full_like(dense, ABSENT)
    earlier[..., 12:] = dense[..., :-12]
    return earlier[..., place]


def rolling_sums(months: Sequence[str], values: np.ndarray, window: int = 12) -> np.ndarray:
    """The sum of each month and the ``window - 1`` before it, only where all of them are in
    the release and published (:data:`HIDDEN` where one is hidden, :data:`ABSENT` where one is
    missing): a sum over a hidden cell would tell what the table hides. ``values``:
    (…, months)."""
    dense, place = _by_month_number(months, values)

    def window_sum(a: np.ndarray) -> np.ndarray:
        total = np.cumsum(a, axis=-1)
        out = total.copy()
        out[..., window:] -= total[..., :-window]
        return out

    sums = window_sum(np.where(dense >= 0, dense, 0))
    sums = np.where(window_sum((dense == HIDDEN).astype(np.int64)) > 0, HIDDEN, sums)
    sums = np.where(window_sum((dense == ABSENT).astype(np.int64)) > 0, ABSENT, sums)
    sums[..., : window - 1] = ABSENT
    return sums[..., place]


def populations(units: pd.DataFrame) -> np.ndarray:
    """Each unit's population as a float (NaN where unknown), for ``RateRules.rates``."""
    return np.array([np.nan if p is None else float(p) for p in units["population"]])


def size_band(population: int | None) -> int:
    """The band of :data:`SIZE_BANDS` a population falls in (0 for an unknown one)."""
    return int(np.searchsorted(SIZE_BANDS, population or 0, side="right")) - 1


@dataclass(frozen=True)
class Peers:
    """A unit's comparison: the units like it, their published rates, its rank among them."""

    period: str
    members: list[int]  # unit numbers with a published rate, highest rate first
    rates: list[float]
    rank: int | None  # 1 = highest rate; None where the unit's own rate is not published
    band: int | None  # the municipalities' size band (:data:`SIZE_BANDS`); None: the level


MIN_PEERS = 3  # fewer municipalities of a size band in a region: compare with all of them


def peer_groups(
    figures: UnitFigures, parents: dict[str, str | None], rules: RateRules
) -> dict[int, Peers]:
    """Every unit's :class:`Peers` for the newest year: municipalities of the same region and
    size band (of the whole region where the band has fewer than :data:`MIN_PEERS`), districts
    of the same region, every region. Ranks use only published rates, so a rank tells nothing
    about a hidden cell."""
    year = max(p for p in figures.periods if len(p) == 4)
    headline = figures.headline()[:, figures.periods.index(year)]
    units = figures.units
    rate = rules.rates(headline, populations(units)).tolist()
    sizes = units["population"].tolist()
    groups: dict[tuple[str, str | None, int | None], list[int]] = {}
    for u, (level, code) in enumerate(zip(units["level"], units["code"], strict=True)):
        if level == "country":
            continue
        region = None if level == "region" else _region_of(level, code, parents)
        groups.setdefault((level, region, None), []).append(u)
        if level == "municipality":
            groups.setdefault((level, region, size_band(sizes[u])), []).append(u)
    result = {}
    for (level, _region, band), members in groups.items():
        if band is not None and len(members) < MIN_PEERS:
            continue
        ranked = sorted((u for u in members if not np.isnan(rate[u])), key=lambda u: -rate[u])
        for u in members:
            if level == "municipality" and band is None and u in result:
                continue  # compared within its band
            result[u] = Peers(
                year,
                ranked,
                [rate[m] for m in ranked],
                ranked.index(u) + 1 if u in ranked else None,
                band,
            )
    return result


def _region_of(level: str, code: str, parents: dict[str, str | None]) -> str | None:
    steps = {"municipality": 2, "district": 1}.get(level, 0)
    for _ in range(steps):
        code = parents.get(code) or ""
    return code or None
