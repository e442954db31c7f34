"""Police of the Czech Republic, "Mapa kriminality" open data: monthly records and their code lists.

Formats (see docs/sources.md for what is certain and what is inferred):

- ``{YYYYMM}.zip``: ``{YYYYMM}.csv`` (``id,x,y,mp,date,state,relevance,types``, read by header, one
  row per offence type) plus the code lists ``types.csv``, ``states.csv``, ``relevance.csv``.
- ``{YYYYMM}.geojson``: one feature per incident, ``types`` a list of codes.
- ``types.json``/``states.json``/``relevance.json``: the national code-list JSON form
  ``{"polozky": [{"kod": …, "nazev": {"cs": …}, "popis": {"cs": …}}]}``.

Codes are always joined with the code lists of the same download: the ``states`` list is known to
change between releases.

The package reads a month in four steps, a module each: ``codes`` (the code lists), ``download``
(the archive and its record file), ``screening`` (every check made before the placement) and
``canonical`` (placed, in the canonical schema). What callers use is named here.
"""

from transforms.sources.czech_police.canonical import CANONICAL_COLUMNS, canonicalise, finish
from transforms.sources.czech_police.codes import (
    CODE_LIST_NAMES,
    OffenceTypes,
    PoliceCodeLists,
    code_lists_from_frames,
    read_code_list_csv,
    read_code_list_json,
)
from transforms.sources.czech_police.download import (
    COLUMN_ALIASES,
    RECORD_COLUMNS,
    REQUIRED_COLUMNS,
    CorruptDownloadError,
    PoliceDownload,
    RawRecords,
    export_changes,
    read_month_zip,
    read_records_csv,
    read_records_geojson,
)
from transforms.sources.czech_police.screening import IdIndex, Locator, Screened, screen
from transforms.sources.text import SchemaError

__all__ = [
    "CANONICAL_COLUMNS",
    "CODE_LIST_NAMES",
    "COLUMN_ALIASES",
    "RECORD_COLUMNS",
    "REQUIRED_COLUMNS",
    "CorruptDownloadError",
    "IdIndex",
    "Locator",
    "OffenceTypes",
    "PoliceCodeLists",
    "PoliceDownload",
    "RawRecords",
    "SchemaError",
    "Screened",
    "canonicalise",
    "code_lists_from_frames",
    "export_changes",
    "finish",
    "read_code_list_csv",
    "read_code_list_json",
    "read_month_zip",
    "read_records_csv",
    "read_records_geojson",
    "screen",
]
