"""What a contract's package may show: the cells of its territory at its tier, less those that
would give away a hidden cell of anyone else.

The recipient holds the public release and its package. Its own territory's figures are what
the contract gives it; a neighbour's hidden count is not. So the package's cells are chosen
under an audit of their own (``transforms.privacy.audit``): the attacker knows every cell the
public release shows and every cell the package shows, and each hidden cell of the public
release outside the territory must keep the width the public release proved for it. Cells of
the territory whose value would narrow one are withheld; none is withheld for the territory's
own sake beyond the tier's thresholds (docs/disclosure-policy.md, "Contract tiers").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from transforms.domain.counting import Cube, sensitive_nodes
from transforms.privacy.audit import audit
from transforms.privacy.cells import (
    NOTHING_KNOWN,
    KnownCells,
    below_sensitive_level,
)
from transforms.privacy.kanon import PointRelease, protect_incidents
from transforms.privacy.outside import NO_OUTSIDE_SUMS, OutsideSums
from transforms.privacy.policy import DisclosurePolicy, TierRules

MAX_ROUNDS = 200  # then the package shows only what the public release shows: always safe


@dataclass(frozen=True)
class PackageCells:
    territory: np.ndarray  # per cube cell: its unit is one the contract covers, or below one
    shown: np.ndarray  # per cube cell: the package shows its count
    withheld_for_others: np.ndarray  # cells of the territory withheld to protect other places
    rounds: int  # audits run


def territory_cells(cube: Cube, units: Iterable[str]) -> np.ndarray:
    """Per cube cell: its unit is one of ``units`` or lies below one."""
    covered = set(units)
    inside = np.array(
        [any(a in covered for a in cube.geo.ancestors_or_self(g)) for g in cube.geo.codes]
    )
    return np.broadcast_to(inside[:, None, None], cube.shape).ravel()


def tier_allows(cube: Cube, policy: DisclosurePolicy, tier: TierRules) -> np.ndarray:
    """Per cell: the tier's rules let a package show its count (the sensitive offences' rules
    are the policy's own, in every tier)."""
    count = cube.count
    sensitive = np.broadcast_to(sensitive_nodes(cube.offence)[None, None, :], cube.shape).ravel()
    threshold = np.where(sensitive, policy.sensitive.threshold, tier.aggregates.primary_threshold)
    small = (count >= 1) & (count < threshold)
    return ~small & ~below_sensitive_level(cube, policy)


def package_cells(
    cube: Cube,
    policy: DisclosurePolicy,
    tier: TierRules,
    units: Iterable[str],
    public_hidden: np.ndarray,
    public_required: np.ndarray,
    known: KnownCells = NOTHING_KNOWN,
    outside: OutsideSums = NO_OUTSIDE_SUMS,
) -> PackageCells:
    """The cells a package of ``units`` at ``tier`` shows. ``public_hidden``,
    ``public_required``: the public release's hidden cells and the widths its audit proved
    (``cells.required_widths``); ``known``, ``outside``: what every reader knows besides
    (earlier releases, the police's figures), as in the public audit."""
    territory = territory_cells(cube, units)
    candidate = territory & tier_allows(cube, policy, tier)
    others = np.flatnonzero(~territory & public_hidden & (public_required > 0))
    withheld = np.zeros(len(cube.count), dtype=bool)
    status = public_hidden.astype(np.int8)
    rounds = 0
    while rounds < MAX_ROUNDS:
        rounds += 1
        revealed = np.flatnonzero(candidate & public_hidden & ~withheld)
        if not len(others) or not len(revealed):
            break
        result = audit(
            cube,
            status,
            public_required,
            known,
            only=others,
            outside=outside,
            revealed=KnownCells(revealed, cube.count[revealed]),
        )
        if result.passed:
            break
        chosen = _one_per_failing_cell(cube, result.failing["binding"], revealed)
        if not len(chosen):  # no relation named: withhold every revealed cell
            chosen = revealed
        withheld[chosen] = True
    else:
        withheld |= candidate & public_hidden
    return PackageCells(territory, candidate & ~withheld, withheld & candidate, rounds)


