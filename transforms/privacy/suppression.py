"""Cell suppression for the aggregate cube: primary by the policy, secondary so that no hidden cell
can be recomputed or narrowed from everything published.

Suppressed cells keep their row with an empty ``count`` and the status ``suppressed``: a reader
can tell a hidden value from a zero, and no fake value is ever published. Why a cell is hidden
(primary or secondary) stays inside the pipeline (``transforms.privacy.cells``).

Secondary suppression builds, for every protected cell, a certificate
(``transforms.privacy.certificates``): a direction in which the table can move without changing
any published cell, wide enough for the cell's protection width. Of the candidate directions it
takes the one that hides the least: leaves before totals, the headline totals of every unit last
(``cells.cost_tiers``), and within a tier a cell costs its count plus one; in batches, so later
cells reuse what earlier ones hid; the audit re-finds the certificates from the statuses alone. A
cell no candidate certifies falls back on the relation heuristic: in every relation, a hidden
cell needs company (one hidden member alone is recomputable), and the hidden members of a
relation with a published total must together hold at least the protection width of each
protected member; the LP audit (``transforms.privacy.audit``) is the gate, cells it finds too
narrow get more company and the loop repeats.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from transforms.domain.counting import Cube
from transforms.plumbing.columns import category_column
from transforms.plumbing.errors import PermanentFailure
from transforms.privacy.audit import attack_bound, audit, outside_offset
from transforms.privacy.cells import (
    LEAF_TIER,
    NO_CELLS,
    NOTHING_KNOWN,
    PRIMARY_CODE,
    PUBLISHED_CODE,
    SECONDARY_CODE,
    KnownCells,
    attack_targets,
    below_sensitive_level,
    cost_tiers,
    known_closure,
    primary_cells,
    public_statuses,
    required_widths,
    table_cells,
)
from transforms.privacy.certificates import NO_HINTS, certify
from transforms.privacy.outside import NO_OUTSIDE_SUMS, OutsideSums
from transforms.privacy.policy import DisclosurePolicy

BATCHES = 8  # rounds in which certificates are chosen: later cells reuse what earlier ones hid
NO_TOTAL = -1  # an outside sum has members and no total cell
SMALL_TABLE = 2_000  # protected cells: below this, the LP-guided heuristic is tried as well


class ProtectionFailed(PermanentFailure, RuntimeError):
    """No suppression pattern passing the audit was found."""


@dataclass
class Protection:
    codes: np.ndarray  # each cell's internal status (cells.INTERNAL_STATUSES), int8
    required_width: np.ndarray  # the width each cell's interval must keep, 0 where none
    sensitive_cell: np.ndarray  # bool: the cell counts sensitive offences
    table: np.ndarray  # bool: the cell is a row of the published table
    iterations: int = 0
    # the certificates chosen, as (cell, candidate number), for the audit to check first
    hints: tuple[np.ndarray, np.ndarray] = NO_HINTS

    @property
    def hidden(self) -> np.ndarray:
        return self.codes != PUBLISHED_CODE


def protect(
    cube: Cube,
    policy: DisclosurePolicy,
    known: KnownCells = NOTHING_KNOWN,
    keep_suppressed: np.ndarray = NO_CELLS,
    max_rounds: int = 50,
    hints: tuple[np.ndarray, np.ndarray] | None = None,
    outside: OutsideSums = NO_OUTSIDE_SUMS,
) -> Protection:
    """Primary suppression by the policy, then secondary suppression: a certificate for every
    protected cell, and for any cell no certificate covers, the relation heuristic repeated
    until the LP audit passes. On a small table (where LP audits are cheap) the relation
    heuristic also runs on its own, and the pattern that withholds less is kept.

    Parameters
    ----------
    cube : Cube
        Offence records per cell (counts, not rates).
    policy : DisclosurePolicy
        The primary thresholds (cells of 1 to threshold − 1 records are hidden) and the widths
        (in records) a reader's interval for each protected cell must keep.
    known : KnownCells
        Cells whose value readers already know (an earlier release published them): never
        chosen as complements.
    keep_suppressed : array of int
        Cells hidden in the previous release of an unchanged month: they stay hidden, so the
        old pattern stays safe.
    hints : (cells, candidates), optional
        The certificates the previous release chose (checked, never trusted): a kept pattern's
        cells are proven by the directions that hid them, not searched for again.
    outside : OutsideSums
        Sums of cells readers hold from another publisher (``transforms.privacy.outside``):
        every certificate keeps them, and the LP audit has them as rows.

    Returns
    -------
    Protection
        Each cell's internal status, the width (records) it must keep, and the certificates
        chosen, for the audit to check first.
    """
    primary, primary_required, sensitive = primary_cells(cube, policy)
    table = table_cells(cube, policy)
    known = known_closure(cube, known)
    start = np.where(primary, PRIMARY_CODE, PUBLISHED_CODE)
    kept = keep_suppressed[start[keep_suppressed] == PUBLISHED_CODE]
    start[kept] = SECONDARY_CODE
    hidden = start != PUBLISHED_CODE
    required = required_widths(cube, policy, hidden, primary_required)
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
        hints=hints,
        cost_tiers=cost_tiers(cube),
        outside=outside,
    )
    status = start.copy()
    status[chosen.hidden & ~hidden] = SECONDARY_CODE
    required = required_widths(cube, policy, status != PUBLISHED_CODE, primary_required)
    _, open_ = attack_targets(status != PUBLISHED_CODE, required, known)
    todo = open_[chosen.width[open_] + 1e-9 < required[open_]]
    rounds = 1
    if len(todo):
        rounds = _by_relations(
            cube, policy, status, primary_required, known, frozen, todo, max_rounds, outside
        )
    best = Protection(
        status,
        required_widths(cube, policy, status != PUBLISHED_CODE, primary_required),
        sensitive,
        table,
        rounds,
        chosen.hints,
    )
    if len(targets) <= SMALL_TABLE:
        other = start.copy()
        try:
            rounds = _by_relations(
                cube, policy, other, primary_required, known, frozen, None, max_rounds, outside
            )
        except ProtectionFailed:
            return best
        if _withheld(other, count, table) < _withheld(status, count, table):
            return Protection(
                other,
                required_widths(cube, policy, other != PUBLISHED_CODE, primary_required),
                sensitive,
                table,
                rounds,
                NO_HINTS,
            )
    return best


def _withheld(status: np.ndarray, count: np.ndarray, table: np.ndarray) -> int:
    """What a pattern's secondary cells withhold: their counts plus one per cell."""
    secondary = (status == SECONDARY_CODE) & table
    return int(count[secondary].sum() + secondary.sum())


