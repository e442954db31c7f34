"""Steps of the ``police_statistics`` DAG: a month's report workbooks → a validated partition.

A month's input is the workbooks of every district directorate (``a{KK}{OO}__.xls`` or
``.xlsx``, one each), the TSK code list (``tsk_codes.csv``) and which incident offence codes each
TSK code counts (``type_tsk.csv``: what the incident release's audit takes readers to know), from
``OPENCRIME_DATA_IN/police_statistics/<YYYYMM>/`` (the two lists one folder up) or downloaded
from ``OPENCRIME_POLICE_STATISTICS_URL``. Each file is kept as a snapshot named by its hash. The
partition holds the reports as read (cumulative from January, ``cumulative.parquet``), the type
mapping (``type_tsk.parquet``), the drops against the previous month's committed report
(``revisions.parquet``) and a report of what is missing: a directorate without a workbook, a
unit without a sheet or a sheet without a unit (``report.json``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from transforms.domain.periods import Month
from transforms.domain.police_statistics import cumulative_drops, report_view
from transforms.pipeline.common import (
    InputMissing,
    code_version,
    commit_month_partition,
    committed_partitions,
    docs_dir,
    snapshot_path,
)
from transforms.pipeline.police_districts import load_current_police_units
from transforms.plumbing.settings import Settings
from transforms.plumbing.snapshot import record_snapshot, store_snapshot
from transforms.plumbing.storage import fingerprint, write_json_atomic, write_parquet
from transforms.sources.http import download_first
from transforms.sources.police_reports import (
    DISTRICT_WORKBOOK,
    is_xlsx,
    read_report_workbook,
    read_tsk_codes,
    read_type_mapping,
    workbook_district,
)
from transforms.validation import gate, validate

SOURCE = "police_statistics"
CODE_LIST = "tsk_codes.csv"
TYPE_MAPPING = "type_tsk.csv"  # incident offence codes per TSK code (read_type_mapping)
LISTS = (CODE_LIST, TYPE_MAPPING)


def fetch_statistics_month(settings: Settings, month: Month) -> dict[str, Any]:
    """The month's workbooks and the two lists as snapshots: from the input folder, or each
    district directorate's workbook from the URL pattern (``{yyyy}``, ``{mm}``, ``{district}``)."""
    files: dict[str, bytes] = {}
    if settings.data_in is not None:
        root = settings.data_in / SOURCE
        folder = root / month.compact
        if not folder.is_dir():
            raise InputMissing(f"no police statistics for {month}: {folder} does not exist")
        workbooks = [p for p in sorted(folder.iterdir()) if DISTRICT_WORKBOOK.match(p.name)]
        for district, names in _by_district(p.name for p in workbooks).items():
            if len(names) > 1:
                raise InputMissing(
                    f"{folder}: {' and '.join(names)} are both district {district}'s report; "
                    "keep one (a district counted twice would double its figures)"
                )
        files = {path.name: path.read_bytes() for path in workbooks}
        for name in LISTS:
            if not (root / name).exists():
                raise InputMissing(f"no {name}: {root / name} does not exist")
        lists = {name: (root / name).read_bytes() for name in LISTS}
    elif settings.police_statistics_url:
        units = load_current_police_units(settings)
        for district in sorted(units.loc[units["level"] == "district", "code"]):
            url = settings.police_statistics_url.format(
                yyyy=f"{month.year:04d}", mm=f"{month.month:02d}", district=district
            )
            data = download_first([url], settings.http_timeout_s).content
            files[f"a{district}__.{'xlsx' if is_xlsx(data) else 'xls'}"] = data
        lists = {
            name: download_first(
                [re.sub(r"[^/]*$", name, settings.police_statistics_url)], settings.http_timeout_s
            ).content
            for name in LISTS
        }
    else:
        raise InputMissing(
            "no police statistics source: set OPENCRIME_DATA_IN or OPENCRIME_POLICE_STATISTICS_URL"
        )
    if not files:
        raise InputMissing(f"no report workbooks (a{{KK}}{{OO}}__.xls) for {month}")
    snapshots = {
        name: store_snapshot(settings.snapshots_dir, SOURCE, data, name)
        for name, data in [*files.items(), *lists.items()]
    }
    record_snapshot(settings.snapshots_dir, SOURCE, str(month), list(snapshots.values()))
    return {name: s.to_json() for name, s in snapshots.items()}


def partition_folder(settings: Settings, month: Month, key: str) -> Path:
    return settings.canonical_dir / SOURCE / "parts" / str(month) / key


