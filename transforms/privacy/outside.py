"""Figures a reader holds from outside the release: sums of the cube's cells that another
publisher gives (the police's own statistics per police unit), as bounds the audit adds to its
attack: ``lower ≤ Σ members ≤ upper``.

What the outside sums tell on their own, before this release, is no release's doing: a cell
they already narrow below its protection width (a unit's figure of 1 for a type is public
whatever we publish) passes when the release narrows it no further (:func:`outside_widths`).

A certificate (``transforms.privacy.certificates``) proves a width by moving the table along a
direction that leaves every published cell as it is; it must leave every outside sum as it is
too, so a direction that changes one is no candidate. The LP has the sums as rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog
from scipy.sparse.csgraph import connected_components

from transforms.domain.counting import Cube, Dimension


@dataclass(frozen=True, eq=False)  # arrays: compared element by element, not as a whole
class OutsideSums:
    """Row ``r``: ``lower[r] ≤ Σ count[members[ptr[r]:ptr[r+1]]] ≤ upper[r]`` (±inf: no bound)."""

    ptr: np.ndarray
    members: np.ndarray  # flat cube cells, each at most once per row
    lower: np.ndarray
    upper: np.ndarray

    def __len__(self) -> int:
        return len(self.lower)

    def touched(self, cells: int) -> np.ndarray:
        """Per cube cell: a member of some row."""
        mask = np.zeros(cells, dtype=bool)
        mask[self.members] = True
        return mask

    def matrix(self, cells: int) -> sp.csr_matrix | None:
        """The rows over the cube's ``cells`` (None without rows)."""
        if not len(self):
            return None
        rows = np.repeat(np.arange(len(self)), np.diff(self.ptr))
        return sp.csr_matrix(
            (np.ones(len(self.members)), (rows, self.members)), shape=(len(self), cells)
        )

    def row_members(self, r: int) -> np.ndarray:
        return self.members[self.ptr[r] : self.ptr[r + 1]]

    def sums(self, count: np.ndarray) -> np.ndarray:
        """Each row's sum under ``count`` (a table of the cube)."""
        if not len(self):
            return np.zeros(0)
        totals = np.add.reduceat(count[self.members].astype(float), self.ptr[:-1])
        return np.where(np.diff(self.ptr) > 0, totals, 0.0)

    def holding(self, count: np.ndarray) -> np.ndarray:
        """Per row: the bounds hold for ``count``."""
        total = self.sums(count)
        return (total >= self.lower - 1e-9) & (total <= self.upper + 1e-9)

    def subset(self, rows: np.ndarray) -> OutsideSums:
        rows = np.asarray(rows, dtype=np.int64)
        sizes = np.diff(self.ptr)[rows]
        members = (
            np.concatenate([self.row_members(int(r)) for r in rows])
            if len(rows)
            else np.empty(0, dtype=np.int64)
        )
        return OutsideSums(
            np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64),
            members.astype(np.int64),
            self.lower[rows],
            self.upper[rows],
        )


def keeps_sums(matrix: sp.csr_matrix, cells: np.ndarray, e: np.ndarray) -> np.ndarray:
    """Per direction (axis 0 of ``cells`` and ``e``, its cells and changes): it leaves every row
    of ``matrix`` (``OutsideSums.matrix``) as it is. A direction that moves a sum shows the
    reader a table the outside figure rules out: it proves nothing."""
    live = e != 0
    target = np.broadcast_to(np.arange(len(e)).reshape((-1,) + (1,) * (e.ndim - 1)), e.shape)
    moves = sp.csr_matrix(
        (e[live].astype(float), (cells[live].astype(np.int64), target[live])),
        shape=(matrix.shape[1], len(e)),
    )
    changed = abs(matrix @ moves)
    return np.asarray(changed.max(axis=0).todense()).ravel() < 1e-9


