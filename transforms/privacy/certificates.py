"""Certificates of protection: directions in which a table can move without changing what is shown.

A direction is an integer change ``d`` of the leaf table (municipality × month × type), rolled up
along the three hierarchies so that every additive relation of the cube still holds. If every cell
``d`` changes is hidden, the attacker cannot tell the true table ``x`` from ``x + α·d`` or
``x − β·d`` as long as both stay non-negative: ``α`` is the smallest ``x_c / |d_c|`` over the cells
``d`` lowers, ``β`` the same over the cells it raises. Every changed cell ``c`` then has a feasible
interval at least ``|d_c|·(α + β)`` wide, proven without a solver: the two points are feasible for
the audit's LP, so its exact interval can only be wider.

The directions built here are products of one factor per dimension:

- a *pair*: ``+1`` on a leaf ``a`` below the target's node and ``−1`` on a leaf ``b`` below a
  sibling of that node (or of one of its ancestors, the *lift*); it changes the two paths from the
  leaves up to just below their common ancestor;
- a *chain*: ``+1`` on the leaf ``a``; it changes ``a`` and all its ancestors;
- *partners* (geography only): ``+Σλ`` on ``a`` and ``−λ_r`` on the ``r``-th heaviest sibling's
  leaf, for targets one partner cannot cover (a wide sensitive interval).

With pairs in all three dimensions the direction is τ-ARGUS's hypercube (eight leaf cells, no
total changes); a chain where a pair is impossible or too narrow reaches up the hierarchy.
*Transfers* (a unit moved from one leaf cell to another, which is not a product) cover what no
product can, such as a type seen once in the whole country. The leaves are chosen by count (the
heaviest below each node), so the same counts always give the same candidates: protection
chooses among them by the published cells they would hide and hands its choices to the audit as
hints (cell, candidate number), which the audit rebuilds and checks from the counts and the
statuses alone before it searches for more. Design and figures: ``docs/audit-at-scale.md``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from transforms.domain.counting import Cube
from transforms.plumbing.arrays import UNBOUNDED_32, sorted_unique, unbounded_as_inf
from transforms.privacy.cells import whole_width
from transforms.privacy.lattice import Factor, Lattice, Spec
from transforms.privacy.outside import NO_OUTSIDE_SUMS, OutsideSums, keeps_sums

NO_HINTS: tuple[np.ndarray, np.ndarray] = (np.zeros(0, np.int64), np.zeros(0, np.int64))
SLICE = 100_000  # targets evaluated together (memory: about 200 bytes × cells per direction)


@dataclass
class Certification:
    """What the certificates prove, per protected cell."""

    width: np.ndarray  # proven whole-number interval width, 0 where no certificate was found
    lower: np.ndarray
    upper: np.ndarray
    hidden: np.ndarray  # hidden cells after protection (unchanged by an audit)
    # the directions protection chose, as (target cell, candidate number): enough for the audit
    # to rebuild and check each one from the counts (a hint, never published: it is no proof
    # until checked, and the widths it proves would tell more than the release does)
    hints: tuple[np.ndarray, np.ndarray]


@dataclass
class Candidates:
    """Directions for a batch of targets, one per target, as dense (target, g, p, o) blocks."""

    cells: np.ndarray  # (t, g, p, o) flat cell indexes (any cell where not live: read ``e``)
    e: np.ndarray  # the direction's value there (0: the cell does not change)
    ok: np.ndarray  # (t,) the direction exists
    alpha: np.ndarray
    beta: np.ndarray

    @property
    def live(self) -> np.ndarray:
        return self.e != 0

    def target_width(self) -> np.ndarray:
        """Whole-number width proven for the target: it changes as its leaf corner (column 0
        everywhere), up by ``|e|·α`` and down by ``|e|·β``."""
        if not self.e.size:
            return np.zeros(len(self.ok))
        step = np.abs(self.e[:, 0, 0, 0]).astype(float)
        return whole_width(-step * self.beta, step * self.alpha)


def build(lattice: Lattice, factors: tuple[Factor, Factor, Factor]) -> Candidates:
    g, p, o = factors
    # unit steps (all but partners) as bytes: an eighth of the memory to fill and to read
    unit = all(np.abs(f.weight).max(initial=0) <= 1 for f in factors)
    step: type[np.integer[Any]] = np.int8 if unit else np.int64
    g_w, p_w, o_w = (f.weight.astype(step) for f in factors)
    e = g_w[:, :, None, None] * p_w[:, None, :, None] * o_w[:, None, None, :]
    cells = lattice.block(g.nodes, p.nodes, o.nodes)
    return _bounded(lattice, cells, e, g.ok & p.ok & o.ok)


def _bounded(lattice: Lattice, cells: np.ndarray, e: np.ndarray, ok: np.ndarray) -> Candidates:
    """Candidates with their ``α`` (how far the cells ``e`` lowers allow) and ``β`` (the same
    for the cells it raises), capped at the audit's bound."""
    # a block is millions of entries per slice of targets: each pass over it counts, so the
    # minimums are taken in place (``where=``) and unit steps are not divided
    axes = (1, 2, 3)
    unit = not e.size or (e.min() >= -1 and e.max() <= 1)
    if unit and lattice.count_32 is not None:
        # whole counts, taken as 32-bit integers: the same minimums for half the bytes read
        counts = lattice.count_32[cells]
        alpha = unbounded_as_inf(counts.min(axis=axes, initial=UNBOUNDED_32, where=e < 0))
        beta = unbounded_as_inf(counts.min(axis=axes, initial=UNBOUNDED_32, where=e > 0))
    else:
        ratio = lattice.count_float[cells]
        if not unit:  # partners move by their siblings' counts
            with np.errstate(divide="ignore", invalid="ignore"):  # e == 0: never read below
                ratio /= np.abs(e)
        alpha = ratio.min(axis=axes, initial=np.inf, where=e < 0)
        beta = ratio.min(axis=axes, initial=np.inf, where=e > 0)
    if lattice.outside is not None:
        ok = ok & keeps_sums(lattice.outside, cells, e)
    return Candidates(cells, e, ok, np.minimum(alpha, lattice.cap), np.minimum(beta, lattice.cap))


