"""Counting offences: geography × month × offence group, every level of each hierarchy.

The counted unit is one offence record (an incident and one offence type), excluding records
whose state says the act did not happen, was not an offence or was fabricated.
"""

from __future__ import annotations

import pandas as pd

ALL_OFFENCES = "ALL"
GEO_LEVEL_COLUMNS = {
    "municipality": "municipality_code",
    "district": "district_code",
    "region": "region_code",
}

COUNT_COLUMNS = [
    "geo_level",
    "geo_code",
    "geo_name",
    "period",
    "offence_group",
    "offence_group_name",
    "count",
    "population",
]


def count_offences(
    incidents: pd.DataFrame,
    geography: pd.DataFrame,
    months: list[str],
    offence_groups: dict[int, str],
) -> pd.DataFrame:
    """The full table, zeros included: every unit × month × (each group and all offences).

    ``incidents`` carries ``municipality_code, district_code, region_code, reported_month,
    offence_group, counted``; ``geography`` is the canonical geography table.
    """
    counted = incidents[incidents["counted"]].copy()
    counted["country_code"] = geography.loc[geography["level"] == "country", "code"].iloc[0]
    columns = {**GEO_LEVEL_COLUMNS, "country": "country_code"}
    groups = [str(g) for g in sorted(offence_groups)] + [ALL_OFFENCES]
    frames = []
    for level, column in columns.items():
        units = geography.loc[geography["level"] == level, ["code", "name", "population"]]
        by_group = (
            counted.groupby([column, "reported_month", "offence_group"], observed=True)
            .size()
            .rename("count")
            .reset_index()
            .rename(columns={column: "geo_code", "reported_month": "period"})
        )
        by_group["offence_group"] = by_group["offence_group"].astype("str")
        total = by_group.groupby(["geo_code", "period"], observed=True)["count"].sum().reset_index()
        total["offence_group"] = ALL_OFFENCES
        observed = pd.concat([by_group, total], ignore_index=True)
        cube = pd.MultiIndex.from_product(
            [units["code"], months, groups], names=["geo_code", "period", "offence_group"]
        ).to_frame(index=False)
        full = cube.merge(observed, how="left", on=["geo_code", "period", "offence_group"])
        full["count"] = full["count"].fillna(0).astype("int64")
        full = full.merge(
            units.rename(columns={"code": "geo_code", "name": "geo_name"}), on="geo_code"
        )
        full["geo_level"] = level
        frames.append(full)
    table = pd.concat(frames, ignore_index=True)
    names = {str(k): v for k, v in offence_groups.items()} | {ALL_OFFENCES: "všechny / all"}
    table["offence_group_name"] = table["offence_group"].map(names)
    level_order = {"country": 0, "region": 1, "district": 2, "municipality": 3}
    table = table.assign(_lvl=table["geo_level"].map(level_order)).sort_values(
        ["_lvl", "geo_code", "period", "offence_group"], ignore_index=True, kind="stable"
    )
    return table[COUNT_COLUMNS]
