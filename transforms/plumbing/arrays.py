"""Array helpers NumPy's own are too slow for at a national scale."""

from __future__ import annotations

from typing import overload

import numpy as np


@overload
def sorted_unique(values: np.ndarray) -> np.ndarray: ...
@overload
def sorted_unique(
    values: np.ndarray, *, return_inverse: bool = ..., return_counts: bool = ...
) -> tuple[np.ndarray, ...]: ...


def sorted_unique(
    values: np.ndarray, *, return_inverse: bool = False, return_counts: bool = False
) -> np.ndarray | tuple[np.ndarray, ...]:
    """``np.unique`` of a 1-D array (the sorted distinct values, and if asked each value's
    position among them and how often each occurs), found by one stable sort.

    NumPy 2.4's ``np.unique`` hashes the values first, many times slower on millions of
    integers than a sort and a comparison of neighbours."""
    values = np.asarray(values).reshape(-1)
    if not (return_inverse or return_counts):
        ordered = np.sort(values)
        return ordered[_first_of_each(ordered)]
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    first = _first_of_each(ordered)
    found: list[np.ndarray] = [ordered[first]]
    if return_inverse:
        inverse = np.empty(len(values), dtype=np.intp)
        inverse[order] = np.cumsum(first) - 1
        found.append(inverse)
    if return_counts:
        found.append(np.diff(np.append(np.flatnonzero(first), len(values))))
    return tuple(found)


def _first_of_each(ordered: np.ndarray) -> np.ndarray:
    """Where each run of equal values starts in a sorted array (NaN equals NaN, as in
    ``np.unique``)."""
    first = np.ones(len(ordered), dtype=bool)
    if len(ordered) > 1:
        different = ordered[1:] != ordered[:-1]
        if ordered.dtype.kind in "fc":
            different &= ~(np.isnan(ordered[1:]) & np.isnan(ordered[:-1]))
        first[1:] = different
    return first


UNBOUNDED_32 = np.iinfo(np.int32).max  # no cell limits the step (above every count)


def as_int32(values: np.ndarray) -> np.ndarray | None:
    """Non-negative ``values`` as 32-bit integers, if all are below :data:`UNBOUNDED_32`."""
    fits = not len(values) or int(values.max()) < UNBOUNDED_32
    return values.astype(np.int32) if fits else None


def unbounded_as_inf(minimums: np.ndarray) -> np.ndarray:
    """32-bit minimums as the float bounds the rest reads: no limiting cell is no bound."""
    return np.where(minimums == UNBOUNDED_32, np.inf, minimums.astype(float))
