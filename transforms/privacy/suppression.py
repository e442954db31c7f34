"""Cell suppression for the aggregate cube: primary by the policy, secondary so that no hidden cell
can be recomputed or narrowed from the published totals.

Suppressed cells keep their row with an empty ``count`` and a ``status`` saying why: a reader can
tell a hidden value from a zero, and no fake value is ever published.

Secondary suppression builds, for every protected cell, a certificate
(``transforms.privacy.certificates``): a direction in which the table can move without changing
any published cell, wide enough for the cell's protection width. Of the candidate directions it
takes the one that hides the least (a hidden cell costs its count plus one, so totals go last),
in batches so later cells reuse what earlier ones hid; the audit re-finds the certificates from
the statuses alone. A cell no candidate certifies falls back on the relation heuristic: in every
relation, a hidden cell needs company (one hidden member alone is recomputable), and the hidden
members of a relation with a published total must together hold at least the protection width of
each protected member; the LP audit (``transforms.privacy.audit``) is the gate, cells it finds
too narrow get more company and the loop repeats.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from transforms.aggregate import Cube
from transforms.columns import category_column
from transforms.privacy.certificates import NO_HINTS, certify
from transforms.privacy.policy import GEO_LEVELS, DisclosurePolicy

PUBLISHED = "published"
SUPPRESSED_PRIMARY = "suppressed_primary"
SUPPRESSED_SECONDARY = "suppressed_secondary"
STATUSES = (PUBLISHED, SUPPRESSED_PRIMARY, SUPPRESSED_SECONDARY)
# A status as its position in STATUSES, one byte per cell: a year's 3.4 M statuses are compared
# many times while protecting and auditing, which as Python strings took 50 ms a pass.
PUBLISHED_CODE, PRIMARY_CODE, SECONDARY_CODE = (np.int8(i) for i in range(len(STATUSES)))
BATCHES = 8  # rounds in which certificates are chosen: later cells reuse what earlier ones hid
SMALL_TABLE = 2_000  # protected cells: below this, the LP-guided heuristic is tried as well


class ProtectionFailed(RuntimeError):
    """No suppression pattern passing the audit was found."""


@dataclass
class Protection:
    codes: np.ndarray  # each cell's status as its position in STATUSES (int8)
    required_width: np.ndarray  # protection width per cell, 0 where none is needed
    sensitive_cell: np.ndarray  # bool: the cell counts a sensitive offence type
    iterations: int = 0
    # the certificates chosen, as (cell, candidate number), for the audit to check first
    hints: tuple[np.ndarray, np.ndarray] = NO_HINTS

    @property
    def status(self) -> np.ndarray:
        """Each cell's status by name (one of STATUSES)."""
        return np.asarray(STATUSES, dtype=object)[self.codes]


def status_codes(status: np.ndarray) -> np.ndarray:
    """Statuses by name (one of STATUSES) or already as codes, as int8 codes."""
    if np.issubdtype(status.dtype, np.integer):
        codes = status.astype(np.int8, copy=False)
        if len(codes) and not 0 <= codes.min() <= codes.max() < len(STATUSES):
            raise ValueError("a status code is not a position in STATUSES")
        return codes
    codes = np.full(len(status), -1, dtype=np.int8)
    for code, name in enumerate(STATUSES):
        codes[status == name] = code
    if (codes < 0).any():
        raise ValueError(f"a cell's status is not one of {', '.join(STATUSES)}")
    return codes


