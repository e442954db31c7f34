"""What the policy says of each cell of the cube: is it a row of the published table, must it be
hidden, how wide must a reader's interval for it stay; and what a cell's status is.

Two vocabularies of status. Inside the pipeline a hidden cell is ``primary`` (the policy hides it
by its own count) or ``secondary`` (hidden so that others cannot be recomputed); protection and
the operator's report need the difference. The published table says only ``published`` or
``suppressed``: a label that told the two apart would tell every reader that a primary cell holds
1 or 2 (1 to 9 for a sensitive offence), a narrower interval than the policy allows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from transforms.domain.counting import NONSENSITIVE, SENSITIVE, Cube, sensitive_nodes
from transforms.privacy.policy import GEO_LEVELS, DisclosurePolicy

# what the published table says of a cell
PUBLISHED = "published"
SUPPRESSED = "suppressed"
PUBLIC_STATUSES = (PUBLISHED, SUPPRESSED)

# why a cell is hidden, inside the pipeline: one byte per cell (a year's 3.4 M statuses are
# compared many times while protecting and auditing)
INTERNAL_STATUSES = ("published", "primary", "secondary")
PUBLISHED_CODE, PRIMARY_CODE, SECONDARY_CODE = (np.int8(i) for i in range(len(INTERNAL_STATUSES)))


def hidden_cells(status: np.ndarray) -> np.ndarray:
    """Per cell, whether it is hidden: from internal codes (any non-zero code), or from
    published status names."""
    if np.issubdtype(status.dtype, np.integer):
        codes = status.astype(np.int8, copy=False)
        if len(codes) and not 0 <= codes.min() <= codes.max() < len(INTERNAL_STATUSES):
            raise ValueError("a status code is not a position in INTERNAL_STATUSES")
        return codes != PUBLISHED_CODE
    names = np.asarray(status, dtype=object)
    known = (names == PUBLISHED) | (names == SUPPRESSED)
    if not known.all():
        raise ValueError(f"a cell's status is not one of {', '.join(PUBLIC_STATUSES)}")
    return names == SUPPRESSED


def public_statuses(codes: np.ndarray) -> pd.Categorical[str]:
    """Each cell's published status (``published`` or ``suppressed``) from internal codes, as a
    category: pandas hashing a year's 3.4 M strings to categorise them took a second."""
    hidden = hidden_cells(codes).astype(np.int8)
    return pd.Categorical.from_codes(hidden, categories=pd.Index(PUBLIC_STATUSES, dtype="str"))


@dataclass(frozen=True, eq=False)  # arrays: compared element by element, not as a whole
class KnownCells:
    """Cells readers already know (an earlier release published them, with the value they hold
    now), with the counts it showed: as arrays, since a decade's earlier release shows
    millions."""

    cells: np.ndarray  # flat cube cells, each once
    counts: np.ndarray  # what readers saw there

    def __len__(self) -> int:
        return len(self.cells)


NO_CELLS = np.empty(0, dtype=np.int64)
NO_CELLS.flags.writeable = False  # shared by every caller: never filled in place
NOTHING_KNOWN = KnownCells(NO_CELLS, NO_CELLS)


def known_union(parts: Sequence[KnownCells]) -> KnownCells:
    """Every cell any part knows, each once, with the count of the first part that knows it
    (the parts hold the value each cell has now, so they agree)."""
    parts = [p for p in parts if len(p)]
    if len(parts) <= 1:
        return parts[0] if parts else NOTHING_KNOWN
    every = np.concatenate([p.cells for p in parts])
    first = np.unique(every, return_index=True)[1]
    return KnownCells(every[first], np.concatenate([p.counts for p in parts])[first])


def known_closure(cube: Cube, known: KnownCells) -> KnownCells:
    """Every cell a reader computes from ``known`` cells alone: a relation whose members but
    one are known gives that one (a total from its parts, a part from the total and the other
    parts), and so on until nothing more follows. Such a cell is as good as published: it
    needs no protection, and hiding it would protect nothing."""
    return _closure(cube, known, None)


def closure_with_sources(cube: Cube, known: KnownCells) -> tuple[KnownCells, np.ndarray]:
    """``known_closure``, and per cube cell the relation it was computed from (-1 for a cell
    given in ``known`` or not known): the trail back to the known cells that give it away."""
    source = np.full(len(cube.count), -1, dtype=np.int64)
    return _closure(cube, known, source), source


