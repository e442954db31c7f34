"""Feedback reports in the project's database (``transforms.database``): stored once however
often they are sent (copies counted), each with its status and the history of it, and a rate
limit per client that holds across the api-server's workers (it is counted in the database).

A client is never stored as it came: its address is hashed with a secret of this installation,
enough to count its requests and nothing more.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

import sqlalchemy as sa

from transforms.feedback.intake import ReportRefused, ScreenedReport

metadata = sa.MetaData()
reports_table = sa.Table(
    "opencrime_feedback",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("fingerprint", sa.String(64), nullable=False, unique=True),
    sa.Column("release", sa.String(32), nullable=False),
    sa.Column("unit", sa.String(64), nullable=False),
    sa.Column("month", sa.String(7), nullable=False),
    sa.Column("offence_group", sa.String(64)),
    sa.Column("point_class", sa.String(64)),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("text", sa.Text, nullable=False),  # cleaned and redacted
    sa.Column("redacted", sa.Text, nullable=False),  # JSON: what was taken out, by mark
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("copies", sa.Integer, nullable=False),  # times it was sent
    sa.Column("contract_id", sa.String(64)),  # sent by a contracted self-government
    sa.Column("police_units", sa.Text),  # JSON: the units it was forwarded to
    sa.Column("answer", sa.Text),
    sa.Column("revised_in", sa.String(32)),  # the release in which its figure changed
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)
history_table = sa.Table(
    "opencrime_feedback_history",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("report_id", sa.Integer, sa.ForeignKey("opencrime_feedback.id"), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("note", sa.Text, nullable=False),
)
requests_table = sa.Table(
    "opencrime_feedback_requests",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("client", sa.String(64), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
)

RATE_WINDOW = timedelta(hours=1)


class Status(StrEnum):
    NEW = "new"
    FORWARDED = "forwarded"
    ANSWERED = "answered"
    CLOSED = "closed"


NEXT = {  # the statuses a report may move to from each
    Status.NEW: {Status.FORWARDED, Status.CLOSED},
    Status.FORWARDED: {Status.ANSWERED, Status.CLOSED},
    Status.ANSWERED: {Status.CLOSED},
    Status.CLOSED: set(),
}


class RateLimited(ReportRefused):
    """Too many reports from one client in the window: nothing of this one is stored."""


@dataclass(frozen=True)
class Stored:
    id: int
    copies: int  # 1: a new report; more: folded into one sent before


def client_key(address: str, secret: str) -> str:
    """What is kept of a client's address: a keyed hash, to count its requests."""
    return hashlib.sha256(f"{secret}\x1f{address}".encode()).hexdigest()


def submit(
    engine: sa.Engine,
    screened: ScreenedReport,
    client: str,
    limit: int,
    contract_id: str | None = None,
    now: datetime | None = None,
) -> Stored:
    """Store ``screened`` (or count one more copy of the same report), unless ``client`` sent
    ``limit`` reports in the last hour: then :class:`RateLimited`, and nothing is stored."""
    at = now or datetime.now(UTC)
    try:
        return _submit_once(engine, screened, client, limit, contract_id, at)
    except sa.exc.IntegrityError:
        # the same report, stored by another request between this one's look and its insert:
        # this one is a copy of it (the retry finds it)
        return _submit_once(engine, screened, client, limit, contract_id, at)


def _submit_once(
    engine: sa.Engine,
    screened: ScreenedReport,
    client: str,
    limit: int,
    contract_id: str | None,
    at: datetime,
) -> Stored:
    with engine.begin() as connection:
        # only the window is kept: an address is counted, never listed
        connection.execute(requests_table.delete().where(requests_table.c.at <= at - RATE_WINDOW))
        recent = connection.execute(
            sa.select(sa.func.count())
            .select_from(requests_table)
            .where(requests_table.c.client == client, requests_table.c.at > at - RATE_WINDOW)
        ).scalar_one()
        if recent >= limit:
            raise RateLimited(
                f"{recent} reports from this address in the last hour: at most {limit}; "
                "send the rest later"
            )
        connection.execute(requests_table.insert().values(client=client, at=at))
        table = reports_table
        known = connection.execute(
            sa.select(table.c.id, table.c.copies).where(table.c.fingerprint == screened.fingerprint)
        ).first()
        if known is not None:
            connection.execute(
                table.update().where(table.c.id == known.id).values(copies=known.copies + 1)
            )
            return Stored(known.id, known.copies + 1)
        r = screened.report
        report_id = connection.execute(
            table.insert().values(
                fingerprint=screened.fingerprint, release=r.release, unit=r.unit, month=r.month,
                offence_group=r.offence_group, point_class=r.point_class, kind=r.kind.value,
                text=screened.text, redacted=json.dumps(screened.redacted, sort_keys=True),
                status=Status.NEW.value, copies=1, contract_id=contract_id, received_at=at,
                updated_at=at,
            ).returning(table.c.id)
        ).scalar_one()  # fmt: skip
        connection.execute(
            history_table.insert().values(
                report_id=report_id, at=at, status=Status.NEW.value, note="received"
            )
        )
    return Stored(report_id, 1)


