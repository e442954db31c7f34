"""The release's DCAT-AP-CZ record, validated offline against the standard's own schemas."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from transforms.pipeline.publish.inputs import check_policy
from transforms.plumbing.settings import SettingMissing, Settings
from transforms.publish.catalogue import Publisher, dataset_record, series_record
from transforms.publish.contents import RELEASE_FILES

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
        p.name
        for p in release.iterdir()
        if p.suffix in {".csv", ".parquet", ".geojson", ".pmtiles"}
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


def test_every_release_is_part_of_the_series(pipeline_run, validator) -> None:
    """The dataset's series record is valid DCAT-AP-CZ, covers the months of every release, and
    is what each release's record says it is part of; no IRI names a placeholder domain."""
    release = Path(pipeline_run["release"]["path"])
    record = json.loads((release / "catalog" / "dataset.jsonld").read_text())
    series = json.loads((release.parent / "catalog" / "series.jsonld").read_text())
    assert [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(series)] == []
    assert record["je_součástí"] == series["iri"]
    assert series["iri"].endswith(f"/{release.parent.name}/catalog/series.jsonld")
    assert series["časové_pokrytí"]["začátek"] == "2025-01-01"
    assert "example" not in json.dumps([record, series])


def test_the_contact_point_is_a_setting(validator) -> None:
    publisher = Publisher(
        base_url="https://data.mesto.cz/opencrime/releases",
        iri="https://rpp-opendata.egon.gov.cz/odrpp/zdroj/orgán-veřejné-moci/00007064",
        name="Policie České republiky",
        contact_email="opendata@mesto.cz",
    )
    for record in (
        series_record(publisher=publisher, dataset_id="cz-crime", months=["2025-01"]),
        dataset_record(
            publisher=publisher,
            dataset_id="cz-crime",
            version="2025-01.1",
            months=["2025-01"],
            licence_url="https://creativecommons.org/licenses/by/4.0/",
            author="Policie České republiky",
            files=RELEASE_FILES,
        ),
    ):
        assert [e.message for e in validator.iter_errors(record)] == []
        assert record["kontaktní_bod"]["e-mail"] == "mailto:opendata@mesto.cz"
        assert record["iri"].startswith("https://data.mesto.cz/opencrime/releases/cz-crime/")


def test_publishing_refuses_to_start_without_the_public_address(
    tmp_path: Path, sample_dir: Path
) -> None:
    """No address, no release: the publish DAG's first task says which setting to set, before
    it looks for anything to publish (this data root has no month yet)."""
    settings = Settings(data_root=tmp_path, data_in=sample_dir, public_base_url=None)
    with pytest.raises(SettingMissing, match="OPENCRIME_PUBLIC_BASE_URL"):
        check_policy(settings)
