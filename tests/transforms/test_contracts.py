"""The register of data-sharing contracts, on SQLite (the demo's) and the machine's PostgreSQL
(the production stack's), and the ``opencrime contracts`` command on a pipeline's data root."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from tests.postgres import sqlalchemy_url, temporary_database
from transforms.cli import app
from transforms.contracts.keys import (
    generate_key_pair,
    generate_signing_pair,
    private_key,
    public_key,
)
from transforms.contracts.register import (
    ContractRefused,
    Unit,
    _values,
    active_contracts,
    add_contract,
    contracts_table,
    list_contracts,
    new_contract,
    open_register,
    revoke_contract,
)
from transforms.privacy.policy import load_policy

POLICY = load_policy(Path(__file__).resolve().parents[2] / "policy" / "disclosure.yaml")[0]
GEOGRAPHY = {
    "CZ": Unit("country", "Česko", None),
    "27": Unit("region", "Středočeský kraj", "CZ"),
    "3207": Unit("district", "Mladá Boleslav", "27"),
    "535419": Unit("municipality", "Mladá Boleslav", "3207"),
    "535443": Unit("municipality", "Bakov nad Jizerou", "3207"),
    "78": Unit("region", "Liberecký kraj", "CZ"),
    "3505": Unit("district", "Liberec", "78"),
    "563889": Unit("municipality", "Liberec", "3505"),
}
KEY = generate_key_pair().public


def contract(**changes: object):
    values: dict[str, object] = {
        "contract_id": "mb-2026",
        "party": "535419",
        "tier": "municipal",
        "key": KEY,
        "valid_from": date(2026, 1, 1),
        "valid_to": date(2026, 12, 31),
        "contact": "prevence@mb-net.cz",
        "policy": POLICY,
        "geography": GEOGRAPHY,
    } | changes
    return new_contract(**values)  # type: ignore[arg-type]


@pytest.fixture(params=["sqlite", "postgresql"])
def register(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    if request.param == "sqlite":
        yield open_register(f"sqlite:///{tmp_path / 'contracts.db'}")
        return
    with temporary_database("contracts") as name:
        engine = open_register(sqlalchemy_url(name))
        yield engine
        engine.dispose()


def test_a_contract_is_registered_listed_and_revoked_and_stays_in_the_register(
    register: sa.Engine,
) -> None:
    added = add_contract(register, contract())
    assert added.units == ("535419",)  # its whole territory by default
    assert added.party_name == "Mladá Boleslav" and added.party_level == "municipality"
    assert list_contracts(register) == [added]
    assert active_contracts(register, date(2026, 6, 1)) == [added]
    assert active_contracts(register, date(2027, 1, 1)) == []  # expired
    revoked = revoke_contract(register, "mb-2026", "the municipality ended it")
    assert revoked.revoked_reason == "the municipality ended it"
    assert active_contracts(register, datetime.now(UTC).date()) == []
    assert [c.id for c in list_contracts(register)] == ["mb-2026"]  # never deleted
    with pytest.raises(ContractRefused, match="was revoked"):
        revoke_contract(register, "mb-2026", "again")
    with pytest.raises(ContractRefused, match="no contract nobody"):
        revoke_contract(register, "nobody", "why not")
    # after the revocation, a new contract for the same party and dates is taken
    add_contract(register, contract(contract_id="mb-2026-b"))
    # the migration ran once: opening the register again changes nothing
    assert [c.id for c in list_contracts(open_register(str(register.url)))] == [
        "mb-2026",
        "mb-2026-b",
    ]


def test_overlapping_contracts_and_a_taken_id_are_refused(register: sa.Engine) -> None:
    add_contract(register, contract())
    with pytest.raises(ContractRefused, match="already registered"):
        add_contract(register, contract(valid_from=date(2027, 1, 1), valid_to=date(2027, 6, 1)))
    with pytest.raises(ContractRefused, match="mb-2026 already gives 535419"):
        add_contract(register, contract(contract_id="mb-2", valid_from=date(2026, 12, 31)))
    # the next year's contract of the same party, and another party's, are fine
    add_contract(register, contract(contract_id="mb-2027", valid_from=date(2027, 1, 1),
                                    valid_to=date(2027, 12, 31)))  # fmt: skip
    add_contract(register, contract(contract_id="lbc", party="563889"))
    assert len(list_contracts(register)) == 3


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"party": "999999"}, "999999 is not in the current geography"),
        ({"party": "CZ"}, "tier 'municipal' is for municipality, district, region: CZ is a"),
        ({"tier": "county"}, "no tier 'county'"),
        ({"units": ("535419", "563889")}, "563889 are not in the territory of 535419"),
        ({"party": "3207", "units": ("563889",)}, "not in the territory of 3207"),
        ({"key": "not base64!"}, "public key: not a key of this project: expected a recipient's"),
        ({"key": "opencrime-recipient-public:c2hvcnQ="}, "not a key: 32 bytes in base64"),
        ({"key": generate_signing_pair().public}, "this is the publisher's public .verify. key"),
        ({"key": generate_key_pair().private}, "this is a recipient's private key"),
        ({"valid_to": date(2025, 12, 31)}, "before valid_from"),
        ({"contact": " "}, "names a contact"),
        ({"contract_id": ""}, "1 to 64 characters"),
    ],
)
def test_a_contract_the_policy_or_the_geography_does_not_allow_is_refused(
    changes: dict[str, object], message: str
) -> None:
    with pytest.raises(ContractRefused, match=message):
        contract(**changes)


def test_a_district_covers_the_units_of_its_territory_it_names() -> None:
    district = contract(party="3207", units=("535443", "3207"))
    assert district.units == ("3207", "535443")


def test_a_contract_revoked_today_is_not_active_today() -> None:
    today = datetime.now(UTC)
    revoked = contract(valid_from=date(2020, 1, 1), valid_to=date(2099, 1, 1))
    assert revoked.active_on(today.date())
    gone = type(revoked)(**{**revoked.__dict__, "revoked_at": today, "revoked_reason": "x"})
    assert not gone.active_on(today.date()) and gone.state(today.date()) == "revoked"
    assert gone.active_on(date(2021, 1, 1))  # it was, before


def test_a_key_pair_is_usable_and_its_public_half_is_what_the_register_takes() -> None:
    pair = generate_key_pair()
    assert bytes(private_key(pair.private).public_key) == bytes(public_key(pair.public))


def test_the_command_registers_lists_and_revokes(pipeline_run, tmp_path: Path) -> None:
    """``opencrime contracts``: keygen, add against the pipeline's current geography, list,
    revoke; a refusal exits 1 with the reason."""
    root = str(pipeline_run["settings"].data_root)
    runner = CliRunner()
    made = runner.invoke(app, ["contracts", "keygen", "--out", str(tmp_path / "mb.key")])
    assert made.exit_code == 0, made.output
    key = made.output.strip()
    assert (tmp_path / "mb.key").stat().st_mode & 0o777 == 0o600
    again = runner.invoke(app, ["contracts", "keygen", "--out", str(tmp_path / "mb.key")])
    assert again.exit_code == 1 and "never overwritten" in again.output
    common = ["--tier", "municipal", "--public-key", key, "--from", "2026-01-01", "--to",
              "2026-12-31", "--contact", "prevence@mb-net.cz", "--data-root", root]  # fmt: skip
    added = runner.invoke(app, ["contracts", "add", "--party", "535419", *common])
    assert added.exit_code == 0, added.output
    assert "contract 535419-municipal-2026-01-01: Mladá Boleslav" in added.output
    refused = runner.invoke(app, ["contracts", "add", "--party", "123", *common])
    assert refused.exit_code == 1 and "123 is not in the current geography" in refused.output
    listed = runner.invoke(app, ["contracts", "list", "--data-root", root], env={"COLUMNS": "200"})
    assert "535419-municipal-2026-01-01" in listed.output and "Mladá Boleslav" in listed.output
    revoked = runner.invoke(
        app,
        ["contracts", "revoke", "535419-municipal-2026-01-01", "--reason", "test",
         "--data-root", root],
    )  # fmt: skip
    assert revoked.exit_code == 0 and "revoked at" in revoked.output


def test_the_delivery_log_finds_a_removed_or_altered_entry(register: sa.Engine) -> None:
    from transforms.contracts.deliveries import (
        check_log,
        delivered,
        deliveries_table,
        log_delivery,
        read_log,
    )

    for n, contract_id in enumerate(["mb-2026", "lbc-2026", "mb-2026"]):
        log_delivery(
            register, contract_id=contract_id, release=f"2026-0{n + 1}.1",
            policy_sha256="p" * 64, package_sha256=f"{n}" * 64, target=f"/deliveries/{n}",
        )  # fmt: skip
    entries = read_log(register)
    assert [e.seq for e in entries] == [1, 2, 3] and check_log(entries) == []
    found = delivered(register, "lbc-2026", "2026-02.1")
    assert found is not None and found.package_sha256 == "1" * 64
    assert delivered(register, "lbc-2026", "2026-01.1") is None  # a retry would deliver it
    with register.begin() as connection:  # someone edits the log behind its back
        connection.execute(
            deliveries_table.update().where(deliveries_table.c.seq == 3).values(target="/elsewhere")
        )
    assert check_log(read_log(register)) == ["entry 3 was altered after it was written"]
    with register.begin() as connection:
        connection.execute(deliveries_table.delete().where(deliveries_table.c.seq == 2))
    assert check_log(read_log(register))[:2] == [
        "entry 2 is missing (the next is 3)",
        "entry 3 does not follow the entry before it",
    ]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_register_of_bare_keys_is_migrated_to_typed_keys(backend: str, tmp_path: Path) -> None:
    """A register made before keys carried their kind keeps its contracts: the migration gives
    each bare key the recipient prefix, and the contract's key then opens as one."""
    with contextlib.ExitStack() as stack:
        if backend == "sqlite":
            url = f"sqlite:///{tmp_path / 'contracts.db'}"
        else:
            url = sqlalchemy_url(stack.enter_context(temporary_database("contracts")))
        old = open_register(url, revision="0002_deliveries")
        bare = KEY.rpartition(":")[2]
        row = _values(contract()) | {"public_key": bare}
        with old.begin() as connection:
            connection.execute(contracts_table.insert().values(**row))
        old.dispose()
        engine = open_register(url)
        (migrated,) = list_contracts(engine)
        assert migrated.public_key == KEY
        public_key(migrated.public_key)
        engine.dispose()


