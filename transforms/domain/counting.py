"""Counting offences: a cube over three hierarchies, and the additive relations between its cells.

Dimensions: geography (municipality → district → region → country), period (month → year) and
offence. The offence hierarchy has two roots: ``NONSENSITIVE`` (every offence the policy does not
mark sensitive, over the police's groups and their types), the headline every level publishes, and
``SENSITIVE`` (the sensitive types, with everything below them), a figure of its own that the
policy publishes only from its minimum geography level up. No cell mixes the two, so a municipal
total never holds a sensitive offence. Every cell counts the offences below it in all three
hierarchies,
so for each internal node ``total = Σ children`` holds along each dimension with the other two
fixed. The counted unit is one offence record (an incident and one offence type) whose state does
not say the act did not happen, was no offence, or was fabricated. The relations are what a reader
can use to recompute a hidden cell, so they are what
secondary suppression protects against and what the audit attacks with.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from transforms.plumbing.columns import text_column

# the two roots of the offence hierarchy (see the module docstring)
NONSENSITIVE = "NONSENSITIVE"
SENSITIVE = "SENSITIVE"
ROOT_NAMES = {  # (Czech, English)
    NONSENSITIVE: ("trestné činy a přestupky kromě citlivých", "offences except sensitive ones"),
    SENSITIVE: (
        "citlivé trestné činy (sexuální, domácí násilí, na dětech, obchod s lidmi)",
        "sensitive offences (sexual, domestic violence, against children, trafficking)",
    ),
}
# the tables name a root in both languages at once
OFFENCE_ROOT_NAMES = {code: f"{cs} / {en}" for code, (cs, en) in ROOT_NAMES.items()}
WITHOUT_SENSITIVE = ("bez citlivých", "excluding sensitive offences")


@dataclass(frozen=True)
class Dimension:
    """One hierarchy: node codes in a fixed order, each node's level and parent."""

    name: str
    codes: tuple[str, ...]
    level: Mapping[str, str]
    parent: Mapping[str, str | None]

    def index(self) -> dict[str, int]:
        return {code: i for i, code in enumerate(self.codes)}

    def children(self) -> dict[str, list[str]]:
        kids: dict[str, list[str]] = {}
        for code in self.codes:
            up = self.parent.get(code)
            if up is not None:
                kids.setdefault(up, []).append(code)
        return kids

    def ancestors_or_self(self, code: str) -> list[str]:
        chain: list[str] = []
        current: str | None = code
        while current is not None:
            chain.append(current)
            current = self.parent.get(current)
        return chain


def geography_dimension(geography: pd.DataFrame) -> Dimension:
    order = {"country": 0, "region": 1, "district": 2, "municipality": 3}
    units = geography.assign(_o=geography["level"].map(order)).sort_values(["_o", "code"])
    return Dimension(
        "geo",
        tuple(units["code"]),
        dict(zip(units["code"], units["level"], strict=True)),
        {
            c: (None if pd.isna(p) else str(p))
            for c, p in zip(units["code"], units["parent_code"], strict=True)
        },
    )


def period_dimension(
    months: Sequence[str], parts: Mapping[str, Sequence[Sequence[str]]] | None = None
) -> Dimension:
    """Years over their months; between them, a year's ``parts``: the months of that year an
    earlier release held (its year figure then was their sum, and readers keep it). Parts of a
    year nest, the smaller inside the larger, each a proper subset of the year's months: the
    year over its largest part and the months outside it, each part over the next smaller one
    and its other months. A part is no row of the table (:func:`part_code`)."""
    years = sorted({m[:4] for m in months})
    level = {y: "year" for y in years} | {m: "month" for m in months}
    parent: dict[str, str | None] = {y: None for y in years} | {m: m[:4] for m in months}
    codes = list(years)
    for year, nested in sorted((parts or {}).items()):
        outer = year
        for inner in sorted(nested, key=len, reverse=True):
            code = part_code(year, inner)
            codes.append(code)
            level[code], parent[code] = "part", outer
            for month in inner:
                parent[month] = code
            outer = code
    codes += sorted(months)
    return Dimension("period", tuple(codes), level, parent)


def part_code(year: str, months: Sequence[str]) -> str:
    """A part's code: the year and its months, ``2025[01+02]``."""
    return f"{year}[{'+'.join(sorted(m[5:] for m in months))}]"