def outside_rows(
    outside: OutsideSums, is_var: np.ndarray, value: np.ndarray, column: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The sums touching a variable of an LP (``is_var``; ``column``: each cell's column), the
    other members' ``value`` moved to the bounds: (rows, columns, lower, upper, row ids)."""
    starts = outside.ptr[:-1]
    var_member = is_var[outside.members]
    sizes = np.diff(outside.ptr)
    nonempty = sizes > 0
    n_var = np.zeros(len(outside), dtype=np.int64)
    known = np.zeros(len(outside))
    if nonempty.any():
        n_var[nonempty] = np.add.reduceat(var_member.astype(np.int64), starts[nonempty])
        known_value = np.where(var_member, 0.0, value[outside.members])
        known[nonempty] = np.add.reduceat(known_value, starts[nonempty])
    touched = np.flatnonzero(n_var > 0)
    new_index = np.full(len(outside), -1, dtype=np.int64)
    new_index[touched] = np.arange(len(touched))
    row_of_member = np.repeat(np.arange(len(outside)), sizes)
    keep = var_member & (new_index[row_of_member] >= 0)
    return (
        new_index[row_of_member[keep]],
        column[outside.members[keep]],
        outside.lower[touched] - known[touched],
        outside.upper[touched] - known[touched],
        touched,
    )


def outside_sums(rows: list[tuple[np.ndarray, float, float]]) -> OutsideSums:
    """From ``(members, lower, upper)`` rows; a row without members says nothing and is left out."""
    rows = [(np.unique(m), lo, hi) for m, lo, hi in rows if len(m)]
    if not rows:
        return NO_OUTSIDE_SUMS
    sizes = [len(m) for m, _, _ in rows]
    return OutsideSums(
        np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64),
        np.concatenate([m for m, _, _ in rows]).astype(np.int64),
        np.array([lo for _, lo, _ in rows], dtype=float),
        np.array([hi for _, _, hi in rows], dtype=float),
    )


NO_OUTSIDE_SUMS = OutsideSums(
    np.zeros(1, dtype=np.int64), np.empty(0, dtype=np.int64), np.empty(0), np.empty(0)
)


def outside_widths(cube: Cube, outside: OutsideSums, cells: np.ndarray) -> np.ndarray:
    """Each cell's interval width (whole records) from the outside sums alone: every cell of
    the cube unknown, each the sum of the records below it. ``inf`` where some of its records
    are in no sum. With nothing published, the cube's relations only say that a cell is the
    sum of its atoms (the records of one municipality, month and offence code), so the LPs run
    over the atoms the sums reach, one small component (a unit and a code) at a time."""
    widths = np.full(len(cells), np.inf)
    if not len(outside) or not len(cells):
        return widths
    atoms = [
        atom_positions(dim, holders)
        for dim, holders in zip(
            (cube.geo, cube.period, cube.offence),
            (set(), set(), coded_at_internal_nodes(cube)),
            strict=True,
        )
    ]
    shape = cube.shape

    def leaves(cell: int) -> np.ndarray:
        g, p, o = np.unravel_index(cell, shape)
        grid = np.ix_(atoms[0][g], atoms[1][p], atoms[2][o])
        return ((grid[0] * shape[1] + grid[1]) * shape[2] + grid[2]).ravel()

    row_leaves = [
        np.unique(np.concatenate([leaves(int(m)) for m in outside.row_members(r)]))
        for r in range(len(outside))
    ]
    variables = np.unique(np.concatenate(row_leaves))
    column = {int(v): i for i, v in enumerate(variables)}
    rows = np.repeat(np.arange(len(outside)), [len(x) for x in row_leaves])
    cols = np.array([column[int(v)] for x in row_leaves for v in x], dtype=np.int64)
    matrix = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(outside), len(variables)))
    graph = sp.bmat([[None, matrix], [matrix.T, None]]).tocsr()
    _, label = connected_components(graph, directed=False)
    row_comp, var_comp = label[: len(outside)], label[len(outside) :]
    for i, cell in enumerate(cells):
        mine = leaves(int(cell))
        if any(int(v) not in column for v in mine):
            continue
        comps = np.unique(var_comp[[column[int(v)] for v in mine]])
        var_idx = np.flatnonzero(np.isin(var_comp, comps))
        row_idx = np.flatnonzero(np.isin(row_comp, comps))
        local = matrix[row_idx][:, var_idx]
        objective = np.isin(variables[var_idx], mine).astype(float)
        lower, upper = outside.lower[row_idx], outside.upper[row_idx]
        a_ub = sp.vstack([local[np.isfinite(upper)], -local[np.isfinite(lower)]])
        b_ub = np.concatenate([upper[np.isfinite(upper)], -lower[np.isfinite(lower)]])
        low = linprog(objective, A_ub=a_ub, b_ub=b_ub, bounds=(0, None), method="highs")
        high = linprog(-objective, A_ub=a_ub, b_ub=b_ub, bounds=(0, None), method="highs")
        if low.status != 0 or high.status != 0:  # unbounded above: nothing narrows it
            continue
        widths[i] = np.floor(-high.fun + 1e-6) - np.ceil(low.fun - 1e-6)
    return widths


def coded_at_internal_nodes(cube: Cube) -> set[str]:
    """Offence nodes with children that hold records of their own (``Cube.at_least``)."""
    _, _, o = np.unravel_index(cube.at_least.totals, cube.shape)
    return {cube.offence.codes[i] for i in np.unique(o)}


def atom_positions(dim: Dimension, holders: set[str]) -> list[np.ndarray]:
    """Per node: the positions of the nodes below it (itself included) that hold records of
    their own: the leaves, and the internal ``holders``."""
    index, children = dim.index(), dim.children()
    holds = {c for c in dim.codes if c not in children} | holders
    found: dict[str, list[int]] = {}

    def below(node: str) -> list[int]:
        if node not in found:
            mine = [index[node]] if node in holds else []
            found[node] = mine + [a for k in children.get(node, []) for a in below(k)]
        return found[node]

    return [np.array(sorted(below(c)), dtype=np.int64) for c in dim.codes]
