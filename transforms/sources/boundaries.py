"""Administrative boundaries from any OGR format (GeoPackage, Shapefile, GeoJSON, GML) via pyogrio.

The default layer mapping follows RÚIAN (ČÚZK, CC BY 4.0): regions (VÚSC), districts (okresy)
and municipalities (obce), each with ``kod``, ``nazev`` and the parent's code. Field names are
matched case-insensitively, so the ČÚZK Shapefile export (``KOD``, ``NAZEV``, ``OKRES_KOD``) reads
with the same mapping.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from transforms.plumbing.errors import PermanentFailure
from transforms.sources.text import SchemaError


@dataclass(frozen=True)
class LayerSpec:
    level: str
    layer: str
    code: str
    name: str
    parent: str | None


RUIAN_LAYERS: tuple[LayerSpec, ...] = (
    LayerSpec("region", "vusc", "kod", "nazev", None),
    LayerSpec("district", "okresy", "kod", "nazev", "vusc_kod"),
    LayerSpec("municipality", "obce", "kod", "nazev", "okres_kod"),
)


class BoundaryFileError(PermanentFailure, ValueError):
    """The boundary file lacks a layer, a field or a coordinate reference system."""


def _code_text(values: pd.Series) -> pd.Series:
    """Codes are text with leading zeros; a float-typed export (``1214.0``) loses them: restore."""
    text = values.astype("str").str.strip().str.replace(r"\.0+$", "", regex=True)
    return text


def read_boundaries(path: Path, layers: tuple[LayerSpec, ...] = RUIAN_LAYERS) -> gpd.GeoDataFrame:
    """All levels as one frame ``code, name, level, parent_code, geometry`` in the file's CRS."""
    available = {name.lower(): name for name, _ in pyogrio.list_layers(path)}
    frames = []
    crs = None
    for spec in layers:
        if spec.layer.lower() not in available:
            raise BoundaryFileError(
                f"{path.name}: no layer {spec.layer!r} for level {spec.level}; "
                f"layers present: {sorted(available.values())}"
            )
        gdf = gpd.read_file(path, layer=available[spec.layer.lower()], engine="pyogrio")
        if gdf.crs is None:
            raise BoundaryFileError(
                f"{path.name}:{spec.layer} has no coordinate reference system; "
                "re-export it with its CRS (RÚIAN is EPSG:5514)"
            )
        if crs is not None and gdf.crs != crs:
            gdf = gdf.to_crs(crs)
        crs = gdf.crs
        fields = {c.lower(): c for c in gdf.columns}
        wanted = [spec.code, spec.name] + ([spec.parent] if spec.parent else [])
        missing = [f for f in wanted if f.lower() not in fields]
        if missing:
            raise SchemaError(
                f"{path.name}:{spec.layer}: field(s) {missing} missing; fields: {list(gdf.columns)}"
            )
        frames.append(
            gpd.GeoDataFrame(
                {
                    "code": _code_text(gdf[fields[spec.code.lower()]]),
                    "name": gdf[fields[spec.name.lower()]].astype("str").str.strip(),
                    "level": spec.level,
                    "parent_code": (
                        _code_text(gdf[fields[spec.parent.lower()]]) if spec.parent else None
                    ),
                },
                geometry=gdf.geometry.values,
                crs=gdf.crs,
            )
        )
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=crs)