def offence_dimension(
    names: Mapping[int, str],
    parent: Mapping[int, int | None],
    sensitive: Collection[int] = frozenset(),
) -> Dimension:
    """The offence hierarchy: ``NONSENSITIVE`` over the police's groups (the roots of its type
    list) and their types that are not ``sensitive``; ``SENSITIVE`` (only when some type is
    sensitive) over the topmost sensitive types, each with its subtree. A group that holds
    sensitive types stands under ``NONSENSITIVE`` for the rest of its offences.

    Levels: ``total`` for the two roots, ``group`` for a police group, ``type`` otherwise.
    ``sensitive`` must be closed downwards (every type below a sensitive one is sensitive), as
    ``transforms.privacy.policy.sensitive_codes`` makes it."""
    marked = {int(c) for c in sensitive} & set(names)
    if any(c not in marked for c in names if parent.get(c) in marked):
        raise ValueError("a type below a sensitive one is not sensitive: close the set first")
    roots = [NONSENSITIVE] + ([SENSITIVE] if marked else [])
    codes = roots + [str(c) for c in sorted(names)]
    level = {root: "total" for root in roots} | {
        str(c): ("group" if parent.get(c) is None else "type") for c in names
    }
    up: dict[str, str | None] = {root: None for root in roots}
    for c in names:
        p = parent.get(c)
        if c in marked and (p is None or p not in marked):
            up[str(c)] = SENSITIVE  # the topmost sensitive type of its branch
        else:
            up[str(c)] = NONSENSITIVE if p is None else str(p)
    return Dimension("offence", tuple(codes), level, up)


def sensitive_nodes(offence: Dimension) -> np.ndarray:
    """Per node of the offence dimension: it is ``SENSITIVE`` or below it."""
    return np.array([offence.ancestors_or_self(c)[-1] == SENSITIVE for c in offence.codes])


def offence_labels(
    offence: Dimension, names: Mapping[int, str], parent: Mapping[int, int | None]
) -> dict[str, str]:
    """Each node's published name: the roots' bilingual ones, the police's for the others,
    and for a group that also holds sensitive types, a note that its figure leaves them out.
    ``names``, ``parent``: the police's type list, as given to :func:`offence_dimension`."""
    labels: dict[str, str] = {}
    for code, (cs, _) in offence_names(offence, names, {}, parent).items():
        if code in OFFENCE_ROOT_NAMES:
            labels[code] = OFFENCE_ROOT_NAMES[code]
        elif cs != names[int(code)]:  # a group figure without its sensitive types
            labels[code] = f"{names[int(code)]} – {WITHOUT_SENSITIVE[0]} / {WITHOUT_SENSITIVE[1]}"
        else:
            labels[code] = cs
    return labels


def offence_names(
    offence: Dimension,
    names: Mapping[int, str],
    names_en: Mapping[int, str],
    parent: Mapping[int, int | None],
) -> dict[str, tuple[str, str]]:
    """Each node's (Czech, English) name for the portal's pages, as :func:`offence_labels`
    names it; a type without an English name (``names_en``) keeps its Czech one in both."""
    sensitive = sensitive_nodes(offence)
    holding_sensitive: set[str] = set()
    for code, is_sensitive in zip(offence.codes, sensitive, strict=True):
        if is_sensitive and code != SENSITIVE:
            current: int | None = int(code)
            while current is not None:  # the police's own hierarchy, above the split
                holding_sensitive.add(str(current))
                current = parent.get(current)
    found: dict[str, tuple[str, str]] = {}
    for code, is_sensitive in zip(offence.codes, sensitive, strict=True):
        if code in ROOT_NAMES:
            found[code] = ROOT_NAMES[code]
            continue
        cs = names[int(code)]
        en = names_en.get(int(code), cs)
        if not is_sensitive and code in holding_sensitive:
            cs, en = f"{cs} – {WITHOUT_SENSITIVE[0]}", f"{en} – {WITHOUT_SENSITIVE[1]}"
        found[code] = (cs, en)
    return found


