"""A package opens only with its recipient's key, only as the publisher signed it, and only
while its contract holds."""

from __future__ import annotations

from datetime import date

import pytest

from transforms.contracts.keys import generate_key_pair, generate_signing_pair
from transforms.contracts.seal import PackageRefused, open_package, seal

RECIPIENT = generate_key_pair()
PUBLISHER = generate_signing_pair()
FILES = {"counts.csv": b"geo_code;period;count\n535419;2025-03;17\n", "points.csv": b"x;y\n"}
ABOUT = {"contract": {"id": "mb-2026", "valid_to": "2026-12-31"}, "release": "2025-03.1"}


def package() -> bytes:
    return seal(FILES, ABOUT, RECIPIENT.public, PUBLISHER.private)


def test_the_recipient_opens_what_the_publisher_sealed() -> None:
    opened = open_package(package(), RECIPIENT.private, PUBLISHER.public, date(2026, 6, 1))
    assert opened.files == FILES
    assert opened.manifest["release"] == "2025-03.1"
    assert set(opened.manifest["files"]) == set(FILES)


def test_another_recipients_key_does_not_open_it() -> None:
    other = generate_key_pair()
    with pytest.raises(PackageRefused, match="sealed to another recipient"):
        open_package(package(), other.private, PUBLISHER.public, date(2026, 6, 1))


@pytest.mark.parametrize("position", [25, 100, -1])
def test_a_changed_byte_is_found(position: int) -> None:
    data = bytearray(package())
    data[position] ^= 0x01
    with pytest.raises(PackageRefused, match="changed after it was signed"):
        open_package(bytes(data), RECIPIENT.private, PUBLISHER.public, date(2026, 6, 1))


def test_another_publishers_signature_is_refused() -> None:
    forged = seal(FILES, ABOUT, RECIPIENT.public, generate_signing_pair().private)
    with pytest.raises(PackageRefused, match="another publisher"):
        open_package(forged, RECIPIENT.private, PUBLISHER.public, date(2026, 6, 1))


def test_a_package_of_an_expired_contract_is_not_opened() -> None:
    with pytest.raises(PackageRefused, match="mb-2026 expired on 2026-12-31"):
        open_package(package(), RECIPIENT.private, PUBLISHER.public, date(2027, 1, 1))


def test_not_a_package_and_a_malformed_key_say_so() -> None:
    with pytest.raises(PackageRefused, match="not an opencrime package"):
        open_package(b"PK\x03\x04", RECIPIENT.private, PUBLISHER.public, date(2026, 6, 1))
    with pytest.raises(ValueError, match="not a key of this project: expected a recipient's priv"):
        open_package(package(), "c2hvcnQ=", PUBLISHER.public, date(2026, 6, 1))
    # the keys swapped: each is refused by name
    with pytest.raises(ValueError, match="this is a recipient's private key: expected the pub"):
        open_package(package(), PUBLISHER.public, RECIPIENT.private, date(2026, 6, 1))


def test_the_same_files_seal_to_a_different_file_each_time_but_open_the_same() -> None:
    """A sealed box uses a fresh key per package: two deliveries of the same release differ in
    bytes (no reader can tell they hold the same figures), and both open to the same files."""
    first, second = package(), package()
    assert first != second
    assert (
        open_package(first, RECIPIENT.private, PUBLISHER.public, date(2026, 6, 1)).files
        == open_package(second, RECIPIENT.private, PUBLISHER.public, date(2026, 6, 1)).files
    )


def test_the_recipient_opens_it_with_the_command(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from transforms.cli import app

    (tmp_path / "package.ocp").write_bytes(package())
    (tmp_path / "mb.key").write_text(RECIPIENT.private + "\n")
    (tmp_path / "other.key").write_text(generate_key_pair().private + "\n")
    runner = CliRunner()
    common = ["--publisher-key", PUBLISHER.public]
    opened = runner.invoke(
        app,
        ["package", "open", str(tmp_path / "package.ocp"), "--key", str(tmp_path / "mb.key"),
         "--out", str(tmp_path / "out"), *common],
    )  # fmt: skip
    assert opened.exit_code == 0, opened.output
    assert (tmp_path / "out" / "counts.csv").read_bytes() == FILES["counts.csv"]
    refused = runner.invoke(
        app,
        ["package", "open", str(tmp_path / "package.ocp"), "--key",
         str(tmp_path / "other.key"), "--out", str(tmp_path / "out2"), *common],
    )  # fmt: skip
    assert refused.exit_code == 1 and "another recipient" in refused.output
    assert not (tmp_path / "out2").exists()  # nothing unpacked
