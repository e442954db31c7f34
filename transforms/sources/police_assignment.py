"""The police's assignment of municipalities to police units (the ``OOP_dislokace.xlsx`` format).

One sheet, columns ``OBEC, OKRES, KRAJ, OOP`` (municipality, district, region, unit), under a
header row. Above the header the file lists the cities several units police (Prague, Brno,
Ostrava, Plzeň) with their city directorate: no one unit holds them, so they are kept apart
(``whole=False``) and left to the overlay.
"""

from __future__ import annotations

import io

import pandas as pd

from transforms.sources.text import SchemaError

HEADER = ["OBEC", "OKRES", "KRAJ", "OOP"]
COLUMNS = ["municipality_name", "district_name", "region_name", "unit_name", "whole"]


def read_unit_assignment(data: bytes) -> pd.DataFrame:
    """The table's rows as ``municipality_name, district_name, region_name, unit_name, whole``
    (names trimmed; ``whole``: the municipality belongs to that one unit)."""
    try:
        sheet = pd.read_excel(io.BytesIO(data), header=None, dtype=str).fillna("")
    except (ValueError, OSError) as error:
        raise SchemaError(f"not a readable unit assignment workbook ({error})") from None
    sheet = sheet.iloc[:, :4].apply(lambda column: column.str.strip())
    headers = sheet.index[(sheet.apply(lambda row: list(row) == HEADER, axis=1))]
    if len(headers) != 1:
        raise SchemaError(f"unit assignment: no single header row {HEADER} found")
    at = sheet.index.get_loc(headers[0])
    rows = pd.concat(
        [sheet.iloc[:at].assign(whole=False), sheet.iloc[at + 1 :].assign(whole=True)],
        ignore_index=True,
    ).set_axis(COLUMNS, axis=1)
    rows = rows[(rows["municipality_name"] != "") & (rows["unit_name"] != "")]
    return rows.reset_index(drop=True)
