"""The delivery log: what was delivered to whom, when, under which release and policy, with
the package's SHA-256. Append-only and hash-chained: each entry's hash covers its fields and
the previous entry's hash, so a removed, inserted or altered entry breaks the chain
(:func:`check_log`), which the police's data protection officer reads as a report."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from transforms.contracts.register import metadata

GENESIS = "0" * 64

deliveries_table = sa.Table(
    "opencrime_deliveries",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("contract_id", sa.String(64), nullable=False),
    sa.Column("release", sa.String(64), nullable=False),
    sa.Column("policy_sha256", sa.String(64), nullable=False),
    sa.Column("package_sha256", sa.String(64), nullable=False),
    sa.Column("target", sa.Text, nullable=False),
    sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("previous_hash", sa.String(64), nullable=False),
    sa.Column("entry_hash", sa.String(64), nullable=False),
    sa.UniqueConstraint("contract_id", "release", name="uq_opencrime_delivery"),
)


@dataclass(frozen=True)
class Delivery:
    seq: int
    contract_id: str
    release: str
    policy_sha256: str
    package_sha256: str
    target: str
    delivered_at: datetime
    previous_hash: str
    entry_hash: str


def entry_hash(fields: dict[str, object], previous_hash: str) -> str:
    body = {k: v for k, v in fields.items() if k not in ("seq", "previous_hash", "entry_hash")}
    body["delivered_at"] = _utc(body["delivered_at"]).isoformat()  # type: ignore[arg-type]
    text = json.dumps(body, sort_keys=True) + previous_hash
    return hashlib.sha256(text.encode()).hexdigest()


def delivered(engine: sa.Engine, contract_id: str, release: str) -> Delivery | None:
    """The log's entry for this contract and release, if it was delivered (a retry skips it)."""
    with engine.connect() as connection:
        row = (
            connection.execute(
                sa.select(deliveries_table).where(
                    deliveries_table.c.contract_id == contract_id,
                    deliveries_table.c.release == release,
                )
            )
            .mappings()
            .first()
        )
    return None if row is None else _delivery(row)


def log_delivery(
    engine: sa.Engine,
    *,
    contract_id: str,
    release: str,
    policy_sha256: str,
    package_sha256: str,
    target: str,
    now: datetime | None = None,
) -> Delivery:
    """Append an entry, chained to the last one (one writer at a time: the table is locked on
    PostgreSQL, and SQLite serialises writers)."""
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(sa.text("LOCK TABLE opencrime_deliveries IN EXCLUSIVE MODE"))
        last = (
            connection.execute(
                sa.select(deliveries_table).order_by(deliveries_table.c.seq.desc()).limit(1)
            )
            .mappings()
            .first()
        )
        fields: dict[str, object] = {
            "seq": 1 if last is None else last["seq"] + 1,
            "contract_id": contract_id,
            "release": release,
            "policy_sha256": policy_sha256,
            "package_sha256": package_sha256,
            "target": target,
            "delivered_at": now or datetime.now(UTC),
        }
        previous = GENESIS if last is None else str(last["entry_hash"])
        fields |= {"previous_hash": previous, "entry_hash": entry_hash(fields, previous)}
        connection.execute(deliveries_table.insert().values(**fields))
    return Delivery(**fields)  # type: ignore[arg-type]


def read_log(engine: sa.Engine) -> list[Delivery]:
    with engine.connect() as connection:
        rows = connection.execute(sa.select(deliveries_table).order_by(deliveries_table.c.seq))
        return [_delivery(row) for row in rows.mappings()]


def check_log(entries: list[Delivery]) -> list[str]:
    """What is wrong with the chain (empty: intact): a missing entry, an altered one, a link
    that does not follow."""
    problems = []
    previous = GENESIS
    for expected, entry in enumerate(entries, start=1):
        if entry.seq != expected:
            problems.append(f"entry {expected} is missing (the next is {entry.seq})")
        if entry.previous_hash != previous:
            problems.append(f"entry {entry.seq} does not follow the entry before it")
        if entry_hash(asdict(entry), entry.previous_hash) != entry.entry_hash:
            problems.append(f"entry {entry.seq} was altered after it was written")
        previous = entry.entry_hash
    return problems


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _delivery(row: sa.RowMapping) -> Delivery:
    values = dict(row)
    values["delivered_at"] = _utc(values["delivered_at"])
    return Delivery(**values)
