"""A curious reader's attack on a release, written apart from the audit's code.

The reader holds the published count table (values and the one status), the point file, the
public hierarchies (units, months and years, the offence list and which offences the policy
calls sensitive), the municipalities' true polygons and, optionally, what earlier releases
showed. Unknowns are every cell of the full cube, rows of the table or not (a municipality's
sensitive offences are no row, but they are records all the same). The reader's knowledge, as
linear constraints:

- each published cell is its value; every unknown is ≥ 0;
- every parent is the sum of its children, in each hierarchy, for every combination of the other
  two coordinates (the reader assumes offences are coded at the leaves: a stronger reader);
- each point class lies in the municipalities its location touches: the group's cells of those
  municipalities in that month hold at least the class's records (a point counts an incident
  and group, a cell counts offences: at least as many);
- earlier releases: each (cell, value) they showed.

A hidden cell's interval is its LP minimum and maximum, rounded inwards to whole numbers.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import geopandas as gpd
import highspy
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from pyproj import Transformer

GRID_CODE = re.compile(r"^CRS3035RES(\d+)mN(\d+)E(\d+)$")


@dataclass
class PublicRelease:
    counts: pd.DataFrame  # geo_code, period, offence_code, count, status
    geo_parent: Mapping[str, str | None]
    offence_parent: Mapping[str, str | None]
    months: list[str]
    points: pd.DataFrame | None = None  # cell_code, level, month, offence_group, records
    municipalities: gpd.GeoDataFrame | None = None  # code, geometry (WGS84)
    earlier: list[tuple[tuple[str, str, str], int]] = field(default_factory=list)
    # an earlier release's cell that is a sum of this cube's cells (a year before its last
    # month): ((geo, [months], offence), value)
    earlier_sums: list[tuple[tuple[str, tuple[str, ...], str], int]] = field(default_factory=list)
    # sums of cells another publisher gives (the police's unit figures): (cells, lower, upper)
    outside: list[tuple[list[tuple[str, str, str]], float, float]] = field(default_factory=list)


def _children(parent: Mapping[str, str | None]) -> dict[str, list[str]]:
    kids: dict[str, list[str]] = {}
    for code, up in parent.items():
        if up is not None:
            kids.setdefault(up, []).append(code)
    return kids


class ReaderAttack:
    """One LP over every unknown cell, re-solved with a new objective per question."""

    def __init__(self, release: PublicRelease, bound: float = 1e6):
        years = sorted({m[:4] for m in release.months})
        periods = years + sorted(release.months)
        period_parent = {p: (None if len(p) == 4 else p[:4]) for p in periods}
        self.axes = [list(release.geo_parent), periods, list(release.offence_parent)]
        parents = [release.geo_parent, period_parent, release.offence_parent]
        self.index = {
            key: i for i, key in enumerate(itertools.product(*self.axes))
        }  # (geo, period, offence) -> column
        n = len(self.index)
        lower, upper = np.zeros(n), np.full(n, bound)
        shown = release.counts[release.counts["status"] == "published"]
        for g, p, o, value in zip(
            shown["geo_code"], shown["period"], shown["offence_code"], shown["count"], strict=True
        ):
            column = self.index[(str(g), str(p), str(o))]
            lower[column] = upper[column] = float(value)
        for key, value in release.earlier:
            lower[self.index[key]] = upper[self.index[key]] = float(value)
        rows: list[tuple[list[int], list[float], float, float]] = []
        for axis, parent in enumerate(parents):
            others = [self.axes[a] for a in range(3) if a != axis]
            for total, kids in _children(parent).items():
                for fixed in itertools.product(*others):

                    def cell(code: str, fixed: tuple[str, ...] = fixed, axis: int = axis) -> int:
                        key = list(fixed)
                        key.insert(axis, code)
                        return self.index[(key[0], key[1], key[2])]

                    columns = [cell(k) for k in kids] + [cell(total)]
                    rows.append((columns, [1.0] * len(kids) + [-1.0], 0.0, 0.0))
        for (g, months, o), value in release.earlier_sums:
            columns = [self.index[(g, m, o)] for m in months]
            rows.append((columns, [1.0] * len(columns), float(value), float(value)))
        rows += self._point_rows(release)
        for keys, low, high in release.outside:
            columns = [self.index[key] for key in keys]
            rows.append((columns, [1.0] * len(columns), low, high))
        self.highs = highspy.Highs()
        self.highs.setOptionValue("output_flag", False)
        # one model, many objectives: without presolve each solve starts from the last basis
        self.highs.setOptionValue("presolve", "off")
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = n, len(rows)
        lp.col_cost_ = np.zeros(n)
        lp.col_lower_, lp.col_upper_ = lower, upper
        lp.row_lower_ = np.array([r[2] for r in rows])
        lp.row_upper_ = np.array([r[3] for r in rows])
        entries = [(i, c, v) for i, r in enumerate(rows) for c, v in zip(r[0], r[1], strict=True)]
        matrix = sp.csc_matrix(
            ([e[2] for e in entries], ([e[0] for e in entries], [e[1] for e in entries])),
            shape=(len(rows), n),
        )
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = matrix.indptr
        lp.a_matrix_.index_ = matrix.indices
        lp.a_matrix_.value_ = matrix.data
        self.highs.passModel(lp)
        self.n = n

    def _point_rows(
        self, release: PublicRelease
    ) -> list[tuple[list[int], list[float], float, float]]:
        """Σ of the touched municipalities' group cells ≥ a class's records, per class."""
        if release.points is None or not len(release.points):
            return []
        assert release.municipalities is not None
        shapes = release.municipalities.set_index("code").geometry
        to_wgs84 = Transformer.from_crs("EPSG:3035", "EPSG:4326", always_xy=True)
        rows = []
        for (cell_code, month, group), records in (
            release.points.groupby(["cell_code", "month", "offence_group"])["records"].sum().items()
        ):
            grid = GRID_CODE.match(str(cell_code))
            if grid is None:
                touched = [str(cell_code)]
            else:
                size, north, east = (int(v) for v in grid.groups())
                square = shapely.box(east, north, east + size, north + size).segmentize(size / 8)
                x, y = to_wgs84.transform(*np.asarray(square.exterior.coords).T)
                polygon = shapely.Polygon(np.column_stack([x, y]))
                touched = [
                    str(code)
                    for code, shape in shapes.items()
                    if shape.intersection(polygon).area > 0
                ]
            columns = [self.index[(m, str(month), str(group))] for m in touched]
            rows.append((columns, [1.0] * len(columns), float(records), np.inf))
        return rows

    def solution(self, cost: np.ndarray) -> np.ndarray:
        """A feasible table that maximises ``cost · x``."""
        self.highs.changeColsCost(self.n, np.arange(self.n, dtype=np.int32), cost)
        self.highs.changeObjectiveSense(highspy.ObjSense.kMaximize)
        self.highs.run()
        assert self.highs.getModelStatus() == highspy.HighsModelStatus.kOptimal
        return np.asarray(self.highs.getSolution().col_value)

    def interval(self, key: tuple[str, str, str]) -> tuple[int, int]:
        """The cell's whole-number interval: [ceil(LP min), floor(LP max)]."""
        column = self.index[key]
        found = []
        for sense in (highspy.ObjSense.kMinimize, highspy.ObjSense.kMaximize):
            cost = np.zeros(self.n)
            cost[column] = 1.0
            self.highs.changeColsCost(self.n, np.arange(self.n, dtype=np.int32), cost)
            self.highs.changeObjectiveSense(sense)
            self.highs.run()
            status = self.highs.getModelStatus()
            assert status == highspy.HighsModelStatus.kOptimal, status  # the truth is feasible
            found.append(self.highs.getInfo().objective_function_value)
        return int(np.ceil(found[0] - 1e-6)), int(np.floor(found[1] + 1e-6))