@dataclass
class Cube:
    """Cells of the full cube (zeros included) and the relations between them.

    Cells are numbered in (geo, period, offence) order; ``count`` holds each cell's true count.
    A relation ``r`` says ``count[totals[r]] == Σ count[members[ptr[r]:ptr[r+1]]]``.
    """

    geo: Dimension
    period: Dimension
    offence: Dimension
    count: np.ndarray  # int64 per cell

    @cached_property
    def _relation_arrays(self) -> tuple[Relations, Relations]:
        # found when first asked for: certificates work on the counts alone, and only the LP
        # attack and the relation heuristic, which a year often does not need, read relations
        # (ten million member entries a year)
        return _relations(self.shape, (self.geo, self.period, self.offence), self.count)

    @property
    def totals(self) -> np.ndarray:
        return self._relation_arrays[0].totals

    @property
    def ptr(self) -> np.ndarray:
        return self._relation_arrays[0].ptr

    @property
    def members(self) -> np.ndarray:
        return self._relation_arrays[0].members

    @property
    def at_least(self) -> Relations:
        """Relations that hold only as ``total ≥ Σ members``: offences coded at a type that has
        subtypes count in the type but in none of them. A reader knows the inequality."""
        return self._relation_arrays[1]

    @property
    def shape(self) -> tuple[int, int, int]:
        return len(self.geo.codes), len(self.period.codes), len(self.offence.codes)

    def coordinates(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Each cell's position along geo, period and offence (cells are in that order)."""
        return cell_coordinates(self.shape)

    @cached_property
    def cells(self) -> pd.DataFrame:
        """One row per cell: its levels and codes as text, and its ``count``. Built when first
        asked for: protection and the audit work on ``count`` and the keys of a few cells
        (:meth:`keys`), and a year's six text columns of millions of rows took a second."""
        g, p, o = self.coordinates()
        geo, period, offence = self.geo, self.period, self.offence
        return pd.DataFrame(
            {
                "geo_level": text_column([geo.level[c] for c in geo.codes], g),
                "geo_code": text_column(geo.codes, g),
                "period_type": text_column([period.level[c] for c in period.codes], p),
                "period": text_column(period.codes, p),
                "offence_level": text_column([offence.level[c] for c in offence.codes], o),
                "offence_code": text_column(offence.codes, o),
                "count": self.count,
            }
        )

    def keys(self, cells: np.ndarray) -> pd.DataFrame:
        """The ``geo_code``, ``period`` and ``offence_code`` of ``cells``, as in :attr:`cells`."""
        g, p, o = np.unravel_index(np.asarray(cells, dtype=np.int64), self.shape)
        return pd.DataFrame(
            {
                "geo_code": text_column(self.geo.codes, g),
                "period": text_column(self.period.codes, p),
                "offence_code": text_column(self.offence.codes, o),
            }
        )

    def cell_numbers(self, keys: pd.DataFrame) -> np.ndarray:
        """The number of the cell each row of ``keys`` names by its ``geo_code``, ``period`` and
        ``offence_code``; -1 where a code is not in the cube. Positions are looked up once per
        distinct code: a join on a year's millions of text keys takes seconds."""
        g, p, o = (
            _positions(keys[column], dim)
            for column, dim in (
                ("geo_code", self.geo),
                ("period", self.period),
                ("offence_code", self.offence),
            )
        )
        return np.where((g < 0) | (p < 0) | (o < 0), -1, _flat(self.shape, g, p, o))

    def relation_members(self, r: int) -> np.ndarray:
        return self.members[self.ptr[r] : self.ptr[r + 1]]

    def cell_relations(self) -> tuple[np.ndarray, np.ndarray]:
        """CSR from cells to the relations they take part in (as total or as a part)."""
        n_cells = len(self.count)
        rel_of_member = np.repeat(np.arange(len(self.totals)), np.diff(self.ptr))
        cells = np.concatenate([self.members, self.totals])
        rels = np.concatenate([rel_of_member, np.arange(len(self.totals))])
        order = np.argsort(cells, kind="stable")
        counts = np.bincount(cells, minlength=n_cells)
        return np.concatenate([[0], np.cumsum(counts)]), rels[order]


def _node_positions(values: pd.Series, dim: Dimension) -> np.ndarray:
    """:func:`_positions`, where every code the rows use must be one of ``dim``'s nodes."""
    positions = _positions(values, dim)
    unknown = (positions < 0) & values.notna().to_numpy()
    if unknown.any():
        codes = sorted({str(c) for c in values[unknown].unique()})
        raise KeyError(f"{dim.name} codes not in the dimension: {codes[:5]}")
    return positions


def _roll_up(table: np.ndarray, dim: Dimension) -> None:
    """Add each node's slice of ``table`` (axis 0: ``dim``'s nodes) to its ancestors', in place;
    deepest first, so a node is complete before it is added to its parent."""
    index = dim.index()
    parent = np.array(
        [index[p] if (p := dim.parent.get(c)) is not None else -1 for c in dim.codes],
        dtype=np.int64,
    )
    depth = np.array([len(dim.ancestors_or_self(c)) - 1 for c in dim.codes], dtype=np.int64)
    for level in range(int(depth.max(initial=0)), 0, -1):
        kids = np.flatnonzero(depth == level)
        kids = kids[np.argsort(parent[kids], kind="stable")]
        parents, starts = np.unique(parent[kids], return_index=True)
        table[parents] += np.add.reduceat(table[kids], starts, axis=0)


def _positions(values: pd.Series, dim: Dimension) -> np.ndarray:
    """Each value's position in ``dim``; -1 for a missing value or a code not in it. Looked up
    once per distinct value, not per row: categories once each, their codes indexing the
    lookup (factorising a year's rows again took five times as long)."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        codes, uniques = values.cat.codes.to_numpy(), values.cat.categories
    else:
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
    at = np.append(pd.Index(dim.codes).get_indexer(uniques), -1)  # a missing value's -1: -1
    return at[codes]


def cell_coordinates(shape: tuple[int, int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each cell's position along geo, period and offence, for cells in ``_flat`` order."""
    g, p, o = np.unravel_index(np.arange(shape[0] * shape[1] * shape[2]), shape)
    return g, p, o


def _flat(shape: tuple[int, int, int], g: np.ndarray, p: np.ndarray, o: np.ndarray) -> np.ndarray:
    return (g * shape[1] + p) * shape[2] + o


def build_cube(base: pd.DataFrame, geo: Dimension, period: Dimension, offence: Dimension) -> Cube:
    """The cube of counts over three hierarchies.

    Counts roll up along every hierarchy; a relation is an equation only where it holds exactly
    (an offence coded at an internal type with children breaks ``type = Σ subtypes`` there, and
    the relation is kept as ``type ≥ Σ subtypes``: :attr:`Cube.at_least`).

    Parameters
    ----------
    base : DataFrame
        One row per counted offence record: ``geo``, ``period``, ``offence`` leaf codes (text,
        or categories of text). A record whose code a dimension does not hold is not counted.
    geo, period, offence : Dimension
        The hierarchies, leaves to roots.

    Returns
    -------
    Cube
        ``count``: offence records per cell (int64, flat in ``geo × period × offence`` order),
        each node the sum of its leaves.
    """
    shape = (len(geo.codes), len(period.codes), len(offence.codes))
    size = shape[0] * shape[1] * shape[2]
    counts = np.zeros(size, dtype=np.int64)
    if len(base):
        # each record's cell from its codes' positions, counted by bincount: a year's 1.5 M
        # records need no grouping on their keys (a record missing a code is not counted)
        g, p, o = (
            _node_positions(base[column], dim)
            for column, dim in (("geo", geo), ("period", period), ("offence", offence))
        )
        coded = (g >= 0) & (p >= 0) & (o >= 0)
        counts += np.bincount(_flat(shape, g[coded], p[coded], o[coded]), minlength=size)
        # then every node gets its children's counts, one axis after the other: each record
        # is counted in every combination of its ancestors-or-self
        table = counts.reshape(shape)  # a view: the sums land in ``counts``
        for axis, dim in enumerate((geo, period, offence)):
            _roll_up(np.moveaxis(table, axis, 0), dim)
    return Cube(geo, period, offence, counts)


def _cells_at(
    shape: tuple[int, int, int], axis: int, node: int, o1: np.ndarray, o2: np.ndarray
) -> np.ndarray:
    """Flat indexes of the cells with ``node`` on ``axis`` and (o1, o2) on the other two."""
    coords = [o1, o2]
    coords.insert(axis, np.full_like(o1, node))
    return _flat(shape, coords[0], coords[1], coords[2])


@dataclass(frozen=True)
class Relations:
    """``count[totals[r]] (=|≥) Σ count[members[ptr[r]:ptr[r+1]]]`` for every relation ``r``."""

    totals: np.ndarray
    ptr: np.ndarray
    members: np.ndarray


def _relations(
    shape: tuple[int, int, int], dims: tuple[Dimension, Dimension, Dimension], counts: np.ndarray
) -> tuple[Relations, Relations]:
    """(the relations that hold exactly, those that hold as ``total ≥ Σ members`` only)."""
    found: dict[bool, tuple[list[np.ndarray], list[np.ndarray]]] = {True: ([], []), False: ([], [])}
    grids = [np.arange(n) for n in shape]
    for axis, dim in enumerate(dims):
        index = dim.index()
        for parent, kids in dim.children().items():
            others = [grids[a] for a in range(3) if a != axis]
            o1, o2 = (a.ravel() for a in np.meshgrid(*others, indexing="ij"))
            total = _cells_at(shape, axis, index[parent], o1, o2)
            parts = np.stack([_cells_at(shape, axis, index[k], o1, o2) for k in kids], axis=1)
            holds = counts[total] == counts[parts].sum(axis=1)
            for exact in (True, False):
                keep = holds if exact else ~holds
                if keep.any():
                    found[exact][0].append(total[keep])
                    found[exact][1].append(parts[keep])
    return _packed(*found[True]), _packed(*found[False])


def _packed(totals: list[np.ndarray], groups: list[np.ndarray]) -> Relations:
    if not totals:
        empty = np.array([], dtype=np.int64)
        return Relations(empty, np.array([0], dtype=np.int64), empty)
    sizes = np.concatenate(
        [np.full(len(t), g.shape[1]) for t, g in zip(totals, groups, strict=True)]
    )
    ptr = np.concatenate([[0], np.cumsum(sizes)])
    members = np.concatenate([g.ravel() for g in groups])
    return Relations(np.concatenate(totals), ptr, members)
