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
def test_counterexamples_fail_with_the_named_keyword_at_the_named_paths(path: Path) -> None:
    document = json.loads(path.read_text())
    expected = document.pop("_error")
    errors = list(
        jsonschema.Draft202012Validator(schema(path.stem.split("-")[0])).iter_errors(document)
    )
    assert errors, f"{path.name} should not validate"
    found = [
        {
            "keyword": str(error.validator),
            "schema_path": "/".join(map(str, error.relative_schema_path)),
            "instance_path": "/".join(map(str, error.absolute_path)),
        }
        for error in errors
    ]
    assert expected in found, found


def test_release_incidents_conform(pipeline_run) -> None:
    features = json.loads(
        (Path(pipeline_run["release"]["path"]) / "incidents.geojson").read_text()
    )["features"]
    validator = jsonschema.Draft202012Validator(schema("incidents"))
    assert features
    assert [e.message for f in features for e in validator.iter_errors(f["properties"])] == []


@pytest.mark.parametrize("name", ["municipalities", "districts", "regions"])
def test_release_areas_conform(pipeline_run, name: str) -> None:
    features = json.loads((Path(pipeline_run["release"]["path"]) / f"{name}.geojson").read_text())[
        "features"
    ]
    validator = jsonschema.Draft202012Validator(schema("areas"))
    assert features
    assert [e.message for f in features for e in validator.iter_errors(f["properties"])] == []


def test_release_counts_conform(pipeline_run) -> None:
    counts = pd.read_parquet(Path(pipeline_run["release"]["path"]) / "counts.parquet")
    validator = jsonschema.Draft202012Validator(schema("counts"))
    rows = json.loads(counts.to_json(orient="records"))
    bad = [(row, e.message) for row in rows for e in validator.iter_errors(row)]
    assert bad == []


@pytest.mark.parametrize("name", ["incidents.parquet", "municipalities.parquet"])
def test_release_geoparquet_metadata_is_geoparquet_1_1(pipeline_run, project_root, name) -> None:
    import pyarrow.parquet as pq

    release = Path(pipeline_run["release"]["path"])
    schema = json.loads(
        (project_root / "output_schemas" / "geoparquet-1.1.metadata.schema.json").read_text()
    )
    parquet_schema = pq.read_schema(release / name)
    geo = json.loads(parquet_schema.metadata[b"geo"])
    jsonschema.validate(geo, schema)
    # the covering column the metadata names exists, as a struct of four doubles
    for column in geo["columns"].values():
        covering = column["covering"]["bbox"]
        struct = parquet_schema.field(covering["xmin"][0]).type
        assert sorted(struct.field(i).name for i in range(struct.num_fields)) == sorted(covering)


def test_release_geojson_is_rfc7946(pipeline_run) -> None:
    """Read back by GDAL: WGS84, lon/lat inside the country, exterior rings counter-clockwise."""
    import pyogrio
    import shapely

    release = Path(pipeline_run["release"]["path"])
    for name in ("municipalities.geojson", "incidents.geojson"):
        frame = pyogrio.read_dataframe(release / name)
        assert frame.crs.to_epsg() == 4326
        lon_min, lat_min, lon_max, lat_max = frame.total_bounds
        assert 12.0 < lon_min < lon_max < 19.0 and 48.5 < lat_min < lat_max < 51.1, name
        assert "crs" not in json.loads((release / name).read_text())
        polygons = shapely.get_parts(frame.geometry[frame.geom_type.str.contains("Polygon")])
        rings = shapely.get_exterior_ring(polygons)
        assert shapely.is_ccw(rings).all(), name


@pytest.mark.parametrize(
    ("name", "layer", "zooms"),
    [
        ("municipalities.pmtiles", "municipalities", (5, 12)),
        ("incidents.pmtiles", "incidents", (5, 14)),
    ],
)
def test_release_pmtiles_header_reads_back(pipeline_run, name, layer, zooms) -> None:
    from pmtiles.reader import MmapSource, Reader
    from pmtiles.tile import TileType

    release = Path(pipeline_run["release"]["path"])
    with (release / name).open("rb") as handle:
        reader = Reader(MmapSource(handle))
        header = reader.header()
        metadata = reader.metadata()
        assert header["tile_type"] == TileType.MVT
        assert (header["min_zoom"], header["max_zoom"]) == zooms
        assert header["addressed_tiles_count"] > 0
        lon_min, lat_min = header["min_lon_e7"] / 1e7, header["min_lat_e7"] / 1e7
        lon_max, lat_max = header["max_lon_e7"] / 1e7, header["max_lat_e7"] / 1e7
        assert 12.0 < lon_min < lon_max < 19.0 and 48.5 < lat_min < lat_max < 51.1
        assert [v["id"] for v in metadata["vector_layers"]] == [layer]
        assert reader.get(zooms[0], *_a_tile(header, zooms[0])) is not None


def _a_tile(header: dict, zoom: int) -> tuple[int, int]:
    """The tile at ``zoom`` holding the data's centre (web-mercator tile numbering)."""
    import math

    lon = (header["min_lon_e7"] + header["max_lon_e7"]) / 2e7
    lat = math.radians((header["min_lat_e7"] + header["max_lat_e7"]) / 2e7)
    n = 2**zoom
    return int((lon + 180) / 360 * n), int((1 - math.asinh(math.tan(lat)) / math.pi) / 2 * n)


def test_release_codes_conform_and_name_every_code_of_the_table(pipeline_run) -> None:
    release = Path(pipeline_run["release"]["path"])
    codes = pd.read_csv(release / "codes.csv", dtype=str, keep_default_na=False)
    validator = jsonschema.Draft202012Validator(schema("codes"))
    rows = [
        {k: (v or None) if k == "parent_code" else v for k, v in r.items()}
        for r in codes.to_dict("records")
    ]
    assert [e.message for row in rows for e in validator.iter_errors(row)] == []
    counts = pd.read_parquet(release / "counts.parquet")
    units = counts[["geo_level", "geo_code", "geo_name"]].drop_duplicates()
    offences = counts[["offence_level", "offence_code", "offence_name"]].drop_duplicates()
    listed = {(r.kind, r.level, r.code, r.name) for r in codes.itertuples()}
    expected = {("unit", *row) for row in units.itertuples(index=False)} | {
        ("offence", *row) for row in offences.itertuples(index=False)
    }
    assert listed == expected  # every code of the table, and no other
    by_code = codes.set_index("code")
    assert by_code.loc["535419", "parent_code"] == "3207"  # Mladá Boleslav in its district
    assert by_code.loc["2", "parent_code"] == "1"  # a type in its group
    # English names: an offence's translated, a place's its own
    assert by_code.loc["19", ["name", "name_en"]].tolist() == [
        "Vloupání do bytu",
        "Burglary of a flat",
    ]
    assert by_code.loc["NONSENSITIVE", "name_en"] == "offences except sensitive ones"
    assert by_code.loc["535419", "name_en"] == "Mladá Boleslav"
