"""``datapackage.json``: the release as a Frictionless Data Package.

Tabular files get a Table Schema derived from the published JSON Schema in ``output_schemas/``
(one place defines each column); every other file is a ``file`` resource, and a Parquet or
GeoJSON one lists its columns (a feature's properties) with their descriptions in ``columns``,
from the same schemas. Each resource carries its SHA-256 and size, so
``frictionless validate datapackage.json`` checks the bytes as well as the table contents.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from transforms.domain.licences import Licence
from transforms.publish.contents import MEDIA_TYPES, TEXT_FORMATS, ReleaseFile

JSON_TO_TABLE_TYPES = {
    "string": "string",
    "integer": "integer",
    "number": "number",
    "boolean": "boolean",
}
CONSTRAINTS = ("minimum", "maximum", "minLength", "maxLength", "pattern")


def _types(spec: Mapping[str, Any]) -> list[str]:
    types = spec.get("type", "string")
    return [types] if isinstance(types, str) else list(types)


def _field(name: str, spec: Mapping[str, Any]) -> dict[str, Any]:
    """A Table Schema field from a JSON Schema property: its type and its descriptions (every
    field described in English and Czech; description_cs: a custom property)."""
    concrete = [t for t in _types(spec) if t != "null"]
    field: dict[str, Any] = {"name": name, "type": JSON_TO_TABLE_TYPES[concrete[0]]}
    for key in ("description", "description_cs"):
        if key in spec:
            field[key] = spec[key]
    return field


def table_schema(json_schema: Mapping[str, Any]) -> dict[str, Any]:
    """A Frictionless Table Schema from the JSON Schema of one row (same fields, same order)."""
    required = set(json_schema.get("required", []))
    fields = []
    for name, spec in json_schema["properties"].items():
        field = _field(name, spec)
        constraints = {k: spec[k] for k in CONSTRAINTS if k in spec}
        if "enum" in spec:
            constraints["enum"] = [v for v in spec["enum"] if v is not None]
        if name in required and "null" not in _types(spec):
            constraints["required"] = True
        if constraints:
            field["constraints"] = constraints
        fields.append(field)
    return {"fields": fields, "missingValues": [""]}


# the columns a GeoParquet file adds to its features' properties
GEOMETRY_COLUMNS = {
    "lon": ("the point's longitude, WGS84 degrees", "zeměpisná délka bodu, stupně WGS84"),
    "lat": ("the point's latitude, WGS84 degrees", "zeměpisná šířka bodu, stupně WGS84"),
    "geometry": ("the feature's geometry, WKB in WGS84", "geometrie prvku, WKB ve WGS84"),
    "bbox": (
        "the geometry's bounding box (GeoParquet 1.1 covering)",
        "obdélník ohraničující geometrii (GeoParquet 1.1 covering)",
    ),
}


def described_columns(
    json_schema: Mapping[str, Any], columns: Sequence[str]
) -> list[dict[str, Any]]:
    """Each of ``columns`` (a feature's properties, or a GeoParquet file's columns) with its
    type and descriptions from the properties' JSON Schema (a period's columns match one of its
    ``patternProperties``)."""
    patterns = [(re.compile(k), v) for k, v in json_schema.get("patternProperties", {}).items()]
    fields = []
    for column in columns:
        if column in GEOMETRY_COLUMNS:
            english, czech = GEOMETRY_COLUMNS[column]
            fields.append({"name": column, "description": english, "description_cs": czech})
            continue
        spec: Mapping[str, Any] = json_schema["properties"].get(column) or next(
            (v for pattern, v in patterns if pattern.search(column)), {}
        )
        fields.append(_field(column, spec))
    return fields


def _columns(folder: Path, item: ReleaseFile) -> list[str]:
    """A Parquet file's columns, or the properties of a GeoJSON file's features (its
    GeoParquet twin's columns but the geometry), read from the Parquet footer."""
    parquet = folder / item.path.replace(".geojson", ".parquet")
    columns = pq.read_schema(parquet).names
    if item.format == "geojson":
        columns = [c for c in columns if c not in GEOMETRY_COLUMNS]
    return columns


def data_package(
    folder: Path,
    *,
    name: str,
    version: str,
    title: str,
    description: str,
    licence: Licence,
    sources: Sequence[Mapping[str, str]],
    files: Sequence[ReleaseFile],
    schemas_dir: Path,
    digest: Callable[[Path], str],
) -> dict[str, Any]:
    """The descriptor for ``files`` written in ``folder``; row schemas are in ``schemas_dir``.
    ``digest`` gives a file's SHA-256 (e.g.
    :class:`transforms.plumbing.storage.FinishedFileDigests`)."""
    resources = []
    for item in files:
        path = folder / item.path
        resource: dict[str, Any] = {
            "name": item.name,
            "path": item.path,
            "title": item.title_en,
            "description": item.description,
            "format": item.format,
            "mediatype": MEDIA_TYPES[item.format],
            "bytes": path.stat().st_size,
            "hash": f"sha256:{digest(path)}",
        }
        if item.format in TEXT_FORMATS:
            resource["encoding"] = "utf-8"
        if item.schema is not None:
            row_schema = json.loads((schemas_dir / item.schema).read_text(encoding="utf-8"))
            resource |= {"type": "table", "schema": table_schema(row_schema)}
        else:
            resource["type"] = "file"
        if item.columns is not None:
            row = json.loads((schemas_dir / item.columns).read_text(encoding="utf-8"))
            resource["columns"] = described_columns(row, _columns(folder, item))
        resources.append(resource)
    return {
        "name": name,
        "id": f"{name}/{version}",
        "version": version,
        "title": title,
        "description": description,
        "licenses": [{"name": licence.id, "title": licence.title, "path": licence.url}],
        "sources": [dict(s) for s in sources],
        "resources": resources,
    }