class UnknownReport(ReportRefused):
    """No report of that id."""


def move(
    engine: sa.Engine,
    report_id: int,
    status: Status,
    note: str,
    changes: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> None:
    """Move a report to ``status`` (only forward: :data:`NEXT`), with a note in its history;
    ``changes``: other columns set with it (the police units it went to, the answer)."""
    at = now or datetime.now(UTC)
    with engine.begin() as connection:
        row = connection.execute(
            sa.select(reports_table.c.status).where(reports_table.c.id == report_id)
        ).first()
        if row is None:
            raise UnknownReport(f"there is no report {report_id}")
        current = Status(row.status)
        if status not in NEXT[current]:
            raise ReportRefused(f"report {report_id} is {current}: it cannot become {status}")
        connection.execute(
            reports_table.update()
            .where(reports_table.c.id == report_id)
            .values(status=status.value, updated_at=at, **(changes or {}))
        )
        connection.execute(
            history_table.insert().values(
                report_id=report_id, at=at, status=status.value, note=note
            )
        )


def counts_for(engine: sa.Engine, unit: str) -> dict[str, int]:
    """How many reports were made about ``unit``, how many of them the police answered, and
    of how many the figure changed in a later release (counts only: what a unit's page may
    show of its feedback)."""
    answered = sa.func.sum(
        sa.case((reports_table.c.status == Status.ANSWERED.value, 1),
                (reports_table.c.answer.is_not(None), 1), else_=0)
    )  # fmt: skip
    revised = sa.func.count(reports_table.c.revised_in)
    with engine.connect() as connection:
        made, given, changed = connection.execute(
            sa.select(sa.func.count(), answered, revised).where(reports_table.c.unit == unit)
        ).one()
    return {"reports": int(made), "answered": int(given or 0), "revised": int(changed)}


def note_revision(
    engine: sa.Engine, report_id: int, release: str, note: str, now: datetime | None = None
) -> None:
    """Record that the figure of a report changed in ``release`` (its status stays)."""
    at = now or datetime.now(UTC)
    with engine.begin() as connection:
        status = connection.execute(
            sa.select(reports_table.c.status).where(reports_table.c.id == report_id)
        ).scalar_one()
        connection.execute(
            reports_table.update()
            .where(reports_table.c.id == report_id)
            .values(revised_in=release, updated_at=at)
        )
        connection.execute(
            history_table.insert().values(report_id=report_id, at=at, status=status, note=note)
        )


def reported_figures_revised_in(engine: sa.Engine, release: str) -> list[dict[str, Any]]:
    """The figures, each once, that reports named and that changed in ``release``: (the
    release reported about, unit, month, offence group), sorted. No text, no count of reports:
    that a figure was reported and then changed is all a release's page says of them."""
    key = [reports_table.c.release, reports_table.c.unit, reports_table.c.month,
           reports_table.c.offence_group]  # fmt: skip
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(*key).where(reports_table.c.revised_in == release).distinct()
        ).mappings()
        found = [dict(row) for row in rows]
    return sorted(
        found, key=lambda r: (r["unit"], r["month"], r["offence_group"] or "", r["release"])
    )


def status_of(engine: sa.Engine, report_id: int) -> Status | None:
    with engine.connect() as connection:
        row = connection.execute(
            sa.select(reports_table.c.status).where(reports_table.c.id == report_id)
        ).first()
    return None if row is None else Status(row.status)


def reports(engine: sa.Engine, status: Status | None = None) -> list[dict[str, Any]]:
    """The reports, oldest first (``status``: only those), each with its history."""
    with engine.connect() as connection:
        query = sa.select(reports_table).order_by(reports_table.c.id)
        if status is not None:
            query = query.where(reports_table.c.status == status.value)
        found = [dict(row) for row in connection.execute(query).mappings()]
        steps = connection.execute(sa.select(history_table).order_by(history_table.c.id)).mappings()
        history: dict[int, list[dict[str, Any]]] = {}
        for step in steps:
            history.setdefault(step["report_id"], []).append(
                {"at": step["at"], "status": step["status"], "note": step["note"]}
            )
    for report in found:
        report["redacted"] = json.loads(report["redacted"])
        report["police_units"] = json.loads(report["police_units"] or "[]")
        report["history"] = history.get(report["id"], [])
    return found
