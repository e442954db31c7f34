"""Published schemas: examples validate, counterexamples fail where they say, releases conform."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pandas as pd
import pytest

SCHEMAS = Path(__file__).resolve().parents[1] / "output_schemas"


def schema(name: str) -> dict:
    document = json.loads((SCHEMAS / f"{name}.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(document)
    return document


def cases(folder: str) -> list[Path]:
    return sorted((SCHEMAS / folder).glob("*.json"))


@pytest.mark.parametrize("path", cases("examples"), ids=lambda p: p.stem)
def test_examples_validate(path: Path) -> None:
    name = path.stem.split("-")[0]
    jsonschema.validate(
        json.loads(path.read_text()), schema(name), cls=jsonschema.Draft202012Validator
    )


@pytest.mark.parametrize("path", cases("counterexamples"), ids=lambda p: p.stem)
def test_counterexamples_fail_at_the_named_property(path: Path) -> None:
    document = json.loads(path.read_text())
    expected = document.pop("_error")
    errors = list(
        jsonschema.Draft202012Validator(schema(path.stem.split("-")[0])).iter_errors(document)
    )
    assert errors, f"{path.name} should not validate"
    paths = {p for e in errors for p in [*e.absolute_path, *e.relative_schema_path]}
    assert expected in paths, [e.message for e in errors]


def test_release_incidents_conform(pipeline_run) -> None:
    features = json.loads(
        (Path(pipeline_run["release"]["path"]) / "incidents.geojson").read_text()
    )["features"]
    validator = jsonschema.Draft202012Validator(schema("incidents"))
    assert features
    assert [e.message for f in features for e in validator.iter_errors(f["properties"])] == []


def test_release_counts_conform(pipeline_run) -> None:
    counts = pd.read_parquet(Path(pipeline_run["release"]["path"]) / "counts.parquet")
    validator = jsonschema.Draft202012Validator(schema("counts"))
    rows = json.loads(counts.to_json(orient="records"))
    bad = [(row, e.message) for row in rows for e in validator.iter_errors(row)]
    assert bad == []
