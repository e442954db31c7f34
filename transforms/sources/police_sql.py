"""A police statistics database as the source of a month's records, read through SQLAlchemy.

Where a force gives the pipeline read access to its own database instead of publishing files, the
month's rows are read by the run's data interval (``date`` in ``[month start, next month start)``,
local time, as in the open-data files), streamed from the server in chunks, and written as the
same ``{YYYYMM}.zip`` the open-data download gives: the records CSV plus the code lists of the
same database. From there the month takes the usual path: an immutable snapshot named by its
SHA-256, parsing, quarantine, validation. Rows are ordered by id and the archive's timestamps are
fixed, so the same rows always give the same bytes, and a re-run of the month is idempotent.

The table and column names of each force's database differ: ``PoliceSqlLayout`` (a setting) maps
them.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator, Mapping
from datetime import date, datetime
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa

from transforms.domain.periods import Month
from transforms.plumbing.settings import PoliceSqlLayout
from transforms.sources.czech_police import CODE_LIST_NAMES, RECORD_COLUMNS

# The open-data code lists' columns, in the order the police files have them.
CODE_LIST_COLUMNS = {
    "types": ("id", "parent_id1", "parent_id2", "parent_id3", "name", "label"),
    "states": ("id", "label"),
    "relevance": ("id", "label"),
}
# Types of the record columns: they make each driver give Python values (SQLite's 0/1 a bool,
# its text timestamps a datetime), written then as the open-data files write them.
RECORD_TYPES: dict[str, sa.types.TypeEngine[Any]] = {
    "id": sa.BigInteger(),
    "x": sa.Float(),
    "y": sa.Float(),
    "mp": sa.Boolean(),
    "date": sa.DateTime(),
    "state": sa.Integer(),
    "relevance": sa.Integer(),
    "types": sa.Integer(),
}
FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # zip entries' timestamp: same rows, same bytes
DEFAULT_CHUNK_ROWS = 50_000


class SourceDatabaseError(RuntimeError):
    """The police database cannot be read as configured (connection, table or column)."""


def sqlalchemy_url(
    conn_type: str,
    host: str | None = None,
    login: str | None = None,
    password: str | None = None,
    schema: str | None = None,
    port: int | None = None,
    extra: Mapping[str, Any] | None = None,
) -> str:
    """A SQLAlchemy URL from the fields of an Airflow Connection.

    ``extra["sqlalchemy_url"]`` wins when given (any dialect SQLAlchemy knows); otherwise
    ``postgres`` and ``sqlite`` connections are translated (for SQLite, ``host`` is the file).
    """
    if extra and extra.get("sqlalchemy_url"):
        return str(extra["sqlalchemy_url"])
    if conn_type == "sqlite":
        if not host:
            raise SourceDatabaseError("a sqlite connection needs the database file as its host")
        return f"sqlite:///{host}"
    if conn_type in {"postgres", "postgresql"}:
        credentials = ""
        if login:
            credentials = quote(login, safe="")
            if password:
                credentials += ":" + quote(password, safe="")
            credentials += "@"
        where = f"{host or 'localhost'}{f':{port}' if port else ''}"
        return f"postgresql+psycopg2://{credentials}{where}/{schema or ''}"
    raise SourceDatabaseError(
        f"connection type {conn_type!r} is not supported: give the SQLAlchemy URL in the "
        "connection's extra as {'sqlalchemy_url': '…'}"
    )


def month_archive(
    engine: sa.Engine,
    month: Month,
    layout: PoliceSqlLayout | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> bytes:
    """The month's records and the code lists as the open-data ``{YYYYMM}.zip``."""
    layout = layout or PoliceSqlLayout()
    buffer = io.BytesIO()
    try:
        with engine.connect() as connection, zipfile.ZipFile(buffer, "w") as archive:
            _write_member(
                archive,
                f"{month.compact}.csv",
                RECORD_COLUMNS,
                _month_rows(connection, month, layout, chunk_rows),
            )
            for kind in CODE_LIST_NAMES:
                table = layout.code_list_tables.get(kind)
                if table:
                    rows = _table_rows(connection, table, CODE_LIST_COLUMNS[kind])
                    _write_member(archive, f"{kind}.csv", CODE_LIST_COLUMNS[kind], rows)
    except sa.exc.SQLAlchemyError as error:
        raise SourceDatabaseError(
            f"reading {month} from the police database failed: {error.__class__.__name__}: "
            f"{str(error).splitlines()[0]}"
        ) from None
    return buffer.getvalue()


def _month_rows(
    connection: sa.Connection, month: Month, layout: PoliceSqlLayout, chunk_rows: int
) -> Iterator[tuple[Any, ...]]:
    table = sa.table(layout.records_table)
    column = {
        name: sa.column(layout.record_columns.get(name, name), RECORD_TYPES[name])
        for name in RECORD_COLUMNS
    }
    columns = [column[name].label(name) for name in RECORD_COLUMNS]
    when, ident, types = column["date"], column["id"], column["types"]
    start = datetime.combine(month.first_day, datetime.min.time())
    end = datetime.combine(month.next().first_day, datetime.min.time())
    query = (
        sa.select(*columns)
        .select_from(table)
        .where(when >= start, when < end)
        .order_by(ident, types)
    )
    # streamed: the server sends chunks, the month never sits whole in this process
    result = connection.execution_options(stream_results=True, yield_per=chunk_rows).execute(query)
    for chunk in result.partitions(chunk_rows):
        yield from chunk


def _table_rows(
    connection: sa.Connection, table: str, columns: tuple[str, ...]
) -> Iterator[tuple[Any, ...]]:
    selected: list[Any] = [sa.column(c) for c in columns]
    query = sa.select(*selected).select_from(sa.table(table)).order_by(sa.column("id"))
    yield from connection.execute(query)


def _write_member(
    archive: zipfile.ZipFile,
    name: str,
    header: tuple[str, ...],
    rows: Iterator[tuple[Any, ...]],
) -> None:
    info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    with archive.open(info, "w") as member:
        text = io.TextIOWrapper(member, encoding="utf-8", newline="")
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow(header)
        for row in rows:
            writer.writerow([_field(value) for value in row])
        text.flush()
        text.detach()


def _field(value: Any) -> str:
    """A database value as the open-data files write it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)
