"""The ``opencrime`` command line: inspect releases and check the disclosure policy."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from transforms.privacy.policy import PolicyError, load_policy, policy_sha256
from transforms.publish.release import MANIFEST, latest, versions
from transforms.settings import get_settings
from transforms.storage import read_json

app = typer.Typer(help="opencrime: privacy-safe, versioned open crime data.", no_args_is_help=True)
console = Console()


@app.command()
def releases(
    data_root: Annotated[Path | None, typer.Option(help="Data root (OPENCRIME_DATA_ROOT)")] = None,
) -> None:
    """List the published releases of the dataset, newest last."""
    settings = get_settings(**({"data_root": data_root} if data_root else {}))
    dataset_dir = settings.releases_dir / settings.dataset_id
    pointer = latest(dataset_dir) or {}
    table = Table(title=f"{settings.dataset_id} releases in {dataset_dir}")
    for column in ("version", "months", "offences counted", "cells suppressed", "latest"):
        table.add_column(column)
    for version in versions(dataset_dir):
        manifest = read_json(dataset_dir / version / MANIFEST)
        summary = manifest.get("summary", {})
        table.add_row(
            version,
            f"{manifest['data_months'][0]}..{manifest['data_months'][-1]}",
            f"{summary.get('counted_offences', 0):,}",
            f"{summary.get('cells_suppressed_primary', 0):,}",
            "←" if pointer.get("version") == version else "",
        )
    console.print(table)


@app.command("check-policy")
def check_policy(
    path: Annotated[Path | None, typer.Argument(help="Policy file (default: configured)")] = None,
) -> None:
    """Load and check a disclosure policy; exit 1 with the reason if it is not valid."""
    path = path or get_settings().policy_path
    try:
        policy, raw = load_policy(path)
    except PolicyError as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(1) from None
    console.print(f"{policy.id} {policy.version} is valid (sha256 {policy_sha256(raw)})")