def _closure(cube: Cube, known: KnownCells, source: np.ndarray | None) -> KnownCells:
    """``known_closure``, noting in ``source`` (when given) the relation each cell came from:
    the public audit runs it on every year's cube and needs no trail."""
    if not len(known):
        return known
    value = np.full(len(cube.count), -1, dtype=np.int64)  # -1: not known
    value[known.cells] = known.counts
    totals, ptr, members = cube.totals, cube.ptr, cube.members
    if not len(totals):
        return known
    starts = ptr[:-1]
    relation_of_member = np.repeat(np.arange(len(totals)), np.diff(ptr))
    while True:
        member_known = value[members] >= 0
        unknown_parts = np.add.reduceat((~member_known).astype(np.int64), starts)
        known_sum = np.add.reduceat(np.where(member_known, value[members], 0), starts)
        total_known = value[totals] >= 0
        # a total from its parts
        found_totals = np.flatnonzero(~total_known & (unknown_parts == 0))
        # the one unknown part from the total and the other parts
        solvable = total_known & (unknown_parts == 1)
        open_member = ~member_known & solvable[relation_of_member]
        part_cells = members[open_member]
        part_relations = relation_of_member[open_member]
        part_values = (value[totals] - known_sum)[part_relations]
        if not len(found_totals) and not len(part_cells):
            break
        value[totals[found_totals]] = known_sum[found_totals]
        value[part_cells] = part_values
        if source is not None:
            source[totals[found_totals]] = found_totals
            source[part_cells] = part_relations
    cells = np.flatnonzero(value >= 0)
    return KnownCells(cells, value[cells])


def derivation(cube: Cube, source: np.ndarray, cell: int) -> tuple[int, ...]:
    """The relations a reader goes through to compute ``cell`` from known cells
    (``closure_with_sources``), the cell's own first."""
    trail: list[int] = []
    seen: set[int] = set()
    todo = [cell]
    while todo:
        relation = int(source[todo.pop()])
        if relation < 0 or relation in seen:
            continue
        seen.add(relation)
        trail.append(relation)
        todo += [int(c) for c in cube.members[cube.ptr[relation] : cube.ptr[relation + 1]]]
        todo.append(int(cube.totals[relation]))
    return tuple(trail)


def _too_fine(cube: Cube, policy: DisclosurePolicy) -> np.ndarray:
    """Per geography node: finer than the level sensitive offences are published from."""
    finest_allowed = GEO_LEVELS.index(policy.sensitive.min_geo_level)
    return np.array([GEO_LEVELS.index(cube.geo.level[c]) < finest_allowed for c in cube.geo.codes])


def _by_geo_and_offence(cube: Cube, geo: np.ndarray, offence: np.ndarray) -> np.ndarray:
    """Per cell: ``geo[its geography node] & offence[its offence node]``."""
    return (geo[:, None, None] & offence[None, None, :]).repeat(cube.shape[1], axis=1).ravel()


def earlier_parts(cube: Cube) -> np.ndarray:
    """Per cell: its period is a part of a year an earlier release held (a figure readers keep
    but this release does not show: ``aggregate.period_dimension``)."""
    part = np.array([cube.period.level[c] == "part" for c in cube.period.codes])
    return np.broadcast_to(part[None, :, None], cube.shape).ravel()


def below_sensitive_level(cube: Cube, policy: DisclosurePolicy) -> np.ndarray:
    """Per cell: a sensitive offence below the policy's minimum geography level. No row of the
    table, and no figure of its own to protect: such a cell can be driven to 0 (its records
    moved to another unit below the same ancestor) or given the whole of that ancestor's figure,
    so its interval is at least ``[0, upper bound of the ancestor]``, and the ancestor's own
    protection (published at 0 or at least the threshold, or hidden with the sensitive width)
    makes that wide enough. (A unit that is the whole of its ancestor, Prague, shows the
    ancestor's figure.) For the same reason every relation through these cells binds nothing
    else: any ancestors' figures can be shared out below them, so the LP leaves those relations
    out exactly (``transforms.privacy.audit``)."""
    return _by_geo_and_offence(cube, _too_fine(cube, policy), sensitive_nodes(cube.offence))


