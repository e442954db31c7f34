"""Rates of the police's statistics: the crime index and the share solved, per unit and above.

The **crime index** is the headline figure of the NGO map mapakriminality.cz (Otevřená
společnost): offences found in the chosen period per 10,000 inhabitants ("počet zjištěných
skutků za zvolené období, přepočtený na 10 000 obyvatel"; its code: ``Sum(Found) / Population *
10000``). The **share solved** is the offences solved over those found in the same period, as the
police's own report gives it (an offence found earlier and solved in the period counts as solved
then, so a share can pass 1).

A district directorate's and a region's figures are the sums of their units', and their
population the sum of their units' populations (``domain.police_overlay``). A period's figure
exists only where every unit below has one: a sum over the units that reported would read as the
whole's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

PER = 10_000
MEASURES = ["found", "solved"]


def with_directorates(
    figures: pd.DataFrame, units: pd.DataFrame, measures: Sequence[str] = MEASURES
) -> pd.DataFrame:
    """``figures`` (``unit_code, period, tsk_code``, ``found`` and the other ``measures``) with
    the district directorates' and regions' sums added, as ``code, level, period, tsk_code, …``.
    ``units``: the police geography (``code, level, parent_code``). A measure with no figure
    in any unit below has none above either."""
    measures = list(measures)
    parent = dict(zip(units["code"], units["parent_code"], strict=True))
    level = dict(zip(units["code"], units["level"], strict=True))
    rows = figures.rename(columns={"unit_code": "code"}).assign(level="unit")
    frames = [rows]
    below = rows
    for up in ("district", "region"):
        members = units.loc[units["level"] == _child_level(up), ["code", "parent_code"]]
        expected = members.groupby("parent_code")["code"].nunique()
        below = below.assign(code=below["code"].map(parent))
        below = below[below["code"].map(level) == up]
        grouped = below.groupby(["code", "period", "tsk_code"])
        sums = grouped[measures].sum(min_count=1)
        reported = grouped["found"].count()  # units (directorates) with a figure
        complete = reported.to_numpy() == expected.reindex(
            sums.index.get_level_values("code")
        ).to_numpy(dtype=float)
        sums.loc[~complete, measures] = np.nan
        sums = sums.reset_index()
        below = sums.assign(level=up)
        frames.append(below)
    return pd.concat(frames, ignore_index=True)[["code", "level", "period", "tsk_code", *measures]]


def _child_level(level: str) -> str:
    return {"district": "unit", "region": "district"}[level]


def indicators(figures: pd.DataFrame, population: Mapping[str, float]) -> pd.DataFrame:
    """``figures`` with ``population`` (whole people), ``crime_index`` (found per 10,000, two
    decimals) and ``share_solved`` (four decimals); empty where a figure or the population is
    missing or the population is 0."""
    people = figures["code"].map(population).astype("float64").round()
    index = (figures["found"] / people * PER).where(people > 0).round(2)
    share = (figures["solved"] / figures["found"]).where(figures["found"] > 0).round(4)
    return figures.assign(population=people, crime_index=index, share_solved=share)


def population_by_level(
    units: pd.DataFrame, unit_population: Mapping[str, float]
) -> dict[str, float]:
    """Each unit's population, and each directorate's and region's as the sum of its units'."""
    parent = dict(zip(units["code"], units["parent_code"], strict=True))
    found: dict[str, float] = {}
    for unit in units.loc[units["level"] == "unit", "code"]:
        people = float(unit_population.get(unit, 0.0))
        found[unit] = people
        district = parent.get(unit)
        region = parent.get(district) if district is not None else None
        for above in (district, region):
            if above is not None:
                found[above] = found.get(above, 0.0) + people
    return found


def named_population(
    units: pd.DataFrame, table: pd.DataFrame, computed: Mapping[str, float]
) -> tuple[dict[str, float], list[str]]:
    """Each unit's population: the ``table``'s (``unit_name, population``) where its name
    matches the unit's (case ignored), else the ``computed`` one; and the table's names that
    match no unit."""
    police_units = units[units["level"] == "unit"]
    code_of = dict(zip(police_units["name"].str.casefold(), police_units["code"], strict=True))
    people = dict(computed)
    unmatched = []
    for name, population in zip(table["unit_name"], table["population"], strict=True):
        code = code_of.get(str(name).casefold())
        if code is None:
            unmatched.append(str(name))
        else:
            people[str(code)] = float(population)
    return people, unmatched
