"""The codes a release uses, with their names: what a journalist types into an extract request.

Read from a published release (its counts table), so every code listed is one the release holds
and its names are the published ones; nothing here comes from an unpublished input.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pandas as pd

CODE_COLUMNS = ["kind", "level", "code", "name"]


def release_codes(release: Path) -> pd.DataFrame:
    """Every unit and offence code of the release in ``release`` (a release folder), with its
    level and name: units first (country → municipality), then offences (total → type)."""
    counts = pd.read_parquet(
        release / "counts.parquet",
        columns=[
            "geo_level",
            "geo_code",
            "geo_name",
            "offence_level",
            "offence_code",
            "offence_name",
        ],
    )
    units = counts[["geo_level", "geo_code", "geo_name"]].drop_duplicates()
    offences = counts[["offence_level", "offence_code", "offence_name"]].drop_duplicates()
    frames = [
        units.set_axis(["level", "code", "name"], axis=1).assign(kind="unit"),
        offences.set_axis(["level", "code", "name"], axis=1).assign(kind="offence"),
    ]
    return pd.concat(frames, ignore_index=True)[CODE_COLUMNS].astype(str)


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