def table_cells(cube: Cube, policy: DisclosurePolicy) -> np.ndarray:
    """Per cell: a row of the published table. Sensitive offences below the policy's minimum
    geography level are no row at all: the tables at that level describe the other offences
    (and say so), not the sensitive ones hidden. Nor is an earlier release's part of a year."""
    return ~below_sensitive_level(cube, policy) & ~earlier_parts(cube)


def primary_cells(
    cube: Cube, policy: DisclosurePolicy
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(hidden by the policy, required width, sensitive) per cell, by the policy alone.

    A cell is hidden at counts 1 .. threshold-1 (the sensitive threshold for a sensitive
    offence), and so is every cell that is no row of the table: a sensitive offence below the
    policy's minimum geography level, an earlier release's part of a year. A cell hidden for its
    count needs its protection width if non-zero; a sensitive cell below the minimum level needs
    none of its own (``below_sensitive_level``). (Every other hidden non-zero cell needs
    ``required_widths``' floor.)"""
    count = cube.count
    sensitive = np.broadcast_to(sensitive_nodes(cube.offence)[None, None, :], cube.shape).ravel()
    too_fine = below_sensitive_level(cube, policy)
    threshold = np.where(sensitive, policy.sensitive.threshold, policy.aggregates.primary_threshold)
    small = (count >= 1) & (count < threshold)
    # an earlier release's part of a year is no row: as good as hidden, and what that release
    # hid of it stays protected as the policy says (a part it published is known instead)
    part = earlier_parts(cube)
    suppress = small | too_fine | part
    width = np.where(sensitive, policy.protection_width(True), policy.protection_width(False))
    needs = small & ~too_fine
    return suppress, np.where(needs, width, 0), sensitive


def required_widths(
    cube: Cube, policy: DisclosurePolicy, hidden: np.ndarray, primary_required: np.ndarray
) -> np.ndarray:
    """The width every hidden cell's interval must keep: the policy's for primary cells, and
    for any other hidden non-zero cell ``aggregates.hidden_min_width``, so that no hidden cell
    is ever recomputed exactly (a hidden zero may be: that nothing happened harms no one). A
    sensitive cell below the minimum level needs nothing of its own (``below_sensitive_level``)."""
    floor = np.where(
        hidden & (cube.count > 0) & ~below_sensitive_level(cube, policy),
        policy.aggregates.hidden_min_width,
        0,
    )
    return np.maximum(primary_required, floor)


def attack_targets(
    hidden: np.ndarray, required: np.ndarray, known: KnownCells
) -> tuple[np.ndarray, np.ndarray]:
    """(cells readers already know, hidden cells that need protection and are not known): what
    protection must cover and the audit attacks. ``hidden``: the cells not published."""
    frozen = np.zeros(len(hidden), dtype=bool)
    frozen[known.cells] = True
    return frozen, np.flatnonzero(hidden & (required > 0) & ~frozen)


# How dear a published cell is to hide, in tiers: any number of cells of a lower tier costs less
# than one of a higher (transforms.privacy.certificates.Lattice). Leaves go first; the totals
# readers look at first go last.
LEAF_TIER, TOTAL_TIER, HEADLINE_TIER = 0, 1, 2


def cost_tiers(cube: Cube) -> np.ndarray:
    """Per cell (int8): ``HEADLINE_TIER`` for every unit's headline (all offences but the
    sensitive ones, at every level, month and year); ``TOTAL_TIER`` for the offence groups and
    the sensitive total above the municipalities; ``LEAF_TIER`` otherwise."""
    offence, geo = cube.offence, cube.geo
    headline = np.array([c == NONSENSITIVE for c in offence.codes])
    group_like = np.array([offence.level[c] == "group" or c == SENSITIVE for c in offence.codes])
    above_municipality = np.array([geo.level[c] != "municipality" for c in geo.codes])
    tiers = np.where(
        _by_geo_and_offence(cube, np.ones(len(geo.codes), dtype=bool), headline),
        HEADLINE_TIER,
        np.where(_by_geo_and_offence(cube, above_municipality, group_like), TOTAL_TIER, LEAF_TIER),
    )
    return tiers.astype(np.int8)


ROUNDING = 1e-6  # what floating-point steps may be off by before rounding to whole counts


def whole_width(lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """The width of ``[lower, upper]`` rounded inwards to whole numbers: a reader who knows the
    real interval knows that a count lies in ``[ceil(lower), floor(upper)]``."""
    return np.floor(np.asarray(upper) + ROUNDING) - np.ceil(np.asarray(lower) - ROUNDING)
