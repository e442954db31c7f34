"""The release's datapackage.json, checked by Frictionless itself."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import frictionless

from transforms.publish.datapackage import table_schema


def test_the_release_passes_frictionless_validate(pipeline_run) -> None:
    release = Path(pipeline_run["release"]["path"])
    descriptor = json.loads((release / "datapackage.json").read_text())
    report = frictionless.validate(release / "datapackage.json")
    assert report.valid, report.flatten(["resourceName", "type", "note"])[:10]
    names = {r["path"] for r in descriptor["resources"]}
    data_files = {p.name for p in release.iterdir() if p.suffix in {".csv", ".parquet", ".geojson"}}
    assert data_files <= names  # every data file is described
    assert descriptor["version"] == release.name
    assert descriptor["licenses"][0]["name"]
    # the table schema names the CSV's columns in order
    header = (release / "counts.csv").read_text().splitlines()[0].split(",")
    counts = next(r for r in descriptor["resources"] if r["name"] == "counts")
    assert [f["name"] for f in counts["schema"]["fields"]] == header


def test_a_changed_byte_is_caught(pipeline_run, tmp_path: Path) -> None:
    copy = tmp_path / "release"
    shutil.copytree(pipeline_run["release"]["path"], copy)
    with (copy / "incidents.geojson").open("ab") as handle:
        handle.write(b" ")
    report = frictionless.validate(copy / "datapackage.json")
    assert not report.valid
    assert {e.type for task in report.tasks for e in task.errors} >= {"hash-count", "byte-count"}


def test_a_nullable_column_is_not_required_and_enums_constrain() -> None:
    schema = table_schema(
        {
            "required": ["a", "b"],
            "properties": {
                "a": {"type": ["integer", "null"], "minimum": 0},
                "b": {"enum": ["x", "y"]},
            },
        }
    )
    assert schema["fields"] == [
        {"name": "a", "type": "integer", "constraints": {"minimum": 0}},
        {"name": "b", "type": "string", "constraints": {"enum": ["x", "y"], "required": True}},
    ]
