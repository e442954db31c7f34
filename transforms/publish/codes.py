"""The codes a release uses, with their names: what a journalist types into an extract request.

``codes.csv`` in every release lists each unit and offence code of its counts table with its
level (in Czech and English), its name as published and in English, and its parent (a unit's
district or region; an offence type's group, as the police's code list gives it). Codes and
names only: no figure, nothing a reader cannot read off the table, the police's public code
list and the project's translation of it.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

KEY_OFFENCE = ["offence_level", "offence_code", "offence_name"]
TEXT3 = pa.schema([("level", pa.string()), ("code", pa.string()), ("name", pa.string())])

CODE_COLUMNS = ["kind", "level", "code", "name"]
CODES_FILE_COLUMNS = ["kind", "level", "level_cs", "code", "name", "name_en", "parent_code"]
LEVELS_CS = {
    "country": "stát",
    "region": "kraj",
    "district": "okres",
    "municipality": "obec",
    "total": "souhrn",
    "group": "skupina",
    "type": "druh",
}
KEYS = {"unit": ["geo_level", "geo_code", "geo_name"], "offence": KEY_OFFENCE}


def distinct_codes(part: pa.Table) -> pa.Table:
    """The distinct (level, code, name) of units and of offences in a part of a counts table:
    what :func:`codes_table` needs of it, small whatever the part's size."""
    frames = []
    for kind, columns in KEYS.items():
        rows = part.select(columns).group_by(columns).aggregate([])
        rows = rows.rename_columns(["level", "code", "name"]).cast(TEXT3)
        frames.append(rows.append_column("kind", pa.array([kind] * rows.num_rows, pa.string())))
    return pa.concat_tables(frames)


def codes_table(
    parts: list[pa.Table],
    units: pd.DataFrame,
    offence_parents: dict[str, str],
    offence_names_en: dict[str, str] | None = None,
) -> pd.DataFrame:
    """``codes.csv``: the distinct codes of the parts (:func:`distinct_codes`), units first
    (country → municipality, by code), then offences (total → type, by code). ``units``: the
    geography's ``code`` and ``parent_code``; ``offence_parents``: a type's group code;
    ``offence_names_en``: an offence's English name (a unit's, and an offence's without one,
    is its published name)."""
    found = pa.concat_tables(parts).to_pandas().drop_duplicates(["kind", "level", "code"])
    parents = dict(zip(units["code"], units["parent_code"], strict=True))
    found["parent_code"] = [
        (parents if kind == "unit" else offence_parents).get(code)
        for kind, code in zip(found["kind"], found["code"], strict=True)
    ]
    found["level_cs"] = found["level"].map(LEVELS_CS)
    english = offence_names_en or {}
    found["name_en"] = [
        english.get(code, name) if kind == "offence" else name
        for kind, code, name in zip(found["kind"], found["code"], found["name"], strict=True)
    ]
    order = {level: i for i, level in enumerate(LEVELS_CS)}
    found = found.assign(_kind=found["kind"] != "unit", _level=found["level"].map(order))
    found = found.sort_values(["_kind", "_level", "code"], kind="stable")
    return found[CODES_FILE_COLUMNS].reset_index(drop=True)


def release_codes(release: Path) -> pd.DataFrame:
    """Every unit and offence code of the release in ``release`` (a release folder), with its
    level and name: units first (country → municipality), then offences (total → type). From
    its ``codes.csv``; a release made before it had one, from its counts."""
    if (release / "codes.csv").exists():
        codes = pd.read_csv(release / "codes.csv", dtype=str, keep_default_na=False)
        return codes[CODE_COLUMNS]
    columns = [*KEYS["unit"], *KEYS["offence"]]
    found = distinct_codes(pq.read_table(release / "counts.parquet", columns=columns))
    return found.to_pandas()[CODE_COLUMNS]


def folded(text: str) -> str:
    """``text`` without diacritics and case: ``Mladá Boleslav`` → ``mlada boleslav``."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def search_codes(codes: pd.DataFrame, text: str) -> pd.DataFrame:
    """The codes whose name contains ``text`` (diacritics and case ignored) or whose code
    starts with it."""
    wanted = folded(text.strip())
    names = codes["name"].map(folded)
    keep = names.str.contains(wanted, regex=False) | codes["code"].str.startswith(text.strip())
    return codes[keep].reset_index(drop=True)
