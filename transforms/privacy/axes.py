"""A hierarchy of the cube (geography, period or offence) as index arrays: parents, depths,
ancestors and children by position, so that whole arrays of cells are walked up and down at
once (the certificates' directions, the audit's scopes)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from transforms.domain.counting import Dimension


@dataclass(frozen=True)
class Axis:
    """One hierarchy as index arrays, in the cube's order of its codes."""

    parent: np.ndarray  # -1 at the root
    depth: np.ndarray
    height: np.ndarray  # longest way down to a leaf
    ancestors: np.ndarray  # (node, k): the k-th ancestor-or-self, -1 past the root
    children: np.ndarray  # (node, j): the j-th child, -1 padded
    leaf: np.ndarray

    @classmethod
    def of(cls, dim: Dimension) -> Axis:
        index = dim.index()
        n = len(dim.codes)
        parent = np.array(
            [index[p] if (p := dim.parent.get(c)) is not None else -1 for c in dim.codes],
            dtype=np.int64,
        )
        chains = [[index[a] for a in dim.ancestors_or_self(c)] for c in dim.codes]
        depth = np.array([len(c) - 1 for c in chains], dtype=np.int64)
        ancestors = np.full((n, int(depth.max()) + 1), -1, dtype=np.int64)
        for i, chain in enumerate(chains):
            ancestors[i, : len(chain)] = chain
        kids: list[list[int]] = [[] for _ in range(n)]
        for i, p in enumerate(parent):
            if p >= 0:
                kids[p].append(i)
        children = np.full((n, max(1, max(len(k) for k in kids))), -1, dtype=np.int64)
        for i, k in enumerate(kids):
            children[i, : len(k)] = k
        height = np.zeros(n, dtype=np.int64)
        for i in np.argsort(-depth, kind="stable"):  # deepest first: children before parents
            if parent[i] >= 0:
                height[parent[i]] = max(height[parent[i]], height[i] + 1)
        return cls(parent, depth, height, ancestors, children, children[:, 0] < 0)

    def above(self, upper: np.ndarray, lower: np.ndarray) -> np.ndarray:
        """Elementwise (broadcast): ``upper`` is an ancestor-or-self of ``lower`` (-1: never)."""
        upper, lower = np.broadcast_arrays(upper, lower)
        up = self.depth[lower] - self.depth[np.maximum(upper, 0)]
        reach = self.ancestors[lower, np.clip(up, 0, self.ancestors.shape[1] - 1)]
        return (upper >= 0) & (up >= 0) & (reach == upper)
