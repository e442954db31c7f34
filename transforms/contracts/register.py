"""The register of data-sharing contracts: which self-government may receive which tier of
finer figures, for which units of its own territory, from when to when, sealed to which key.

Contracts are data, not code: a table in a SQL database through SQLAlchemy (SQLite in the data
root by default, PostgreSQL in the production stack: ``OPENCRIME_CONTRACTS_DB``), its schema
made by the Alembic migrations beside this module. They are added, listed and revoked with the
``opencrime contracts`` command; a contract is never deleted, so the register keeps what was
agreed when.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime

import pandas as pd
import sqlalchemy as sa

from transforms.contracts.keys import BadKey, public_key
from transforms.database import open_database
from transforms.plumbing.errors import PermanentFailure
from transforms.privacy.policy import DisclosurePolicy, PolicyError

metadata = sa.MetaData()
contracts_table = sa.Table(
    "opencrime_contracts",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("party_code", sa.String(16), nullable=False),
    sa.Column("party_level", sa.String(16), nullable=False),
    sa.Column("party_name", sa.String(200), nullable=False),
    sa.Column("units", sa.Text, nullable=False),  # JSON list of the unit codes it covers
    sa.Column("tier", sa.String(64), nullable=False),
    sa.Column("public_key", sa.String(128), nullable=False),
    sa.Column("valid_from", sa.Date, nullable=False),
    sa.Column("valid_to", sa.Date, nullable=False),  # the last day it holds
    sa.Column("contact", sa.String(200), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("revoked_at", sa.DateTime(timezone=True)),
    sa.Column("revoked_reason", sa.Text),
)


class ContractRefused(PermanentFailure, ValueError):
    """A contract the register does not take, or an action on one it cannot do: says why."""


@dataclass(frozen=True)
class Contract:
    id: str
    party_code: str
    party_level: str
    party_name: str
    units: tuple[str, ...]
    tier: str
    public_key: str
    valid_from: date
    valid_to: date
    contact: str
    created_at: datetime
    revoked_at: datetime | None = None
    revoked_reason: str | None = None

    def active_on(self, day: date) -> bool:
        """In force on ``day``: within its dates and not revoked by then (a contract revoked
        on a day delivers nothing that day)."""
        revoked = self.revoked_at is not None and self.revoked_at.date() <= day
        return self.valid_from <= day <= self.valid_to and not revoked

    def state(self, day: date) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if day < self.valid_from:
            return "not yet valid"
        return "expired" if day > self.valid_to else "active"


@dataclass(frozen=True)
class Unit:
    level: str
    name: str
    parent: str | None


def units_of(geography: pd.DataFrame) -> dict[str, Unit]:
    """The geography's units (``code``, ``level``, ``name``, ``parent_code``) by code."""
    return {
        str(code): Unit(str(level), str(name), None if pd.isna(parent) else str(parent))
        for code, level, name, parent in zip(
            geography["code"],
            geography["level"],
            geography["name"],
            geography["parent_code"],
            strict=True,
        )
    }


def open_register(url: str, revision: str = "head") -> sa.Engine:
    """The register's database, migrated (``transforms.database.open_database``)."""
    return open_database(url, revision)


def new_contract(
    *,
    contract_id: str,
    party: str,
    tier: str,
    key: str,
    valid_from: date,
    valid_to: date,
    contact: str,
    units: tuple[str, ...] = (),
    policy: DisclosurePolicy,
    geography: Mapping[str, Unit],
    now: datetime | None = None,
) -> Contract:
    """A contract checked against the policy and the geography: the party is a unit the
    geography knows, at a level the tier allows; every unit it covers (default: the party's
    whole territory) lies in that territory; the key is an X25519 public key; the dates are in
    order."""
    if not contract_id.strip() or len(contract_id) > 64:
        raise ContractRefused("a contract id is 1 to 64 characters")
    if party not in geography:
        raise ContractRefused(f"unit {party} is not in the current geography")
    level = geography[party].level
    try:
        rules = policy.tier(tier)
    except PolicyError as error:
        raise ContractRefused(str(error)) from None
    if level not in rules.parties:
        raise ContractRefused(
            f"tier '{tier}' is for {', '.join(rules.parties)}: {party} is a {level}"
        )
    covered = tuple(sorted(set(units))) or (party,)
    outside = [u for u in covered if party not in _self_and_ancestors(u, geography)]
    if outside:
        raise ContractRefused(
            f"unit(s) {', '.join(outside)} are not in the territory of {party} "
            f"({geography[party].name}): a contract covers its party's own territory only"
        )
    if valid_to < valid_from:
        raise ContractRefused(f"valid_to {valid_to} is before valid_from {valid_from}")
    if not contact.strip():
        raise ContractRefused("a contract names a contact")
    try:
        public_key(key)
    except BadKey as error:
        raise ContractRefused(f"public key: {error}") from None
    return Contract(
        id=contract_id,
        party_code=party,
        party_level=level,
        party_name=geography[party].name,
        units=covered,
        tier=tier,
        public_key=key.strip(),
        valid_from=valid_from,
        valid_to=valid_to,
        contact=contact.strip(),
        created_at=now or datetime.now(UTC),
    )


