"""``audit``: the gate. Attack the staged tables as a reader who holds every file would, from
the inputs on its own; nothing is written unless it passes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from transforms.domain.counting import (
    Cube,
)
from transforms.pipeline.publish.inputs import (
    CUBE_COLUMNS,
    PreviousRelease,
    ReleaseContext,
    build_release_cube,
    check_history,
    load_context,
    outside_knowledge,
    previous_knowledge,
    release_years,
)
from transforms.pipeline.publish.staged import (
    AUDIT_DETAILS,
    AUDIT_RECORD,
    CELL_KEY,
    staged_certificates,
    staged_rows,
)
from transforms.plumbing.settings import Settings
from transforms.plumbing.storage import (
    read_json,
    write_json_atomic,
)
from transforms.plumbing.timing import Stages
from transforms.privacy.audit import (
    AuditFailed,
    AuditResult,
    audit,
    audit_report,
    cell_labels,
)
from transforms.privacy.cells import (
    PUBLIC_STATUSES,
    SUPPRESSED,
    KnownCells,
    below_sensitive_level,
    known_union,
    primary_cells,
    required_widths,
    table_cells,
)
from transforms.privacy.police_figures import OutsideKnowledge


def audit_release_tables(
    settings: Settings, staged: str, stages: Stages | None = None
) -> dict[str, Any]:
    """The gate: attack the staged table with every published relation and the previous release.

    Rebuilds the cube and the protection requirements from the inputs, independently of the
    protection step, and reads only the published statuses it staged (``published`` or
    ``suppressed``, as a reader sees them).
    """
    stages = stages or Stages()
    with stages("check the history"):
        ctx = load_context(settings, years=())
        check_history(settings, ctx.inputs)
    results: list[AuditResult] = []
    cells = hidden = 0
    failing: list[str] = []
    known_cells, previous = 0, None
    police = {"figures": 0, "broken": 0, "known_cells": 0}
    for year in release_years(ctx):
        # a year's incidents and cube are gone before the next year's are loaded
        with stages("load canonical incidents"):
            year_ctx = load_context(settings, years=[year], columns=CUBE_COLUMNS)
        result, table_hidden, labels, known, previous, outside = _audit_year(
            year_ctx, year, Path(staged), stages
        )
        police["figures"] += outside.figures
        police["broken"] += outside.broken
        police["known_cells"] += len(outside.known)
        del year_ctx
        failing += labels
        # without each cell's binding relations: the report counts widths (the relations of
        # a decade's cells are large)
        results.append(
            AuditResult(result.cells.drop(columns="binding"), result.components, result.lp_solves)
        )
        cells, hidden = cells + len(table_hidden), hidden + int(table_hidden.sum())
        known_cells += known
    result = AuditResult(
        pd.concat([r.cells for r in results], ignore_index=True),
        sum(r.components for r in results),
        sum(r.lp_solves for r in results),
    )
    inputs = read_json(Path(staged) / "inputs.json")
    report = {
        "passed": result.passed,
        "policy": {
            "id": ctx.policy.id,
            "version": ctx.policy.version,
            "sha256": ctx.inputs["policy_sha256"],
        },
        "attacker": ATTACKER_MODEL,
        "previous_release_considered": previous,
        "cells": cells,
        "published": cells - hidden,
        "suppressed": hidden,
        "protection_cost": inputs["summary"]["protection_cost"],
        "information_loss": inputs["summary"]["information_loss"],
    }
    # how the proof went (cells by certificate and LP, widths) depends on hidden counts: the
    # operator's, beside the public record, never in a release
    internal = audit_report(result) | {
        "previous_release_known_cells": known_cells,
        # figures the true counts break tell readers nothing exact and are left out
        "police_statistics": police,
    }
    write_json_atomic(Path(staged) / AUDIT_RECORD, report)
    write_json_atomic(Path(staged) / AUDIT_DETAILS, internal)
    if failing:
        raise AuditFailed(
            f"{len(failing)} hidden cell(s) can be narrowed below their protection width from "
            "the published figures",
            failing,
        )
    return {
        "passed": report["passed"],
        "suppressed": hidden,
        "protected_cells_attacked": internal["protected_cells_attacked"],
        "lp_solves": internal["lp_solves"],
    }


# What the audit assumes a reader knows (audit.json, docs/disclosure-policy.md).
ATTACKER_MODEL = [
    "every published cell of this release, its status (published or suppressed) and rate",
    "every additive relation of the table: each hierarchy jointly; a type is at least the sum of "
    "its subtypes",
    "every cell an earlier release published, where it still holds the value shown then",
    "the policy and the algorithm: counts are whole numbers ≥ 0; a published count is never "
    "below its threshold",
    "the point file: built from published cells only, it adds nothing about a hidden cell",
    "the police's own statistics per police unit, month and TSK code, where the codes map onto "
    "the incident types: a sum of the unit's municipalities' cells (bounds where a unit cuts a "
    "municipality or a code counts more); cells they alone determine count as published",
    "the area files, tiles, portal and extracts: the same published cells",
]


def _audit_year(
    ctx: ReleaseContext, year: str, staged: Path, stages: Stages
) -> tuple[AuditResult, np.ndarray, list[str], int, str | None, OutsideKnowledge]:
    """Recount one year, check its staged statuses and attack them: the audit's result, which
    rows of the published table are hidden, the failing cells' labels, how many cells an
    earlier release made known, the previous release and what the police's figures tell."""
    with stages("count cube"):
        cube = build_release_cube(ctx, year)
    previous = previous_knowledge(ctx, cube)
    staged_table = staged_requirements(ctx, cube, staged, previous)
    table, hidden, outside = staged_table.table, staged_table.hidden, staged_table.outside
    exposed = (staged_table.primary_required > 0) & ~hidden
    if exposed.any():
        labels = cell_labels(cube, np.flatnonzero(exposed))
        raise AuditFailed(f"{len(labels)} cell(s) the policy protects are published", labels)
    with stages("audit (certificates + LP attack)"):
        hints = staged_certificates(cube, staged)
        result = audit(
            cube,
            hidden.astype(np.int8),
            staged_table.required,
            staged_table.known,
            hints=hints,
            free=below_sensitive_level(cube, ctx.policy),
            outside=outside.sums,
        )
    labels = cell_labels(cube, result.failing["cell"].to_numpy())
    return result, hidden[table], labels, len(previous.known), previous.version, outside


