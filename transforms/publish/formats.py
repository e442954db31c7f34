"""Deterministic writers: the same table gives the same bytes, run after run.

No wall-clock time, no random ids, stable row and key order. GeoJSON follows RFC 7946: WGS84
lon/lat, counter-clockwise exterior rings, no ``crs`` member, coordinates rounded to 6 decimals
(about 0.1 m, finer than any published location).
"""

from __future__ import annotations

import base64
import functools
import json
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import shapely

from transforms.columns import without_dictionaries
from transforms.storage import StreamedFile

GEOJSON_DECIMALS = 6


def write_parquet(frame: pd.DataFrame, path: Path) -> None:
    with ParquetAppender(path) as file:
        file.append(frame)


ROW_GROUP_ROWS = 1024 * 1024  # pyarrow's default: the most rows a row group holds
# A column chunk's dictionary grows to this size before the column falls back to plain pages.
# Codes and names (a country's 6,258 municipality codes: 60 kB) fit; ids and coordinates, mostly
# distinct, stop being hashed after some 16,000 values rather than 130,000 (Arrow's 1 MB): a
# month's incidents write in 0.05 s instead of 0.09 s, and in fewer bytes.
DICTIONARY_PAGE_BYTES = 128 * 1024
CSV_ROWS_AT_ONCE = 1 << 18  # rows whose text is built at once (tens of megabytes)


class ParquetAppender:
    """One Parquet file written part by part (a release table a year at a time); the project's
    Parquet settings. Every part must have the first part's columns.

    Text is stored as text, whether a part holds it plain, dictionary-encoded (Arrow) or as
    categories (pandas): readers get the same columns, types and values either way.
    Dictionary-encoded text goes into the file's dictionary pages as it is, without being
    spelled out and hashed again (a year of counts: 2.2 s → 1.0 s here).
    """

    def __init__(self, path: Path, *, staging: bool = False):
        """``staging``: a file between the pipeline's own tasks, never published, which they
        read whole: without row-group statistics (half of the writing: Arrow takes the
        minimum and maximum of each dictionary-encoded column from the values its rows use)
        and in LZ4, quicker than zstd to write and to read, for a quarter more bytes."""
        self.path = path
        self.staging = staging
        self._writer: pq.ParquetWriter | None = None
        self._stored: pa.Schema | None = None  # what readers see, when the writer's is not

    def append(self, part: pd.DataFrame | pa.Table) -> None:
        """Append a frame, or an Arrow table (dictionary-encoded text is written as text)."""
        if isinstance(part, pd.DataFrame):
            part = _arrow_table(part)
        if self._writer is None:
            encoded = any(pa.types.is_dictionary(f.type) for f in part.schema)
            self._writer = pq.ParquetWriter(
                self.path,
                _int32_dictionaries(part.schema),
                compression="lz4" if self.staging else "zstd",
                dictionary_pagesize_limit=DICTIONARY_PAGE_BYTES,
                write_statistics=not self.staging,
                # Arrow would store the dictionary types, and readers would get them back
                store_schema=not encoded,
            )
            self._stored = without_dictionaries(part.schema) if encoded else None
        # a row group at a time (the writer's own size): the row groups are those of the
        # whole part
        for start in range(0, part.num_rows, ROW_GROUP_ROWS) if part.num_rows else [0]:
            piece = part.slice(start, ROW_GROUP_ROWS).cast(self._writer.schema)
            self._writer.write_table(
                pa.Table.from_arrays(
                    [_referenced_values(c) for c in piece.columns], schema=piece.schema
                )
            )

    def __enter__(self) -> ParquetAppender:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._writer is None:
            return
        if self._stored is not None:
            self._writer.add_key_value_metadata(_stored_schema_metadata(self._stored))
        self._writer.close()


