"""What the register and the delivery log say, for the police's data protection officer: each
contract with its state and its last delivery, and every delivery with the chain's check. Read
by ``opencrime contracts deliveries`` and the Airflow UI's Contracts page.

No contact is in it: a contract's contact is a person's name or address, kept in the register
and shown by ``opencrime contracts list`` to whoever may read the register's database.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict
from datetime import date
from typing import Any

import sqlalchemy as sa

from transforms.contracts.deliveries import check_log, read_log
from transforms.contracts.register import list_contracts


def key_fingerprint(public_key: str) -> str:
    """A short, stable name of a recipient's key (the first 16 hex digits of its SHA-256), so
    the recipient can tell which of its keys a contract seals to without reading the key."""
    return hashlib.sha256(public_key.encode()).hexdigest()[:16]


def register_report(engine: sa.Engine, today: date) -> dict[str, Any]:
    """Every contract (revoked ones too) with its state on ``today`` and its last delivery;
    every delivery, oldest first; and what is wrong with the log's chain (empty: intact)."""
    log = read_log(engine)
    last: dict[str, dict[str, Any]] = {}
    for entry in log:
        last[entry.contract_id] = _delivery(asdict(entry))
    contracts = [
        {
            "id": c.id,
            "party_code": c.party_code,
            "party_name": c.party_name,
            "party_level": c.party_level,
            "tier": c.tier,
            "units": list(c.units),
            "valid_from": c.valid_from.isoformat(),
            "valid_to": c.valid_to.isoformat(),
            "state": c.state(today),
            "revoked_at": c.revoked_at.isoformat() if c.revoked_at else None,
            "revoked_reason": c.revoked_reason,
            "key_fingerprint": key_fingerprint(c.public_key),
            "last_delivery": last.get(c.id),
        }
        for c in list_contracts(engine)
    ]
    return {
        "as_of": today.isoformat(),
        "contracts": contracts,
        "deliveries": [_delivery(asdict(entry)) for entry in log],
        "log_problems": check_log(log),
    }


def _delivery(entry: dict[str, Any]) -> dict[str, Any]:
    return entry | {"delivered_at": entry["delivered_at"].isoformat()}
