"""The ``opencrime`` command line: inspect releases, check the disclosure policy, manage the
data-sharing contracts (``opencrime contracts``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from transforms.contracts.cli import app as contracts_app
from transforms.contracts.cli import package_app
from transforms.feedback.cli import app as feedback_app
from transforms.plumbing.settings import get_settings, settings_at
from transforms.plumbing.storage import read_json
from transforms.privacy.policy import PolicyError, load_policy, policy_sha256
from transforms.publish.folder import MANIFEST, latest, versions

app = typer.Typer(help="opencrime: privacy-safe, versioned open crime data.", no_args_is_help=True)
app.add_typer(contracts_app, name="contracts")
app.add_typer(package_app, name="package")
app.add_typer(feedback_app, name="feedback")
console = Console()


@app.command()
def releases(
    data_root: Annotated[Path | None, typer.Option(help="Data root (OPENCRIME_DATA_ROOT)")] = None,
) -> None:
    """List the published releases of the dataset, newest last."""
    settings = settings_at(data_root)
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
            f"{summary['counted_offences']:,}" if "counted_offences" in summary else "withheld",
            f"{summary.get('cells_suppressed', 0):,}",
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


@app.command()
def extract(
    out: Annotated[Path, typer.Option(help="Folder to write extract.* and extract.json into")],
    release: Annotated[str, typer.Option(help="Release version, or latest")] = "latest",
    level: Annotated[str, typer.Option(help="table (aggregate counts) or incidents")] = "table",
    geo: Annotated[list[str] | None, typer.Option(help="Unit code; repeat for more")] = None,
    first_month: Annotated[str | None, typer.Option("--from", help="First month, YYYY-MM")] = None,
    last_month: Annotated[str | None, typer.Option("--to", help="Last month, YYYY-MM")] = None,
    offence: Annotated[list[str] | None, typer.Option(help="Offence code; repeat")] = None,
    format: Annotated[str, typer.Option(help="csv, parquet or geojson")] = "csv",
    data_root: Annotated[Path | None, typer.Option(help="Data root (OPENCRIME_DATA_ROOT)")] = None,
) -> None:
    """Cut a reproducible extract out of a published release (it never adds cells up)."""
    from transforms.publish.extract import ExtractError, extract_request, make_extract

    settings = settings_at(data_root)
    try:
        request = extract_request(
            {
                "release": release,
                "level": level,
                "geo_codes": geo or [],
                "first_month": first_month,
                "last_month": last_month,
                "offence_codes": offence or [],
                "format": format,
            }
        )
        record = make_extract(
            settings.releases_dir / settings.dataset_id, request, out, settings.dataset_title
        )
    except ExtractError as error:
        console.print(f"[red]bad extract request: {error}[/red]")
        raise typer.Exit(2) from None
    console.print(
        f"{record['file']['rows']:,} rows from release {record['source']['release']} → "
        f"{out / record['file']['path']} (sha256 {record['file']['sha256'][:16]}…)"
    )


@app.command()
def codes(
    search: Annotated[
        str | None, typer.Option(help="Part of a name (accents and case ignored) or a code")
    ] = None,
    kind: Annotated[str | None, typer.Option(help="unit or offence")] = None,
    release: Annotated[str, typer.Option(help="Release version, or latest")] = "latest",
    data_root: Annotated[Path | None, typer.Option(help="Data root (OPENCRIME_DATA_ROOT)")] = None,
) -> None:
    """List the unit and offence codes of a release with their names (for extract requests)."""
    from transforms.publish.codes import release_codes, search_codes
    from transforms.publish.extract import ExtractError, resolve_release

    settings = settings_at(data_root)
    dataset_dir = settings.releases_dir / settings.dataset_id
    try:
        version = resolve_release(dataset_dir, release)
    except ExtractError as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(2) from None
    found = release_codes(dataset_dir / version)
    if search:
        found = search_codes(found, search)
    if kind:
        found = found[found["kind"] == kind]
    table = Table(title=f"codes of release {version}" + (f" matching {search!r}" if search else ""))
    for column in found.columns:
        table.add_column(column)
    for row in found.itertuples(index=False):
        table.add_row(*row)
    console.print(table)
    if found.empty:
        raise typer.Exit(1)
