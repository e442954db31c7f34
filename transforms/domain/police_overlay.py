"""Police units over municipalities: which municipalities a unit covers, and its population.

The police's polygons and the municipal boundaries come from different surveys, so a unit's
edge rarely follows a municipality's to the metre. Each municipality's **share** in a unit is
the part of its area inside the unit (in an equal-area projection). The stated rules:

- a municipality belongs **wholly** to a unit when at least ``1 - SLIVER`` of its area lies in it
  (a strip of a per cent along a border is a drawing difference, not a split);
- a unit **touches** every municipality with any share above ``SLIVER``, and every one it holds
  wholly;
- where the police's own assignment table names a municipality's one unit
  (``sources.police_assignment``), it wins over the overlay: the municipality is wholly that
  unit's (:func:`with_assignment`);
- a unit's **population** is the sum of its municipalities' populations, each weighted by its
  share (shares of a municipality normalised to add up to 1 over the units that reach it, so no
  one is counted twice or lost); a municipality split between units is apportioned by area,
  since nothing finer than the municipality carries a population here.
"""

from __future__ import annotations

from collections.abc import Mapping

import geopandas as gpd
import pandas as pd

EQUAL_AREA = "EPSG:3035"  # ETRS89-LAEA: areas in square metres across Europe
SLIVER = 0.01


def municipality_shares(units: gpd.GeoDataFrame, municipalities: gpd.GeoDataFrame) -> pd.DataFrame:
    """``unit_code, municipality_code, share``: the part of each municipality's area inside each
    unit that reaches it (``units``: police units with ``code``; ``municipalities``: with
    ``code``; any CRS)."""
    u = units[["code", "geometry"]].to_crs(EQUAL_AREA).rename(columns={"code": "unit_code"})
    m = municipalities[["code", "geometry"]].to_crs(EQUAL_AREA)
    m = m.rename(columns={"code": "municipality_code"}).assign(area=lambda f: f.geometry.area)
    pieces = gpd.overlay(m, u, how="intersection", keep_geom_type=True)
    pieces["share"] = pieces.geometry.area / pieces["area"]
    shares = pieces.groupby(["unit_code", "municipality_code"], as_index=False)["share"].sum()
    return shares.sort_values(["unit_code", "municipality_code"], ignore_index=True)


def unit_membership(
    shares: pd.DataFrame,
) -> tuple[dict[str, frozenset[str]], dict[str, frozenset[str]]]:
    """(municipalities each unit holds wholly, municipalities each unit touches)."""
    within = shares[shares["share"] >= 1 - SLIVER].groupby("unit_code")["municipality_code"]
    touching = shares[shares["share"] > SLIVER].groupby("unit_code")["municipality_code"]
    units = sorted(set(shares["unit_code"]))
    whole = {u: frozenset(m) for u, m in within}
    reach = {u: frozenset(m) for u, m in touching}
    return (
        {u: whole.get(u, frozenset()) for u in units},
        {u: reach.get(u, frozenset()) | whole.get(u, frozenset()) for u in units},
    )


def unit_population(shares: pd.DataFrame, population: Mapping[str, int | None]) -> pd.Series:
    """Each unit's population (float; rounded by the caller where shown), from the shares above
    ``SLIVER`` normalised per municipality; a municipality without a population adds nothing."""
    kept = shares[shares["share"] > SLIVER].copy()
    kept["weight"] = kept["share"] / kept.groupby("municipality_code")["share"].transform("sum")
    people = kept["municipality_code"].map(population).astype("float64").fillna(0.0)
    return (kept["weight"] * people).groupby(kept["unit_code"]).sum().rename("population")


def assigned_shares(
    assignment: pd.DataFrame, municipalities: pd.DataFrame, units: pd.DataFrame
) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    """``unit_code, municipality_code, share`` (1.0) for every municipality the table gives to
    one unit, matched by name (case ignored): the municipality by its name and its district's,
    the unit by its name. ``municipalities``: ``code, name, district_name``; ``units``: ``code,
    name``. The report lists what did not match (left to the overlay)."""
    whole = assignment[assignment["whole"]]
    unit_of = _unique_by(units, ["name"], "code")
    town_of = _unique_by(municipalities, ["name", "district_name"], "code")
    keys = list(zip(whole["municipality_name"].str.casefold(),
                    whole["district_name"].str.casefold(), strict=True))  # fmt: skip
    town = pd.Series([town_of.get(k) for k in keys], index=whole.index)
    unit = whole["unit_name"].str.casefold().map(unit_of)
    matched = town.notna() & unit.notna()
    shares = pd.DataFrame(
        {"unit_code": unit[matched], "municipality_code": town[matched], "share": 1.0}
    ).drop_duplicates("municipality_code", keep=False)
    report = {
        "units_not_found": sorted(set(whole.loc[unit.isna(), "unit_name"])),
        "municipalities_not_found": sorted(
            f"{m} ({d})"
            for m, d in whole.loc[town.isna(), ["municipality_name", "district_name"]].itertuples(
                index=False
            )
        ),
    }
    return shares.sort_values("municipality_code", ignore_index=True), report


def _unique_by(frame: pd.DataFrame, names: list[str], code: str) -> dict[object, str]:
    """Lower-cased names → code, for the names only one row carries."""
    key = (
        frame[names[0]].str.casefold()
        if len(names) == 1
        else pd.Series(
            list(zip(*(frame[n].str.casefold() for n in names), strict=True)), index=frame.index
        )
    )
    unique = ~key.duplicated(keep=False)
    return dict(zip(key[unique], frame.loc[unique, code], strict=True))


def with_assignment(overlay: pd.DataFrame, assigned: pd.DataFrame) -> pd.DataFrame:
    """The overlay's shares, each municipality the assignment gives to one unit replaced by
    that unit's whole share."""
    kept = overlay[~overlay["municipality_code"].isin(assigned["municipality_code"])]
    return pd.concat([kept, assigned], ignore_index=True).sort_values(
        ["unit_code", "municipality_code"], ignore_index=True
    )