@dataclass(frozen=True)
class StagedRequirements:
    """A staged (or published) table's statuses read back, with what the audit asks of them."""

    outside: OutsideKnowledge  # the police's figures
    known: KnownCells  # what readers know besides: the previous release, the police's figures
    table: np.ndarray  # per cube cell: a row of the table
    hidden: np.ndarray  # per cube cell: hidden, as the staged statuses say
    primary_required: np.ndarray  # the widths the policy asks of the cells it hides itself
    required: np.ndarray  # the widths every hidden cell must keep (``required_widths``)


def staged_requirements(
    ctx: ReleaseContext, cube: Cube, staged: Path, previous: PreviousRelease
) -> StagedRequirements:
    """What the audit attacks in the table staged in ``staged`` (a release folder too), given
    the release readers held before it (``previous``)."""
    outside = outside_knowledge(ctx, cube)
    table = table_cells(cube, ctx.policy)
    hidden = _staged_hidden(cube, table, staged)
    _, primary_required, _ = primary_cells(cube, ctx.policy)
    return StagedRequirements(
        outside,
        known_union([previous.known, outside.known]),
        table,
        hidden,
        primary_required,
        required_widths(cube, ctx.policy, hidden, primary_required),
    )


def _staged_hidden(cube: Cube, table: np.ndarray, staged: Path) -> np.ndarray:
    """Per cube cell, in the cube's order: hidden, as the staged table says (a cell that is no
    row of the table, a sensitive offence below the level it is published from, is hidden)."""
    counts = staged_rows(
        staged / "counts.parquet", cube.period.codes, [*CELL_KEY, "status"], text_as_categories=True
    )
    numbers = cube.cell_numbers(counts)
    in_cube = numbers >= 0
    if np.bincount(numbers[in_cube], minlength=len(cube.count)).max(initial=0) > 1:
        raise RuntimeError("the staged table has a cell more than once: rebuild it")
    staged_codes = pd.Categorical(counts["status"], categories=PUBLIC_STATUSES).codes
    if ((staged_codes < 0) & counts["status"].notna().to_numpy())[in_cube].any():
        raise RuntimeError(f"the staged table has a status other than {', '.join(PUBLIC_STATUSES)}")
    codes = np.full(len(cube.count), -1, dtype=staged_codes.dtype)
    codes[numbers[in_cube]] = staged_codes[in_cube]
    if (codes[table] < 0).any():
        raise RuntimeError("the staged table does not cover the cube: rebuild it")
    if (codes[~table] >= 0).any():
        labels = cell_labels(cube, np.flatnonzero((codes >= 0) & ~table))
        raise AuditFailed("the table has rows the policy never publishes", labels)
    return np.where(table, codes == PUBLIC_STATUSES.index(SUPPRESSED), True)