def test_the_data_protection_officers_report_lists_deliveries_and_a_broken_chain(
    tmp_path: Path,
) -> None:
    """``opencrime contracts deliveries``: every delivery with its package's hash, the report
    as JSON for the file, exit 0 while the chain holds and 1, with the reason, once an entry
    was removed."""
    from transforms.contracts.deliveries import deliveries_table, log_delivery

    url = f"sqlite:///{tmp_path / 'contracts.db'}"
    engine = open_register(url)
    add_contract(engine, contract())
    for n in range(2):
        log_delivery(engine, contract_id="mb-2026", release=f"2026-0{n + 1}.1",
                     policy_sha256="p" * 64, package_sha256=f"{n}" * 64, target="x")  # fmt: skip
    runner = CliRunner()
    args = ["contracts", "deliveries", "--json", str(tmp_path / "report.json")]
    env = {"OPENCRIME_CONTRACTS_DB": url, "COLUMNS": "250"}
    intact = runner.invoke(app, args, env=env)
    assert intact.exit_code == 0, intact.output
    assert "1" * 64 in intact.output and "chain is intact (2 entries)" in intact.output
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["contracts"][0]["last_delivery"]["release"] == "2026-02.1"
    assert "contact" not in report["contracts"][0]
    with engine.begin() as connection:
        connection.execute(deliveries_table.delete().where(deliveries_table.c.seq == 1))
    broken = runner.invoke(app, args, env=env)
    assert broken.exit_code == 1 and "LOG BROKEN: entry 1 is missing" in broken.output


def test_an_earlier_demos_bare_keys_are_named_and_still_open(tmp_path: Path) -> None:
    from transforms.contracts.demo import _name_bare_keys, demo_keys
    from transforms.contracts.keys import signing_key, verify_key
    from transforms.plumbing.settings import get_settings

    keys = demo_keys(get_settings(data_root=tmp_path))
    keys.folder.mkdir(parents=True)
    publisher, recipient = generate_signing_pair(), generate_key_pair()
    for path, text in ((keys.publisher_private, publisher.private),
                       (keys.publisher_public, publisher.public),
                       (keys.recipient_private, recipient.private)):  # fmt: skip
        path.write_text(text.rpartition(":")[2] + "\n")  # as an earlier version wrote them
    _name_bare_keys(keys)
    signing_key(keys.publisher_private.read_text())
    verify_key(keys.publisher_public.read_text())
    assert private_key(keys.recipient_private.read_text()) is not None