def add_contract(engine: sa.Engine, contract: Contract) -> Contract:
    """Register ``contract``; refused where its id is taken or another contract of the same
    party and tier, not revoked, overlaps its dates (one party, one set of rules at a time)."""
    with engine.begin() as connection:
        if _row(connection, contract.id) is not None:
            raise ContractRefused(f"contract {contract.id} is already registered")
        table = contracts_table
        clash = connection.execute(
            sa.select(table.c.id).where(
                table.c.party_code == contract.party_code,
                table.c.tier == contract.tier,
                table.c.revoked_at.is_(None),
                table.c.valid_from <= contract.valid_to,
                table.c.valid_to >= contract.valid_from,
            )
        ).first()
        if clash is not None:
            raise ContractRefused(
                f"contract {clash.id} already gives {contract.party_code} tier "
                f"'{contract.tier}' in {contract.valid_from}..{contract.valid_to}: revoke it or "
                "choose dates that do not overlap"
            )
        connection.execute(table.insert().values(**_values(contract)))
    return contract


def list_contracts(engine: sa.Engine) -> list[Contract]:
    """Every contract, revoked ones included, by id."""
    with engine.connect() as connection:
        rows = connection.execute(sa.select(contracts_table).order_by(contracts_table.c.id))
        return [_contract(row) for row in rows.mappings()]


def active_contracts(engine: sa.Engine, day: date) -> list[Contract]:
    return [c for c in list_contracts(engine) if c.active_on(day)]


def revoke_contract(
    engine: sa.Engine, contract_id: str, reason: str, now: datetime | None = None
) -> Contract:
    """Revoke a contract from now on: it delivers nothing more, and stays in the register."""
    if not reason.strip():
        raise ContractRefused("say why the contract is revoked")
    with engine.begin() as connection:
        row = _row(connection, contract_id)
        if row is None:
            raise ContractRefused(f"no contract {contract_id} in the register")
        if row.revoked_at is not None:
            raise ContractRefused(f"contract {contract_id} was revoked on {row.revoked_at}")
        connection.execute(
            contracts_table.update()
            .where(contracts_table.c.id == contract_id)
            .values(revoked_at=now or datetime.now(UTC), revoked_reason=reason.strip())
        )
        revoked = _row(connection, contract_id)
    assert revoked is not None
    return _contract(revoked)


def _self_and_ancestors(code: str, geography: Mapping[str, Unit]) -> list[str]:
    found: list[str] = []
    current: str | None = code
    while current is not None and current in geography and current not in found:
        found.append(current)
        current = geography[current].parent
    return found


def _row(connection: sa.Connection, contract_id: str) -> sa.RowMapping | None:
    query = sa.select(contracts_table).where(contracts_table.c.id == contract_id)
    return connection.execute(query).mappings().first()


def _values(contract: Contract) -> dict[str, object]:
    values = {c.name: getattr(contract, c.name) for c in contracts_table.columns}
    values["units"] = json.dumps(list(contract.units))
    return values


def _contract(row: sa.RowMapping) -> Contract:
    values = dict(row)
    values["units"] = tuple(json.loads(values["units"]))
    for moment in ("created_at", "revoked_at"):  # SQLite gives back naive times: they are UTC
        if values[moment] is not None and values[moment].tzinfo is None:
            values[moment] = values[moment].replace(tzinfo=UTC)
    return Contract(**values)