def primary_cells(
    cube: Cube, policy: DisclosurePolicy, sensitive_offences: Iterable[int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(suppress, required width, sensitive) per cell, by the policy alone.

    A normal cell is suppressed at counts 1 .. threshold-1. A cell of a sensitive offence type is
    suppressed at counts 1 .. sensitive threshold-1, and always below the policy's minimum
    geography level; there, a non-zero count must stay protected.
    """
    count = cube.count
    sensitive_codes = {str(c) for c in sensitive_offences}
    # per node of each dimension, then broadcast over the cube (cells are in (geo, period,
    # offence) order): no per-cell lookups on a table of millions
    by_offence = np.array([c in sensitive_codes for c in cube.offence.codes])
    finest_allowed = GEO_LEVELS.index(policy.sensitive.min_geo_level)
    by_geo = np.array(
        [GEO_LEVELS.index(cube.geo.level[c]) < finest_allowed for c in cube.geo.codes]
    )
    sensitive = np.broadcast_to(by_offence[None, None, :], cube.shape).ravel()
    too_fine = np.broadcast_to(by_geo[:, None, None], cube.shape).ravel() & sensitive
    threshold = np.where(sensitive, policy.sensitive.threshold, policy.aggregates.primary_threshold)
    small = (count >= 1) & (count < threshold)
    suppress = small | too_fine
    width = np.where(sensitive, policy.protection_width(True), policy.protection_width(False))
    required = np.where(suppress & (count > 0), width, 0)
    return suppress, required, sensitive


@dataclass(frozen=True, eq=False)  # arrays: compared element by element, not as a whole
class KnownCells:
    """Cells readers already know (an earlier release published them for unchanged months),
    with the counts it showed: as arrays, since a decade's earlier release shows millions."""

    cells: np.ndarray  # flat cube cells, each once
    counts: np.ndarray  # what readers saw there

    def __len__(self) -> int:
        return len(self.cells)


NO_CELLS = np.empty(0, dtype=np.int64)
NO_CELLS.flags.writeable = False  # shared by every caller: never filled in place
NOTHING_KNOWN = KnownCells(NO_CELLS, NO_CELLS)


def attack_targets(
    hidden: np.ndarray, required: np.ndarray, known: KnownCells
) -> tuple[np.ndarray, np.ndarray]:
    """(cells readers already know, hidden cells that need protection and are not known): what
    protection must cover and the audit attacks. ``hidden``: the cells not published."""
    frozen = np.zeros(len(hidden), dtype=bool)
    frozen[known.cells] = True
    return frozen, np.flatnonzero(hidden & (required > 0) & ~frozen)


def headline_totals(cube: Cube) -> np.ndarray:
    """All offences in the whole country, per period: a complement only as the last resort.
    Every reader checks them first, and they let anyone verify that the release counts every
    record."""
    geo_root = np.array([cube.geo.parent.get(c) is None for c in cube.geo.codes])
    offence_root = np.array([cube.offence.parent.get(c) is None for c in cube.offence.codes])
    return np.broadcast_to(
        geo_root[:, None, None] & offence_root[None, None, :], cube.shape
    ).ravel()


def protect(
    cube: Cube,
    policy: DisclosurePolicy,
    sensitive_offences: Iterable[int],
    known: KnownCells = NOTHING_KNOWN,
    keep_suppressed: np.ndarray = NO_CELLS,
    max_rounds: int = 50,
) -> Protection:
    """Primary suppression by the policy, then secondary suppression: a certificate for every
    protected cell, and for any cell no certificate covers, the relation heuristic repeated
    until the LP audit passes. On a small table (where LP audits are cheap) the relation
    heuristic also runs on its own, and the pattern that withholds less is kept.

    ``known``: cells whose value readers already know (published in the previous release of an
    unchanged month): never chosen as complements. The headline totals are chosen last.
    ``keep_suppressed``: cells hidden in the previous release of an unchanged month: they stay
    hidden, so the old pattern stays safe.
    """
    from transforms.privacy.audit import attack_bound

    primary, required, sensitive = primary_cells(cube, policy, sensitive_offences)
    start = np.where(primary, PRIMARY_CODE, PUBLISHED_CODE)
    kept = keep_suppressed[start[keep_suppressed] == PUBLISHED_CODE]
    start[kept] = SECONDARY_CODE
    hidden = start != PUBLISHED_CODE
    frozen, targets = attack_targets(hidden, required, known)
    count = cube.count
    chosen = certify(
        cube,
        hidden,
        frozen,
        required,
        targets,
        may_hide=True,
        cap=attack_bound(count),
        batches=BATCHES,
        last_resort=headline_totals(cube),
    )
    status = start.copy()
    status[chosen.hidden & ~hidden] = SECONDARY_CODE
    todo = targets[chosen.width[targets] + 1e-9 < required[targets]]
    rounds = 1
    if len(todo):
        rounds = _by_relations(cube, status, required, known, frozen, todo, max_rounds)
    best = Protection(status, required, sensitive, rounds, chosen.hints)
    if len(targets) <= SMALL_TABLE:
        other = start.copy()
        try:
            rounds = _by_relations(cube, other, required, known, frozen, None, max_rounds)
        except ProtectionFailed:
            return best
        if _withheld(other, count) < _withheld(status, count):
            return Protection(other, required, sensitive, rounds, NO_HINTS)
    return best


def _withheld(status: np.ndarray, count: np.ndarray) -> int:
    """What a pattern's secondary cells withhold: their counts plus one per cell."""
    secondary = status == SECONDARY_CODE
    return int(count[secondary].sum() + secondary.sum())


def _by_relations(
    cube: Cube,
    status: np.ndarray,
    required: np.ndarray,
    known: KnownCells,
    frozen: np.ndarray,
    unsafe: np.ndarray | None,
    max_rounds: int,
) -> int:
    """The relation heuristic, with the LP audit as the judge, until the audit passes for
    ``unsafe`` (None: every protected cell). Hides cells in ``status``; returns the rounds."""
    from transforms.privacy.audit import audit

    chooser = _Complements(cube, cube.count, frozen)
    for round_ in range(1, max_rounds + 1):
        chooser.close_relations(status, required)
        # rounds only ever hide more cells, which can only widen intervals: only the cells
        # that failed need attacking again
        result = audit(cube, status, required, known, only=unsafe)
        if result.passed:
            return round_
        unsafe = result.failing["cell"].to_numpy()
        added = 0
        for cell, width, binding in zip(
            result.failing["cell"], result.failing["width"], result.failing["binding"], strict=True
        ):
            added += chooser.widen(int(cell), status, required, float(width), binding)
        if not added:
            break
    raise ProtectionFailed(
        "no suppression pattern passes the audit: too few publishable cells to hide the "
        "protected ones among; coarsen the tables or relax the policy"
    )


class _Complements:
    """Chooses the published cells to hide next to protected ones."""

    def __init__(self, cube: Cube, count: np.ndarray, frozen: np.ndarray):
        self.cube = cube
        self.count = count
        self.frozen = frozen
        self.rel_ptr, self.rel_of_cell = cube.cell_relations()

    def _members(self, r: int) -> tuple[np.ndarray, int]:
        return self.cube.relation_members(r), int(self.cube.totals[r])

    def close_relations(self, status: np.ndarray, required: np.ndarray) -> None:
        """Until no relation leaves a hidden cell alone or a protected cell too narrow."""
        cube = self.cube
        if len(cube.totals) == 0:
            return
        starts = cube.ptr[:-1]
        while True:
            hidden = status != PUBLISHED_CODE
            member_hidden = hidden[cube.members]
            parts_hidden = np.add.reduceat(member_hidden.astype(np.int64), starts)
            parts_value = np.add.reduceat(
                np.where(member_hidden, self.count[cube.members], 0), starts
            )
            parts_need = np.maximum.reduceat(
                np.where(member_hidden, required[cube.members], 0), starts
            )
            total_hidden = hidden[cube.totals]
            alone = parts_hidden + total_hidden == 1
            narrow = (~total_hidden) & (parts_need > parts_value)
            changed = False
            for r in np.flatnonzero(alone | narrow):
                changed |= self._fix(int(r), status, required)
            if not changed:
                return

    def _fix(self, r: int, status: np.ndarray, required: np.ndarray) -> bool:
        parts, total = self._members(r)
        hidden_parts = parts[status[parts] != PUBLISHED_CODE]
        total_hidden = status[total] != PUBLISHED_CODE
        n_hidden = len(hidden_parts) + int(total_hidden)
        need = int(required[hidden_parts].max()) if len(hidden_parts) else 0
        have = int(self.count[hidden_parts].sum())
        if n_hidden == 0 or (n_hidden >= 2 and (total_hidden or need <= have)):
            return False  # an earlier fix in this pass already closed it
        shortfall = max(need - have, 1 if n_hidden == 1 else 0)
        if total_hidden and n_hidden == 1:
            shortfall = max(shortfall, int(required[total]), 1)
        return self._hide_one(parts, total, shortfall, status)

    def _hide_one(self, parts: np.ndarray, total: int, shortfall: int, status: np.ndarray) -> bool:
        open_parts = parts[(status[parts] == PUBLISHED_CODE) & ~self.frozen[parts]]
        if len(open_parts):
            values = self.count[open_parts]
            covering = open_parts[values >= shortfall]
            if len(covering):  # the smallest count that covers the shortfall
                pick = covering[np.lexsort((covering, self.count[covering]))[0]]
            else:  # none covers it: the largest, and the next round adds more
                pick = open_parts[np.lexsort((open_parts, -values))[0]]
            status[pick] = SECONDARY_CODE
            return True
        if status[total] == PUBLISHED_CODE and not self.frozen[total]:
            status[total] = SECONDARY_CODE
            return True
        return False

    def widen(
        self, cell: int, status: np.ndarray, required: np.ndarray, width: float, binding: list[int]
    ) -> int:
        """The audit found ``cell`` too narrow: loosen one relation that bounds it.

        ``binding`` are the relations with a non-zero dual in the audit's LPs for this cell.
        The one loosened is the cheapest: a relation where one small published part covers the
        shortfall, else the one with the largest published part, else one whose total can be
        hidden (one cell per round: the next audit says whether it was enough). Without a
        binding relation that can be loosened, the cell's own relations are tried.
        """
        shortfall = max(int(np.ceil(required[cell] - width)), 1)
        own = self.rel_of_cell[self.rel_ptr[cell] : self.rel_ptr[cell + 1]].tolist()
        for candidates in (list(binding), own):
            best: tuple[tuple[int, int, int], int] | None = None
            for r in candidates:
                parts, total = self._members(int(r))
                open_parts = parts[(status[parts] == PUBLISHED_CODE) & ~self.frozen[parts]]
                values = self.count[open_parts]
                # hiding a zero part adds no room: the hidden parts still sum to the same total
                covering = values[values >= shortfall]
                if len(covering):
                    score = (0, int(covering.min()), int(r))
                elif (values > 0).any():
                    score = (1, -int(values.max()), int(r))
                elif status[total] == PUBLISHED_CODE and not self.frozen[total]:
                    score = (2, int(self.count[total]), int(r))
                else:
                    continue
                if best is None or score < best[0]:
                    best = (score, int(r))
            if best is not None:
                parts, total = self._members(best[1])
                if best[0][0] == 2:
                    status[total] = SECONDARY_CODE
                    return 1
                return int(self._hide_one(parts, total, shortfall, status))
        return 0


def status_categories(status: np.ndarray) -> pd.Categorical[str]:
    """Each cell's status, by name or code, as a category (an unknown status raises: as a
    category it would be missing, not wrong). Pandas hashing a year's 3.4 M status strings to
    categorise them took a second."""
    return pd.Categorical.from_codes(
        status_codes(status), categories=pd.Index(STATUSES, dtype="str")
    )


def published_table(
    cube: Cube,
    protection: Protection,
    policy: DisclosurePolicy,
    names: dict[str, str],
    population: dict[str, int | None],
    offence_names: dict[str, str],
) -> pd.DataFrame:
    """The release's aggregate table: counts only where published, rates where allowed. Text
    columns are categories: a year's table repeats a few thousand codes and names over
    millions of rows."""
    g, p, o = cube.coordinates()  # each cell's position along geo, period and offence
    geo, period, offence = cube.geo, cube.period, cube.offence
    status = status_categories(protection.codes)
    published = np.asarray(status == PUBLISHED)  # compared on the categories' codes
    people = pd.Series(pd.array([population.get(c) for c in geo.codes], dtype="Int64").take(g))
    count = pd.array(np.where(published, cube.count, 0), dtype="Int64")
    count[~published] = pd.NA
    rate_ok = published & (people >= policy.rates.min_population).fillna(False).to_numpy()
    rate = pd.Series(count, dtype="Float64") * policy.rates.per / people.astype("Float64")
    table = pd.DataFrame(
        {
            "geo_level": category_column([geo.level[c] for c in geo.codes], g),
            "geo_code": category_column(geo.codes, g),
            "geo_name": category_column([names.get(c) for c in geo.codes], g),
            "period_type": category_column([period.level[c] for c in period.codes], p),
            "period": category_column(period.codes, p),
            "offence_level": category_column([offence.level[c] for c in offence.codes], o),
            "offence_code": category_column(offence.codes, o),
            "offence_name": category_column([offence_names.get(c) for c in offence.codes], o),
            "count": count,
            "status": status,
            "population": people,
            "rate_per_1000": rate.round(2).where(rate_ok),
        }
    )
    return table
