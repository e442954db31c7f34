"""Run the pipeline's DAGs through Airflow, in dependency order, and report the release.

``python -m opencrime_airflow.runner`` is what ``make demo`` calls: it parses the project's DAG
folder with Airflow's DagBag and runs each DAG with ``dag.test()`` (a real DagRun in the metadata
database, tasks executed by Airflow's task runner), then checks every DagRun succeeded —
``dag.test()`` itself does not fail when a task does.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from transforms.periods import Month
from transforms.settings import Settings, get_settings


class PipelineRunFailed(RuntimeError):
    pass


def sample_months(settings: Settings) -> list[Month]:
    """The months present in the local input folder (``police/YYYYMM.zip``)."""
    if settings.data_in is None:
        raise PipelineRunFailed("OPENCRIME_DATA_IN is not set: give the months with --months")
    found = sorted(Month.parse(p.stem) for p in (settings.data_in / "police").glob("[0-9]*.zip"))
    if not found:
        raise PipelineRunFailed(f"no police/YYYYMM.zip files in {settings.data_in}")
    return found


def run_pipeline(dags_folder: Path, months: list[Month]) -> list[tuple[str, str, str]]:
    """boundaries → police_incidents (one run per month) → publish; returns (dag, run, state)."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(dags_folder))
    if bag.import_errors:
        raise PipelineRunFailed(f"DAG import errors: {bag.import_errors}")
    plan: list[tuple[str, Any]] = [("boundaries", None)]
    # A manual run covers the last complete interval before its logical date: month M is the run
    # at the start of M+1 — the same interval the scheduler would give it.
    plan += [("police_incidents", m.next().start_utc()) for m in months]
    plan += [("publish", None)]
    outcomes = []
    for dag_id, logical_date in plan:
        dag = bag.get_dag(dag_id)
        if dag is None:
            raise PipelineRunFailed(f"DAG {dag_id!r} not found in {dags_folder}")
        run = dag.test(logical_date=logical_date) if logical_date else dag.test()
        state = str(getattr(run, "state", "unknown"))
        outcomes.append((dag_id, str(getattr(run, "run_id", "")), state))
        if state != "success":
            raise PipelineRunFailed(
                f"{dag_id} run {getattr(run, 'run_id', '?')} ended {state}: "
                "read the task log above; quarantine reports and Data Docs are under the "
                "data root's runs/ folder"
            )
    return outcomes


def print_summary(settings: Settings, outcomes: list[tuple[str, str, str]]) -> None:
    from rich.console import Console
    from rich.table import Table

    from transforms.pipeline.publish.staged import operator_report
    from transforms.privacy.report import table_text
    from transforms.publish.folder import MANIFEST, latest
    from transforms.storage import read_json

    dataset_dir = settings.releases_dir / settings.dataset_id
    pointer = latest(dataset_dir)
    console = Console()
    runs = Table(title="Airflow DagRuns", show_lines=False)
    for column in ("DAG", "run", "state"):
        runs.add_column(column)
    for row in outcomes:
        runs.add_row(*row)
    console.print(runs)
    if pointer is None:
        console.print("[red]no release was published[/red]")
        return
    release = dataset_dir / pointer["version"]
    manifest = read_json(release / MANIFEST)
    summary = manifest["summary"]
    operator = operator_report(settings, manifest)
    ledger = operator["ledger"] if operator else summary
    table = Table(title=f"Release {settings.dataset_id} {pointer['version']}")
    table.add_column("figure")
    table.add_column("value", justify="right")
    rows = [
        ("months", ", ".join(summary["months"])),
        ("rows in", f"{ledger['input_rows']:,}"),
        (
            "rows quarantined",
            f"{ledger['quarantined_rows']:,} ({ledger['quarantine_share']:.2%})",
        ),
        ("records excluded (not an offence)", f"{ledger['excluded_not_offence_rows']:,}"),
        ("offences counted", f"{ledger['counted_offences']:,}"),
        ("cells published", f"{summary['cells_published']:,}"),
        ("cells suppressed", f"{summary['cells_suppressed']:,}"),
    ]
    loss = summary["information_loss"]

    def finest_first(level: str) -> tuple[bool, int]:
        return level == "municipality", int(level[:-1]) if level.endswith("m") else 0

    for level, share in sorted(loss["share_by_level"].items(), key=lambda i: finest_first(i[0])):
        rows.append(
            (f"incident points at {level}", f"{loss['records_by_level'][level]:,} ({share:.1%})")
        )
    rows += [
        (
            "records of published cells left out of the points (< k)",
            f"{loss['suppressed_records']:,}",
        ),
        ("disclosure audit", "passed" if read_json(release / "audit.json")["passed"] else "FAILED"),
        ("files written", str(len(manifest["files"]) + 2)),
    ]
    for name, value in rows:
        table.add_row(name, value)
    console.print(table)
    if operator:
        # sums over hidden cells: the operator's, printed here, never in the release
        cost = Table(title="What protection costs (operator's report, not published)")
        cost.add_column("figure")
        cost.add_column("value", justify="right")
        for name, value in table_text(operator["protection_cost"]):
            cost.add_row(name, value)
        internal_loss = operator["information_loss"]
        cost.add_row(
            "point records in hidden cells (never placed)",
            f"{internal_loss['records_in_hidden_cells']:,}",
        )
        cost.add_row(
            "sensitive records (never points)", f"{internal_loss['sensitive_rows_removed']:,}"
        )
        console.print(cost)
    console.print(f"Release: [bold]{release}[/bold]")
    console.print(f"Portal:  [bold]{release.parent / 'index.html'}[/bold] (open it in a browser)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--dags-folder", type=Path, default=Path(__file__).resolve().parents[2] / "dags"
    )
    parser.add_argument("--months", nargs="*", help="YYYY-MM months (default: all in DATA_IN)")
    args = parser.parse_args(argv)
    settings = get_settings()
    months = [Month.parse(m) for m in args.months] if args.months else sample_months(settings)
    before = latest_version(settings)
    try:
        outcomes = run_pipeline(args.dags_folder, months)
    except PipelineRunFailed as error:
        print(f"\nPIPELINE FAILED: {error}", file=sys.stderr)
        return 1
    print_summary(settings, outcomes)
    if before is not None and before == latest_version(settings):
        print(f"No new release: the inputs are those of release {before}.")
    return 0


def latest_version(settings: Settings) -> str | None:
    from transforms.publish.folder import latest

    pointer = latest(settings.releases_dir / settings.dataset_id)
    return None if pointer is None else str(pointer["version"])


if __name__ == "__main__":
    sys.exit(main())
