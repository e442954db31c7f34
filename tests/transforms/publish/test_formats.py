"""Writers that take a table part by part give the bytes of the whole table written at once."""

from __future__ import annotations

import hashlib
import itertools
import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from transforms.pipeline.publish.staged import counts_by_year
from transforms.plumbing.columns import without_dictionaries
from transforms.plumbing.storage import ParquetAppender, read_text_as_dictionaries, write_parquet
from transforms.publish.csv import CsvAppender, write_csv

texts = st.one_of(st.none(), st.text(alphabet='ab ,"\nč', max_size=4))
# rows of (name, count, rate_per_1000), as in the counts table
count_rows = st.lists(
    st.tuples(
        texts,
        st.one_of(st.none(), st.integers(-(10**12), 10**12)),
        st.one_of(st.none(), st.floats(0, 1e6, allow_nan=False).map(lambda f: round(f, 2))),
    ),
    min_size=1,
    max_size=30,
)


@given(
    rows=st.lists(st.tuples(texts, st.one_of(st.none(), st.integers(-5, 5))), max_size=30),
    cuts=st.lists(st.integers(0, 30), max_size=3),
)
@settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_csv_written_in_parts_is_the_csv_of_the_whole(tmp_path, rows, cuts) -> None:
    whole = pd.DataFrame(rows, columns=["name", "count"]).astype({"count": "Int64"})
    write_csv(whole, tmp_path / "whole.csv")
    bounds = [0, *sorted(min(c, len(whole)) for c in cuts), len(whole)]
    with CsvAppender(tmp_path / "parts.csv") as csv:
        for start, end in itertools.pairwise(bounds):
            csv.append(whole.iloc[start:end])
    assert (tmp_path / "parts.csv").read_bytes() == (tmp_path / "whole.csv").read_bytes()


def test_counts_come_back_a_year_at_a_time_each_row_once(tmp_path) -> None:
    months = ["2023-11", "2023-12", "2024-01"]
    periods = ["2023", *months, "2024"]
    counts = pd.DataFrame({"period": periods * 2, "count": range(10)})
    with ParquetAppender(tmp_path / "counts.parquet") as file:
        file.append(counts[counts["period"].str.startswith("2023")])
        file.append(counts[counts["period"].str.startswith("2024")])
    years = dict(counts_by_year(tmp_path, months))
    assert list(years) == ["2023", "2024"]
    assert sorted(years["2023"]["period"].unique()) == ["2023", "2023-11", "2023-12"]
    assert sorted(years["2024"]["period"].unique()) == ["2024", "2024-01"]
    assert sorted(pd.concat(years.values())["count"]) == list(range(10))
    # the year's rows are read, not the file: each year is its own row group here
    assert pq.ParquetFile(tmp_path / "counts.parquet").metadata.num_row_groups == 2
    write_parquet(counts, tmp_path / "once.parquet")
    assert len(pd.read_parquet(tmp_path / "once.parquet")) == len(counts)


def test_a_staging_file_reads_back_the_table_without_statistics(tmp_path) -> None:
    """Files between the pipeline's tasks trade the readers' row-group filters, which they
    never use (each task reads a year's file whole), for quicker writing and reading."""
    table = pa.table(
        {
            "geo_code": pa.array(["554782", "500011", "554782"]).dictionary_encode(),
            "count": pa.array([3, None, 0], pa.int64()),
        }
    )
    for staging in (False, True):
        path = tmp_path / f"staging-{staging}.parquet"
        with ParquetAppender(path, staging=staging) as file:
            file.append(table)
        assert pq.read_table(path).equals(table.cast(without_dictionaries(table.schema)))
        column = pq.ParquetFile(path).metadata.row_group(0).column(0)
        assert (column.statistics is None) == staging
        assert column.compression == ("LZ4" if staging else "ZSTD")