def _by_district(names: Iterable[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for name in names:
        found.setdefault(workbook_district(name), []).append(name)
    return found


def committed_months(settings: Settings) -> dict[str, str]:
    return committed_partitions(settings.canonical_dir / SOURCE / "months")


def read_committed(settings: Settings, month: Month) -> pd.DataFrame | None:
    """A committed month's reports (cumulative), or None when the month has none."""
    key = committed_months(settings).get(str(month))
    if key is None:
        return None
    return pd.read_parquet(partition_folder(settings, month, key) / "cumulative.parquet")


def stage_statistics_month(
    settings: Settings, month: Month, snapshots: dict[str, Any], run_id: str
) -> dict[str, Any]:
    """Read every workbook, check it (``raw_police_reports``) and stage the month's partition."""
    key = fingerprint(
        {"inputs": {n: s["sha256"] for n, s in snapshots.items()}, "code": code_version()}
    )[:16]
    folder = partition_folder(settings, month, key)
    codes = read_tsk_codes(snapshot_path(settings, snapshots[CODE_LIST]).read_bytes())
    mapping = read_type_mapping(
        snapshot_path(settings, snapshots[TYPE_MAPPING]).read_bytes(), set(codes["code"])
    )
    parts = [
        read_report_workbook(snapshot_path(settings, s).read_bytes(), workbook_district(name))
        for name, s in sorted(snapshots.items())
        if name not in LISTS
    ]
    reports = pd.concat(parts, ignore_index=True)
    view = report_view(reports, set(codes["code"]), month)
    check = validate(
        view, "raw_police_reports", settings.expectations_dir, docs_dir(settings, SOURCE, run_id)
    )
    if not check.success:
        check.explanation = raw_explanation(view, month)
    folder.mkdir(parents=True, exist_ok=True)
    reports.insert(0, "month", str(month))
    reports.insert(1, "district_code", reports["unit_code"].str[:4])
    write_parquet(reports, folder / "cumulative.parquet")
    write_parquet(mapping, folder / "type_tsk.parquet")
    previous = read_committed(settings, month.plus(-1)) if month.month > 1 else None
    drops = cumulative_drops(reports, previous) if previous is not None else None
    if drops is not None:
        write_parquet(drops, folder / "revisions.parquet")
    report = {
        "month": str(month),
        "partition": key,
        "inputs": snapshots,
        "units": int(reports["unit_code"].nunique()),
        "rows": len(reports),
        "revisions": 0 if drops is None else len(drops),
        "previous_month_committed": previous is not None or month.month == 1,
        **coverage(settings, reports),
    }
    write_json_atomic(folder / "report.json", report)
    gate([check], folder)
    return report


def raw_explanation(view: pd.DataFrame, month: Month) -> list[str]:
    """The first lines of a failed check: which rows, in words."""
    lines = []
    unknown = view.loc[~view["tsk_code_known"], ["unit_code", "tsk_code", "tsk_name"]]
    if len(unknown):
        first = unknown.iloc[0]
        lines.append(
            f"{month}: TSK code(s) {', '.join(sorted(set(unknown['tsk_code'])))} are not in "
            f"{CODE_LIST} (e.g. unit {first['unit_code']}: {first['tsk_code']} "
            f"'{first['tsk_name']}'). Fix: check what the code is and add it to {CODE_LIST}."
        )
    bad = view.loc[~view["subtotal_matches"] & view["is_subtotal"], ["unit_code", "tsk_code"]]
    if len(bad):
        lines.append(
            f"{month}: {len(bad)} subtotal row(s) are not the sum of their rows (e.g. unit "
            f"{bad.iloc[0]['unit_code']}, {bad.iloc[0]['tsk_code']}): the workbook is damaged "
            "or was edited; put the police's own file in its place."
        )
    wrong = view.loc[~view["period_matches"]]
    if len(wrong):
        periods = sorted(set(wrong["period_start"] + " – " + wrong["period_end"]))
        districts = sorted(set(wrong["unit_code"].str[:4]))
        lines.append(
            f"{month}: the workbook(s) of district(s) {', '.join(districts)} cover "
            f"{', '.join(periods)}, not 1 January to the month's end: another month's file? "
            "Fix: put the month's own workbooks in their place."
        )
    return lines


def coverage(settings: Settings, reports: pd.DataFrame) -> dict[str, list[str]]:
    """What the month's reports miss or hold beyond the current police units: such a district
    or unit has no figures this month (the release says so), and a unit without a polygon is
    published without a shape."""
    try:
        units = load_current_police_units(settings)
    except InputMissing:
        return {"missing_districts": [], "missing_units": [], "units_without_polygon": []}
    known = set(units.loc[units["level"] == "unit", "code"])
    districts = set(units.loc[units["level"] == "district", "code"])
    reported = set(reports["unit_code"])
    return {
        "missing_districts": sorted(districts - set(reports["unit_code"].str[:4])),
        "missing_units": sorted(
            u for u in known - reported if u[:4] in set(reports["unit_code"].str[:4])
        ),
        "units_without_polygon": sorted(reported - known),
    }


def commit_statistics_month(settings: Settings, month: Month, key: str) -> dict[str, Any]:
    """Make a validated month partition the one readers see (an atomic pointer swap)."""
    months = settings.canonical_dir / SOURCE / "months"
    return commit_month_partition(months, partition_folder(settings, month, key), str(month), key)