def _referenced_values(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """A dictionary-encoded column with only the values its rows use, in their order. Arrow's
    Parquet writer takes a row group's min and max from the whole dictionary when the column
    has a missing value (from the values used otherwise): an unused value would widen the
    statistics a reader filters by."""
    if not pa.types.is_dictionary(column.type) or column.null_count == 0:
        return column
    return pa.chunked_array([_used_dictionary(c) for c in column.chunks], column.type)


def _used_dictionary(array: pa.DictionaryArray) -> pa.DictionaryArray:
    codes = array.indices.fill_null(-1).to_numpy()
    used = np.flatnonzero(np.bincount(codes[codes >= 0], minlength=len(array.dictionary)))
    if len(used) == len(array.dictionary):
        return array
    position = np.full(len(array.dictionary) + 1, -1, dtype=np.int64)  # the last: missing
    position[used] = np.arange(len(used))
    renumbered = position[codes]
    indices = pa.array(renumbered, mask=renumbered < 0).cast(array.type.index_type)
    return pa.DictionaryArray.from_arrays(indices, array.dictionary.take(pa.array(used)))


def _arrow_table(frame: pd.DataFrame) -> pa.Table:
    """``frame`` as Arrow; text categories as dictionary-encoded text, with the pandas
    metadata the same frame of plain text has (the file stores text)."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    categories = {
        c: "str"
        for c in frame.columns
        if isinstance(frame[c].dtype, pd.CategoricalDtype)
        and pd.api.types.is_string_dtype(frame[c].cat.categories)
    }
    if not categories:
        return table
    as_text = pa.Schema.from_pandas(frame.head(0).astype(categories), preserve_index=False)
    return table.cast(
        pa.schema(
            [
                f.with_type(pa.dictionary(f.type.index_type, as_text.field(f.name).type))
                if f.name in categories
                else f
                for f in table.schema
            ],
            metadata=as_text.metadata,
        )
    )


def _int32_dictionaries(schema: pa.Schema) -> pa.Schema:
    """``schema`` with every dictionary's indices 32-bit: the parts' may be narrower or wider."""
    return pa.schema(
        [
            f.with_type(pa.dictionary(pa.int32(), f.type.value_type))
            if pa.types.is_dictionary(f.type)
            else f
            for f in schema
        ],
        metadata=schema.metadata,
    )


def _stored_schema_metadata(schema: pa.Schema) -> dict[bytes, bytes]:
    """The key-value metadata Arrow's Parquet writer stores for ``schema``: its own metadata
    and, under ``ARROW:schema``, the schema serialised and base64-encoded (Arrow's format)."""
    return dict(schema.metadata or {}) | {
        b"ARROW:schema": base64.b64encode(schema.serialize().to_pybytes())
    }


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    with CsvAppender(path) as file:
        file.append(frame)


class CsvAppender:
    """One CSV file written part by part: UTF-8 without BOM, ``\\n`` line ends, empty field for
    a missing value, quotes only where a value needs them (the bytes pandas' ``to_csv``
    writes). The header comes from the first part; every part must have its columns.

    Rows are built a column at a time and each distinct value is formatted once, so a table of
    millions of cells is written in seconds.
    """

    def __init__(self, path: Path, *, staging: bool = False):
        """``staging``: a file between the pipeline's own tasks, never published, which they
        read whole: without row-group statistics (half of the writing: Arrow takes the
        minimum and maximum of each dictionary-encoded column from the values its rows use)
        and in LZ4, quicker than zstd to write and to read, for a quarter more bytes."""
        self.path = path
        self.staging = staging
        self._file: StreamedFile | None = None
        self._columns: list[str] = []

    def append(self, part: pd.DataFrame | pa.Table) -> None:
        """Append a frame, or an Arrow table: its dictionary-encoded columns are formatted a
        dictionary value at a time, the others as the table's pandas metadata types them."""
        names = (
            [str(c) for c in part.columns] if isinstance(part, pd.DataFrame) else part.column_names
        )
        if self._file is None:
            self._file = StreamedFile(self.path)
            self._columns = names
            self._file.write((",".join(map(_csv_field, self._columns)) + "\n").encode("utf-8"))
        if names != self._columns:
            raise ValueError(f"{self.path}: a part's columns differ from the first part's")
        # a slice at a time: the text is built in memory that is used again, not spelled out
        # for a whole year at once (3.4 M rows, 330 MB)
        for start in range(0, len(part) if names else 0, CSV_ROWS_AT_ONCE):
            piece = (
                part.iloc[start : start + CSV_ROWS_AT_ONCE]
                if isinstance(part, pd.DataFrame)
                else part.slice(start, CSV_ROWS_AT_ONCE)
            )
            # the line end comes with the last field: rows are joined in one pass
            columns = _csv_columns(piece, last_field_ends_line=True)
            self._file.write(_text_bytes(_joined_coded(columns, ",")))

    def __enter__(self) -> CsvAppender:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._file is not None:
            self._file.close()

    @property
    def sha256(self) -> str:
        """The written file's SHA-256 (once closed, with at least one part appended)."""
        if self._file is None:
            raise RuntimeError(f"{self.path}: nothing was appended")
        return self._file.sha256


def _csv_field(text: str) -> str:
    if any(c in text for c in ',"\n\r'):
        return '"' + text.replace('"', '""') + '"'
    return text


def _csv_value(value: Any) -> str:
    value = _json_value(value)
    return "" if value is None else _csv_field(str(value))


def read_text_as_dictionaries(
    path: Path, filters: list[Any] | None = None, columns: list[str] | None = None
) -> pa.Table:
    """A Parquet file or folder with its text columns dictionary-encoded (read from the file's
    own dictionaries, each value once) and every dictionary's values of the stored type: the
    appenders then write the bytes the table was written with. ``columns``: only those."""
    stored = pq.ParquetDataset(path).schema
    text = [c for c in text_columns(stored) if columns is None or c in columns]
    table = pq.read_table(path, columns=columns, filters=filters, read_dictionary=text)
    schema = pa.schema(
        [
            f.with_type(pa.dictionary(f.type.index_type, stored.field(f.name).type))
            if pa.types.is_dictionary(f.type)
            else f
            for f in table.schema
        ],
        metadata=table.schema.metadata,
    )
    return table.cast(schema)


def text_columns(schema: pa.Schema) -> list[str]:
    """The names of ``schema``'s text (string or large string) fields."""
    return [
        f.name for f in schema if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)
    ]


def _csv_columns(
    part: pd.DataFrame | pa.Table, last_field_ends_line: bool = False
) -> list[CodedText]:
    """Each column of ``part`` as its CSV fields (the last one's with ``\\n`` if asked)."""
    names = [str(c) for c in part.columns] if isinstance(part, pd.DataFrame) else part.column_names
    encoders = [_csv_value] * len(names)
    if last_field_ends_line:
        encoders[-1] = _csv_line_end
    if isinstance(part, pd.DataFrame):
        return [
            _by_distinct_value(part[c], encode)
            for c, encode in zip(part.columns, encoders, strict=True)
        ]
    part = part.unify_dictionaries()
    # numbers are dictionary-encoded in Arrow: their Python values print as pandas' do
    numbers = {
        f.name for f in part.schema if pa.types.is_integer(f.type) or pa.types.is_floating(f.type)
    }
    coded = {f.name for f in part.schema if pa.types.is_dictionary(f.type)} | numbers
    # anything else through pandas, typed as the table's metadata says
    plain = part.select([n for n in names if n not in coded]).to_pandas()
    return [
        _by_dictionary_value(_encoded(part.column(n)) if n in numbers else part.column(n), encode)
        if n in coded
        else _by_distinct_value(plain[n], encode)
        for n, encode in zip(names, encoders, strict=True)
    ]


def _encoded(values: pa.ChunkedArray) -> pa.ChunkedArray:
    """``values`` dictionary-encoded, with one dictionary."""
    return pa.chunked_array([pc.dictionary_encode(values.combine_chunks())])


def _csv_line_end(value: Any) -> str:
    return _csv_value(value) + "\n"


def _by_dictionary_value(values: pa.ChunkedArray, encode: Any) -> CodedText:
    """:func:`_by_distinct_value` for a dictionary-encoded column (one, unified dictionary):
    its dictionary is already the distinct values."""
    if values.num_chunks == 0:
        return CodedText(pa.array([], type=pa.large_string()), np.zeros(0, dtype=np.int64))
    indices = pa.chunked_array([c.indices for c in values.chunks], values.type.index_type)
    return _coded(values.chunk(0).dictionary.to_pylist(), indices.combine_chunks(), encode)


def _by_distinct_value(values: pd.Series, encode: Any) -> CodedText:
    """``encode`` applied to each distinct value once, then spread over the rows in Arrow
    (missing values are encoded as ``None``)."""
    if pd.api.types.is_float_dtype(values.dtype):
        # by bit pattern: 0.0 and -0.0 are one value to factorize, two to repr and json.dumps
        floats = values.to_numpy(dtype="float64", na_value=np.nan)
        missing = np.isnan(floats)
        codes, bits = pd.factorize(np.where(missing, 0, floats.view(np.int64)))
        codes[missing] = -1
        return _coded(bits.view(np.float64).tolist(), pa.array(codes, mask=missing), encode)
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    return _coded(list(uniques), pa.array(codes, mask=codes < 0), encode)


class CodedText(NamedTuple):
    """A text column kept as its distinct values and each row's position among them."""

    text: pa.Array  # large strings, no nulls
    codes: np.ndarray  # int64, one per row

    def spelled(self) -> pa.Array:
        """Each row's text."""
        return self.text.take(pa.array(self.codes))


def _coded(uniques: list[Any], positions: pa.Array, encode: Any) -> CodedText:
    """``encode`` of ``uniques[i]`` for each row whose position is ``i``; of ``None`` where the
    position is missing."""
    text = pa.array([*map(encode, uniques), encode(None)], type=pa.large_string())
    codes = positions.fill_null(len(uniques)).to_numpy(zero_copy_only=False)
    return CodedText(text, codes.astype(np.int64, copy=False))


def _joined_coded(parts: Sequence[CodedText], separator: str) -> pa.Array:
    """:func:`_joined` of coded columns. Neighbouring columns whose rows take few distinct
    pairs of values (a place's code, name and level; a period and its type) are joined on their
    distinct pairs and the rows then take the pair's text: joining strings row by row costs more
    than finding the pairs on integer codes (the counts CSV's 12 columns are joined as 2: a
    year's text is built in 1.45 s of CPU instead of 2.1-2.5 s)."""
    blocks: list[CodedText] = []
    for part in parts:
        folded = _folded(blocks[-1], part, separator) if blocks else None
        if folded is None:
            blocks.append(part)
        else:
            blocks[-1] = folded
    return _joined(*(b.spelled() for b in blocks), separator)


def _folded(left: CodedText, right: CodedText, separator: str) -> CodedText | None:
    """``left`` and ``right`` joined as one coded column, if their rows take few distinct pairs
    of values (at most half as many as there are rows); else ``None``."""
    rows, width = len(left.codes), len(right.text)
    most = max(rows // 2, 1)
    if len(left.text) > rows or width > rows:
        return None  # one side alone has more distinct values than there are rows
    keys = left.codes * width + right.codes
    if len(left.text) * width <= 4 * rows:
        # few possible pairs: found by marking them, no hashing
        seen = np.zeros(len(left.text) * width, dtype=bool)
        seen[keys] = True
        pairs = np.flatnonzero(seen)
        if len(pairs) > most:
            return None
        codes = (np.cumsum(seen) - 1)[keys]
    else:
        codes, pairs = pd.factorize(keys)
        if len(pairs) > most:
            return None
    text = _joined(left.text.take(pairs // width), right.text.take(pairs % width), separator)
    return CodedText(text, codes.astype(np.int64, copy=False))


def _joined(*parts: pa.Array | str) -> pa.Array:
    """Element-wise concatenation of string arrays and constants; the last part separates."""
    text = [p if isinstance(p, pa.Array) else pa.scalar(p, pa.large_string()) for p in parts]
    return pc.binary_join_element_wise(*text)


def _text_bytes(text: pa.Array) -> memoryview:
    """The UTF-8 bytes of a string array's values, back to back (no nulls)."""
    offsets = np.frombuffer(text.buffers()[1], dtype=np.int64)[text.offset :]
    data = text.buffers()[2]
    if data is None:
        return memoryview(b"")
    return memoryview(data)[int(offsets[0]) : int(offsets[len(text)])]


def hilbert_order(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """The row order ``spatially_sorted`` gives points at (lon, lat), without building them:
    the curve position is computed once per distinct place (a decade's ten million published
    points stand on about a million cell centroids) and spread to the rows."""
    if len(lon) == 0:
        return np.zeros(0, dtype=np.int64)
    lon_id, lons = pd.factorize(lon)
    lat_id, lats = pd.factorize(lat)
    place, distinct = pd.factorize(lon_id.astype(np.int64) * len(lats) + lat_id)
    distinct = np.asarray(distinct, dtype=np.int64)
    places = gpd.GeoSeries(shapely.points(lons[distinct // len(lats)], lats[distinct % len(lats)]))
    return np.argsort(places.hilbert_distance().to_numpy()[place], kind="stable")


def spatially_sorted(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Rows in Hilbert-curve order of their bounding boxes' centres (ties keep their order).

    Neighbours on the map become neighbours in the file, so a reader filtering by a bounding box
    skips most row groups by their bbox statistics.
    """
    if frame.empty:
        return frame
    order = np.argsort(frame.hilbert_distance().to_numpy(), kind="stable")
    return frame.iloc[order].reset_index(drop=True)


def write_pmtiles(
    frame: gpd.GeoDataFrame, path: Path, layer: str, min_zoom: int, max_zoom: int
) -> None:
    """Vector tiles (MVT in one PMTiles archive) for web maps, written by GDAL's driver.

    The same rows give the same bytes (checked by the reproducibility test).
    """
    import pyogrio

    path.unlink(missing_ok=True)
    pyogrio.write_dataframe(
        frame,
        path,
        driver="PMTiles",
        layer=layer,
        dataset_options={"MINZOOM": str(min_zoom), "MAXZOOM": str(max_zoom), "NAME": layer},
    )


def write_geoparquet(frame: gpd.GeoDataFrame, path: Path) -> None:
    """GeoParquet 1.1: WKB geometry, ``geo`` metadata and a bbox covering column."""
    frame.to_parquet(
        path,
        index=False,
        compression="zstd",
        schema_version="1.1.0",
        write_covering_bbox=True,
    )


POINT_ROW_GROUP = 131_072  # rows per row group: a map's bbox filter skips the rest by statistics
_POINT_WKB = np.dtype([("order", "u1"), ("type", "<u4"), ("x", "<f8"), ("y", "<f8")])


@functools.cache
def _wgs84_projjson_text() -> str:
    return (Path(__file__).parent / "wgs84.projjson").read_text(encoding="utf-8")


def wgs84_projjson() -> dict[str, Any]:
    """WGS84 as the point files declare it: PROJ's ``EPSG:4326`` with its datum ensemble,
    without the ensemble members' ids, as GDAL and geopandas write it (older PROJ versions
    fail on ids added since: https://github.com/opengeospatial/geoparquet/discussions/110).

    Kept in a file rather than asked of PROJ each time: PROJ answers ``EPSG:4326`` from a cache
    that identifying another CRS as EPSG:4326 fills with another form (a datum, not the
    ensemble), so the bytes written depended on what the process had done before."""
    parsed: dict[str, Any] = json.loads(_wgs84_projjson_text())
    return parsed


def write_point_geoparquet(table: pa.Table, path: Path) -> None:
    """GeoParquet 1.1 of the WGS84 points at the ``lon``/``lat`` columns of ``table`` (kept as
    columns): the columns, then a WKB ``geometry`` and its ``bbox`` covering, as
    ``write_geoparquet`` writes them. Built from the coordinate arrays a row group at a time,
    with no geometry objects: a decade's ten million points would take 2.4 GiB as shapely's."""
    lon = table["lon"].to_numpy()
    lat = table["lat"].to_numpy()
    projjson = wgs84_projjson()
    column: dict[str, Any] = {
        "encoding": "WKB",
        "crs": projjson,
        "geometry_types": ["Point"] if len(table) else [],
        "covering": {"bbox": {k: ["bbox", k] for k in ("xmin", "ymin", "xmax", "ymax")}},
    }
    if len(table):
        column["bbox"] = [float(lon.min()), float(lat.min()), float(lon.max()), float(lat.max())]
    geo = {"primary_column": "geometry", "columns": {"geometry": column}, "version": "1.1.0"}
    geometry = pa.field(
        "geometry",
        pa.binary(),
        metadata={
            "ARROW:extension:name": "geoarrow.wkb",
            "ARROW:extension:metadata": json.dumps({"crs": projjson}),
        },
    )
    bbox = pa.struct([(k, pa.float64()) for k in ("xmin", "ymin", "xmax", "ymax")])
    plain = [
        pa.field(f.name, f.type.value_type) if pa.types.is_dictionary(f.type) else f
        for f in table.schema
    ]
    schema = pa.schema(
        [*plain, geometry, pa.field("bbox", bbox)], metadata={"geo": json.dumps(geo)}
    )
    with pq.ParquetWriter(path, schema, compression="zstd", write_statistics=True) as writer:
        for start in range(0, max(len(table), 1), POINT_ROW_GROUP):
            part = slice(start, start + POINT_ROW_GROUP)
            x, y = lon[part], lat[part]
            wkb = np.empty(len(x), dtype=_POINT_WKB)
            wkb["order"], wkb["type"], wkb["x"], wkb["y"] = 1, 1, x, y  # little-endian Point
            offsets = np.arange(len(x) + 1, dtype=np.int32) * _POINT_WKB.itemsize
            columns = [
                *(
                    c.cast(f.type)
                    for c, f in zip(table.slice(start, len(x)).columns, plain, strict=True)
                ),
                pa.Array.from_buffers(
                    pa.binary(), len(x), [None, pa.py_buffer(offsets), pa.py_buffer(wkb)]
                ),
                pa.StructArray.from_arrays([x, y, x, y], fields=list(bbox)),
            ]
            writer.write_table(pa.Table.from_arrays(columns, schema=schema))


def rfc7946_geometry(geometry: shapely.Geometry) -> dict[str, Any]:
    oriented = shapely.orient_polygons(geometry, exterior_cw=False)
    rounded = shapely.transform(oriented, lambda xy: np.round(xy, GEOJSON_DECIMALS))
    mapping: dict[str, Any] = shapely.geometry.mapping(rounded)
    return json.loads(json.dumps(mapping))  # tuples → lists


def _json_value(value: Any) -> Any:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def write_geojson(frame: gpd.GeoDataFrame, path: Path) -> str:
    """``frame`` as a GeoJSON FeatureCollection (RFC 7946); returns the file's SHA-256."""
    if frame.crs is None or frame.crs.to_epsg() != 4326:
        raise ValueError("GeoJSON (RFC 7946) must be written in WGS84 (EPSG:4326)")
    properties = [c for c in frame.columns if c != frame.geometry.name]
    geometries = frame.geometry.values
    simple_points = (shapely.get_type_id(geometries) == 0) & ~shapely.is_empty(geometries)
    if len(frame) and bool(np.all(simple_points)):
        xy = shapely.get_coordinates(geometries)
        table = frame[properties]
        return _write_collection(
            (
                _point_features(
                    table.iloc[start : start + POINT_CHUNK_ROWS],
                    xy[start : start + POINT_CHUNK_ROWS],
                )
                for start in range(0, len(table), POINT_CHUNK_ROWS)
            ),
            path,
        )
    # the bytes of json.dumps of each feature, its properties built a column at a time (a
    # municipality layer has 390 of them: a Python object per value took 2.3 s)
    shapes = pa.array(
        [
            "null"
            if geometry is None
            else json.dumps(
                rfc7946_geometry(geometry),
                ensure_ascii=False,
                separators=(",", ":"),
                allow_nan=False,
            )
            for geometry in geometries
        ],
        type=pa.large_string(),
    )
    features = _joined(
        '{"type":"Feature","properties":{',
        _properties_text(frame[properties]),
        '},"geometry":',
        shapes,
        "},",
        "",
    )
    return _write_collection([features], path)


_COLLECTION_START = '{"type":"FeatureCollection","features":['
_COLLECTION_END = "]}\n"
POINT_CHUNK_ROWS = 1 << 18  # features built at once: tens of megabytes of text, memory used again


def write_point_geojson(table: pa.Table, path: Path) -> str:
    """The points at the ``lon``/``lat`` columns of ``table`` as a GeoJSON FeatureCollection in
    WGS84, the other columns as properties: the bytes ``write_geojson`` writes for the same
    points as geometries, built from the coordinate arrays. Returns the file's SHA-256."""
    properties = table.drop_columns(["lon", "lat"])
    return _write_collection(
        (
            _point_features(
                properties.slice(start, POINT_CHUNK_ROWS).to_pandas(),
                np.column_stack(
                    [
                        table["lon"].slice(start, POINT_CHUNK_ROWS).to_numpy(),
                        table["lat"].slice(start, POINT_CHUNK_ROWS).to_numpy(),
                    ]
                ),
            )
            for start in range(0, len(table), POINT_CHUNK_ROWS)
        ),
        path,
    )


def _write_collection(chunks: Iterable[pa.Array], path: Path) -> str:
    """A FeatureCollection of feature texts, each followed by a comma, a chunk at a time: a
    decade's points are about 10 million features, over 2 GB of text, never held at once.
    Returns the file's SHA-256."""
    with StreamedFile(path) as out:
        out.write(_COLLECTION_START.encode("utf-8"))
        comma = b""  # each chunk's last comma, written once another feature follows it
        for features in chunks:
            text = _text_bytes(features)
            if len(text):
                out.write(comma)
                out.write(text[:-1])
                comma = text[-1:].tobytes()
        out.write(_COLLECTION_END.encode("utf-8"))
    return out.sha256


def _point_features(table: pd.DataFrame, xy: np.ndarray) -> pa.Array:
    """Each point's feature text followed by a comma, built a column at a time in Arrow: each
    distinct value is encoded once (a point layer of a million rows has few distinct cells,
    months and groups)."""
    xy = np.round(xy, GEOJSON_DECIMALS)
    return _joined(
        '{"type":"Feature","properties":{',
        _properties_text(table),
        '},"geometry":{"type":"Point","coordinates":[',
        _json_text(pd.Series(xy[:, 0])).spelled(),
        ",",
        _json_text(pd.Series(xy[:, 1])).spelled(),
        "]}},",
        "",
    )


def _properties_text(table: pd.DataFrame) -> pa.Array | str:
    """Each row's GeoJSON properties as ``json.dumps`` writes them, without the braces. (Not
    joined on distinct pairs as the CSV rows are: a point's properties and place vary too much
    together for that to pay.)"""
    pairs = [
        _json_text(table[c], json.dumps(c, ensure_ascii=False) + ":").spelled()
        for c in table.columns
    ]
    return _joined(*pairs, ",") if pairs else ""


def _json_text(values: pd.Series, prefix: str = "") -> CodedText:
    """Each value as JSON after ``prefix``, each distinct value encoded once."""
    return _by_distinct_value(
        values,
        lambda v: prefix + json.dumps(_json_value(v), ensure_ascii=False, allow_nan=False),
    )