def test_point_geojson_written_in_chunks_is_the_geojson_of_the_whole(tmp_path, monkeypatch) -> None:
    import json

    import geopandas as gpd
    import shapely

    import transforms.publish.geojson as geojson

    rng = np.random.default_rng(4)
    points = gpd.GeoDataFrame(
        {"cell_code": rng.choice(["a", "b", 'č"'], 50), "records": rng.integers(0, 9, 50)},
        geometry=shapely.points(rng.uniform(12, 19, 50), rng.uniform(48, 51, 50)),
        crs=4326,
    )
    geojson.write_geojson(points, tmp_path / "whole.geojson")
    monkeypatch.setattr(geojson, "POINT_CHUNK_ROWS", 7)
    geojson.write_geojson(points, tmp_path / "chunks.geojson")
    whole = (tmp_path / "whole.geojson").read_bytes()
    assert (tmp_path / "chunks.geojson").read_bytes() == whole
    assert len(json.loads(whole)["features"]) == 50


@given(rows=count_rows)
@settings(max_examples=50, deadline=None)
def test_csv_is_what_pandas_writes(rows) -> None:
    import tempfile
    from pathlib import Path

    frame = pd.DataFrame(rows, columns=["name", "count", "rate_per_1000"]).astype(
        {"count": "Int64", "rate_per_1000": "Float64"}
    )
    with tempfile.TemporaryDirectory() as folder:
        write_csv(frame, Path(folder) / "t.csv")
        written = (Path(folder) / "t.csv").read_text(encoding="utf-8")
    assert written == frame.to_csv(index=False, lineterminator="\n")


@given(
    rows=st.lists(
        st.tuples(
            st.sampled_from(["municipality", "district", None]),
            st.sampled_from(["554782", "CZ0100", 'a,"b"']),
            st.sampled_from(["Praha", "Brno, město", "Č\n"]),
            st.one_of(st.none(), st.integers(0, 3)),
            st.sampled_from([None, 1.5, 0.25]),
        ),
        min_size=1,
        max_size=400,
    )
)
@settings(max_examples=40, deadline=None)
def test_csv_of_repeated_values_is_what_pandas_writes(rows) -> None:
    """A counts table repeats each unit's level, code and name on every row: neighbouring
    columns with few distinct pairs are spelled out a pair at a time, the same bytes."""
    import tempfile
    from pathlib import Path

    frame = pd.DataFrame(rows, columns=["level", "code", "name", "count", "rate"]).astype(
        {"count": "Int64", "rate": "Float64"}
    )
    with tempfile.TemporaryDirectory() as folder:
        write_csv(frame, Path(folder) / "t.csv")
        written = (Path(folder) / "t.csv").read_text(encoding="utf-8")
    assert written == frame.to_csv(index=False, lineterminator="\n")


@given(
    rows=count_rows,
    cuts=st.lists(st.integers(0, 30), max_size=3),
)
@settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_a_table_read_with_dictionaries_is_written_as_its_frame(tmp_path, rows, cuts) -> None:
    """The release copies staged counts as Arrow tables with dictionary-encoded text: the
    Parquet and CSV bytes are those of the frame the table was staged from."""
    frame = pd.DataFrame(rows, columns=["name", "count", "rate_per_1000"]).astype(
        {"name": "str", "count": "Int64", "rate_per_1000": "Float64"}
    )
    write_parquet(frame, tmp_path / "staged.parquet")
    write_csv(frame, tmp_path / "frame.csv")
    table = read_text_as_dictionaries(tmp_path / "staged.parquet")
    assert pa.types.is_dictionary(table.schema.field("name").type)
    bounds = [0, *sorted(min(c, len(frame)) for c in cuts), len(frame)]
    with (
        ParquetAppender(tmp_path / "table.parquet") as parquet,
        CsvAppender(tmp_path / "table.csv") as csv,
    ):
        for start, end in itertools.pairwise(bounds):
            parquet.append(table.slice(start, end - start))
            csv.append(table.slice(start, end - start))
    assert (tmp_path / "table.csv").read_bytes() == (tmp_path / "frame.csv").read_bytes()
    if len(bounds) == 2:  # one part: the same file (parts make more row groups)
        staged = (tmp_path / "staged.parquet").read_bytes()
        assert (tmp_path / "table.parquet").read_bytes() == staged
    back = pd.read_parquet(tmp_path / "table.parquet")
    pd.testing.assert_frame_equal(back, frame)


