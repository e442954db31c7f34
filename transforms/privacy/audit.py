"""The disclosure audit: an interval attack on every hidden cell, the gate of every release.

The attacker knows every published cell, every additive relation of the cube (each hierarchy,
jointly; ``type ≥ Σ subtypes`` where offences are coded at a type with subtypes), the cells an
earlier release published with the value they hold now, that counts are whole numbers ≥ 0, and
the policy and this algorithm (the published status says only ``suppressed``, so it tells no
more than that a cell is hidden; the point file is built from published cells only, see
``transforms.privacy.kanon``). For each hidden non-zero cell, the audit computes how far that
knowledge narrows it: the interval ``[min x_c, max x_c]`` subject to all of it, rounded inwards
to whole numbers. A cell narrower than its required width (the policy's protection width, or
``hidden_min_width`` for any other hidden cell) fails the audit.

Two proofs, both exact in what they claim:

1. Certificates (``transforms.privacy.certificates``): a direction in which the table can move
   while every published cell stays put. Two feasible tables whose values of the cell differ by
   the protection width prove the exact interval at least that wide, without a solver. Found
   from the counts and the statuses alone, in vectorised passes: this is what scales to the
   national table.
2. For the cells no certificate covers, the LP attack with the HiGHS solver. The relations split
   into independent components (a relation whose members are all published constrains nothing),
   each solved as one model whose objective is changed and re-solved from the previous basis.
   The true table is a feasible point, and so is every solution found on the way; a cell whose
   values across these points already span its protection width is proven safe, since its exact
   interval can only be wider. Only the other cells need their own ``max x_c`` and, if that is
   not enough, ``min x_c``, which are then exact: a cell that fails, fails by the exact LP.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from transforms.domain.counting import Cube
from transforms.plumbing.arrays import sorted_unique
from transforms.plumbing.errors import PermanentFailure
from transforms.privacy.axes import Axis
from transforms.privacy.cells import (
    NOTHING_KNOWN,
    KnownCells,
    attack_targets,
    closure_with_sources,
    derivation,
    hidden_cells,
    known_closure,
    known_union,
    whole_width,
)
from transforms.privacy.certificates import certify
from transforms.privacy.lp_model import ComponentModel
from transforms.privacy.outside import (
    NO_OUTSIDE_SUMS,
    OutsideSums,
    outside_rows,
    outside_widths,
)

TOLERANCE = 1e-6
SCOPED_ABOVE = 50_000  # hidden cells: above this, the LP attacks in scopes first


class AuditFailed(PermanentFailure, RuntimeError):
    """Protected cells are exposed: the release must not go out. Names the cells, never values."""

    def __init__(self, problem: str, labels: list[str]):
        self.labels = labels
        shown = "\n".join(f"  - {label}" for label in labels[:50])
        more = f"\n  … and {len(labels) - 50} more" if len(labels) > 50 else ""
        super().__init__(f"disclosure audit failed: {problem}:\n{shown}{more}")


@dataclass
class AuditResult:
    # cell, lower, upper, width, required, exact, ok, binding (relations), certificate
    cells: pd.DataFrame
    components: int
    lp_solves: int

    @property
    def passed(self) -> bool:
        return bool(self.cells["ok"].all())

    @property
    def failing(self) -> pd.DataFrame:
        return self.cells[~self.cells["ok"]]


def attack_bound(count: np.ndarray) -> float:
    """A hidden cell with no published ancestor has no upper bound an attacker could know; a
    large finite bound keeps the LPs bounded (published ancestors bound cells through the
    relations themselves)."""
    return max(1e6, 10.0 * float(count.max())) if len(count) else 1e6


def audit(
    cube: Cube,
    status: np.ndarray,
    required: np.ndarray,
    known: KnownCells = NOTHING_KNOWN,
    only: np.ndarray | None = None,
    hints: tuple[np.ndarray, np.ndarray] | None = None,
    free: np.ndarray | None = None,
    outside: OutsideSums = NO_OUTSIDE_SUMS,
    revealed: KnownCells = NOTHING_KNOWN,
) -> AuditResult:
    """Attack every hidden cell that needs protection (``required > 0``), or those in ``only``.
    ``status``: each cell's, by internal code or published name (``transforms.privacy.cells``);
    ``required``: each cell's width in offence records (``cells.required_widths``): the
    attacker's interval for the cell, rounded inward to whole records, must be at least that
    wide. The result gives each attacked cell's interval (records) and whether it held.

    ``hints``: the certificates protection chose (``Protection.hints``), checked first; a wrong
    or stale hint proves nothing and the search and the LP still run for what is left.

    Hiding more cells only widens intervals (a constant becomes a variable), so a caller that
    only added hidden cells since the last audit need re-attack just the cells that failed.

    ``free``: hidden cells any figures above them can be shared out among (``cells.
    below_sensitive_level``): the relations through them bind nothing else, and the LP leaves
    them out, exactly (its components are then the small sensitive table above them).

    ``outside``: sums of cells readers hold from another publisher (``transforms.privacy.
    outside``): rows of the LP; a certificate must keep each, and their members are no
    ``free`` cells (an outside sum binds them).

    ``revealed``: hidden cells one more reader holds on top of ``known`` (a contract's
    package). Unlike ``known`` cells, what they give away is no excuse: a protected cell they
    compute exactly (with the known cells) fails with width 0, its ``binding`` the relations
    that compute it.
    """
    count = cube.count
    hidden = hidden_cells(status)
    known = known_closure(cube, known)
    frozen, protected = attack_targets(hidden, required, known)
    if only is not None:
        protected = np.intersect1d(protected, only)
    given_away = _frame([])
    if len(revealed):
        known, source = closure_with_sources(cube, known_union([known, revealed]))
        frozen[known.cells] = True
        given_away = _given_away(cube, protected[frozen[protected]], required, source)
        protected = protected[~frozen[protected]]
    bound = attack_bound(count)
    if len(outside) and free is not None:
        free = free & ~outside.touched(len(count))
    proof = certify(
        cube,
        hidden,
        frozen,
        required,
        protected,
        may_hide=False,
        cap=bound,
        hints=hints,
        outside=outside,
    )
    proven = proof.width[protected] + TOLERANCE >= required[protected]
    certified = protected[proven]
    records = pd.DataFrame(
        {
            "cell": certified,
            "lower": proof.lower[certified],
            "upper": proof.upper[certified],
            "width": proof.width[certified],
            "required": required[certified].astype(int),
            "exact": False,
            "ok": True,
            "binding": _no_relations(len(certified)),
            "certificate": True,
        }
    )
    solved, components, solves = _lp_attack(
        cube, hidden, required, known, protected[~proven], free, outside
    )
    if len(outside) and len(solved) and not solved["ok"].all():
        solved = _public_before(cube, outside, solved)
    cells = pd.concat([f for f in (records, solved, given_away) if len(f)] or [records])
    cells = cells.sort_values("cell", ignore_index=True)
    return AuditResult(_frame(cells), components, solves)


def _given_away(
    cube: Cube, cells: np.ndarray, required: np.ndarray, source: np.ndarray
) -> pd.DataFrame:
    """Protected ``cells`` a reader computes exactly: each fails, bound by its derivation."""
    count = cube.count[cells].astype(float)
    return _frame(
        pd.DataFrame(
            {
                "cell": cells,
                "lower": count,
                "upper": count,
                "width": 0.0,
                "required": required[cells].astype(int),
                "exact": True,
                "ok": False,
                "binding": [list(derivation(cube, source, int(c))) for c in cells],
                "certificate": False,
            }
        )
    )


def _no_relations(rows: int) -> np.ndarray:
    """A ``binding`` column of ``rows`` cells no relation binds: one shared empty tuple, not a
    list per cell (a decade's audit certifies millions of cells)."""
    column = np.empty(rows, dtype=object)
    column.fill(())
    return column


def _lp_attack(
    cube: Cube,
    hidden: np.ndarray,
    required: np.ndarray,
    known: KnownCells,
    protected: np.ndarray,
    free: np.ndarray | None = None,
    outside: OutsideSums = NO_OUTSIDE_SUMS,
) -> tuple[pd.DataFrame, int, int]:
    """The LP interval of each cell of ``protected``: (records, components, solves).

    The equations of every hidden cell are built once. A cell of a component of at most
    ``SCOPED_ABOVE`` variables is attacked exactly in it. On a large table most hidden cells
    form one component of a million variables; a cell of that one is first attacked in a scope
    (the hidden cells of its district's family, then its region's, then its offence group's),
    with every hidden cell outside it handed to the attacker at its true value. That attacker
    knows more than the real one, so a cell safe in its scope is safe; what a scope cannot
    prove is attacked exactly, in the whole table.
    """
    if not len(protected):
        return _frame([]), 0, 0
    whole = _System.of(cube, hidden, known, None, free, outside)
    frames: list[pd.DataFrame] = []
    components = solves = 0
    size = np.bincount(whole.var_comp, minlength=whole.var_comp.max(initial=-1) + 1)
    large = size[whole.var_comp[whole.column[protected]]] > SCOPED_ABOVE
    remaining = protected[large]
    coordinates: dict[int, np.ndarray] = {}  # each cell's node on an axis, once per axis
    for axis, tree, level in _scopes(cube) if len(remaining) else []:
        if axis not in coordinates:
            coordinates[axis] = np.unravel_index(np.arange(len(hidden)), cube.shape)[axis]
        coordinate = coordinates[axis]
        node = np.unravel_index(remaining, cube.shape)[axis]
        root = np.where(
            tree.depth[node] >= level, tree.ancestors[node, tree.depth[node] - level], -1
        )
        still = [remaining[root < 0]]
        for scope_root in np.unique(root[root >= 0]):
            mine = remaining[root == scope_root]
            family = _family(tree, int(scope_root))
            scoped = _System.of(cube, hidden, known, family[coordinate], free, outside)
            found, c, n = _lp_solve(scoped, cube.count, required, mine)
            components, solves = components + c, solves + n
            frames.append(found[found["ok"]])
            still.append(found.loc[~found["ok"], "cell"].to_numpy(dtype=np.int64))
        remaining = np.concatenate(still)
        if not len(remaining):
            break
    exact = np.concatenate([protected[~large], remaining])
    found, c, n = _lp_solve(whole, cube.count, required, np.sort(exact))
    frames.append(found)
    cells = (
        pd.concat([f for f in frames if len(f)], ignore_index=True)
        if any(len(f) for f in frames)
        else _frame([])
    )
    return cells, components + c, solves + n


def _scopes(cube: Cube) -> list[tuple[int, Axis, int]]:
    """(axis, its tree, depth of the scope's root): districts, regions, then offence groups
    (for the country's own cells, which no geographic scope holds)."""
    geo, offence = Axis.of(cube.geo), Axis.of(cube.offence)
    levels = [(0, geo, level) for level in range(int(geo.depth.max()) - 1, 0, -1)]
    return [*levels, (2, offence, 1)] if offence.depth.max() > 1 else levels


def _family(tree: Axis, root: int) -> np.ndarray:
    """Nodes below ``root`` or above it (the ancestors its relations reach)."""
    family = tree.above(np.array(root), np.arange(len(tree.depth)))
    family[tree.ancestors[root][tree.ancestors[root] >= 0]] = True
    return family


@dataclass
class _System:
    """The attacker's equations: the hidden cells (those in ``scope``, or all) as variables,
    every other cell at the value the attacker knows, and the relations touching a variable,
    split into connected components."""

    scope: np.ndarray | None
    variables: np.ndarray  # cube cell of each column
    column: np.ndarray  # per cube cell: its column, -1 where no variable
    matrix: sp.csr_matrix
    lower: np.ndarray  # each row's bounds: lower ≤ row · x ≤ upper
    upper: np.ndarray
    relation_ids: np.ndarray
    var_comp: np.ndarray
    rel_comp: np.ndarray

    @classmethod
    def of(
        cls,
        cube: Cube,
        hidden: np.ndarray,
        known: KnownCells,
        scope: np.ndarray | None,
        free: np.ndarray | None,
        outside: OutsideSums = NO_OUTSIDE_SUMS,
    ) -> _System:
        is_var = hidden.copy() if scope is None else hidden & scope
        is_var[known.cells] = False
        if free is not None:
            is_var &= ~free
        value = cube.count.astype(float)  # what the attacker knows of non-variables
        value[known.cells] = known.counts
        variables = np.flatnonzero(is_var)
        column = np.full(len(hidden), -1, dtype=np.int64)
        column[variables] = np.arange(len(variables))
        rows, cols, coef, rhs, relation_ids, equal = _equations(cube, is_var, value, column, free)
        lower, upper = np.where(equal, rhs, -np.inf), rhs
        if len(outside):
            o_rows, o_cols, o_lower, o_upper, o_ids = outside_rows(outside, is_var, value, column)
            rows, cols = np.concatenate([rows, o_rows + len(rhs)]), np.concatenate([cols, o_cols])
            coef = np.concatenate([coef, np.ones(len(o_rows))])
            lower, upper = np.concatenate([lower, o_lower]), np.concatenate([upper, o_upper])
            relation_ids = np.concatenate([relation_ids, o_ids + outside_offset(cube)])
        n_rel = len(lower)
        incidence = sp.coo_matrix(
            (np.ones(len(rows)), (rows, cols)), shape=(n_rel, len(variables))
        ).tocsr()
        graph = sp.bmat([[None, incidence], [incidence.T, None]]).tocsr()
        _, label = connected_components(graph, directed=False)
        matrix = sp.coo_matrix((coef, (rows, cols)), shape=(n_rel, len(variables))).tocsr()
        return cls(
            scope,
            variables,
            column,
            matrix,
            lower,
            upper,
            relation_ids,
            label[n_rel:],
            label[:n_rel],
        )


def _lp_solve(
    system: _System, counts: np.ndarray, required: np.ndarray, protected: np.ndarray
) -> tuple[pd.DataFrame, int, int]:
    """LP intervals of ``protected`` cells in ``system``; exact only without a scope."""
    records: list[dict[str, object]] = []
    if len(protected) == 0:
        return _frame(records), 0, 0
    count = counts.astype(float)
    upper = attack_bound(count)
    scope, variables, column, matrix = system.scope, system.variables, system.column, system.matrix
    lower, upper_rows, relation_ids = system.lower, system.upper, system.relation_ids
    var_comp, rel_comp = system.var_comp, system.rel_comp
    solves = 0
    protected_cols = column[protected]
    components = sorted_unique(var_comp[protected_cols])
    for comp in components:
        comp_vars = np.flatnonzero(var_comp == comp)
        comp_rels = np.flatnonzero(rel_comp == comp)
        model = ComponentModel(
            matrix[comp_rels][:, comp_vars].tocsc(), lower[comp_rels], upper_rows[comp_rels], upper
        )
        local = {int(v): i for i, v in enumerate(comp_vars)}
        targets = [int(c) for c in protected if var_comp[column[c]] == comp]
        high = count[variables[comp_vars]].copy()  # the true table is feasible
        low = high.copy()
        target_index = np.array([local[int(column[c])] for c in targets])
        target_need = required[targets].astype(float)
        rng = np.random.default_rng(len(targets))
        for attempt in range(8):
            # push the protected cells up together, then down, then in random directions
            # among those still unproven: each solution is one more feasible point
            unproven = target_index[
                whole_width(low[target_index], high[target_index]) < target_need
            ]
            if len(unproven) == 0:
                break
            direction = np.zeros(len(comp_vars))
            if attempt < 2:
                direction[unproven] = 1.0 if attempt == 0 else -1.0
            else:
                direction[unproven] = rng.choice([-1.0, 1.0], size=len(unproven))
            point = model.maximise(direction)
            solves += 1
            if point is not None:
                np.maximum(high, point, out=high)
                np.minimum(low, point, out=low)
        for cell in targets:
            i = local[int(column[cell])]
            need = float(required[cell])
            exact = False
            binding: set[int] = set()
            for sense in (1.0, -1.0):
                if whole_width(low[i], high[i]) >= need:
                    break
                unit = np.zeros(len(comp_vars))
                unit[i] = sense
                point = model.maximise(unit)
                solves += 1
                if point is None:  # cannot happen: 0 ≤ x ≤ upper and the truth is feasible
                    continue
                np.maximum(high, point, out=high)
                np.minimum(low, point, out=low)
                exact = sense < 0 and scope is None
                binding |= {int(relation_ids[comp_rels[r]]) for r in model.binding_rows()}
            width = float(whole_width(low[i], high[i]))
            ok = width >= need
            records.append(
                {
                    "cell": int(cell),
                    "lower": float(low[i]),
                    "upper": float(high[i]),
                    "width": width,
                    "required": int(required[cell]),
                    "exact": exact,
                    "ok": ok,
                    "binding": sorted(binding) if not ok else [],
                    "certificate": False,
                }
            )
    return _frame(records), len(components), solves


def _frame(records: list[dict[str, object]] | pd.DataFrame) -> pd.DataFrame:
    columns = [
        "cell",
        "lower",
        "upper",
        "width",
        "required",
        "exact",
        "ok",
        "binding",
        "certificate",
    ]
    return pd.DataFrame(records, columns=columns).astype(
        {"cell": "int64", "width": "float64", "ok": "bool", "exact": "bool", "certificate": "bool"}
    )


def _equations(
    cube: Cube,
    is_var: np.ndarray,
    value: np.ndarray,
    column: np.ndarray,
    free: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Each relation touching a variable as ``Σ variable parts − variable total (=|≤) constant``:
    (rows, columns, coefficients, constants, relation ids, equality per row). Relation ids
    number the exact relations first, then ``Cube.at_least``'s."""
    parts = [
        _relation_rows(cube.totals, cube.ptr, cube.members, is_var, value, column, free),
        _relation_rows(
            cube.at_least.totals,
            cube.at_least.ptr,
            cube.at_least.members,
            is_var,
            value,
            column,
            free,
        ),
    ]
    (r1, c1, k1, b1, t1), (r2, c2, k2, b2, t2) = parts
    return (
        np.concatenate([r1, r2 + len(b1)]),
        np.concatenate([c1, c2]),
        np.concatenate([k1, k2]),
        np.concatenate([b1, b2]),
        np.concatenate([t1, t2 + len(cube.totals)]),
        np.concatenate([np.ones(len(b1), dtype=bool), np.zeros(len(b2), dtype=bool)]),
    )


def _relation_rows(
    totals: np.ndarray,
    ptr: np.ndarray,
    members: np.ndarray,
    is_var: np.ndarray,
    value: np.ndarray,
    column: np.ndarray,
    free: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The rows of one set of relations (``_equations``), without their sense; none through a
    ``free`` cell."""
    empty = np.array([], dtype=np.int64)
    if len(totals) == 0:
        return empty, empty, np.array([]), np.array([]), empty
    starts = ptr[:-1]
    var_parts = is_var[members]
    n_var_parts = np.add.reduceat(var_parts.astype(np.int64), starts)
    total_var = is_var[totals]
    binding = np.ones(len(totals), dtype=bool)
    if free is not None:
        binding = ~(np.add.reduceat(free[members].astype(np.int64), starts) > 0) & ~free[totals]
    touched = np.flatnonzero(((n_var_parts > 0) | total_var) & binding)
    known_parts = np.add.reduceat(np.where(var_parts, 0.0, value[members]), starts)
    rhs = np.where(total_var, 0.0, value[totals]) - known_parts
    relation_of_member = np.repeat(np.arange(len(totals)), np.diff(ptr))
    new_index = np.full(len(totals), -1, dtype=np.int64)
    new_index[touched] = np.arange(len(touched))
    keep = var_parts & (new_index[relation_of_member] >= 0)
    rows = np.concatenate(
        [new_index[relation_of_member[keep]], new_index[touched[total_var[touched]]]]
    )
    cols = np.concatenate([column[members[keep]], column[totals[touched[total_var[touched]]]]])
    coef = np.concatenate([np.ones(int(keep.sum())), -np.ones(int(total_var[touched].sum()))])
    return rows, cols, coef, rhs[touched], touched


def _public_before(cube: Cube, outside: OutsideSums, solved: pd.DataFrame) -> pd.DataFrame:
    """A failing cell the outside sums alone already narrow as far passes: the release adds
    nothing to what was public (``outside.outside_widths``); ``required`` becomes that width."""
    failing = np.flatnonzero(~solved["ok"].to_numpy())
    before = outside_widths(cube, outside, solved["cell"].to_numpy()[failing])
    width = solved["width"].to_numpy()[failing]
    relieved = failing[width + TOLERANCE >= before]
    solved = solved.copy()
    solved.loc[solved.index[relieved], "ok"] = True
    solved.loc[solved.index[relieved], "required"] = before[width + TOLERANCE >= before].astype(int)
    solved.loc[solved.index[relieved], "binding"] = pd.Series(
        [[] for _ in relieved], index=solved.index[relieved], dtype=object
    )
    return solved


def outside_offset(cube: Cube) -> int:
    """Relation ids past the cube's own (exact, then at-least) number the outside sums' rows."""
    return len(cube.totals) + len(cube.at_least.totals)


def cell_labels(cube: Cube, cells: np.ndarray) -> list[str]:
    """Readable names of cells (never their values), for the failure report."""
    frame = cube.keys(cells)
    return [
        f"{g} {p} offence {o}"
        for g, p, o in zip(frame["geo_code"], frame["period"], frame["offence_code"], strict=True)
    ]


def audit_report(result: AuditResult) -> dict[str, object]:
    """How the proof went, for the operator: cells attacked, how each was proven, interval
    widths relative to the required ones (never a true value or a bound). Not for a release:
    which cells needed proving, and how wide they came out, depend on hidden counts."""
    cells = result.cells
    ratio = (cells["width"] / cells["required"]).clip(upper=1e9) if len(cells) else cells["width"]
    return {
        "passed": result.passed,
        "protected_cells_attacked": len(cells),
        "failing_cells": int((~cells["ok"]).sum()),
        "proven_by_certificate": int(cells["certificate"].sum()) if len(cells) else 0,
        "exact_intervals_solved": int(cells["exact"].sum()) if len(cells) else 0,
        "lp_solves": result.lp_solves,
        "components": result.components,
        "narrowest_width_over_required": round(float(ratio.min()), 6) if len(cells) else None,
        "width_over_required_quantiles": (
            {str(q): round(float(ratio.quantile(q)), 6) for q in (0.0, 0.1, 0.5, 0.9)}
            if len(cells)
            else {}
        ),
    }
