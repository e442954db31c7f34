"""GeoParquet 1.1 files (WKB geometry, ``geo`` metadata, a bbox covering column), rows in
Hilbert-curve order so that a reader filtering by a bounding box skips most row groups."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import shapely


def hilbert_order(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """The row order ``spatially_sorted`` gives points at (lon, lat), without building them:
    the curve position is computed once per distinct place (a decade's ten million published
    points stand on about a million cell centroids) and spread to the rows.

    Parameters
    ----------
    lon, lat : arrays of float
        WGS84 degrees (EPSG:4326).

    Returns
    -------
    array of int64
        The row positions in Hilbert-curve order (ties keep their order).
    """
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