def _one_per_failing_cell(
    cube: Cube, binding: Iterable[Iterable[int]], revealed: np.ndarray
) -> np.ndarray:
    """For each failing cell, the revealed cell with the largest count in the relations that
    bound it (a large count narrows most): withheld one at a time, so the package keeps every
    cell it can."""
    reveals = np.zeros(len(cube.count), dtype=bool)
    reveals[revealed] = True
    chosen: set[int] = set()
    for relations in binding:
        cells = [
            np.append(cube.members[cube.ptr[r] : cube.ptr[r + 1]], cube.totals[r])
            for r in relations
            if r < len(cube.totals)  # the cube's own additive relations
        ]
        if not cells:
            continue
        touched = np.unique(np.concatenate(cells))
        touched = touched[reveals[touched]]
        if len(touched):
            chosen.add(int(touched[np.argmax(cube.count[touched])]))
    return np.array(sorted(chosen), dtype=np.int64)


@dataclass(frozen=True)
class PackagePoints:
    points: PointRelease  # the package's k-anonymous classes, at the tier's k and grid
    shared_months: frozenset[tuple[str, int]]  # (month, group) left out: see package_points
    public_levels: dict[str, int]  # the public point file's records of the territory, by level


def package_points(
    incidents: pd.DataFrame,
    municipalities: gpd.GeoDataFrame,
    policy: DisclosurePolicy,
    tier: TierRules,
    offences: tuple[frozenset[int], dict[int, str]],
    public_cells: pd.DataFrame,
    cells: pd.DataFrame,
) -> PackagePoints:
    """The incident points of a package: the records of the (municipality, month, group) cells
    the package shows, placed at the tier's grid and k among the territory's records only.

    The recipient holds the public point file too, whose classes may mix its records with a
    neighbour's (a grid cell across the border). Knowing where its own records lie, it would
    count them out of such a class and learn how many of the neighbour's are left. So a
    (month, group) in which a public class holds records of the territory and of another place
    gets no points in the package (``shared_months``); in the others every public class with
    a record of the territory holds no one else's, and the package tells nothing of any public
    class with another place's records. ``offences``: the sensitive codes (never placed) and
    the group names; ``public_cells``, ``cells``: the (municipality, month, group) cells the
    public release and the package show (``transforms.privacy.tables.published_group_cells``).
    """
    sensitive, group_names = offences
    public = protect_incidents(
        incidents,
        municipalities,
        policy,
        sensitive,
        group_names,
        public_cells,
        with_municipality=True,
    ).points
    territory = set(cells["municipality_code"])
    shared = _shared_months(public, territory)
    keep = np.array(
        [
            (month, group) not in shared
            for month, group in zip(cells["reported_month"], cells["offence_group"], strict=True)
        ],
        dtype=bool,
    )
    rules = policy.model_copy(update={"incidents": tier.incidents})
    own = incidents[incidents["municipality_code"].astype(str).isin(territory)]
    placed = protect_incidents(own, municipalities, rules, sensitive, group_names, cells[keep])
    mine = public[public["municipality_code"].astype(str).isin(territory)]
    levels = mine["level"].astype(str).value_counts()
    return PackagePoints(placed, frozenset(shared), {str(k): int(n) for k, n in levels.items()})


def _shared_months(public: pd.DataFrame, territory: set[str]) -> set[tuple[str, int]]:
    """The (month, group) pairs of the public classes that hold records of ``territory`` and
    of another place."""
    inside = public["municipality_code"].astype(str).isin(territory)
    per_class = inside.groupby(
        [public["cell_code"].astype(str), public["month"].astype(str), public["offence_group"]]
    ).agg(["any", "all"])
    mixed = per_class[per_class["any"] & ~per_class["all"]].index
    return {(str(month), int(group)) for _, month, group in mixed}
