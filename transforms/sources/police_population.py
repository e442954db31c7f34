"""Population per police unit as mapakriminality.cz keeps it (``oop-with-pop.csv``): no header,
three columns ``0,<unit name>,<population>``, e.g. ``0,OOP Nový Jičín,44253.0``.

The NGO sums the census's usual residents over each unit's basic settlement units; a publisher
who wants the crime index to equal the NGO's gives this table beside the unit file.
"""

from __future__ import annotations

import io

import pandas as pd

from transforms.sources.text import SchemaError

COLUMNS = ["unit_name", "population"]


def read_unit_population(data: bytes) -> pd.DataFrame:
    """``unit_name, population`` (names trimmed; rows without a name left out), checked: three
    columns, a population that is a number of people, each name once."""
    try:
        frame = pd.read_csv(
            io.BytesIO(data), header=None, dtype=str, keep_default_na=False, encoding="utf-8"
        )
    except (ValueError, UnicodeDecodeError) as error:
        raise SchemaError(f"unit population: not a UTF-8 CSV ({error})") from None
    if frame.shape[1] != 3:
        raise SchemaError(
            f"unit population: {frame.shape[1]} columns, expected 3 (0,<unit name>,<population>)"
        )
    frame = frame.set_axis(["flag", *COLUMNS], axis=1)
    frame["unit_name"] = frame["unit_name"].str.strip()
    frame = frame[frame["unit_name"] != ""]
    population = pd.to_numeric(frame["population"], errors="coerce")
    bad = frame.loc[population.isna() | (population < 0), "unit_name"].tolist()
    if bad:
        raise SchemaError(f"unit population: no number of people for {bad[:5]}")
    twice = sorted(set(frame.loc[frame["unit_name"].duplicated(), "unit_name"]))
    if twice:
        raise SchemaError(f"unit population: {twice[:5]} listed more than once")
    return frame.assign(population=population)[COLUMNS].reset_index(drop=True)
