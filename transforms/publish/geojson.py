"""GeoJSON (RFC 7946): WGS84 lon/lat, counter-clockwise exterior rings, no ``crs`` member,
coordinates rounded to 6 decimals (about 0.1 m, finer than any published location); the same
rows give the same bytes."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import shapely

from transforms.plumbing.storage import StreamedFile
from transforms.publish.coded_text import (
    CodedText,
    by_distinct_value,
    joined,
    plain_value,
    text_bytes,
)

GEOJSON_DECIMALS = 6


PAGE_GRID_DEGREES = 1e-5  # about a metre: what a map on a page needs of a coordinate


def page_geometries(geometries: np.ndarray) -> list[dict[str, Any]]:
    """Geometries as GeoJSON mappings for a map on a page (a unit's, the national one), their
    coordinates snapped to :data:`PAGE_GRID_DEGREES`."""
    rounded = shapely.set_precision(geometries, PAGE_GRID_DEGREES)
    return [shapely.geometry.mapping(g) for g in rounded]


def rfc7946_geometry(geometry: shapely.Geometry) -> dict[str, Any]:
    oriented = shapely.orient_polygons(geometry, exterior_cw=False)
    rounded = shapely.transform(oriented, lambda xy: np.round(xy, GEOJSON_DECIMALS))
    mapping: dict[str, Any] = shapely.geometry.mapping(rounded)
    return json.loads(json.dumps(mapping))  # tuples → lists


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
    # municipality layer has 390 of them: not a Python object per value)
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
    features = joined(
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
            text = text_bytes(features)
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
    return joined(
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
    return joined(*pairs, ",") if pairs else ""


def _json_text(values: pd.Series, prefix: str = "") -> CodedText:
    """Each value as JSON after ``prefix``, each distinct value encoded once."""
    return by_distinct_value(
        values,
        lambda v: prefix + json.dumps(plain_value(v), ensure_ascii=False, allow_nan=False),
    )
