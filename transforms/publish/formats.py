"""Deterministic writers: the same table gives the same bytes, run after run.

No wall-clock time, no random ids, stable row and key order. GeoJSON follows RFC 7946: WGS84
lon/lat, counter-clockwise exterior rings, no ``crs`` member, coordinates rounded to 6 decimals
(about 0.1 m, finer than any published location).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import shapely

GEOJSON_DECIMALS = 6


def write_parquet(frame: pd.DataFrame, path: Path) -> None:
    with ParquetAppender(path) as file:
        file.append(frame)


class ParquetAppender:
    """One Parquet file written part by part (a release table a year at a time); the project's
    Parquet settings. Every part must have the first part's columns."""

    def __init__(self, path: Path):
        self.path = path
        self._writer: pq.ParquetWriter | None = None

    def append(self, frame: pd.DataFrame) -> None:
        table = pa.Table.from_pandas(frame, preserve_index=False)
        if self._writer is None:
            self._writer = pq.ParquetWriter(
                self.path, table.schema, compression="zstd", write_statistics=True
            )
        self._writer.write_table(table.cast(self._writer.schema))

    def __enter__(self) -> ParquetAppender:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._writer is not None:
            self._writer.close()


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

    def __init__(self, path: Path):
        self.path = path
        self._file: Any = None
        self._columns: list[str] = []

    def append(self, frame: pd.DataFrame) -> None:
        if self._file is None:
            self._file = self.path.open("wb")
            self._columns = [str(c) for c in frame.columns]
            self._file.write((",".join(map(_csv_field, self._columns)) + "\n").encode("utf-8"))
        if list(map(str, frame.columns)) != self._columns:
            raise ValueError(f"{self.path}: a part's columns differ from the first part's")
        if len(frame) and len(frame.columns):
            columns = [_by_distinct_value(frame[c], _csv_value) for c in frame.columns]
            self._file.write(_text_bytes(_joined(_joined(*columns, ","), "", "\n")))

    def __enter__(self) -> CsvAppender:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._file is not None:
            self._file.close()


def _csv_field(text: str) -> str:
    if any(c in text for c in ',"\n\r'):
        return '"' + text.replace('"', '""') + '"'
    return text


def _csv_value(value: Any) -> str:
    value = _json_value(value)
    return "" if value is None else _csv_field(str(value))


def _by_distinct_value(values: pd.Series, encode: Any) -> pa.Array:
    """``encode`` applied to each distinct value once, then spread over the rows in Arrow
    (missing values are encoded as ``None``)."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    text = pa.array([encode(v) for v in uniques] + [encode(None)], type=pa.large_string())
    return text.take(pa.array(np.where(codes < 0, len(uniques), codes)))


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


def write_geojson(frame: gpd.GeoDataFrame, path: Path) -> None:
    if frame.crs is None or frame.crs.to_epsg() != 4326:
        raise ValueError("GeoJSON (RFC 7946) must be written in WGS84 (EPSG:4326)")
    properties = [c for c in frame.columns if c != frame.geometry.name]
    geometries = frame.geometry.values
    simple_points = (shapely.get_type_id(geometries) == 0) & ~shapely.is_empty(geometries)
    if len(frame) and bool(np.all(simple_points)):
        _write_point_collection(frame[properties], geometries, path)
        return
    features = [
        json.dumps(
            {
                "type": "Feature",
                "properties": {k: _json_value(v) for k, v in zip(properties, row, strict=True)},
                "geometry": None if geometry is None else rfc7946_geometry(geometry),
            },
            ensure_ascii=False,
            separators=(",", ":"),
            allow_nan=False,
        )
        for row, geometry in zip(frame[properties].itertuples(index=False), geometries, strict=True)
    ]
    path.write_bytes((_COLLECTION_START + ",".join(features) + _COLLECTION_END).encode("utf-8"))


_COLLECTION_START = '{"type":"FeatureCollection","features":['
_COLLECTION_END = "]}\n"
POINT_CHUNK_ROWS = 1_000_000


def _write_point_collection(table: pd.DataFrame, points: np.ndarray, path: Path) -> None:
    """A million features at a time: a decade's points are about 10 million features, over
    2 GB of text, which is never held at once."""
    with path.open("wb") as out:
        out.write(_COLLECTION_START.encode("utf-8"))
        for start in range(0, len(table), POINT_CHUNK_ROWS):
            chunk = slice(start, start + POINT_CHUNK_ROWS)
            out.write(_text_bytes(_point_features(table.iloc[chunk], points[chunk])))
        out.seek(-1, 1)  # the last feature's comma
        out.write(_COLLECTION_END.encode("utf-8"))


def _point_features(table: pd.DataFrame, points: np.ndarray) -> pa.Array:
    """Each point's feature text followed by a comma, built a column at a time in Arrow: each
    distinct value is encoded once (a point layer of a million rows has few distinct cells,
    months and groups)."""

    def encoded(values: pd.Series, key: str = "") -> pa.Array:
        return _by_distinct_value(
            values,
            lambda v: key + json.dumps(_json_value(v), ensure_ascii=False, allow_nan=False),
        )

    xy = np.round(shapely.get_coordinates(points), GEOJSON_DECIMALS)
    pairs = [encoded(table[c], json.dumps(c, ensure_ascii=False) + ":") for c in table.columns]
    properties = _joined(*pairs, ",") if pairs else ""
    return _joined(
        '{"type":"Feature","properties":{',
        properties,
        '},"geometry":{"type":"Point","coordinates":[',
        encoded(pd.Series(xy[:, 0])),
        ",",
        encoded(pd.Series(xy[:, 1])),
        "]}},",
        "",
    )
