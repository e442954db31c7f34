"""What protection costs the tables, by level: the figures that tell whether a release still
answers what its readers came for, next to the audit that proves it safe.

Two reports from one tally. The public one is a function of the published statuses alone (which
cells are hidden, by level): a reader who holds the table can recompute it, so it tells nothing
new. The operator's report adds what only the pipeline knows: why each cell is hidden (primary
or secondary) and how many offences the hidden cells hold. Those are sums over hidden cells; a
release never carries them (``0 % of the municipal totals hidden as secondary`` would tell every
reader that each hidden municipal total holds 1 or 2).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from transforms.domain.counting import NONSENSITIVE, SENSITIVE, Cube, sensitive_nodes
from transforms.privacy.cells import PRIMARY_CODE, PUBLISHED_CODE, SECONDARY_CODE

# the kinds of figure a reader looks for, per offence node
HEADLINE, GROUP, TYPE, SENSITIVE_TOTAL, SENSITIVE_TYPE = (
    "headline",
    "group",
    "type",
    "sensitive total",
    "sensitive type",
)
KINDS = (HEADLINE, GROUP, TYPE, SENSITIVE_TOTAL, SENSITIVE_TYPE)
GEO_ORDER = ("country", "region", "district", "municipality")
PERIOD_ORDER = ("month", "year")
COLUMNS = [
    "cells",
    "hidden",
    "primary",
    "secondary",
    "offences",
    "withheld_secondary",
    "least_secondary",
]


def offence_kinds(cube: Cube) -> np.ndarray:
    """Per offence node: which of :data:`KINDS` it is."""
    offence = cube.offence
    sensitive = sensitive_nodes(offence)
    kinds = []
    for code, is_sensitive in zip(offence.codes, sensitive, strict=True):
        if code == NONSENSITIVE:
            kinds.append(HEADLINE)
        elif code == SENSITIVE:
            kinds.append(SENSITIVE_TOTAL)
        elif is_sensitive:
            kinds.append(SENSITIVE_TYPE)
        else:
            kinds.append(GROUP if offence.level[code] == "group" else TYPE)
    return np.array(kinds, dtype=object)


def unavoidable_secondary(
    cube: Cube, codes: np.ndarray, table: np.ndarray, required: np.ndarray
) -> np.ndarray:
    """Per cell: it is the published total of a period relation (a year over its months) that no
    protection can leave as it is, because the cells the policy hides in it add up to less than
    the width one of them needs. The reader subtracts the published months from the year and
    learns that sum, so one more of the relation's cells (the year or a month of the same unit
    and offence) must be hidden as secondary, whatever the algorithm. Such relations share no
    published cell, so their number is a lower bound on the secondary cells of their level and
    kind of figure. (Relations along geography or the offences mix levels or kinds, so they
    bound no single row of the report and are left out.)"""
    shape = cube.shape
    count = cube.count.reshape(shape)
    policy_hidden = ((codes == PRIMARY_CODE) | ~table).reshape(shape)
    need = np.where(codes == PRIMARY_CODE, required, 0).reshape(shape)
    forced = np.zeros(shape, dtype=bool)
    index = cube.period.index()
    for parent, kids in cube.period.children().items():
        at = [index[k] for k in kids]
        hidden_sum = np.where(policy_hidden[:, at, :], count[:, at, :], 0).sum(axis=1)
        widest = np.where(count[:, at, :] > 0, need[:, at, :], 0).max(axis=1)
        p = index[parent]
        forced[:, p, :] = ~policy_hidden[:, p, :] & (widest > hidden_sum)
    return forced.ravel()


def tally(cube: Cube, codes: np.ndarray, table: np.ndarray, required: np.ndarray) -> pd.DataFrame:
    """Per (geography level, period type, kind of figure), over the cells of the published
    table: how many, hidden, primary, secondary, the offences they count and those the
    secondary cells withhold; and, from each cell's ``required`` width, how many secondary
    cells of that level and kind any protection needs at least (:func:`unavoidable_secondary`,
    counted at the year). Tallies of different years add up. Counted by category number
    (bincount), not as text: a year has 9 million cells."""
    g, p, o = cube.coordinates()
    geo_names, geo_id = np.unique([cube.geo.level[c] for c in cube.geo.codes], return_inverse=True)
    period_names, period_id = np.unique(
        [cube.period.level[c] for c in cube.period.codes], return_inverse=True
    )
    kind_names, kind_id = np.unique(offence_kinds(cube).astype(str), return_inverse=True)
    shape = (len(geo_names), len(period_names), len(kind_names))
    category = np.ravel_multi_index((geo_id[g], period_id[p], kind_id[o]), shape)[table]
    code, count = codes[table], cube.count[table]
    size = int(np.prod(shape))
    columns = {
        "cells": np.bincount(category, minlength=size),
        "hidden": np.bincount(category, weights=code != PUBLISHED_CODE, minlength=size),
        "primary": np.bincount(category, weights=code == PRIMARY_CODE, minlength=size),
        "secondary": np.bincount(category, weights=code == SECONDARY_CODE, minlength=size),
        "offences": np.bincount(category, weights=count, minlength=size),
        "withheld_secondary": np.bincount(
            category, weights=np.where(code == SECONDARY_CODE, count, 0), minlength=size
        ),
        "least_secondary": np.bincount(
            category,
            weights=unavoidable_secondary(cube, codes, table, required)[table],
            minlength=size,
        ),
    }
    index = pd.MultiIndex.from_product(
        [geo_names, period_names, kind_names], names=["geo_level", "period_type", "kind"]
    )
    frame = pd.DataFrame({k: v.astype(np.int64) for k, v in columns.items()}, index=index)
    return frame[frame["cells"] > 0]


def add_tallies(tallies: list[pd.DataFrame]) -> pd.DataFrame:
    if not tallies:
        return pd.DataFrame(columns=COLUMNS)
    return pd.concat(tallies).groupby(level=[0, 1, 2]).sum()


def _share(numerator: float, denominator: float) -> float | None:
    return round(numerator / denominator, 6) if denominator else None


def _select(
    counts: pd.DataFrame, geo: tuple[str, ...], kind: tuple[str, ...], period: tuple[str, ...]
) -> pd.Series:
    index = counts.index
    rows = (
        index.get_level_values("geo_level").isin(geo)
        & index.get_level_values("kind").isin(kind)
        & index.get_level_values("period_type").isin(period)
    )
    return counts[rows][COLUMNS].sum()


def public_protection_cost(counts: pd.DataFrame) -> dict[str, Any]:
    """What protection costs, as a reader of the release can recount it: the share of hidden
    cells by level, and the headline rows of the target table."""
    headline = {
        geo: _share(*_pair(_select(counts, (geo,), (HEADLINE,), PERIOD_ORDER), "hidden"))
        for geo in GEO_ORDER
    }
    groups = {
        geo: _share(*_pair(_select(counts, (geo,), (GROUP,), PERIOD_ORDER), "hidden"))
        for geo in ("country", "region", "district")
    }
    return {
        "headline_totals_hidden": headline,
        "group_totals_hidden": groups,
        "hidden_by_level": _by_level(counts, ("hidden",)),
    }


def protection_cost(counts: pd.DataFrame, counted_offences: int) -> dict[str, Any]:
    """The operator's report: :func:`public_protection_cost`, and why cells are hidden and what
    the secondary ones withhold (never published: see the module docstring)."""
    table = counts[COLUMNS].sum()
    municipal = _select(counts, ("municipality",), (HEADLINE,), PERIOD_ORDER)
    return public_protection_cost(counts) | {
        "municipal_headlines_hidden_as_secondary": _share(
            municipal["secondary"], municipal["cells"]
        ),
        "least_municipal_headlines_hidden_as_secondary": _share(
            municipal["least_secondary"], municipal["cells"]
        ),
        "secondary_per_primary": _share(table["secondary"], table["primary"]),
        "primary_cells": int(table["primary"]),
        "secondary_cells": int(table["secondary"]),
        "withheld_by_secondary_per_counted_offence": _share(
            table["withheld_secondary"], counted_offences
        ),
        "withheld_by_secondary_per_cell_offences": _share(
            table["withheld_secondary"], table["offences"]
        ),
        "by_level": _by_level(counts, ("hidden", "primary", "secondary", "withheld_secondary")),
    }


def _pair(totals: pd.Series, column: str) -> tuple[float, float]:
    return float(totals[column]), float(totals["cells"])


def _by_level(counts: pd.DataFrame, columns: tuple[str, ...]) -> list[dict[str, Any]]:
    """One row per (geography level, period type, kind of figure), in reading order."""
    rows = []
    for geo in GEO_ORDER:
        for period in PERIOD_ORDER:
            for kind in KINDS:
                key = (geo, period, kind)
                if key not in counts.index:
                    continue
                found = counts.loc[key]  # type: ignore[index]
                row: dict[str, Any] = {
                    "geo_level": geo,
                    "period_type": period,
                    "figure": kind,
                    "cells": int(found["cells"]),
                }
                for column in columns:
                    base = "offences" if column == "withheld_secondary" else "cells"
                    row[f"{column}_share"] = _share(found[column], found[base])
                rows.append(row)
    return rows


def table_text(report: dict[str, Any]) -> list[tuple[str, str]]:
    """The target table's rows as (figure, value) for a console or a page."""

    def percent(value: float | None) -> str:
        return "–" if value is None else f"{value:.1%}"

    headline = report["headline_totals_hidden"]
    groups = report["group_totals_hidden"]
    rows = [
        (
            "headline totals hidden (country / region / district)",
            " / ".join(percent(headline[g]) for g in ("country", "region", "district")),
        ),
        ("municipal headline totals hidden", percent(headline["municipality"])),
        (
            "group totals hidden (region / district)",
            " / ".join(percent(groups[g]) for g in ("region", "district")),
        ),
    ]
    if "secondary_per_primary" in report:
        ratio = report["secondary_per_primary"]
        rows += [
            (
                "municipal headline totals hidden as secondary",
                percent(report["municipal_headlines_hidden_as_secondary"]),
            ),
            (
                "  least any protection can (a year over one small month)",
                percent(report["least_municipal_headlines_hidden_as_secondary"]),
            ),
            ("secondary cells per primary cell", "–" if ratio is None else f"{ratio:.3f}"),
            (
                "offences withheld by secondary suppression / counted",
                percent(report["withheld_by_secondary_per_counted_offence"]),
            ),
        ]
    return rows
