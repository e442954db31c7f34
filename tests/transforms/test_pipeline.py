"""The pipeline's steps on the sample, without Airflow: what lands, and that nothing is lost."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyarrow.parquet as pq

from transforms import pipeline
from transforms.periods import Month


def test_ledger_every_row_is_accepted_or_quarantined(pipeline_run) -> None:
    for report in pipeline_run["reports"]:
        assert report["input_rows"] == report["accepted_rows"] + report["quarantined_rows"]
        assert report["unaccounted_rows"] == 0
        assert 0 < report["quarantine_share"] < 0.01


def test_published_totals_equal_input_minus_quarantine_and_exclusions(pipeline_run) -> None:
    settings = pipeline_run["settings"]
    release = Path(pipeline_run["release"]["path"])
    counts = pd.read_parquet(release / "counts.parquet")
    country = counts.query("geo_level == 'country' and offence_group == 'ALL'")
    assert country["status"].eq("published").all()
    months = pipeline.committed_months(settings)
    canonical = pd.concat(
        pd.read_parquet(
            settings.canonical_dir / "incidents" / "parts" / m / k / "incidents.parquet"
        )
        for m, k in months.items()
    )
    counted = canonical[canonical["counted"]]
    assert country["count"].sum() == len(counted)
    summary = json.loads((release / "manifest.json").read_text())["summary"]
    assert summary["counted_offences"] == len(counted)
    reports = pipeline_run["reports"]
    assert summary["input_rows"] - summary["quarantined_rows"] == sum(
        r["accepted_rows"] for r in reports
    )
    per_month = country.set_index("period")["count"]
    for month in months:
        part = canonical[(canonical["reported_month"] == month) & canonical["counted"]]
        assert per_month[month] == len(part)


def test_release_files(pipeline_run) -> None:
    release = Path(pipeline_run["release"]["path"])
    names = {p.name for p in release.iterdir()}
    assert {
        "counts.parquet",
        "counts.csv",
        "municipalities.geojson",
        "municipalities.parquet",
        "disclosure-policy.yaml",
        "manifest.json",
        "SHA256SUMS",
        "validation",
    } <= names
    manifest = json.loads((release / "manifest.json").read_text())
    assert manifest["version"] == "2025-03.1"
    assert manifest["data_months"] == ["2025-01", "2025-02", "2025-03"]
    assert len(manifest["policy"]["sha256"]) == 64
    assert manifest["row_counts"]["municipalities"] == 24
    csv = pd.read_csv(release / "counts.csv", dtype={"geo_code": "str"})
    assert len(csv) == manifest["row_counts"]["counts"]
    assert b"\xef\xbb\xbf" not in (release / "counts.csv").read_bytes()[:3]
    areas = gpd.read_file(release / "municipalities.geojson")
    assert areas.crs.to_epsg() == 4326 and len(areas) == 24
    assert b"geo" in pq.read_metadata(release / "municipalities.parquet").metadata


def test_rerun_is_idempotent(pipeline_run) -> None:
    settings = pipeline_run["settings"]
    month = Month(2025, 2)
    before = pipeline.committed_months(settings)
    snapshot = pipeline.fetch_police_month(settings, month)
    staged = pipeline.stage_police_month(settings, month, snapshot, "again")
    assert staged["key"] == before[str(month)]
    tables = pipeline.stage_release_tables(settings)
    assert tables["fingerprint"] == pipeline_run["tables"]["fingerprint"]
    result = pipeline.write_release(settings, tables["staged"], "test")
    assert result == {**pipeline_run["release"], "created": False}
