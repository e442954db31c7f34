"""A contract's package as one file only its recipient opens, and only if nobody changed it:
the files and a manifest of their SHA-256 in a zip, sealed to the recipient's X25519 key
(libsodium's sealed box) and signed with the publisher's Ed25519 key, through PyNaCl.

Layout: ``MAGIC``, then the signed message (64-byte signature + the sealed zip).
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from nacl.exceptions import BadSignatureError, CryptoError
from nacl.public import SealedBox
from nacl.signing import SigningKey, VerifyKey

from transforms.contracts.keys import private_key, public_key, signing_key, verify_key
from transforms.plumbing.errors import PermanentFailure

MAGIC = b"OPENCRIME-PACKAGE-1\n"
MANIFEST = "manifest.json"
ZIP_TIME = (2000, 1, 1, 0, 0, 0)  # the same files give the same zip


class PackageRefused(PermanentFailure, ValueError):
    """A package that does not open: says why (another key, changed bytes, expired)."""


@dataclass(frozen=True)
class OpenedPackage:
    manifest: dict[str, Any]
    files: dict[str, bytes]


def seal(
    files: Mapping[str, bytes],
    about: Mapping[str, Any],
    recipient: str,
    publisher: SigningKey | str,
) -> bytes:
    """The package file: ``files`` with a manifest (``about``: the contract, release and policy
    it was made under, and each file's SHA-256), sealed to ``recipient`` (base64 public key)
    and signed by ``publisher``."""
    if MANIFEST in files:
        raise ValueError(f"{MANIFEST} is the package's own file")
    manifest = dict(about) | {
        "files": {name: hashlib.sha256(data).hexdigest() for name, data in sorted(files.items())}
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        entries = {MANIFEST: json.dumps(manifest, sort_keys=True, indent=1).encode(), **files}
        for name, data in sorted(entries.items()):
            archive.writestr(zipfile.ZipInfo(name, ZIP_TIME), data)
    sealed = SealedBox(public_key(recipient)).encrypt(buffer.getvalue())
    key = signing_key(publisher) if isinstance(publisher, str) else publisher
    return MAGIC + bytes(key.sign(sealed))


def open_package(
    data: bytes, recipient_key: str, publisher: VerifyKey | str, today: date
) -> OpenedPackage:
    """Check the publisher's signature, decrypt with the recipient's private key, check every
    file against the manifest and the contract's dates; a ``PackageRefused`` saying which
    check failed."""
    if not data.startswith(MAGIC):
        raise PackageRefused("not an opencrime package (it does not start with its header)")
    verify = verify_key(publisher) if isinstance(publisher, str) else publisher
    try:
        sealed = verify.verify(data[len(MAGIC) :])
    except BadSignatureError:
        raise PackageRefused(
            "the signature does not match: the package was changed after it was signed, or "
            "another publisher signed it"
        ) from None
    try:
        plain = SealedBox(private_key(recipient_key)).decrypt(sealed)
    except CryptoError:
        raise PackageRefused(
            "this key does not open the package: it was sealed to another recipient"
        ) from None
    with zipfile.ZipFile(io.BytesIO(plain)) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    manifest = json.loads(files.pop(MANIFEST))
    listed = manifest.get("files", {})
    if set(listed) != set(files):
        raise PackageRefused("the package's files are not the ones its manifest lists")
    for name, data_ in files.items():
        if hashlib.sha256(data_).hexdigest() != listed[name]:
            raise PackageRefused(f"{name} does not match its SHA-256 in the manifest")
    valid_to = manifest.get("contract", {}).get("valid_to")
    if valid_to is not None and today > date.fromisoformat(valid_to):
        raise PackageRefused(
            f"contract {manifest['contract'].get('id')} expired on {valid_to}: its packages "
            "are not to be opened after it"
        )
    return OpenedPackage(manifest, files)
