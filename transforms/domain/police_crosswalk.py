"""Police units renamed, merged or split between years: a crosswalk to today's units.

The reports carry the codes in force when they were made. The crosswalk (``unit_crosswalk.csv``
beside the police's unit file: ``old_code,new_code,share``) maps each retired code to the units
that carry its territory now:

- **renamed** (a new code for the same territory): one row, share 1;
- **merged** (A and B became C): a row per old unit, share 1 each, and C's figure is their sum;
- **split** (A became B and C): a row per new unit with the share of A's figures it takes (the
  shares add up to 1, e.g. by population); such a figure is an estimate and says so.

Figures of units the crosswalk does not name pass unchanged. Nothing is dropped: a code mapped to
no current unit is refused by :func:`read_crosswalk`'s checks on the whole table.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd

from transforms.sources.text import SchemaError

COLUMNS = ["old_code", "new_code", "share"]


def read_crosswalk(data: bytes) -> pd.DataFrame:
    """The crosswalk (UTF-8 CSV ``old_code,new_code,share``), checked: codes of six digits, a
    share in (0, 1], an old code's shares adding up to 1, no code both retired and current."""
    frame = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)
    if list(frame.columns) != COLUMNS:
        raise SchemaError(f"unit crosswalk: columns {list(frame.columns)}, expected {COLUMNS}")
    bad = frame.loc[~frame["old_code"].str.fullmatch(r"\d{6}") | ~frame["new_code"].str.fullmatch(
        r"\d{6}"), "old_code"].tolist()  # fmt: skip
    if bad:
        raise SchemaError(f"unit crosswalk: codes of row(s) for {bad[:5]} are not KKOOUU")
    share = pd.to_numeric(frame["share"], errors="coerce")
    if share.isna().any() or not share.between(0, 1, inclusive="right").all():
        raise SchemaError("unit crosswalk: a share is not a number in (0, 1]")
    total = share.groupby(frame["old_code"]).sum()
    uneven = total[(total - 1).abs() > 1e-6]
    if len(uneven):
        raise SchemaError(
            f"unit crosswalk: the shares of {sorted(uneven.index)[:5]} do not add up to 1"
        )
    chained = sorted(set(frame["old_code"]) & set(frame["new_code"]) - _renamed_to_self(frame))
    if chained:
        raise SchemaError(
            f"unit crosswalk: {chained[:5]} are both retired and current; map each old code "
            "straight to today's units"
        )
    return frame.assign(share=share)


def _renamed_to_self(frame: pd.DataFrame) -> set[str]:
    return set(frame.loc[frame["old_code"] == frame["new_code"], "old_code"])


def to_current_units(
    figures: pd.DataFrame, crosswalk: pd.DataFrame, keys: list[str], measures: list[str]
) -> pd.DataFrame:
    """``figures`` (one row per ``keys``, ``unit_code`` among them) under today's unit codes:
    merged units summed, split units apportioned by share (``estimated``; whole counts stay
    whole, by largest remainder, so the parts add up to the old figure); other columns take the
    last row's value."""
    if not len(crosswalk):
        return figures.assign(estimated=False)
    mapped = figures.assign(_row=np.arange(len(figures))).merge(
        crosswalk, left_on="unit_code", right_on="old_code", how="left"
    )
    known = mapped["new_code"].notna()
    mapped["unit_code"] = mapped["new_code"].where(known, mapped["unit_code"])
    share = mapped["share"].where(known, 1.0).astype(float)
    for measure in measures:
        mapped[measure] = _apportioned(mapped[measure], share, mapped["_row"])
    mapped["estimated"] = (share < 1).to_numpy()
    rest = [c for c in figures.columns if c not in keys and c not in measures]
    summed = mapped.groupby(keys, as_index=False, sort=False).agg(
        {**dict.fromkeys(measures, "sum"), **dict.fromkeys(rest, "last"), "estimated": "any"}
    )
    return summed[[*figures.columns, "estimated"]]


def _apportioned(values: pd.Series, share: pd.Series, row: pd.Series) -> pd.Series:
    """``values × share``; for whole counts, floored and the remainder handed out one by one
    to the parts with the largest fractions (ties: the first part), per old row."""
    raw = values.astype(float) * share
    if not pd.api.types.is_integer_dtype(values):
        return raw
    base = np.floor(raw + 1e-9)
    left = (values.groupby(row).transform("first") - base.groupby(row).transform("sum")).round()
    order = (raw - base).groupby(row).rank(method="first", ascending=False)
    return (base + (order <= left)).astype(values.dtype)
