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


def test_the_release_is_licensed_as_its_inputs_allow_and_credits_each(pipeline_run) -> None:
    """The sample declares CC BY 4.0 for every input (sample_data/sources.json): the release
    is CC BY 4.0, and every file that describes it names the sources and their terms."""
    import json
    from pathlib import Path

    release = Path(pipeline_run["release"]["path"])
    manifest = json.loads((release / "manifest.json").read_text())
    package = json.loads((release / "datapackage.json").read_text())
    catalogue = json.loads((release / "catalog" / "dataset.jsonld").read_text())
    sources = {s["source"]: s for s in manifest["sources"]}
    assert set(sources) == {"police", "boundaries", "population"}
    assert {s["licence"] for s in sources.values()} == {"CC-BY-4.0"}
    assert manifest["parameters"]["licence"] == "CC-BY-4.0"
    assert package["licenses"] == [
        {
            "name": "CC-BY-4.0",
            "title": "Creative Commons Attribution 4.0 International",
            "path": "https://creativecommons.org/licenses/by/4.0/",
        }
    ]
    assert sorted(s["title"] for s in package["sources"]) == sorted(
        s["attribution"] for s in sources.values()
    )
    assert "https://creativecommons.org/licenses/by/4.0/" in json.dumps(catalogue)
    page = (release / "index.html").read_text()
    for source in sources.values():
        assert source["attribution"] in page
    assert "non-commercial use only" not in page


def test_a_non_commercial_input_makes_a_non_commercial_release_and_the_page_says_why() -> None:
    from transforms.domain.countries import CZECHIA
    from transforms.domain.licences import release_licence
    from transforms.publish.portal import licence_section

    chosen = release_licence(CZECHIA.sources)  # the real sources' own terms
    assert chosen.id == "CC-BY-NC-4.0" and not chosen.is_open
    text = licence_section(chosen, CZECHIA.sources)
    assert "Jen pro nekomerční užití" in text and "Non-commercial use only" in text
    assert "These data are not open: their source Policie České republiky" in text
    assert "ČÚZK" in text and "Český statistický úřad" in text  # every source credited


def test_every_field_is_described_in_czech_and_english(pipeline_run, project_root) -> None:
    """Every column of every table in the release, and every property of every published
    schema (the GeoJSON and GeoParquet point properties among them), in both languages."""
    import json
    from pathlib import Path

    import pyarrow.parquet as pq

    release = Path(pipeline_run["release"]["path"])
    package = json.loads((release / "datapackage.json").read_text())
    fields = [
        (resource["name"], field)
        for resource in package["resources"]
        for field in resource.get("schema", {}).get("fields", []) + resource.get("columns", [])
    ]
    assert {name for name, _ in fields} >= {"counts", "codes"}
    # every Parquet and GeoJSON file lists all of its columns (a feature's properties)
    for resource in package["resources"]:
        if resource["format"] in ("geojson", "parquet"):
            listed = [f["name"] for f in resource["columns"]]
            columns = pq.read_schema(release / resource["path"].replace(".geojson", ".parquet"))
            expected = [
                c
                for c in columns.names
                if resource["format"] == "parquet" or c not in ("lon", "lat", "geometry", "bbox")
            ]
            assert listed == expected, resource["name"]
    schemas = sorted((project_root / "output_schemas").glob("*.schema.json"))
    properties = [
        (path.name, {"name": name, **spec})
        for path in schemas
        if "properties" in (document := json.loads(path.read_text()))
        and path.name != "geoparquet-1.1.metadata.schema.json"
        for name, spec in (document["properties"] | document.get("patternProperties", {})).items()
    ]
    for where, field in fields + properties:
        english, czech = field.get("description", ""), field.get("description_cs", "")
        assert english and czech and english != czech, (where, field["name"])