def transfer(lattice: Lattice, c1: list[np.ndarray], c2: list[np.ndarray]) -> Candidates:
    """Move mass from leaf cell ``c2`` to leaf cell ``c1``: every total above one and not above
    the other changes (the directions that are not products, for what no product covers)."""
    blocks = []
    inside: list[list[np.ndarray]] = [[], []]
    nodes: list[list[np.ndarray]] = [[], []]
    for side, (leaf, other) in enumerate(((c1, c2), (c2, c1))):
        for axis, tree in enumerate(lattice.axes):
            chain = tree.ancestors[leaf[axis]]
            nodes[side].append(chain)
            inside[side].append(tree.above(chain, other[axis][:, None]))
    for side, sign in ((0, 1), (1, -1)):
        g, p, o = nodes[side]
        common = (
            inside[side][0][:, :, None, None]
            & inside[side][1][:, None, :, None]
            & inside[side][2][:, None, None, :]
        )
        live = (g >= 0)[:, :, None, None] & (p >= 0)[:, None, :, None] & (o >= 0)[:, None, None, :]
        blocks.append((lattice.block(g, p, o), np.where(live & ~common, sign, 0).astype(np.int8)))
    cells = np.concatenate([b[0] for b in blocks], axis=1)
    e = np.concatenate([b[1] for b in blocks], axis=1)
    return _bounded(lattice, cells, e, np.ones(len(e), dtype=bool))


@dataclass(frozen=True)
class Transfer:
    """A transfer to the target's heaviest leaf from the heaviest leaf of a neighbourhood: the
    target's ancestors ``up`` levels up in each dimension (clamped at the root; 0: the target's
    leaf itself)."""

    up: tuple[int, int, int]


@dataclass(frozen=True)
class Busiest:
    """A product whose leaves are the busiest below the target (most offences of any type),
    not the heaviest in the target's own slice: where the target's own offences are too few
    (a sensitive type nationwide), the mass comes from the big city's other offences."""

    specs: tuple[Spec, Spec, Spec]


Candidate = tuple[Spec, Spec, Spec] | Transfer | Busiest


