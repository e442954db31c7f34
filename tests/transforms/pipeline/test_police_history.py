"""The history rebuild: a batch of months gives exactly the monthly runs' partitions."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from testdata.formats import police_month_zip
from tests.sample_pipeline import SAMPLE_MONTHS, commit_month, promote_geography
from transforms.domain.periods import Month
from transforms.pipeline.police_history import ingest_history
from transforms.pipeline.police_incidents import committed_months, partition_folder
from transforms.plumbing.settings import get_settings
from transforms.plumbing.storage import read_json
from transforms.plumbing.timing import Stages
from transforms.sources.czech_police import IdIndex
from transforms.validation import ValidationFailed


def sample_with_an_id_repeated_in_february(sample_dir: Path, folder: Path) -> Path:
    """The sample, with February repeating the first January incident's id (the police export
    an incident again when it is re-classified)."""
    shutil.copytree(sample_dir, folder)
    january, february = Month(2025, 1), Month(2025, 2)
    with zipfile.ZipFile(folder / "police" / "202501.zip") as archive:
        first = archive.read("202501.csv").decode().splitlines()[1].split(",")
    with zipfile.ZipFile(folder / "police" / "202502.zip") as archive:
        text = archive.read("202502.csv").decode()
    first[4] = f"{february}-10 12:00:00"  # the date column
    assert str(january) not in ",".join(first)
    data = police_month_zip(february, (text + ",".join(first) + "\n").encode())
    (folder / "police" / "202502.zip").write_bytes(data)
    return folder


def test_a_batch_of_months_gives_the_monthly_runs_partitions(
    tmp_path: Path, sample_dir: Path
) -> None:
    data_in = sample_with_an_id_repeated_in_february(sample_dir, tmp_path / "in")
    monthly = get_settings(data_root=tmp_path / "monthly", data_in=data_in)
    batch = get_settings(data_root=tmp_path / "batch", data_in=data_in)
    for root in (monthly, batch):
        promote_geography(root, "test")
    for month in SAMPLE_MONTHS:
        commit_month(monthly, month, "test")
    stages = Stages()
    result = ingest_history(batch, list(SAMPLE_MONTHS), "test", stages=stages)

    assert committed_months(batch) == committed_months(monthly)
    reports = []
    for month in SAMPLE_MONTHS:
        key = committed_months(batch)[str(month)]
        ours, theirs = partition_folder(batch, month, key), partition_folder(monthly, month, key)
        for table in ("incidents.parquet", "quarantine.parquet"):
            pd.testing.assert_frame_equal(
                pd.read_parquet(ours / table), pd.read_parquet(theirs / table)
            )
        reports.append(read_json(ours / "report.json"))
        assert reports[-1] == read_json(theirs / "report.json")
    # the batch judged February's repeated id against the January it had just committed
    february = {r["reason"]: r["count"] for r in reports[1]["quarantine_reasons"]}
    assert february.get("duplicate_across_months") == 1
    assert result["quarantined_rows"] == sum(r["quarantined_rows"] for r in reports)
    # every stage of every month was timed; the helper process read, checked and screened
    timed = [name for name, _, _ in stages.rows]
    for stage in (
        "helper: parse",
        "helper: validate raw (GX)",
        "helper: screen",
        "spatial join",
        "canonical",
        "helper: validate canonical (GX)",
        "commit",
    ):
        assert timed.count(stage) == len(SAMPLE_MONTHS), stage


def test_a_raw_file_failing_its_suite_in_the_helper_stops_the_batch_at_that_month(
    tmp_path: Path, sample_dir: Path
) -> None:
    data_in = tmp_path / "in"
    shutil.copytree(sample_dir, data_in)
    february = Month(2025, 2)
    header = "id,x,y,mp,date,state,relevance,types\n"
    rows = "".join(f"{9_000_000 + i},east,north,false,soon,1,4,44\n" for i in range(50))
    (data_in / "police" / "202502.zip").write_bytes(
        police_month_zip(february, (header + rows).encode())
    )
    settings = get_settings(data_root=tmp_path / "root", data_in=data_in)
    promote_geography(settings, "test")
    with pytest.raises(ValidationFailed, match="raw_incidents"):
        ingest_history(settings, list(SAMPLE_MONTHS), "batch")
    assert list(committed_months(settings)) == ["2025-01"]  # January stays committed
    docs = settings.runs_dir / "police_incidents" / str(february) / "batch" / "data_docs"
    assert list(docs.rglob("index.html")), "the failing month's Data Docs were not built"


def test_a_month_failing_its_suite_stops_the_batch_with_data_docs_for_that_month(
    tmp_path: Path, sample_dir: Path
) -> None:
    strict = get_settings(data_root=tmp_path, data_in=sample_dir, quarantine_limit=0.0)
    promote_geography(strict, "test")
    with pytest.raises(ValidationFailed, match="incident_ledger"):
        ingest_history(strict, list(SAMPLE_MONTHS), "batch")
    assert committed_months(strict) == {}  # the first month failed: nothing is visible
    docs = strict.runs_dir / "police_incidents" / str(SAMPLE_MONTHS[0]) / "batch" / "data_docs"
    assert list(docs.rglob("index.html")), "the failing month's Data Docs were not built"


def test_a_month_failing_after_later_months_were_staged_commits_only_the_months_before(
    tmp_path: Path, sample_dir: Path
) -> None:
    """The batch stages March while February's suites run: February's failure is the one
    reported, and neither February nor March becomes visible. Once February is mended, the
    re-run gives the monthly runs' partitions."""
    data_in = tmp_path / "in"
    shutil.copytree(sample_dir, data_in)
    february = Month(2025, 2)
    with zipfile.ZipFile(data_in / "police" / "202502.zip") as archive:
        text = archive.read("202502.csv").decode()
    # well-formed rows outside the country: quarantined, so February's share is over the limit
    outside = "".join(
        f"{9_000_000 + i},0.5,0.5,false,2025-02-10 12:00:00,1,4,5\n" for i in range(60)
    )
    (data_in / "police" / "202502.zip").write_bytes(
        police_month_zip(february, (text + outside).encode())
    )
    settings = get_settings(data_root=tmp_path / "root", data_in=data_in)
    promote_geography(settings, "test")
    with pytest.raises(ValidationFailed, match="incident_ledger") as failed:
        ingest_history(settings, list(SAMPLE_MONTHS), "batch")
    assert all(
        f.startswith("expect_column_values_to_be_between") for f in failed.value.report.failures
    )
    assert list(committed_months(settings)) == ["2025-01"]
    docs = settings.runs_dir / "police_incidents" / str(february) / "batch" / "data_docs"
    assert list(docs.rglob("index.html")), "the failing month's Data Docs were not built"

    shutil.copyfile(sample_dir / "police" / "202502.zip", data_in / "police" / "202502.zip")
    ingest_history(settings, list(SAMPLE_MONTHS), "again")
    monthly = get_settings(data_root=tmp_path / "monthly", data_in=data_in)
    promote_geography(monthly, "test")
    for month in SAMPLE_MONTHS:
        commit_month(monthly, month, "test")
    assert committed_months(settings) == committed_months(monthly)
    for month in SAMPLE_MONTHS:
        key = committed_months(settings)[str(month)]
        pd.testing.assert_frame_equal(
            pd.read_parquet(partition_folder(settings, month, key) / "incidents.parquet"),
            pd.read_parquet(partition_folder(monthly, month, key) / "incidents.parquet"),
        )


