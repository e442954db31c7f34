"""Journalists' extracts through the real ``opencrime`` command, on the sample release."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest

OPENCRIME = str(Path(sys.executable).parent / "opencrime")


def opencrime(settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"OPENCRIME_DATA_ROOT": str(settings.data_root), "NO_COLOR": "1"}
    return subprocess.run(
        [OPENCRIME, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.fixture(scope="module")
def release(pipeline_run) -> tuple[object, Path]:
    return pipeline_run["settings"], Path(pipeline_run["release"]["path"])


def test_a_table_extract_only_slices_published_rows(release, tmp_path: Path) -> None:
    settings, folder = release
    args = ["extract", "--geo", "535419", "--geo", "3207", "--from", "2025-02", "--to", "2025-03"]
    result = opencrime(
        settings, *args, "--offence", "NONSENSITIVE", "--offence", "79", "--out", str(tmp_path)
    )
    assert result.returncode == 0, result.stdout + result.stderr
    rows = pd.read_csv(tmp_path / "extract.csv", dtype={"geo_code": str, "offence_code": str})
    assert set(rows["geo_code"]) == {"535419", "3207"}
    assert set(rows["period"]) == {"2025-02", "2025-03"}  # the year 2025 also holds January
    assert set(rows["offence_code"]) == {"NONSENSITIVE", "79"}
    # every row is the release's row as published: hidden cells stay hidden, nothing is summed
    counts = pd.read_csv(folder / "counts.csv", dtype={"geo_code": str, "offence_code": str})
    merged = rows.merge(counts, how="left", indicator=True)
    assert (merged["_merge"] == "both").all()
    record = json.loads((tmp_path / "extract.json").read_text())
    assert record["source"]["release"] == folder.name
    assert record["file"]["rows"] == len(rows)


def test_the_same_request_gives_the_same_bytes_and_its_command_reproduces_it(
    release, tmp_path: Path
) -> None:
    settings, _ = release
    args = ["extract", "--level", "incidents", "--geo", "3503", "--format", "geojson"]
    first = opencrime(settings, *args, "--out", str(tmp_path / "a"))
    assert first.returncode == 0, first.stdout + first.stderr
    record = json.loads((tmp_path / "a" / "extract.json").read_text())
    command = shlex.split(record["command"].replace("EXTRACT_DIR", str(tmp_path / "b")))
    assert command[:2] == ["opencrime", "extract"] and "--release" in command
    again = opencrime(settings, *command[1:])
    assert again.returncode == 0, again.stdout + again.stderr
    for name in ("extract.geojson", "extract.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    points = gpd.read_file(tmp_path / "a" / "extract.geojson")
    district = gpd.read_parquet(_release_folder(release) / "municipalities.parquet")
    district = district[district["district_code"] == "3503"].union_all()
    assert len(points) > 0 and points.geometry.intersects(district).all()


def _release_folder(release) -> Path:
    return release[1]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--geo", "999999"], "unknown unit code"),
        (["--from", "2025-03", "--to", "2025-01"], "empty period"),
        (["--from", "2030-01"], "has no month in this release"),
        (["--release", "2019-01.1"], "does not exist"),
        (["--format", "geojson"], "GeoJSON is for the incident file"),
        (["--offence", "12345"], "unknown offence code"),
        # the point file is cut by offence group: a type code would find nothing, silently
        (
            ["--level", "incidents", "--offence", "2"],
            "the incident file is cut by offence group, and ['2'] are not groups of it",
        ),
        # sensitive offences are never points: said, not answered with 0 rows
        (
            ["--level", "incidents", "--offence", "6"],
            "offence code(s) ['6'] are sensitive: they are never published as points",
        ),
        # one plain sentence naming the field, not pydantic's text
        (
            ["--from", "2025-13"],
            "first_month must be a month written YYYY-MM, e.g. 2025-03 (given: '2025-13')",
        ),
        (["--format", "xlsx"], "format must be one of 'csv', 'parquet' or 'geojson'"),
    ],
)
def test_a_bad_request_fails_clearly_before_any_work(
    release, tmp_path: Path, args: list[str], message: str
) -> None:
    settings, _ = release
    result = opencrime(settings, "extract", *args, "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    assert message in " ".join(result.stdout.split())
    assert not (tmp_path / "out").exists()
    assert "errors.pydantic.dev" not in result.stdout


def test_codes_are_looked_up_by_name_without_accents(release) -> None:
    settings, _ = release
    result = opencrime(settings, "codes", "--search", "liberecky kraj")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "│ unit │ region │ 78   │ Liberecký kraj │" in result.stdout
    offences = opencrime(settings, "codes", "--kind", "offence")
    assert "NONSENSITIVE" in offences.stdout and "│ offence │ type " in offences.stdout
    nothing = opencrime(settings, "codes", "--search", "Atlantis")
    assert nothing.returncode == 1
