"""What a release holds: one description per file, shared by every index of the release.

``datapackage.json`` describes every file; the DCAT-AP-CZ record lists the data files a catalogue
format code exists for; the portal page offers the data files for download. All three read the
same ``ReleaseFile`` entries, so a file added to a release is described once.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath

MEDIA_TYPES = {
    "csv": "text/csv",
    "parquet": "application/vnd.apache.parquet",
    "geojson": "application/geo+json",
    "pmtiles": "application/vnd.pmtiles",
    "json": "application/json",
    "jsonld": "application/ld+json",
    "yaml": "application/yaml",
}
TEXT_FORMATS = {"csv", "geojson", "json", "jsonld", "yaml"}
DATA_FORMATS = {"csv", "parquet", "geojson", "pmtiles"}  # the rest describes the data


@dataclass(frozen=True)
class ReleaseFile:
    name: str  # resource name: lowercase, digits, - . _
    path: str  # relative to the release folder
    title_cs: str
    title_en: str
    description: str  # English, for datapackage.json
    schema: str | None = None  # JSON Schema of one row in output_schemas/, for a CSV table
    # for a Parquet or GeoJSON file: the JSON Schema of one row (one feature's properties)
    columns: str | None = None

    @property
    def format(self) -> str:
        return PurePosixPath(self.path).suffix.lstrip(".")

    @property
    def is_data(self) -> bool:
        return self.format in DATA_FORMATS


AREAS_DESCRIPTION = (
    "polygons simplified for web maps (shared borders kept), with population and each "
    "period's published total and rate per 1,000 inhabitants."
)
RELEASE_FILES = [
    ReleaseFile(
        "counts",
        "counts.csv",
        "Počty trestných činů (CSV)",
        "Offence counts (CSV)",
        "Counts by unit, period and offence after disclosure control, with rates.",
        schema="counts.schema.json",
    ),
    ReleaseFile(
        "counts-parquet",
        "counts.parquet",
        "Počty trestných činů (Parquet)",
        "Offence counts (Parquet)",
        "The same table as counts.csv, typed, as Parquet.",
        columns="counts.schema.json",
    ),
    ReleaseFile(
        "changes",
        "changes.csv",
        "Změny údajů proti předchozímu vydání",
        "Figures changed since the previous release",
        "Every cell of the counts table whose published count or status differs from the "
        "previous release's (months both hold, and years over the same months), with what each "
        "release said; empty for a first release.",
        schema="changes.schema.json",
    ),
    ReleaseFile(
        "codes",
        "codes.csv",
        "Číselník kódů území a trestných činů (CSV)",
        "Codes of units and offences (CSV)",
        "Every unit and offence code of the counts table with its level (English and Czech), "
        "its name (as published, and in English) and its parent: a unit's region or district, "
        "an offence type's group.",
        schema="codes.schema.json",
    ),
    ReleaseFile(
        "incidents",
        "incidents.geojson",
        "Události v buňkách s nejméně k záznamy (GeoJSON)",
        "Incidents in cells of at least k records (GeoJSON)",
        "One point per k-anonymous class (grid cell or municipality, month, offence group) at "
        "the centroid of the cell or the municipality's representative point, with its number "
        "of `records` (at least k); sensitive offences are left out.",
        columns="incidents.schema.json",
    ),
    ReleaseFile(
        "incidents-geoparquet",
        "incidents.parquet",
        "Události v buňkách s nejméně k záznamy (GeoParquet)",
        "Incidents in cells of at least k records (GeoParquet 1.1)",
        "The same points as incidents.geojson, as GeoParquet 1.1.",
        columns="incidents.schema.json",
    ),
    *(
        ReleaseFile(
            f"{name}{suffix}",
            f"{name}.{extension}",
            f"{cs} s počty ({kind})",
            f"{en} with counts ({kind})",
            f"{en}: {AREAS_DESCRIPTION}",
            columns="areas.schema.json",
        )
        for name, cs, en in (
            ("municipalities", "Obce", "Municipalities"),
            ("districts", "Okresy", "Districts"),
            ("regions", "Kraje", "Regions"),
        )
        for suffix, extension, kind in (
            ("", "geojson", "GeoJSON"),
            ("-geoparquet", "parquet", "GeoParquet 1.1"),
        )
    ),
    ReleaseFile(
        "municipalities-tiles",
        "municipalities.pmtiles",
        "Obce s počty, vektorové dlaždice (PMTiles)",
        "Municipalities with counts, vector tiles (PMTiles)",
        "The municipality polygons as Mapbox Vector Tiles in a PMTiles archive, zoom 5-12: "
        "every municipality at every zoom, with its code, name, district, population and the "
        "latest year's count, status and rate. Other periods join by code to "
        "municipalities.geojson or counts.csv.",
    ),
    ReleaseFile(
        "incidents-tiles",
        "incidents.pmtiles",
        "Body událostí, vektorové dlaždice (PMTiles)",
        "Incident points, vector tiles (PMTiles)",
        "The incident points as Mapbox Vector Tiles in a PMTiles archive, zoom 5-14: one "
        "feature per k-anonymous class (grid cell or municipality, month, offence group) with "
        "its number of records.",
    ),
    ReleaseFile(
        "disclosure-policy",
        "disclosure-policy.yaml",
        "Pravidla ochrany obětí",
        "Disclosure policy",
        "The exact disclosure-control policy this release was produced under.",
    ),
    ReleaseFile(
        "catalogue-record",
        "catalog/dataset.jsonld",
        "Katalogizační záznam DCAT-AP-CZ",
        "DCAT-AP-CZ catalogue record",
        "The record a local open-data catalogue serves for this release (JSON-LD).",
    ),
    ReleaseFile(
        "audit",
        "audit.json",
        "Audit ochrany",
        "Disclosure audit",
        "The LP interval attack on every hidden cell: counts and widths, never values.",
    ),
]
