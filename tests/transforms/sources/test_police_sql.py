"""The police SQL source against real databases: a SQLite file and a PostgreSQL database the test
fills from the sample's open-data months, then reads back by month."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from tests.postgres import sqlalchemy_url as postgres_url
from tests.postgres import temporary_database
from transforms.domain.periods import Month
from transforms.plumbing.settings import PoliceSqlLayout
from transforms.sources.czech_police import read_month_zip
from transforms.sources.police_sql import (
    RECORD_TYPES,
    SourceDatabaseError,
    month_archive,
    sqlalchemy_url,
)

MONTHS = (Month(2025, 1), Month(2025, 2))


def sample_member(sample_dir: Path, month: Month, name: str) -> pd.DataFrame:
    with zipfile.ZipFile(sample_dir / "police" / f"{month.compact}.zip") as archive:
        return pd.read_csv(io.BytesIO(archive.read(name)), dtype="str", keep_default_na=False)


def records_of(sample_dir: Path, month: Month) -> pd.DataFrame:
    """The sample month's rows as a database holds them: typed, nulls as NULL. The sample's
    deliberately malformed rows (a 25th hour, a text id) cannot be stored in typed columns:
    a database never has them, so they are left out here."""
    raw = sample_member(sample_dir, month, f"{month.compact}.csv")

    def number(column: str) -> pd.Series:
        return pd.to_numeric(raw[column].replace("", None), errors="coerce")

    typed = pd.DataFrame(
        {
            "id": number("id"),
            "x": number("x"),
            "y": number("y"),
            "mp": raw["mp"].map({"true": True, "false": False}),
            "date": pd.to_datetime(raw["date"], format="%Y-%m-%d %H:%M:%S", errors="coerce"),
            "state": number("state").astype("Int64"),
            "relevance": number("relevance").astype("Int64"),
            "types": number("types").astype("Int64"),
        }
    )
    storable = typed[["id", "x", "y", "date", "types"]].notna().all(axis=1)
    storable &= (typed["id"] % 1 == 0) & (raw["id"].str.strip() == raw["id"])
    return typed[storable].astype({"id": "int64"})


def fill(engine: sa.Engine, sample_dir: Path, rename: dict[str, str] | None = None) -> None:
    rename = rename or {}
    records = pd.concat([records_of(sample_dir, m) for m in MONTHS], ignore_index=True)
    records = records.rename(columns=rename)
    types = {rename.get(k, k): v for k, v in RECORD_TYPES.items()}
    records.to_sql("incidents", engine, index=False, dtype=types, if_exists="replace")
    for kind in ("types", "states", "relevance"):
        table = sample_member(sample_dir, MONTHS[0], f"{kind}.csv").replace("", None)
        for column in ("id", "parent_id1", "parent_id2", "parent_id3"):
            if column in table:
                table[column] = pd.to_numeric(table[column]).astype("Int64")
        table.to_sql(kind, engine, index=False, if_exists="replace")


def sqlite_engine(tmp_path: Path) -> sa.Engine:
    return sa.create_engine(f"sqlite:///{tmp_path / 'police.db'}")


@pytest.fixture
def postgres_engine() -> Iterator[sa.Engine]:
    with temporary_database("opencrime_police") as name:
        engine = sa.create_engine(postgres_url(name))
        try:
            yield engine
        finally:
            engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def police_db(request: pytest.FixtureRequest, tmp_path: Path, sample_dir: Path) -> sa.Engine:
    engine = (
        sqlite_engine(tmp_path)
        if request.param == "sqlite"
        else request.getfixturevalue("postgres_engine")
    )
    fill(engine, sample_dir)
    return engine


def canonical_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows compared by value: the database may order them differently from the file."""
    columns = ["id", "x", "y", "mp", "date", "state", "relevance", "types"]
    out = frame[columns].astype("str")
    out["x"] = out["x"].astype(float).round(6).astype(str)
    out["y"] = out["y"].astype(float).round(6).astype(str)
    return out.sort_values(["id", "types"]).reset_index(drop=True)


