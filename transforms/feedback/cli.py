"""``opencrime feedback send``: a report from the command line, signed with a contract's key when
a contracted self-government sends it (its reports are then marked as the contract's)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import httpx
import typer

from transforms.feedback.contract_proof import prove
from transforms.feedback.screening import Kind

app = typer.Typer(help="Feedback to the police about published figures.")


@app.command()
def send(
    url: Annotated[str, typer.Option(help="The intake: https://<server>/opencrime/api/feedback")],
    release: Annotated[str, typer.Option(help="The release, e.g. 2025-03.1")],
    unit: Annotated[str, typer.Option(help="The unit's code")],
    month: Annotated[str, typer.Option(help="YYYY-MM")],
    kind: Annotated[Kind, typer.Option(help="What is wrong")],
    text: Annotated[str, typer.Option(help="What is wrong, in a few sentences")],
    group: Annotated[str | None, typer.Option(help="The offence group's code")] = None,
    point_class: Annotated[str | None, typer.Option(help="The point class's cell code")] = None,
    contract: Annotated[str | None, typer.Option(help="Your contract's id")] = None,
    key: Annotated[Path | None, typer.Option(help="Your contract's private key file")] = None,
    publisher_key: Annotated[
        str | None, typer.Option(help="The publisher's public key (from the contract)")
    ] = None,
) -> None:
    """Send a report; with --contract, --key and --publisher-key it is marked as your
    contract's (the key never leaves this machine: a proof made with it goes instead)."""
    report: dict[str, object] = {
        "release": release, "unit": unit, "month": month, "offence_group": group,
        "point_class": point_class, "kind": kind.value, "text": text,
    }  # fmt: skip
    if contract is not None:
        if key is None or publisher_key is None:
            typer.echo("a contract's report needs --key and --publisher-key", err=True)
            raise typer.Exit(1)
        proof = prove(report, key.read_text().strip(), publisher_key, datetime.now(UTC))
        report |= {"contract": contract, "proof": proof}
    body = {name: value for name, value in report.items() if value is not None}
    answer = httpx.post(url, json=body, timeout=60)
    json_answer = answer.headers.get("content-type", "").startswith("application/json")
    said = answer.json() if json_answer else {}
    if answer.status_code not in (200, 201):
        typer.echo(f"refused ({answer.status_code}): {said.get('refused', answer.text)}", err=True)
        raise typer.Exit(1)
    source = f" from contract {contract}" if contract else ""
    typer.echo(f"report {said['id']} {said['status']}{source}")