@given(
    rows=count_rows,
    unused=st.lists(st.text(alphabet="xyz", min_size=1, max_size=3), max_size=3),
    cuts=st.lists(st.integers(0, 30), max_size=3),
    seed=st.integers(0, 2**32 - 1),
)
@settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_text_as_dictionaries_or_categories_is_stored_as_text(
    tmp_path, rows, unused, cuts, seed
) -> None:
    """The appender stores dictionary-encoded text and text categories without spelling them
    out: a reader gets the file of the plain text, whatever the dictionary's order or its
    unused values: the same schema and metadata, values and row group statistics."""
    frame = pd.DataFrame(rows, columns=["name", "count", "rate_per_1000"]).astype(
        {"name": "str", "count": "Int64", "rate_per_1000": "Float64"}
    )
    rng = np.random.default_rng(seed)
    present = pd.unique(frame["name"].dropna()).tolist()
    unused = list(dict.fromkeys(unused))

    def as_categories(rows: pd.DataFrame) -> pd.DataFrame:
        """The rows' text as categories in a random order, with values no row has."""
        order = pd.Index(rng.permutation(np.array(present + unused, dtype=object)), dtype="str")
        return rows.astype({"name": pd.CategoricalDtype(order)})

    metadata = pa.Schema.from_pandas(frame, preserve_index=False).metadata
    bounds = [0, *sorted(min(c, len(frame)) for c in cuts), len(frame)]
    parts = [frame.iloc[start:end] for start, end in itertools.pairwise(bounds)]
    for name, pieces in (
        ("plain", parts),
        ("categories", [as_categories(p) for p in parts]),
        (
            # as the release reads staged tables: Arrow, the file's metadata, a dictionary a part
            "dictionaries",
            [
                pa.Table.from_pandas(
                    as_categories(p), preserve_index=False
                ).replace_schema_metadata(metadata)
                for p in parts
            ],
        ),
    ):
        with ParquetAppender(tmp_path / f"{name}.parquet") as parquet:
            for piece in pieces:
                parquet.append(piece)
    plain = pq.ParquetFile(tmp_path / "plain.parquet")
    for name in ("categories", "dictionaries"):
        other = pq.ParquetFile(tmp_path / f"{name}.parquet")
        assert other.schema_arrow == plain.schema_arrow, name
        assert other.metadata.metadata == plain.metadata.metadata, name
        assert other.read().equals(plain.read()), name
        row_groups = range(plain.metadata.num_row_groups)
        assert other.metadata.num_row_groups == plain.metadata.num_row_groups
        assert [other.metadata.row_group(r).column(0).statistics for r in row_groups] == [
            plain.metadata.row_group(r).column(0).statistics for r in row_groups
        ], name
        pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / f"{name}.parquet"), frame)


