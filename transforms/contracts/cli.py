"""``opencrime contracts``: the register of data-sharing contracts from the command line."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from transforms.contracts.keys import generate_key_pair, generate_signing_pair, write_private_key
from transforms.contracts.register import (
    ContractRefused,
    add_contract,
    list_contracts,
    new_contract,
    open_register,
    revoke_contract,
    units_of,
)
from transforms.contracts.report import register_report
from transforms.contracts.seal import PackageRefused, open_package
from transforms.pipeline.boundaries import load_current_units
from transforms.plumbing.errors import PermanentFailure
from transforms.plumbing.settings import settings_at
from transforms.privacy.policy import load_policy

app = typer.Typer(help="Data-sharing contracts: finer figures for self-governments.")
package_app = typer.Typer(help="A contract's package, as its recipient opens it.")
DataRoot = Annotated[Path | None, typer.Option(help="Data root (OPENCRIME_DATA_ROOT)")]


def console() -> Console:
    """A console made when a command prints: it follows the terminal's width (``COLUMNS``)."""
    return Console()


def _refuse(error: Exception) -> typer.Exit:
    console().print(str(error), style="red", markup=False)
    return typer.Exit(1)


@app.command()
def keygen(
    out: Annotated[Path, typer.Option(help="File to write the private key into (mode 600)")],
    signing: Annotated[
        bool, typer.Option(help="The publisher's signing pair instead of a recipient's")
    ] = False,
) -> None:
    """Make a recipient's key pair: the private key into OUT, the public key printed (it goes
    into the contract: `opencrime contracts add --public-key ...`). With --signing, the
    publisher's pair: it signs the packages, and recipients verify with the printed key."""
    pair = generate_signing_pair() if signing else generate_key_pair()
    try:
        write_private_key(out, pair.private)
    except FileExistsError:
        raise _refuse(FileExistsError(f"{out} exists: a key is never overwritten")) from None
    typer.echo(pair.public)  # plain: a script takes it as it is


@app.command()
def add(
    party: Annotated[str, typer.Option(help="The contracting unit's code (municipality etc.)")],
    tier: Annotated[str, typer.Option(help="A tier of the disclosure policy")],
    public_key: Annotated[str, typer.Option(help="The recipient's public key (base64)")],
    valid_from: Annotated[datetime, typer.Option("--from", formats=["%Y-%m-%d"])],
    valid_to: Annotated[datetime, typer.Option("--to", formats=["%Y-%m-%d"])],
    contact: Annotated[str, typer.Option(help="Who answers for the contract at the party")],
    unit: Annotated[
        list[str] | None, typer.Option(help="A unit it covers (default: the whole territory)")
    ] = None,
    contract_id: Annotated[
        str | None, typer.Option("--id", help="Default: party-tier-from")
    ] = None,
    data_root: DataRoot = None,
) -> None:
    """Register a contract, checked against the policy's tiers and the current geography."""
    settings = settings_at(data_root)
    try:
        contract = new_contract(
            contract_id=contract_id or f"{party}-{tier}-{valid_from.date()}",
            party=party,
            tier=tier,
            key=public_key,
            valid_from=valid_from.date(),
            valid_to=valid_to.date(),
            contact=contact,
            units=tuple(unit or ()),
            policy=load_policy(settings.policy_path)[0],
            geography=units_of(load_current_units(settings)),
        )
        add_contract(open_register(settings.contracts_db_url), contract)
    except (ContractRefused, PermanentFailure) as error:
        raise _refuse(error) from None
    console().print(
        f"contract {contract.id}: {contract.party_name} ({contract.party_code}), tier "
        f"{contract.tier}, {len(contract.units)} unit(s), "
        f"{contract.valid_from}..{contract.valid_to}"
    )


@app.command("list")
def list_(data_root: DataRoot = None) -> None:
    """Every contract of the register, revoked ones included, with its state today."""
    settings = settings_at(data_root)
    today = datetime.now(UTC).date()
    table = Table(title=f"contracts in {settings.contracts_db_url}")
    for column in ("id", "party", "tier", "units", "valid", "state", "contact"):
        table.add_column(column)
    for c in list_contracts(open_register(settings.contracts_db_url)):
        table.add_row(
            c.id,
            f"{c.party_name} ({c.party_code})",
            c.tier,
            str(len(c.units)),
            f"{c.valid_from}..{c.valid_to}",
            c.state(today),
            c.contact,
        )
    console().print(table)


@app.command()
def deliveries(
    data_root: DataRoot = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Also write the report as JSON to this file")
    ] = None,
) -> None:
    """The delivery log, for the data protection officer: every package delivered, to whom,
    of which release and policy, its SHA-256, and whether the log's chain is intact (exit
    code 1 when an entry was removed or altered)."""
    settings = settings_at(data_root)
    report = register_report(open_register(settings.contracts_db_url), datetime.now(UTC).date())
    table = Table(title=f"deliveries in {settings.contracts_db_url}")
    for column in ("#", "contract", "release", "delivered at", "package SHA-256", "policy"):
        table.add_column(column)
    for d in report["deliveries"]:
        table.add_row(
            str(d["seq"]), d["contract_id"], d["release"], d["delivered_at"],
            d["package_sha256"], d["policy_sha256"][:16],
        )  # fmt: skip
    out = console()
    out.print(table)
    if json_out is not None:
        json_out.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n")
    if report["log_problems"]:
        for problem in report["log_problems"]:
            out.print(f"LOG BROKEN: {problem}", style="red", markup=False)
        raise typer.Exit(1)
    out.print(f"the log's chain is intact ({len(report['deliveries'])} entries)")


@app.command()
def revoke(
    contract_id: Annotated[str, typer.Argument(help="The contract's id")],
    reason: Annotated[str, typer.Option(help="Why (kept in the register)")],
    data_root: DataRoot = None,
) -> None:
    """Revoke a contract from now on: nothing more is delivered under it."""
    settings = settings_at(data_root)
    try:
        revoked = revoke_contract(open_register(settings.contracts_db_url), contract_id, reason)
    except ContractRefused as error:
        raise _refuse(error) from None
    console().print(f"contract {revoked.id} revoked at {revoked.revoked_at}")


@package_app.command("open")
def open_(
    package: Annotated[Path, typer.Argument(help="The package file")],
    key: Annotated[Path, typer.Option(help="The recipient's private key file")],
    publisher_key: Annotated[str, typer.Option(help="The publisher's public signing key")],
    out: Annotated[Path, typer.Option(help="Folder to unpack into (must not exist)")],
) -> None:
    """Verify the publisher's signature, decrypt with KEY, check every file's SHA-256 and the
    contract's dates, and unpack into OUT."""
    try:
        opened = open_package(
            package.read_bytes(),
            key.read_text().strip(),
            publisher_key,
            datetime.now(UTC).date(),
        )
    except (PackageRefused, PermanentFailure) as error:
        raise _refuse(error) from None
    out.mkdir(parents=True, exist_ok=False)
    for name, data in opened.files.items():
        target = (out / name).resolve()
        if not target.is_relative_to(out.resolve()):
            raise _refuse(PackageRefused(f"{name} would land outside {out}"))
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    (out / "manifest.json").write_text(json.dumps(opened.manifest, indent=1, sort_keys=True))
    console().print(f"{len(opened.files)} file(s) of {opened.manifest.get('release')} in {out}")