def narrowed_cells(
    attack: ReaderAttack,
    truth: Mapping[tuple[str, str, str], int],
    required: Mapping[tuple[str, str, str], int],
    before: ReaderAttack | None = None,
) -> list[tuple[tuple[str, str, str], int, tuple[int, int]]]:
    """The hidden cells whose interval is narrower than required: (cell, required, interval).
    ``before``: what readers knew without the release (another publisher's figures); a cell
    already that narrow then is no release's doing."""
    asked = [(key, need) for key, need in required.items() if need > 0]
    if not asked:
        return []
    columns = np.array([attack.index[key] for key, _ in asked])
    # feasible tables that push every asked cell up, down and in random directions: a cell
    # already that wide across them is proven (its exact interval is at least as wide)
    low = np.array([truth[key] for key, _ in asked], dtype=float)
    high = low.copy()
    rng = np.random.default_rng(0)
    for push in [np.ones(len(asked)), -np.ones(len(asked))] + [
        rng.choice([-1.0, 1.0], len(asked)) for _ in range(12)
    ]:
        cost = np.zeros(attack.n)
        cost[columns] = push
        seen = attack.solution(cost)[columns]
        low, high = np.minimum(low, seen), np.maximum(high, seen)
    found = []
    for (key, need), a, b in zip(asked, low, high, strict=True):
        if np.floor(b + 1e-6) - np.ceil(a - 1e-6) >= need:
            continue
        lower, upper = attack.interval(key)
        assert lower <= truth[key] <= upper, (key, lower, upper, truth[key])
        if upper - lower < need and before is not None:
            was_lower, was_upper = before.interval(key)
            need = min(need, was_upper - was_lower)
        if upper - lower < need:
            found.append((key, need, (lower, upper)))
    return found


