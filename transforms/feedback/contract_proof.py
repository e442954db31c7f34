"""A contracted self-government's reports, marked as its own: the report carries a proof that
its sender holds the contract's private key.

The proof is the report's SHA-256 and the time, in a libsodium ``Box`` (X25519, through PyNaCl)
from the recipient's private key to the publisher's key (its Ed25519 signing pair converted to
X25519, libsodium's own conversion). Only the holder of the contract's private key can make a
box the publisher opens with that contract's public key; a proof older than
:data:`PROOF_VALID_FOR` is refused, so a copied one soon expires (a copy of the same report
within that time folds into the first anyway).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from nacl.exceptions import CryptoError
from nacl.public import Box

from transforms.contracts.keys import private_key, public_key, signing_key, verify_key
from transforms.plumbing.errors import PermanentFailure

PROOF_VALID_FOR = timedelta(minutes=15)
SIGNED_FIELDS = ("release", "unit", "month", "offence_group", "point_class", "kind", "text")


class ProofRefused(PermanentFailure, ValueError):
    """A contract's proof that does not hold: says why (never a key)."""


def report_digest(report: dict[str, Any]) -> str:
    """The SHA-256 of the report's own fields, as the proof covers them."""
    fields = {name: report.get(name) for name in SIGNED_FIELDS}
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()


def prove(
    report: dict[str, Any], recipient_private: str, publisher_public: str, at: datetime
) -> str:
    """The proof a contract's holder attaches to ``report`` (base64)."""
    box = Box(
        private_key(recipient_private), verify_key(publisher_public).to_curve25519_public_key()
    )
    payload = json.dumps({"sha256": report_digest(report), "at": at.isoformat()}).encode()
    return base64.b64encode(bytes(box.encrypt(payload))).decode("ascii")


def check_proof(
    report: dict[str, Any],
    proof: str,
    recipient_public: str,
    publisher_private: str,
    now: datetime | None = None,
) -> None:
    """Refuse unless ``proof`` was made for ``report`` by the holder of ``recipient_public``'s
    private key within :data:`PROOF_VALID_FOR`."""
    box = Box(
        signing_key(publisher_private).to_curve25519_private_key(), public_key(recipient_public)
    )
    try:
        opened = json.loads(box.decrypt(base64.b64decode(proof, validate=True)))
        made = datetime.fromisoformat(opened["at"])
    except (CryptoError, binascii.Error, ValueError, KeyError, TypeError):
        raise ProofRefused(
            "the proof was not made with this contract's key: sign with the key the contract "
            "registered (`opencrime feedback send --key`)"
        ) from None
    if opened.get("sha256") != report_digest(report):
        raise ProofRefused("the proof was made for another report")
    age = (now or datetime.now(UTC)) - made.astimezone(UTC)
    if abs(age) > PROOF_VALID_FOR:
        raise ProofRefused(
            f"the proof was made {age} ago: at most {PROOF_VALID_FOR} (send it again)"
        )