def _by_relations(
    cube: Cube,
    policy: DisclosurePolicy,
    status: np.ndarray,
    primary_required: np.ndarray,
    known: KnownCells,
    frozen: np.ndarray,
    unsafe: np.ndarray | None,
    max_rounds: int,
    outside: OutsideSums = NO_OUTSIDE_SUMS,
) -> int:
    """The relation heuristic, with the LP audit as the judge, until the audit passes for
    ``unsafe`` (None: every protected cell) and every cell it hides. Hides cells in ``status``;
    returns the rounds."""
    chooser = _Complements(cube, cube.count, frozen, cost_tiers(cube), outside)
    free = below_sensitive_level(cube, policy)
    for round_ in range(1, max_rounds + 1):
        before = status != PUBLISHED_CODE
        required = required_widths(cube, policy, before, primary_required)
        chooser.close_relations(status, required)
        hidden = status != PUBLISHED_CODE
        required = required_widths(cube, policy, hidden, primary_required)
        # rounds only ever hide more cells, which can only widen intervals: only the cells
        # that failed, and those hidden since (they need their own width), are attacked again
        if unsafe is not None:
            unsafe = np.union1d(unsafe, np.flatnonzero(hidden & ~before))
        result = audit(cube, status, required, known, only=unsafe, free=free, outside=outside)
        if result.passed:
            return round_
        failing = result.failing
        # a secondary cell the reader computes exactly from everything else protects nothing,
        # and publishing it tells nothing new (fixing a determined variable leaves every
        # interval as it is); it is published once nothing else fails, and not hidden again
        # as mere company (it may still be, to widen a cell that needs it)
        determined = (
            (status[failing["cell"].to_numpy()] == SECONDARY_CODE)
            & failing["exact"].to_numpy()
            & (failing["upper"] - failing["lower"] <= 1e-9).to_numpy()
        )
        if determined.all():
            settled = failing["cell"].to_numpy()
            status[settled] = PUBLISHED_CODE
            chooser.settled[settled] = True
            unsafe = None  # attack every cell once more
            continue
        failing = failing[~determined]
        unsafe = result.failing["cell"].to_numpy()
        added = 0
        for cell, width, binding in zip(
            failing["cell"], failing["width"], failing["binding"], strict=True
        ):
            added += chooser.widen(int(cell), status, required, float(width), binding)
        if not added:
            break
        unsafe = np.union1d(unsafe, np.flatnonzero((status != PUBLISHED_CODE) & ~hidden))
    raise ProtectionFailed(
        "no suppression pattern passes the audit: too few publishable cells to hide the "
        "protected ones among; coarsen the tables or relax the policy"
    )