def test_a_fault_while_staging_a_month_leaves_the_months_before_committed(
    tmp_path: Path, sample_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """March fails to stage (the disk, say) while February's suites may still be running:
    February is still committed, as it would be month by month, and March's error is raised."""
    from transforms.pipeline import police_history as history

    settings = get_settings(data_root=tmp_path, data_in=sample_dir)
    promote_geography(settings, "test")
    stage = history.stage_police_month

    def failing_in_march(settings_: Any, month: Month, *args: Any, **kwargs: Any) -> Any:
        if month == Month(2025, 3):
            raise OSError("no space left on device")
        return stage(settings_, month, *args, **kwargs)

    monkeypatch.setattr(history, "stage_police_month", failing_in_march)
    with pytest.raises(OSError, match="no space left"):
        ingest_history(settings, list(SAMPLE_MONTHS), "batch")
    assert list(committed_months(settings)) == ["2025-01", "2025-02"]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.lists(st.integers(min_value=1, max_value=60), max_size=12), min_size=1, max_size=5),
    st.lists(st.integers(min_value=0, max_value=70), max_size=30),
)
def test_the_id_index_finds_the_first_month_of_each_id(
    months: list[list[int]], queries: list[int]
) -> None:
    index, first = IdIndex(), {}
    for number, ids in enumerate(months):
        month = f"2020-{number + 1:02d}"
        index.add(month, np.array(ids, dtype=np.int64))
        for incident in ids:
            first.setdefault(incident, month)
    found = index.first_month(np.array(queries, dtype=np.int64))
    assert list(found) == [first.get(q) for q in queries]
    assert list(IdIndex.of(first).first_month(np.array(queries, dtype=np.int64))) == list(found)


def test_a_nested_stage_is_not_counted_twice() -> None:
    import time

    stages = Stages()
    with stages("outer"), stages("inner"):
        time.sleep(0.3)
    seconds = dict((name, s) for name, s, _ in stages.rows)
    # the outer stage's own time is what it did around the inner one: nothing, not the 0.3 s
    assert seconds["inner"] >= 0.3
    assert seconds["outer"] < 0.15