def policy_requirements(
    truth: Mapping[tuple[str, str, str], int],
    hidden: Iterable[tuple[str, str, str]],
    geo_level: Mapping[str, str],
    sensitive: set[str],
    below_sensitive_level: set[str],
    alone_below: set[str] = frozenset(),  # type: ignore[assignment]
) -> dict[tuple[str, str, str], int]:
    """What the policy asks of each hidden cell, worked out from its rules as written in
    docs/disclosure-policy.md: 3 for a count of 1-2, 10 for a sensitive count of 1-9 or any
    sensitive count below the district (but for a unit that is its whole district), and 1 for
    any other hidden non-zero cell."""
    need = {}
    for key in hidden:
        g, _, o = key
        value = truth[key]
        if value == 0:
            continue
        if o in sensitive and g in alone_below:
            need[key] = 0  # the same figure as its district's, which is protected as such
        elif o in sensitive:
            small = value < 10 or geo_level[g] in below_sensitive_level
            need[key] = 10 if small else 1
        else:
            need[key] = 3 if value < 3 else 1
    return need


def truth_from_records(
    records: Iterable[tuple[str, str, str]],
    geo_parent: Mapping[str, str | None],
    offence_parent: Mapping[str, str | None],
    months: list[str],
) -> dict[tuple[str, str, str], int]:
    """Every cell's count from the counted records (municipality, month, offence type), rolled
    up the reader's hierarchies: a recount apart from the pipeline's cube."""

    def chain(code: str, parent: Mapping[str, str | None]) -> list[str]:
        found = [code]
        while (up := parent.get(found[-1])) is not None:
            found.append(up)
        return found

    years = sorted({m[:4] for m in months})
    truth = dict.fromkeys(
        itertools.product(list(geo_parent), years + sorted(months), list(offence_parent)), 0
    )
    for (geo, month, offence), n in pd.Series(list(records)).value_counts().items():
        for g in chain(geo, geo_parent):
            for p in (month, month[:4]):
                for o in chain(offence, offence_parent):
                    truth[(g, p, o)] += int(n)
    return truth