def _points(rng: np.random.Generator, n: int) -> pd.DataFrame:
    """Published-point-like rows: many records on few places, text with quotes and accents."""
    places = rng.integers(0, max(n // 5, 1), n)
    return pd.DataFrame(
        {
            "cell_code": pd.Series(rng.choice(["CRS3035RES250mN1E2", "554782", 'x"č'], n)),
            "month": pd.Series(rng.choice(["2020-01", "2021-03"], n)),
            "offence_group": rng.integers(1, 9, n).astype("int32"),
            "lon": np.round(12 + (places * 7.31) % 7, 6),
            "lat": np.round(48.5 + (places * 3.17) % 2.5, 6),
        }
    ).astype({"cell_code": "str", "month": "str"})


@given(n=st.integers(0, 300), seed=st.integers(0, 2**32 - 1))
@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_points_from_coordinates_are_the_files_of_the_geometries(tmp_path, n, seed) -> None:
    """The release writes its ten million points from coordinate arrays (no shapely objects):
    the same order, GeoParquet and GeoJSON bytes as from a GeoDataFrame of the points."""
    import geopandas as gpd
    import pyarrow as pa
    import shapely

    import transforms.plumbing.storage as storage
    import transforms.publish.geojson as geojson
    import transforms.publish.geoparquet as geoparquet

    rows = _points(np.random.default_rng(seed), n)
    frame = gpd.GeoDataFrame(rows, geometry=shapely.points(rows["lon"], rows["lat"]), crs=4326)
    expected = geoparquet.spatially_sorted(frame)
    order = geoparquet.hilbert_order(rows["lon"].to_numpy(), rows["lat"].to_numpy())
    assert (
        rows.iloc[order]
        .reset_index(drop=True)
        .equals(pd.DataFrame(expected.drop(columns="geometry")))
    )
    table = pa.Table.from_pandas(rows.iloc[order], preserve_index=False)
    table = table.set_column(0, "cell_code", table["cell_code"].dictionary_encode())
    geojson.write_geojson(expected.drop(columns=["lon", "lat"]), tmp_path / "a.geojson")
    geojson.write_point_geojson(table, tmp_path / "b.geojson")
    assert (tmp_path / "b.geojson").read_bytes() == (tmp_path / "a.geojson").read_bytes()
    # and both are each feature as json.dumps writes it (no piece of text spelled twice)
    oracle = _each_feature_as_json_dumps_writes_it(expected.drop(columns=["lon", "lat"]))
    assert (tmp_path / "b.geojson").read_bytes() == oracle
    storage.write_geoparquet(expected, tmp_path / "a.parquet")
    geoparquet.write_point_geoparquet(table, tmp_path / "b.parquet")
    a, b = pq.read_table(tmp_path / "a.parquet"), pq.read_table(tmp_path / "b.parquet")
    assert b.schema.equals(a.schema) and b.equals(a)
    geo_a, geo_b = (json.loads(t.schema.metadata[b"geo"]) for t in (a, b))
    geo_a["columns"]["geometry"]["geometry_types"] = ["Point"] if n else []
    assert geo_b["columns"] == geo_a["columns"]
    read = gpd.read_parquet(tmp_path / "b.parquet")
    assert read.crs == expected.crs and read.geometry.geom_equals_exact(expected.geometry, 0).all()


def test_point_geoparquet_declares_the_same_wgs84_whatever_the_process_did_before(
    tmp_path,
) -> None:
    """PROJ answers EPSG:4326 from a cache that identifying another CRS as EPSG:4326 fills
    with another form: the points' file must not depend on it. Each process is fresh: the
    cache lives as long as the process."""
    import subprocess
    import sys

    from pyproj import CRS

    from transforms.publish.geoparquet import wgs84_projjson

    write = (
        "import sys, pyarrow as pa\n"
        "from pathlib import Path\n"
        "from pyproj import CRS\n"
        "from transforms.publish import geoparquet\n"
        "if sys.argv[2] == 'identify first':  # as writing GeoJSON of a layer read from a file\n"
        "    text = Path(geoparquet.__file__).with_name('wgs84.projjson').read_text()\n"
        "    assert CRS.from_json(text).to_epsg() == 4326\n"
        "table = pa.table({'lon': [15.0], 'lat': [50.0]})\n"
        "geoparquet.write_point_geoparquet(table, Path(sys.argv[1]))\n"
    )
    declared = []
    for before in ("nothing", "identify first"):
        path = tmp_path / f"{before}.parquet"
        subprocess.run([sys.executable, "-c", write, str(path), before], check=True)
        geo = json.loads(pq.read_schema(path).metadata[b"geo"])
        declared.append(geo["columns"]["geometry"]["crs"])
    assert declared[0] == declared[1] == wgs84_projjson()
    assert CRS.from_json_dict(wgs84_projjson()) == CRS.from_epsg(4326)
    assert "datum_ensemble" in wgs84_projjson()


def test_point_geoparquet_row_groups_are_small_enough_to_skip(tmp_path, monkeypatch) -> None:
    import pyarrow as pa

    import transforms.publish.geoparquet as geoparquet

    monkeypatch.setattr(geoparquet, "POINT_ROW_GROUP", 40)
    rows = _points(np.random.default_rng(1), 100)
    geoparquet.write_point_geoparquet(pa.Table.from_pandas(rows), tmp_path / "p.parquet")
    meta = pq.ParquetFile(tmp_path / "p.parquet").metadata
    assert [meta.row_group(i).num_rows for i in range(meta.num_row_groups)] == [40, 40, 20]


def _each_feature_as_json_dumps_writes_it(frame) -> bytes:
    """The independent oracle: a FeatureCollection of ``json.dumps`` of each feature's dict."""
    import transforms.publish.coded_text as coded_text
    import transforms.publish.geojson as geojson

    properties = frame.drop(columns=frame.geometry.name)
    features = [
        json.dumps(
            {
                "type": "Feature",
                "properties": {
                    k: coded_text.plain_value(v) for k, v in zip(properties, row, strict=True)
                },
                "geometry": None if shape is None else geojson.rfc7946_geometry(shape),
            },
            ensure_ascii=False,
            separators=(",", ":"),
            allow_nan=False,
        )
        for row, shape in zip(properties.itertuples(index=False), frame.geometry, strict=True)
    ]
    return ('{"type":"FeatureCollection","features":[' + ",".join(features) + "]}\n").encode(
        "utf-8"
    )


@given(
    rows=st.lists(
        st.tuples(
            texts,
            st.one_of(st.none(), st.integers(-(10**12), 10**12)),
            st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=False, width=32)),
            st.integers(0, 3),
        ),
        max_size=12,
    )
)
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_area_geojson_is_each_feature_as_json_dumps_writes_it(tmp_path, rows) -> None:
    """Areas (polygons, missing geometries among them) with text, nullable integers and floats
    with missing and NaN values, as the area layers carry them: the bytes of the oracle."""
    import geopandas as gpd
    import shapely

    import transforms.publish.geojson as geojson

    frame = pd.DataFrame(
        [r[:3] for r in rows], columns=["name", "count_2025", "rate_2025"], dtype=object
    ).astype({"name": "str", "count_2025": "Int64", "rate_2025": "float64"})
    frame["rate_masked"] = frame["rate_2025"].astype("Float64")
    shapes = [
        None if kind == 0 else shapely.box(14 + i, 49.5, 14.4 + i + kind / 7, 50.1)
        for i, (*_, kind) in enumerate(rows)
    ]
    areas = gpd.GeoDataFrame(frame, geometry=shapes, crs=4326)
    digest = geojson.write_geojson(areas, tmp_path / "areas.geojson")
    assert (tmp_path / "areas.geojson").read_bytes() == _each_feature_as_json_dumps_writes_it(areas)
    # the checksum the release lists is the file's, from the writing
    assert digest == hashlib.sha256((tmp_path / "areas.geojson").read_bytes()).hexdigest()


def test_a_negative_zero_keeps_its_sign(tmp_path) -> None:
    """Distinct values are found by their bits: 0.0 and -0.0 compare equal, but are written
    apart, by pandas as by json.dumps."""
    frame = pd.DataFrame(
        {"x": [0.0, -0.0, np.nan, -0.0], "y": pd.array([-0.0, None, 0.0, 1.5], dtype="Float64")}
    )
    write_csv(frame, tmp_path / "zeros.csv")
    written = (tmp_path / "zeros.csv").read_text(encoding="utf-8")
    assert written == frame.to_csv(index=False, lineterminator="\n")
    assert written.splitlines()[1:3] == ["0.0,-0.0", "-0.0,"]
