"""``datapackage.json``: the release as a Frictionless Data Package.

Tabular files get a Table Schema derived from the published JSON Schema in ``output_schemas/``
(one place defines each column); every other file is a ``file`` resource. Each resource carries
its SHA-256 and size, so ``frictionless validate datapackage.json`` checks the bytes as well as the
table contents.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from transforms.storage import sha256_file

JSON_TO_TABLE_TYPES = {"string": "string", "integer": "integer", "number": "number"}
TEXT_FORMATS = {"csv", "geojson", "json", "jsonld", "yaml"}
CONSTRAINTS = ("minimum", "maximum", "minLength", "maxLength", "pattern")
MEDIA_TYPES = {
    "csv": "text/csv",
    "parquet": "application/vnd.apache.parquet",
    "geojson": "application/geo+json",
    "json": "application/json",
    "jsonld": "application/ld+json",
    "yaml": "application/yaml",
    "pmtiles": "application/vnd.pmtiles",
}


@dataclass(frozen=True)
class Licence:
    name: str  # an SPDX id, e.g. CC-BY-4.0
    title: str
    path: str  # the licence text's URL


@dataclass(frozen=True)
class ReleaseFile:
    name: str  # resource name: lowercase, digits, - . _
    path: str  # relative to the release folder
    title: str
    description: str
    schema: Mapping[str, Any] | None = None  # JSON Schema of one row, for a CSV table


def table_schema(json_schema: Mapping[str, Any]) -> dict[str, Any]:
    """A Frictionless Table Schema from the JSON Schema of one row (same fields, same order)."""
    required = set(json_schema.get("required", []))
    fields = []
    for name, spec in json_schema["properties"].items():
        types = spec.get("type", "string")
        types = [types] if isinstance(types, str) else list(types)
        nullable = "null" in types
        concrete = [t for t in types if t != "null"]
        field: dict[str, Any] = {"name": name, "type": JSON_TO_TABLE_TYPES[concrete[0]]}
        if "description" in spec:
            field["description"] = spec["description"]
        constraints = {k: spec[k] for k in CONSTRAINTS if k in spec}
        if "enum" in spec:
            constraints["enum"] = [v for v in spec["enum"] if v is not None]
        if name in required and not nullable:
            constraints["required"] = True
        if constraints:
            field["constraints"] = constraints
        fields.append(field)
    return {"fields": fields, "missingValues": [""]}


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
) -> dict[str, Any]:
    """The descriptor for ``files`` already written in ``folder``."""
    resources = []
    for item in files:
        path = folder / item.path
        suffix = path.suffix.lstrip(".")
        resource: dict[str, Any] = {
            "name": item.name,
            "path": item.path,
            "title": item.title,
            "description": item.description,
            "format": suffix,
            "mediatype": MEDIA_TYPES[suffix],
            "bytes": path.stat().st_size,
            "hash": f"sha256:{sha256_file(path)}",
        }
        if suffix in TEXT_FORMATS:
            resource["encoding"] = "utf-8"
        if item.schema is not None:
            resource |= {"type": "table", "schema": table_schema(item.schema)}
        else:
            resource["type"] = "file"
        resources.append(resource)
    return {
        "name": name,
        "id": f"{name}/{version}",
        "version": version,
        "title": title,
        "description": description,
        "licenses": [{"name": licence.name, "title": licence.title, "path": licence.path}],
        "sources": [dict(s) for s in sources],
        "resources": resources,
    }