# Pairs everywhere first (only leaves change), chains on the cheap period axis next, lifts for
# what one sibling cannot cover, then partners, geography chains (which reach the country) and
# transfers (which are not products) compared by what they hide.
def _tiers(lattice: Lattice) -> list[list[Candidate]]:
    """The candidates in tiers; a cell takes the cheapest of the first tier that proves it.
    Their order is part of the hints' meaning: append, never reorder."""
    return list(_tier_lists(lattice))


def _tier_lists(lattice: Lattice) -> Iterator[list[Candidate]]:
    geo_depth = lattice.axes[0].ancestors.shape[1]
    offence_depth = lattice.axes[2].ancestors.shape[1]
    period = [Spec("pair"), Spec("chain")]
    offence = [Spec("pair", lift) for lift in range(offence_depth - 1)] + [Spec("chain")]
    yield [(Spec("pair"), p, o) for p in period for o in offence]
    lifted = [Spec("pair", lift) for lift in range(1, geo_depth - 1)]
    yield [(g, p, o) for g in lifted for p in period for o in offence]
    partners: list[Candidate] = [
        (Spec("partners", lift), Spec("chain"), Spec("chain")) for lift in range(geo_depth - 1)
    ]
    chains: list[Candidate] = [
        (Spec("chain"), p, o)
        for p in period
        for o in offence
        if not (p.kind == "chain" and o.kind == "chain")
    ]
    transfers: list[Candidate] = [
        Transfer(up)
        for up in (
            (1, 0, 1),
            (1, 0, offence_depth),
            (2, 0, offence_depth),
            (geo_depth, 0, offence_depth),
            (1, 1, offence_depth),
            (2, 1, offence_depth),
            (geo_depth, 1, offence_depth),
        )
    ]
    busiest: list[Candidate] = [Busiest(specs) for specs in chains if isinstance(specs, tuple)]
    yield partners + chains + transfers + busiest


def certify(
    cube: Cube,
    hidden: np.ndarray,
    frozen: np.ndarray,
    required: np.ndarray,
    targets: np.ndarray,
    *,
    may_hide: bool,
    cap: float,
    batches: int = 1,
    hints: tuple[np.ndarray, np.ndarray] | None = None,
    cost_tiers: np.ndarray | None = None,
    outside: OutsideSums = NO_OUTSIDE_SUMS,
) -> Certification:
    """Prove ``targets`` protected by directions over hidden cells.

    ``may_hide``: protection may hide published cells (never ``frozen`` ones, which readers
    already know) to complete a direction; it takes, per target, the direction that hides the
    least, and returns its choices as ``hints``. The audit (``may_hide=False``) checks the hints
    it is given, then searches every direction already fully hidden for the cells still open.
    ``batches``: protection chooses for the targets in this many rounds, so later targets can
    use what earlier ones hid. ``cost_tiers``: how dear each cell is to hide
    (``transforms.privacy.cells.cost_tiers``): a cell of a higher tier costs more than all the
    cells of the tiers below it together. ``outside``: sums readers hold from another publisher
    (``transforms.privacy.outside``): a direction that changes one proves nothing.
    """
    lattice = Lattice(cube, cap, cost_tiers, outside)
    state = _State(
        lattice, hidden.copy(), frozen, required.astype(float), may_hide, np.zeros(len(hidden))
    )
    tiers = _tiers(lattice)
    catalogue = [item for tier in tiers for item in tier]
    if hints is not None and len(hints[0]):
        cells, items = hints
        for number in sorted_unique(items):
            chosen = cells[items == number]
            for start in range(0, len(chosen), SLICE):
                state.check(catalogue, int(number), chosen[start : start + SLICE])
    order = _priority(lattice, targets, required)
    for chunk in np.array_split(order, max(1, batches)) if len(order) else []:
        first = 0
        for tier in tiers:
            numbered = list(enumerate(tier, start=first))
            first += len(tier)
            open_ = chunk[state.width[chunk] + 1e-9 < state.need[chunk]]
            for start in range(0, len(open_), SLICE):
                state.try_tier(numbered, open_[start : start + SLICE])
    found = (
        (np.concatenate(state.hint_cells), np.concatenate(state.hint_items))
        if state.hint_cells
        else NO_HINTS
    )
    return Certification(state.width, state.lower, state.upper, state.hidden, found)


