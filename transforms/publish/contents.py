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

    @property
    def format(self) -> str:
        return PurePosixPath(self.path).suffix.lstrip(".")

    @property
    def is_data(self) -> bool:
        return self.format in DATA_FORMATS