class _Complements:
    """Chooses the published cells to hide next to protected ones."""

    def __init__(
        self,
        cube: Cube,
        count: np.ndarray,
        frozen: np.ndarray,
        tiers: np.ndarray,
        outside: OutsideSums = NO_OUTSIDE_SUMS,
    ):
        self.cube = cube
        self.outside = outside
        self.outside_from = outside_offset(cube)
        self.count = count
        self.frozen = frozen
        self.tiers = tiers  # cells.cost_tiers: leaves are hidden before totals
        # published because the reader computes them exactly: never hidden again as company
        self.settled = np.zeros(len(count), dtype=bool)
        self.rel_ptr, self.rel_of_cell = cube.cell_relations()

    def _members(self, r: int) -> tuple[np.ndarray, int]:
        """A relation's parts and its total; an outside sum's members and no total (-1)."""
        if r >= self.outside_from:
            return self.outside.row_members(r - self.outside_from), NO_TOTAL
        return self.cube.relation_members(r), int(self.cube.totals[r])

    def _total_open(self, total: int, status: np.ndarray, closed: np.ndarray) -> bool:
        return total != NO_TOTAL and status[total] == PUBLISHED_CODE and not closed[total]

    def close_relations(self, status: np.ndarray, required: np.ndarray) -> None:
        """Until no relation leaves a hidden cell alone or a protected cell too narrow."""
        cube = self.cube
        if len(cube.totals) == 0:
            return
        starts = cube.ptr[:-1]
        while True:
            # a hidden cell readers know (an earlier release's, the police's) needs no company
            hidden = (status != PUBLISHED_CODE) & ~self.frozen
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
        hidden_parts = parts[(status[parts] != PUBLISHED_CODE) & ~self.frozen[parts]]
        total_hidden = status[total] != PUBLISHED_CODE and not self.frozen[total]
        n_hidden = len(hidden_parts) + int(total_hidden)
        need = int(required[hidden_parts].max()) if len(hidden_parts) else 0
        have = int(self.count[hidden_parts].sum())
        if n_hidden == 0 or (n_hidden >= 2 and (total_hidden or need <= have)):
            return False  # an earlier fix in this pass already closed it
        shortfall = max(need - have, 1 if n_hidden == 1 else 0)
        if total_hidden and n_hidden == 1:
            shortfall = max(shortfall, int(required[total]), 1)
        return self._hide_one(parts, total, shortfall, status, company=True)

    def _hide_one(
        self,
        parts: np.ndarray,
        total: int,
        shortfall: int,
        status: np.ndarray,
        company: bool = False,
    ) -> bool:
        """Hide one published cell of a relation: a part, else its total. ``company``: only
        to keep a hidden cell company (never a settled one, see ``_by_relations``)."""
        closed = self.frozen | self.settled if company else self.frozen
        open_parts = parts[(status[parts] == PUBLISHED_CODE) & ~closed[parts]]
        total_open = self._total_open(total, status, closed)
        if len(open_parts):
            # the lowest tier first: a part of a dearer tier than the total gives way to it
            tier = int(self.tiers[open_parts].min())
            if not (total_open and int(self.tiers[total]) < tier):
                open_parts = open_parts[self.tiers[open_parts] == tier]
                values = self.count[open_parts]
                covering = open_parts[values >= shortfall]
                if len(covering):  # the smallest count that covers the shortfall
                    pick = covering[np.lexsort((covering, self.count[covering]))[0]]
                else:  # none covers it: the largest, and the next round adds more
                    pick = open_parts[np.lexsort((open_parts, -values))[0]]
                status[pick] = SECONDARY_CODE
                return True
        if total_open:
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
            best: tuple[tuple[int, int, int, int], int] | None = None
            for r in candidates:
                parts, total = self._members(int(r))
                open_parts = parts[(status[parts] == PUBLISHED_CODE) & ~self.frozen[parts]]
                if len(open_parts):  # only the lowest tier's parts are candidates
                    open_parts = open_parts[self.tiers[open_parts] == self.tiers[open_parts].min()]
                values = self.count[open_parts]
                tier = int(self.tiers[open_parts].min()) if len(open_parts) else LEAF_TIER
                # hiding a zero part adds no room: the hidden parts still sum to the same total
                covering = values[values >= shortfall]
                if len(covering):
                    score = (tier, 0, int(covering.min()), int(r))
                elif (values > 0).any() or (len(self.outside) and len(values)):
                    # with outside sums, a zero part adds room too: a sum may bound it
                    # more loosely than its true zero
                    score = (tier, 1, -int(values.max()), int(r))
                elif self._total_open(total, status, self.frozen):
                    score = (int(self.tiers[total]), 2, int(self.count[total]), int(r))
                else:
                    continue
                if best is None or score < best[0]:
                    best = (score, int(r))
            if best is not None:
                parts, total = self._members(best[1])
                if best[0][1] == 2:
                    status[total] = SECONDARY_CODE
                    return 1
                return int(self._hide_one(parts, total, shortfall, status))
        return 0


def published_table(
    cube: Cube,
    protection: Protection,
    policy: DisclosurePolicy,
    names: dict[str, str],
    population: dict[str, int | None],
    offence_names: dict[str, str],
) -> pd.DataFrame:
    """The release's aggregate table: one row per cell of the table (``cells.table_cells``),
    counts only where published, rates where allowed. Text columns are categories: a year's
    table repeats a few thousand codes and names over millions of rows."""
    rows = np.flatnonzero(protection.table)
    g, p, o = (axis[rows] for axis in cube.coordinates())
    geo, period, offence = cube.geo, cube.period, cube.offence
    status = public_statuses(protection.codes[rows])
    published = ~protection.hidden[rows]
    people = pd.Series(pd.array([population.get(c) for c in geo.codes], dtype="Int64").take(g))
    count = pd.array(np.where(published, cube.count[rows], 0), dtype="Int64")
    count[~published] = pd.NA
    rate = policy.rates.rates(
        np.where(published, cube.count[rows], -1), people.to_numpy("float64", na_value=np.nan)
    )
    return pd.DataFrame(
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
            "rate_per_1000": pd.array(rate, dtype="Float64"),
        }
    )
