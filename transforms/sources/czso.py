"""Population from the Czech Statistical Office (ČSÚ) open data, in its tidy CSV form.

One value per row in ``hodnota``; the territory in ``vuzemi_cis`` (code list: 43 = municipality,
101 = district, 100 = region) and ``vuzemi_kod``; the reference date in ``casref_do``; sex in
``pohlavi_kod`` (empty = both sexes).
"""

from __future__ import annotations

import io

import pandas as pd

from transforms.domain.geography import Population
from transforms.sources.text import SchemaError, decode

MUNICIPALITY_CODE_LIST = "43"
REQUIRED = ("hodnota", "vuzemi_cis", "vuzemi_kod")


def read_population_csv(data: bytes, basis: str) -> Population:
    frame = pd.read_csv(io.BytesIO(decode(data).text_bytes), dtype="str", keep_default_na=False)
    frame.columns = [c.strip().lower() for c in frame.columns]
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise SchemaError(f"population CSV: column(s) {missing} missing; columns: {list(frame)}")
    rows = frame[frame["vuzemi_cis"].str.strip() == MUNICIPALITY_CODE_LIST]
    if "pohlavi_kod" in rows.columns:
        rows = rows[rows["pohlavi_kod"].str.strip() == ""]
    if "vek_kod" in rows.columns:
        rows = rows[rows["vek_kod"].str.strip() == ""]
    date_column = next((c for c in ("casref_do", "rok", "obdobi") if c in rows.columns), None)
    if date_column is None:
        raise SchemaError("population CSV: no reference date column (casref_do, rok or obdobi)")
    latest = rows[date_column].max()
    rows = rows[rows[date_column] == latest]
    codes = rows["vuzemi_kod"].str.strip().str.zfill(6)
    if codes.duplicated().any():
        dupes = sorted(codes[codes.duplicated()].unique())[:5]
        raise SchemaError(f"population CSV: several totals for municipalities {dupes}")
    values = pd.to_numeric(rows["hodnota"], errors="coerce")
    if values.isna().any():
        raise SchemaError("population CSV: a municipality total is not a number")
    return Population(
        by_municipality=dict(zip(codes, values.astype("int64"), strict=True)),
        reference_date=str(latest),
        basis=basis,
    )
