"""The release's DCAT-AP-CZ record, validated offline against the standard's own schemas."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

BASE_TYPES = "https://ofn.gov.cz/základní-datové-typy/2020-07-01/schémata/"


@pytest.fixture(scope="module")
def validator(project_root: Path) -> Draft202012Validator:
    folder = project_root / "output_schemas" / "dcat-ap-cz"
    registry = Registry().with_resources(
        (BASE_TYPES + path.name, Resource.from_contents(json.loads(path.read_text())))
        for path in folder.glob("*.json")
        if path.name != "datová-sada.json"
    )
    schema = json.loads((folder / "datová-sada.json").read_text())
    return Draft202012Validator(schema, registry=registry)


def test_the_release_record_is_a_valid_dcat_ap_cz_dataset(pipeline_run, validator) -> None:
    release = Path(pipeline_run["release"]["path"])
    record = json.loads((release / "catalog" / "dataset.jsonld").read_text())
    errors = sorted(validator.iter_errors(record), key=lambda e: list(e.path))
    assert [f"{list(e.path)}: {e.message}" for e in errors] == []
    # one distribution per data file, each pointing at a file that is in the release
    downloads = [d["soubor_ke_stažení"] for d in record["distribuce"]]
    names = sorted(url.rsplit("/", 1)[-1] for url in downloads)
    assert names == sorted(
        p.name for p in release.iterdir() if p.suffix in {".csv", ".parquet", ".geojson"}
    )
    assert all(f"/{release.name}/" in url for url in downloads)
    assert record["časové_pokrytí"] == {
        "typ": "Časový interval",
        "začátek": "2025-01-01",
        "konec": "2025-03-31",
    }


def test_a_record_without_a_publisher_is_refused(pipeline_run, validator) -> None:
    release = Path(pipeline_run["release"]["path"])
    record = json.loads((release / "catalog" / "dataset.jsonld").read_text())
    del record["poskytovatel"]
    assert any("poskytovatel" in e.message for e in validator.iter_errors(record))
