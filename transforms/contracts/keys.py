"""The keys of data-sharing contracts: each recipient's X25519 key pair (its packages are sealed
to it) and the publisher's Ed25519 signing key (it signs every package), from libsodium through
PyNaCl, written as base64 text so that a key fits a form, an e-mail or a register column."""

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


@dataclass(frozen=True)
class KeyPair:
    public: str  # base64 of the 32-byte X25519 public key: goes into the register
    private: str  # base64 of the private key: stays with the recipient


def generate_key_pair() -> KeyPair:
    key = PrivateKey.generate()
    return KeyPair(_text(bytes(key.public_key)), _text(bytes(key)))


def write_private_key(path: Path, text: str) -> None:
    """A private key into a new file only its owner reads (mode 600); an existing file is never
    overwritten (``FileExistsError``)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(text + "\n")


def generate_signing_pair() -> KeyPair:
    """The publisher's pair: ``private`` signs packages, ``public`` is what recipients verify."""
    key = SigningKey.generate()
    return KeyPair(_text(bytes(key.verify_key)), _text(bytes(key)))


def signing_key(text: str) -> SigningKey:
    return SigningKey(_key_bytes(text, "signing"))


def verify_key(text: str) -> VerifyKey:
    return VerifyKey(_key_bytes(text, "verify"))


def public_key(text: str) -> PublicKey:
    """A recipient's public key from its base64 text."""
    return PublicKey(_key_bytes(text, "public"))


def private_key(text: str) -> PrivateKey:
    """A recipient's private key from its base64 text."""
    return PrivateKey(_key_bytes(text, "private"))


def _key_bytes(text: str, kind: str) -> bytes:
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != PublicKey.SIZE:
        raise BadKey(
            f"not a {kind} key: expected {PublicKey.SIZE} bytes in base64 "
            "(as `opencrime contracts keygen` writes it)"
        )
    return raw


def _text(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")
