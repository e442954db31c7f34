"""The keys of data-sharing contracts: each recipient's X25519 key pair (its packages are sealed
to it) and the publisher's Ed25519 signing key (it signs every package), from libsodium through
PyNaCl, written as text so that a key fits a form, an e-mail or a register column: its kind,
a colon and the key's 32 bytes in base64 (``opencrime-recipient-public:…``), so that a key of
another kind (the publisher's signing key given as a recipient's) is refused by name."""

from __future__ import annotations

import base64
import binascii
import os
from dataclasses import dataclass
from pathlib import Path

from nacl.public import PrivateKey, PublicKey
from nacl.signing import SigningKey, VerifyKey

from transforms.plumbing.errors import PermanentFailure


class BadKey(PermanentFailure, ValueError):
    """A key that is not what it should be; says what was expected, never the key."""


RECIPIENT_PUBLIC = "opencrime-recipient-public"  # X25519: packages are sealed to it
RECIPIENT_PRIVATE = "opencrime-recipient-private"
PUBLISHER_PUBLIC = "opencrime-publisher-public"  # Ed25519: recipients verify packages with it
PUBLISHER_PRIVATE = "opencrime-publisher-private"
KINDS = {
    RECIPIENT_PUBLIC: "a recipient's public key",
    RECIPIENT_PRIVATE: "a recipient's private key",
    PUBLISHER_PUBLIC: "the publisher's public (verify) key",
    PUBLISHER_PRIVATE: "the publisher's private (signing) key",
}


@dataclass(frozen=True)
class KeyPair:
    public: str  # the public half as text: a recipient's goes into the register
    private: str  # the private half as text: stays with its owner


def generate_key_pair() -> KeyPair:
    key = PrivateKey.generate()
    return KeyPair(
        _text(RECIPIENT_PUBLIC, bytes(key.public_key)), _text(RECIPIENT_PRIVATE, bytes(key))
    )


def write_private_key(path: Path, text: str) -> None:
    """A private key into a new file only its owner reads (mode 600); an existing file is never
    overwritten (``FileExistsError``)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(text + "\n")


def generate_signing_pair() -> KeyPair:
    """The publisher's pair: ``private`` signs packages, ``public`` is what recipients verify."""
    key = SigningKey.generate()
    return KeyPair(
        _text(PUBLISHER_PUBLIC, bytes(key.verify_key)), _text(PUBLISHER_PRIVATE, bytes(key))
    )


def signing_key(text: str) -> SigningKey:
    return SigningKey(_key_bytes(text, PUBLISHER_PRIVATE))


def verify_key(text: str) -> VerifyKey:
    return VerifyKey(_key_bytes(text, PUBLISHER_PUBLIC))


def public_key(text: str) -> PublicKey:
    """A recipient's public key from its text."""
    return PublicKey(_key_bytes(text, RECIPIENT_PUBLIC))


def private_key(text: str) -> PrivateKey:
    """A recipient's private key from its text."""
    return PrivateKey(_key_bytes(text, RECIPIENT_PRIVATE))


def _key_bytes(text: str, kind: str) -> bytes:
    """The key's 32 bytes, if ``text`` is a key of ``kind``; else a sentence that says what it
    is and what was expected (never the key)."""
    wanted = f"expected {KINDS[kind]} ({kind}:…, as `opencrime contracts keygen` writes it)"
    given, _, encoded = text.strip().rpartition(":")
    if given != kind:
        what = f"this is {KINDS[given]}" if given in KINDS else "not a key of this project"
        raise BadKey(f"{what}: {wanted}")
    try:
        raw = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != PublicKey.SIZE:
        raise BadKey(f"not a key: {PublicKey.SIZE} bytes in base64 after the colon, {wanted}")
    return raw


def _text(kind: str, raw: bytes) -> str:
    return f"{kind}:{base64.b64encode(raw).decode('ascii')}"