def as_open_data_text(typed: pd.DataFrame) -> pd.DataFrame:
    """What the open-data file would say for these stored rows."""
    text = typed.astype("str").replace({"<NA>": "", "nan": ""})
    text["mp"] = typed["mp"].map({True: "true", False: "false"}).fillna("")
    text["date"] = typed["date"].dt.strftime("%Y-%m-%d %H:%M:%S")
    return text


@pytest.mark.parametrize("month", MONTHS, ids=str)
def test_a_month_read_from_the_database_equals_its_open_data_rows(
    police_db: sa.Engine, sample_dir: Path, month: Month
) -> None:
    from_db = read_month_zip(month_archive(police_db, month), month)
    # the database answers by date: a row the police filed in another month's file is
    # found in the month it happened
    stored = pd.concat([records_of(sample_dir, m) for m in MONTHS], ignore_index=True)
    start = pd.Timestamp(month.first_day)
    stored = stored[
        (stored["date"] >= start) & (stored["date"] < pd.Timestamp(month.next().first_day))
    ]
    assert from_db.records.input_rows == len(stored) > 1000
    assert len(from_db.records.quarantine) == 0  # a typed database holds no malformed lines
    pd.testing.assert_frame_equal(
        canonical_rows(from_db.records.frame), canonical_rows(as_open_data_text(stored))
    )
    from_file = read_month_zip((sample_dir / "police" / f"{month.compact}.zip").read_bytes(), month)
    assert from_db.code_lists == from_file.code_lists  # the same code lists, read from tables


def test_the_data_interval_bounds_the_rows(police_db: sa.Engine) -> None:
    edge = pd.DataFrame(
        {
            "id": [1, 2],
            "x": [14.4, 14.4],
            "y": [50.1, 50.1],
            "mp": [False, False],
            "date": pd.to_datetime(["2025-01-31 23:59:59", "2025-02-01 00:00:00"]),
            "state": [1, 1],
            "relevance": [1, 1],
            "types": [20, 20],
        }
    )
    edge.to_sql("incidents", police_db, index=False, if_exists="append", dtype=RECORD_TYPES)
    january = read_month_zip(month_archive(police_db, MONTHS[0]), MONTHS[0]).records.frame
    february = read_month_zip(month_archive(police_db, MONTHS[1]), MONTHS[1]).records.frame
    assert "1" in set(january["id"]) and "2" not in set(january["id"])
    assert "2" in set(february["id"]) and "1" not in set(february["id"])


def test_same_rows_give_the_same_bytes_whatever_the_chunk_size(police_db: sa.Engine) -> None:
    whole = month_archive(police_db, MONTHS[0], chunk_rows=50_000)
    assert month_archive(police_db, MONTHS[0], chunk_rows=7) == whole
    assert month_archive(police_db, MONTHS[0]) == whole  # a re-run: the same snapshot


def test_a_force_database_with_its_own_column_names_is_mapped(
    tmp_path: Path, sample_dir: Path
) -> None:
    default = sqlite_engine(tmp_path)
    fill(default, sample_dir)
    own = sa.create_engine(f"sqlite:///{tmp_path / 'own.db'}")
    fill(own, sample_dir, rename={"id": "udalost_id", "date": "datum", "types": "typ"})
    layout = PoliceSqlLayout(record_columns={"id": "udalost_id", "date": "datum", "types": "typ"})
    assert month_archive(own, MONTHS[0], layout) == month_archive(default, MONTHS[0])


def test_a_missing_table_is_a_clear_error(tmp_path: Path) -> None:
    empty = sqlite_engine(tmp_path)
    with pytest.raises(SourceDatabaseError, match="reading 2025-01 from the police database"):
        month_archive(empty, MONTHS[0])


def test_airflow_connection_fields_become_a_sqlalchemy_url() -> None:
    assert (
        sqlalchemy_url("postgres", "db.police", "reader", "p@ss/word", "stats", 5432)
        == "postgresql+psycopg2://reader:p%40ss%2Fword@db.police:5432/stats"
    )
    assert sqlalchemy_url("sqlite", "/data/police.db") == "sqlite:////data/police.db"
    assert sqlalchemy_url("mssql", extra={"sqlalchemy_url": "mssql+pyodbc://x"}) == (
        "mssql+pyodbc://x"
    )
    with pytest.raises(SourceDatabaseError, match="not supported"):
        sqlalchemy_url("oracle", "host")
