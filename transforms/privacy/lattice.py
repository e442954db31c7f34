"""The cube as a lattice of counts, and the factors certificates are built from
(``transforms.privacy.certificates``): per dimension and target, the nodes a direction changes and
their signed weights, the siblings chosen by count.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from transforms.domain.counting import Cube
from transforms.plumbing.arrays import as_int32
from transforms.privacy.axes import Axis
from transforms.privacy.outside import NO_OUTSIDE_SUMS, OutsideSums

PARTNERS = 8  # most siblings one certificate may borrow from


@dataclass(frozen=True)
class Factor:
    """One dimension's part of a direction, per target: nodes and their signed weights."""

    nodes: np.ndarray  # (targets, width), -1 padded
    weight: np.ndarray  # (targets, width), 0 on padding; column 0 is the leaf ``a``
    ok: np.ndarray  # (targets,): the factor exists for this target


@dataclass(frozen=True)
class Spec:
    kind: str  # "pair", "chain" or "partners"
    lift: int = 0


class Lattice:
    """The cube as a 3-D array of counts, with the candidate directions of its cells."""

    def __init__(
        self,
        cube: Cube,
        cap: float,
        cost_tiers: np.ndarray | None = None,
        outside: OutsideSums = NO_OUTSIDE_SUMS,
    ):
        self.shape = cube.shape
        self.outside = outside.matrix(len(cube.count))  # a direction must keep every sum
        self.axes = (Axis.of(cube.geo), Axis.of(cube.period), Axis.of(cube.offence))
        self.count = cube.count.astype(np.int64)
        self.count_float = self.count.astype(float)
        # unit steps read the counts as 32-bit integers where they fit: half the bytes
        self.count_32 = as_int32(self.count)
        self.cap = cap  # the audit's bound on any one cell
        # hiding a cell costs its count (the information withheld) plus one (the cell itself),
        # and a cell of a higher tier (transforms.privacy.cells.cost_tiers) more than all the
        # cells of the tiers below it together: the totals readers look at first go last
        self.cost = self.count + 1
        if cost_tiers is not None:
            for tier in range(1, int(cost_tiers.max(initial=0)) + 1):
                below = self.cost[cost_tiers < tier].sum()
                self.cost = np.where(cost_tiers >= tier, self.cost + below, self.cost)
        # as 32-bit integers where they fit, summed as 64-bit: half the bytes gathered
        cost_32 = as_int32(self.cost)
        self.cost_32 = self.cost if cost_32 is None else cost_32
        self._ranks: list[tuple[np.ndarray, np.ndarray] | None] = [None, None, None]

    def coordinates(self, cells: np.ndarray) -> list[np.ndarray]:
        return list(np.unravel_index(cells, self.shape))

    def flat(self, g: np.ndarray, p: np.ndarray, o: np.ndarray) -> np.ndarray:
        _, n_p, n_o = self.shape
        return (g * n_p + p) * n_o + o

    def block(self, g: np.ndarray, p: np.ndarray, o: np.ndarray) -> np.ndarray:
        """Flat cells of (targets × g × p × o) from per-target node lists (-1 padded)."""
        # as 32-bit integers where the cube allows: half the memory to fill and to read
        small = np.int32 if len(self.count) < np.iinfo(np.int32).max else np.int64
        return self.flat(
            np.maximum(g, 0).astype(small)[:, :, None, None],
            np.maximum(p, 0).astype(small)[:, None, :, None],
            np.maximum(o, 0).astype(small)[:, None, None, :],
        )

    def _ranked_children(self, axis: int) -> tuple[np.ndarray, np.ndarray]:
        """Per internal node and per position on the other two axes, its children by count,
        largest first (ties: the lower index): a lookup instead of a scan per target."""
        tree = self.axes[axis]
        counts = np.moveaxis(self.count.reshape(self.shape), axis, 0)
        internal = np.flatnonzero(~tree.leaf)
        row = np.full(len(tree.leaf), -1, dtype=np.int64)
        row[internal] = np.arange(len(internal))
        keep = min(PARTNERS + 1, tree.children.shape[1])
        table = np.full((len(internal), *counts.shape[1:], keep), -1, dtype=np.int32)
        for i, node in enumerate(internal):
            kids = tree.children[node]
            kids = kids[kids >= 0]
            order = np.argsort(-counts[kids], axis=0, kind="stable")[:keep]
            table[i, ..., : len(order)] = np.moveaxis(kids[order], 0, -1)
        return row, table

    def ranked(self, axis: int, nodes: np.ndarray, fixed: list[np.ndarray]) -> np.ndarray:
        """(targets, k): the children of ``nodes`` by count with ``fixed`` elsewhere."""
        if self._ranks[axis] is None:
            self._ranks[axis] = self._ranked_children(axis)
        row, table = self._ranks[axis]  # type: ignore[misc]
        others = [f for a, f in enumerate(fixed) if a != axis]
        found = table[np.maximum(row[nodes], 0), others[0], others[1]].astype(np.int64)
        return np.where((row[nodes] >= 0)[:, None], found, -1)

    def heaviest_leaf(self, axis: int, nodes: np.ndarray, fixed: list[np.ndarray]) -> np.ndarray:
        """Down from each node, always to the child with the largest count, to a leaf."""
        current = nodes.copy()
        tree = self.axes[axis]
        while True:
            open_ = np.flatnonzero(~tree.leaf[current])
            if not len(open_):
                return current
            current[open_] = self.ranked(axis, current[open_], [f[open_] for f in fixed])[:, 0]

    def factor(self, axis: int, spec: Spec, node: np.ndarray, leaves: list[np.ndarray]) -> Factor:
        tree = self.axes[axis]
        a = leaves[axis]
        n = len(node)
        if spec.kind == "chain":
            nodes = tree.ancestors[a]
            return Factor(nodes, (nodes >= 0).astype(np.int64), np.ones(n, dtype=bool))
        anchor = tree.ancestors[node, spec.lift] if spec.lift < tree.ancestors.shape[1] else -1
        anchor = np.broadcast_to(anchor, (n,))
        ok = anchor >= 0
        anchor = np.where(ok, anchor, 0)
        ok &= tree.parent[anchor] >= 0
        ranked = self.ranked(axis, np.maximum(tree.parent[anchor], 0), leaves)
        ranked = np.where((ranked == anchor[:, None]) | ~ok[:, None], -1, ranked)
        # the siblings by count, the anchor itself taken out
        if spec.kind == "pair":
            chosen = np.where(
                ranked[:, 0] >= 0, ranked[:, 0], ranked[:, min(1, ranked.shape[1] - 1)]
            )
            chosen = chosen[:, None]
        else:
            rank = np.argsort(ranked < 0, axis=1, kind="stable")
            chosen = np.take_along_axis(ranked, rank, axis=1)[:, :PARTNERS]
        ok &= chosen[:, 0] >= 0
        span = tree.depth[a] - tree.depth[anchor]  # the path a → anchor has span + 1 nodes
        sides: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # (b, its span, λ)
        for r in range(chosen.shape[1]):
            sibling = chosen[:, r]
            present = sibling >= 0
            sibling = np.maximum(sibling, 0)
            b = self.heaviest_leaf(axis, sibling, leaves)
            b_span = np.where(present, tree.depth[b] - tree.depth[sibling], -1)
            if spec.kind == "pair":
                lam = present.astype(np.int64)
            else:
                fixed = list(leaves)
                fixed[axis] = b
                lam = np.where(present, self.count[self.flat(*fixed)], 0)
            sides.append((b, b_span, lam))
        spans = np.maximum(span, np.max([s for _, s, _ in sides], axis=0))
        width = int(spans[ok].max()) + 1 if ok.any() else 1
        steps = np.arange(width)[None, :]
        a_side = np.where(steps <= span[:, None], tree.ancestors[a][:, :width], -1)
        columns = [a_side]
        weights: list[np.ndarray] = []
        lam_total = np.zeros(n, dtype=np.int64)
        for b, b_span, lam in sides:
            b_side = np.where(steps <= b_span[:, None], tree.ancestors[b][:, :width], -1)
            lam_total += lam
            columns.append(b_side)
            weights.append(np.where(b_side >= 0, -lam[:, None], 0))
        weights.insert(0, np.where(a_side >= 0, lam_total[:, None], 0))
        ok &= lam_total > 0
        nodes = np.concatenate(columns, axis=1)
        weight = np.concatenate(weights, axis=1)
        weight = np.where(nodes >= 0, weight, 0)
        return Factor(np.where(weight != 0, nodes, -1), weight, ok)