@dataclass
class _State:
    lattice: Lattice
    hidden: np.ndarray
    frozen: np.ndarray
    need: np.ndarray
    may_hide: bool
    width: np.ndarray

    def __post_init__(self) -> None:
        self.lower = np.zeros_like(self.width)
        self.upper = np.zeros_like(self.width)
        self.hint_cells: list[np.ndarray] = []
        self.hint_items: list[np.ndarray] = []

    def check(self, catalogue: list[Candidate], number: int, cells: np.ndarray) -> None:
        """Rebuild candidate ``number`` for ``cells`` and credit it where it holds."""
        if not 0 <= number < len(catalogue):
            return
        coordinates = self.lattice.coordinates(cells)
        leaves = _leaves(self.lattice, coordinates)
        cand = _candidates(self.lattice, catalogue[number], coordinates, leaves, {})
        blocked, shown = self._exposure(cand)
        holds = cand.ok & ~blocked & ~shown.any(axis=(1, 2, 3))
        self._credit(cand, holds)
        if self.may_hide and holds.any():  # protection hands on the hints that held
            self.hint_cells.append(cells[holds])
            self.hint_items.append(np.full(int(holds.sum()), number))

    def _exposure(self, cand: Candidates) -> tuple[np.ndarray, np.ndarray]:
        """(per target: the direction moves a cell readers know; per cell: it moves a shown one)."""
        live = cand.live
        blocked = (live & self.frozen[cand.cells]).any(axis=(1, 2, 3))
        return blocked, live & ~self.hidden[cand.cells]

    def try_tier(self, tier: list[tuple[int, Candidate]], open_: np.ndarray) -> None:
        """One tier's candidates for ``open_``: credit every valid one (audit) or the cheapest
        (protection, which hides what it needs)."""
        lattice = self.lattice
        coordinates = lattice.coordinates(open_)
        leaves = _leaves(lattice, coordinates)
        best_cost = np.full(len(open_), np.inf)
        best: list[tuple[np.ndarray, Candidates, int]] = []
        made: dict[tuple[int, Spec], Factor] = {}
        for number, item in tier:
            if not self.may_hide:  # the audit drops what is proven; protection compares all
                still = self.width[open_] + 1e-9 < self.need[open_]
                if not still.all():
                    open_ = open_[still]
                    coordinates = [c[still] for c in coordinates]
                    leaves = [c[still] for c in leaves]
                    made = {}
                if not len(open_):
                    return
            cand = _candidates(lattice, item, coordinates, leaves, made)
            blocked, shown = self._exposure(cand)
            wide = cand.target_width() + 1e-9 >= self.need[open_]
            valid = cand.ok & ~blocked & wide
            if not self.may_hide:
                valid &= ~shown.any(axis=(1, 2, 3))
                self._credit(cand, valid)
                continue
            cost = lattice.cost_32[cand.cells].sum(axis=(1, 2, 3), where=shown, dtype=np.int64)
            better = valid & (cost < best_cost)
            best_cost = np.where(better, cost, best_cost)
            best.append((better, cand, number))
        # the last candidate that lowered a target's cost is its choice
        chosen_in = np.full(len(open_), -1)
        for i, (better, _, _) in enumerate(best):
            chosen_in[better] = i
        for i, (_, cand, number) in enumerate(best):
            take = chosen_in == i
            if take.any():
                self.hidden[cand.cells[take][cand.live[take]]] = True
                self._credit(cand, take)
                self.hint_cells.append(open_[take])
                self.hint_items.append(np.full(int(take.sum()), number))

    def _credit(self, cand: Candidates, rows: np.ndarray) -> None:
        """Record, for every protected cell the directions change, the width they prove."""
        if not rows.any():
            return
        # each changed cell of the chosen directions, in block order, by its flat position: a
        # block of millions is scanned once, not once per quantity
        targets = np.flatnonzero(rows)
        e = cand.e[targets].reshape(len(targets), -1)
        live = np.flatnonzero(e)
        cells = cand.cells[targets].reshape(-1)[live]
        # the audit credits what it must prove; protection every cell its directions hide, whose
        # width it must know once they are hidden (cells.required_widths)
        protected = self.may_hide | (self.need[cells] > 0)
        live, cells = live[protected], cells[protected]
        step = e.reshape(-1)[live]
        row = targets[live // e.shape[1]]
        sign = np.sign(step)
        scale = np.abs(step).astype(float)
        alpha, beta = cand.alpha[row], cand.beta[row]
        up = np.where(sign > 0, alpha, beta) * scale
        down = np.where(sign > 0, beta, alpha) * scale
        proven = whole_width(-down, up)
        keep = proven > self.width[cells]
        cells, proven, sign, scale, alpha, beta = (
            x[keep] for x in (cells, proven, sign, scale, alpha, beta)
        )
        order = np.lexsort((proven, cells))  # per cell, the widest last
        last = np.r_[cells[order][1:] != cells[order][:-1], True] if len(cells) else order > 0
        pick = order[last]
        cells, proven, sign, scale, alpha, beta = (
            x[pick] for x in (cells, proven, sign, scale, alpha, beta)
        )
        x = self.lattice.count[cells].astype(float)
        self.width[cells] = proven
        self.lower[cells] = x - np.where(sign > 0, beta, alpha) * scale
        self.upper[cells] = x + np.where(sign > 0, alpha, beta) * scale


def _candidates(
    lattice: Lattice,
    item: Candidate,
    coordinates: list[np.ndarray],
    leaves: list[np.ndarray],
    made: dict[tuple[int, Spec], Factor],
) -> Candidates:
    if isinstance(item, Transfer):
        # up 0: the source shares the target's leaf there (a year cell's transfer stays in one
        # month, so the month's totals do not change)
        hood = [
            leaf if up == 0 else tree.ancestors[node, np.minimum(up, tree.depth[node])]
            for tree, node, leaf, up in zip(lattice.axes, coordinates, leaves, item.up, strict=True)
        ]
        source = _leaves(lattice, hood)
        cand = transfer(lattice, leaves, source)
        # the target must change: it must not lie above the source as well
        above = [
            tree.above(node, leaf)
            for tree, node, leaf in zip(lattice.axes, coordinates, source, strict=True)
        ]
        cand.ok &= ~(above[0] & above[1] & above[2])
        return cand
    if isinstance(item, Busiest):
        busy = _busiest_leaves(lattice, coordinates)
        factors = [
            lattice.factor(axis, spec, coordinates[axis], busy)
            for axis, spec in enumerate(item.specs)
        ]
        return build(lattice, (factors[0], factors[1], factors[2]))
    for axis, spec in enumerate(item):
        if (axis, spec) not in made:
            made[axis, spec] = lattice.factor(axis, spec, coordinates[axis], leaves)
    return build(lattice, tuple(made[axis, spec] for axis, spec in enumerate(item)))  # type: ignore[arg-type]


def _leaves(lattice: Lattice, coordinates: list[np.ndarray]) -> list[np.ndarray]:
    """The heaviest leaf below the target in each dimension, one dimension after the other."""
    leaves = list(coordinates)
    for axis in range(3):
        leaves[axis] = lattice.heaviest_leaf(axis, leaves[axis], leaves)
    return leaves


def _busiest_leaves(lattice: Lattice, coordinates: list[np.ndarray]) -> list[np.ndarray]:
    """Geography and period descend by all offences (the offence root), then the offence axis
    by the leaves found: the busiest unit and month below the target, its own type below it."""
    offence = lattice.axes[2]
    everything = offence.ancestors[coordinates[2], offence.depth[coordinates[2]]]
    leaves = [coordinates[0], coordinates[1], everything]
    for axis in range(2):
        leaves[axis] = lattice.heaviest_leaf(axis, leaves[axis], leaves)
    leaves[2] = lattice.heaviest_leaf(2, coordinates[2], leaves)
    return leaves


def _priority(lattice: Lattice, targets: np.ndarray, required: np.ndarray) -> np.ndarray:
    """Widest requirement first, then totals before leaves: their directions cover leaves too."""
    g, p, o = lattice.coordinates(targets)
    height = lattice.axes[0].height[g] + lattice.axes[1].height[p] + lattice.axes[2].height[o]
    return targets[np.lexsort((targets, -height, -required[targets]))]
