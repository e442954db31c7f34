"""The staging folder of a release being built: the tables ``build_tables`` writes (a file per
year), the gates' records beside them, and how later steps read them back."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from transforms.domain.counting import (
    Cube,
)
from transforms.plumbing.settings import Settings
from transforms.plumbing.storage import (
    read_json_or_none,
    read_text_as_dictionaries,
    text_columns,
)
from transforms.privacy.kanon import (
    POINT_COLUMNS,
    POINT_TEXT_COLUMNS,
)

CELL_KEY = ["geo_code", "period", "offence_code"]


CERTIFICATES = "certificates.parquet"


PREVIOUS_CERTIFICATES = "previous-certificates.parquet"  # while the same inputs are restaged


AUDIT_RECORD = "audit.json"  # the audit gate's record, beside the tables it attacked


AUDIT_DETAILS = "audit_details.json"  # how the proof went: the operator's, never published


# the point classes validate_tables checked, staged beside its record: the tiles draw them
POINT_CLASSES = "point_classes.parquet"


def staged_rows(
    path: Path,
    periods: Iterable[str],
    columns: list[str] | None = None,
    *,
    text_as_categories: bool = False,
) -> pd.DataFrame:
    """The rows of a staged or released table that belong to ``periods`` (a cube's).

    ``text_as_categories``: text columns come back as categories, read from the file's own
    dictionaries: a year of counts repeats a few thousand codes and names over millions of
    rows, not worth spelling out as Python strings to categorise them again. For readers that
    look values up, not for the published bytes.
    """
    periods = list(periods)
    year_file = _year_file(path, periods)
    text = _text_columns(year_file, columns) if text_as_categories else None
    if year_file == path or (columns is not None and "period" not in columns):
        return pd.read_parquet(
            path, columns=columns, filters=[("period", "in", periods)], read_dictionary=text
        )
    # a year's own file holds that year's periods: read whole (a filter copies every column);
    # rows of other periods would still be dropped
    rows = pd.read_parquet(year_file, columns=columns, read_dictionary=text)
    outside = ~rows["period"].isin(periods)
    return rows[~outside].reset_index(drop=True) if outside.any() else rows


def _year_file(path: Path, periods: list[str]) -> Path:
    """A staged table's file of the year ``periods`` are in, if it has one; else ``path``."""
    years = {p[:4] for p in periods}
    if len(years) == 1 and (path / f"{min(years)}.parquet").is_file():
        return path / f"{min(years)}.parquet"  # staged a file per year: only it is opened
    return path


def _text_columns(path: Path, columns: list[str] | None) -> list[str]:
    text = text_columns(pq.ParquetDataset(path).schema)
    return [c for c in text if columns is None or c in columns]


def counts_by_year(
    folder: Path,
    months: Iterable[str],
    columns: list[str] | None = None,
    *,
    text_as_categories: bool = False,
) -> Iterator[tuple[str, pd.DataFrame]]:
    """A staged or released counts table a year at a time (the year's total and its months):
    a decade's table has about 93 million rows, a year's is what a worker holds in memory."""
    for year, periods in _year_periods(months):
        path = folder / "counts.parquet"
        yield year, staged_rows(path, periods, columns, text_as_categories=text_as_categories)


def count_tables_by_year(folder: Path, months: Iterable[str]) -> Iterator[tuple[str, pa.Table]]:
    """``counts_by_year`` as Arrow tables, text dictionary-encoded as the file stores it: what
    the release writers copy to Parquet and CSV without a Python string per value."""
    for year, periods in _year_periods(months):
        path = _year_file(folder / "counts.parquet", periods)
        if path == folder / "counts.parquet":
            yield year, read_text_as_dictionaries(path, filters=[("period", "in", periods)])
            continue
        table = read_text_as_dictionaries(path)  # a year's own file: as in staged_rows
        inside = pc.is_in(
            table["period"], value_set=pa.array(periods, table["period"].type.value_type)
        )
        yield year, table if pc.all(inside).as_py() else table.filter(inside)


def _year_periods(months: Iterable[str]) -> Iterator[tuple[str, list[str]]]:
    """Each year of ``months`` with its periods: the year's total and its months."""
    months = sorted(months)
    for year in sorted({m[:4] for m in months}):
        yield year, [year, *(m for m in months if m.startswith(year))]


def with_cell_numbers(cube: Cube, rows: pd.DataFrame) -> pd.DataFrame:
    """``rows`` keyed by ``CELL_KEY``, with the cube's number of each cell as ``index``, in the
    cube's order (rows for cells the cube lacks are dropped)."""
    numbers = cube.cell_numbers(rows)
    kept = np.flatnonzero(numbers >= 0)
    kept = kept[np.argsort(numbers[kept], kind="stable")]
    return rows.iloc[kept].reset_index(drop=True).assign(index=numbers[kept])


STAGED_TABLES = ["counts.parquet", CERTIFICATES, "incidents.parquet"]


def staged_certificates(cube: Cube, staged: Path) -> tuple[np.ndarray, np.ndarray] | None:
    """The certificates a protection step staged for the cube's year, as cube cells: hints
    the audit (and the next release's protection) checks. None where none are staged."""
    year = [p for p in cube.period.codes if cube.period.parent[p] is None]
    for name in (CERTIFICATES, PREVIOUS_CERTIFICATES):
        path = staged / name
        if path.is_file() or any((path / f"{y}.parquet").is_file() for y in year):
            break
    else:
        return None
    certificates = staged_rows(path, cube.period.codes, text_as_categories=True)
    index = with_cell_numbers(cube, certificates)
    return index["index"].to_numpy(dtype=np.int64), index["candidate"].to_numpy(dtype=np.int64)


def operator_report(settings: Settings, manifest: dict[str, Any]) -> dict[str, Any] | None:
    """The figures of a release that stay with its operator (the ledger, what protection costs
    by why cells are hidden, the points never placed, how the audit's proof went), from the run
    that staged it; None when that run's folder is gone."""
    staged = settings.runs_dir / "publish" / str(manifest.get("inputs_fingerprint", ""))[:16]
    inputs = read_json_or_none(staged / "inputs.json")
    if not inputs or "operator_report" not in inputs:
        return None
    report: dict[str, Any] = inputs["operator_report"]
    return report | {"audit": read_json_or_none(staged / AUDIT_DETAILS)}


def read_staged_points(path: Path) -> pa.Table:
    """The staged point file, its text columns dictionary-encoded (a decade's ten million
    points repeat a few hundred thousand cell codes)."""
    return pq.read_table(path, columns=POINT_COLUMNS, read_dictionary=POINT_TEXT_COLUMNS)
