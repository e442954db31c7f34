"""Run the pipeline's DAGs through Airflow, in dependency order, and report the release.

``python -m opencrime_airflow.runner`` is what ``make demo`` calls: it parses the project's DAG
folder with Airflow's DagBag and runs each DAG with ``dag.test()`` (a real DagRun in the metadata
database, tasks executed by Airflow's task runner), then checks every DagRun succeeded —
``dag.test()`` itself does not fail when a task does.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from opencrime_airflow.alerts import failure_records_folder
from transforms.domain.periods import Month
from transforms.plumbing.settings import Settings, get_settings
from transforms.plumbing.storage import read_json, read_json_or_none


class PipelineRunFailed(RuntimeError):
    pass


def sample_months(settings: Settings) -> list[Month]:
    """The months present in the local input folder (``police/YYYYMM.zip``); any other file
    there is named in a warning and left alone."""
    if settings.data_in is None:
        raise PipelineRunFailed("OPENCRIME_DATA_IN is not set: give the months with --months")
    folder = settings.data_in / "police"
    found, ignored = police_files(folder)
    for name in ignored:
        print(
            f"ignored {folder / name}: not a police month file (expected names like "
            "202501.zip, YYYYMM.zip)",
            file=sys.stderr,
        )
    if not found:
        raise PipelineRunFailed(f"no police month files (YYYYMM.zip) in {folder}")
    return found


def police_files(folder: Path) -> tuple[list[Month], list[str]]:
    """The months of the ``YYYYMM.zip`` archives in ``folder``, and the names of the other zip
    archives there (a browser's second download, ``202501 (1).zip``): what looks like a month
    but is not read. Other files (the police's GeoJSON format and its code lists) are not
    archives the pipeline reads."""
    months, other = [], []
    archives = sorted(folder.glob("*.[zZ][iI][pP]")) if folder.is_dir() else []
    for path in archives:
        month = _month_or_none(path.stem) if re.fullmatch(r"\d{6}", path.stem) else None
        if month is None:
            other.append(path.name)
        else:
            months.append(month)
    return sorted(months), other


def _month_or_none(text: str) -> Month | None:
    try:
        return Month.parse(text)
    except ValueError:  # 202513
        return None


def given_months(texts: list[str]) -> list[Month]:
    """The ``--months`` arguments; a bad one refused with the form expected."""
    try:
        return [Month.parse(text) for text in texts]
    except ValueError as error:
        raise PipelineRunFailed(f"--months: {error}") from None


@contextmanager
def exclusive_run(home: Path) -> Iterator[None]:
    """Hold the Airflow home's run lock: two runs on one metadata database trip over each
    other's DagRuns, so a second is refused at once."""
    home.mkdir(parents=True, exist_ok=True)
    with (home / "pipeline-run.lock").open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise PipelineRunFailed(
                f"another pipeline run is using the Airflow home {home}: wait for it to end "
                "(each run writes its own log), then run again"
            ) from None
        yield


def failure_messages(settings: Settings, dag_id: str, run_id: str) -> list[str]:
    """What each failed task of a DagRun said (the failure records ``alerts`` wrote)."""
    folder = failure_records_folder(settings.runs_dir, dag_id, run_id)
    return [
        f"{record['task_id']}: {record['error']}"
        for record in (read_json(p) for p in sorted(folder.glob("*.json")))
    ]


def run_pipeline(
    dags_folder: Path, months: list[Month], demo_contract: bool = False
) -> list[tuple[str, str, str]]:
    """boundaries → police_incidents (one run per month), the police's own statistics where the
    input folder has them (police_districts → police_statistics, one run per month →
    publish_statistics), then publish and share (``demo_contract``: after registering the
    demo's contract); returns (dag, run, state)."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(dags_folder))
    if bag.import_errors:
        raise PipelineRunFailed(f"DAG import errors: {bag.import_errors}")
    plan: list[tuple[str, Any]] = [("boundaries", None)]
    # A manual run covers the last complete interval before its logical date: month M is the run
    # at the start of M+1 — the same interval the scheduler would give it.
    plan += [("police_incidents", m.next().start_utc()) for m in months]
    # the police's statistics first: the release's audit takes readers to hold them, and its
    # municipality pages link to their police units' pages in the statistics' own release
    statistics = statistics_plan(get_settings(), months)
    plan += statistics
    plan += [("publish_statistics", None)] if statistics else []
    plan += [("publish", None), ("share", None)]
    outcomes = []
    for dag_id, logical_date in plan:
        if dag_id == "share" and demo_contract:
            from transforms.contracts.demo import ensure_demo_contract

            ensure_demo_contract(get_settings())
        dag = bag.get_dag(dag_id)
        if dag is None:
            raise PipelineRunFailed(f"DAG {dag_id!r} not found in {dags_folder}")
        run = dag.test(logical_date=logical_date) if logical_date else dag.test()
        state = str(getattr(run, "state", "unknown"))
        outcomes.append((dag_id, str(getattr(run, "run_id", "")), state))
        if state != "success":
            run_id = str(getattr(run, "run_id", "?"))
            said = failure_messages(get_settings(), dag_id, run_id)
            raise PipelineRunFailed(
                "\n\n".join(said or [f"{dag_id} run {run_id} ended {state}"])
                + f"\n\n({dag_id} run {run_id} ended {state}; the task logs are in the full "
                "log, quarantines and Data Docs under the data root's runs/ folder)"
            )
    return outcomes


def statistics_plan(settings: Settings, months: list[Month]) -> list[tuple[str, Any]]:
    """The police statistics' runs, for the months whose report folder the input has."""
    if settings.data_in is None or not (settings.data_in / "police_districts").is_dir():
        return []
    folder = settings.data_in / "police_statistics"
    reported = [m for m in months if (folder / m.compact).is_dir()]
    if not reported:
        return []
    return [("police_districts", None)] + [
        ("police_statistics", m.next().start_utc()) for m in reported
    ]


def release_figures(settings: Settings, release: Path) -> list[tuple[str, str]]:
    """The figures ``make demo`` prints for a release (README's are checked against them)."""
    from transforms.pipeline.publish.staged import operator_report
    from transforms.publish.folder import MANIFEST

    manifest = read_json(release / MANIFEST)
    summary = manifest["summary"]
    operator = operator_report(settings, manifest)
    ledger = operator["ledger"] if operator else summary
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
    return rows


def protection_cost_figures(settings: Settings, release: Path) -> list[tuple[str, str]]:
    """The operator's report of what protection costs (sums over hidden cells: printed by
    ``make demo``, never in the release); empty when the run's report is not at hand."""
    from transforms.pipeline.publish.staged import operator_report
    from transforms.privacy.report import table_text
    from transforms.publish.folder import MANIFEST

    operator = operator_report(settings, read_json(release / MANIFEST))
    if not operator:
        return []
    internal_loss = operator["information_loss"]
    return [
        *table_text(operator["protection_cost"]),
        (
            "point records in hidden cells (never placed)",
            f"{internal_loss['records_in_hidden_cells']:,}",
        ),
        ("sensitive records (never points)", f"{internal_loss['sensitive_rows_removed']:,}"),
    ]


def print_summary(settings: Settings, outcomes: list[tuple[str, str, str]]) -> None:
    from rich.console import Console
    from rich.table import Table

    from transforms.publish.folder import latest

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
    tables = [
        (f"Release {settings.dataset_id} {pointer['version']}", release_figures),
        ("What protection costs (operator's report, not published)", protection_cost_figures),
    ]
    for title, figures in tables:
        rows = figures(settings, release)
        if not rows:
            continue
        table = Table(title=title)
        table.add_column("figure")
        table.add_column("value", justify="right")
        for name, value in rows:
            table.add_row(name, value)
        console.print(table)
    console.print(f"Release: [bold]{release}[/bold]")
    console.print(f"Portal:  [bold]{release.parent / 'index.html'}[/bold] (open it in a browser)")
    statistics = settings.releases_dir / f"{settings.dataset_id}-police-statistics"
    newest = read_json_or_none(statistics / "latest.json")
    if newest is not None:
        console.print(f"Police statistics release: [bold]{statistics / newest['version']}[/bold]")
    print_deliveries(settings, str(pointer["version"]), console)


def print_deliveries(settings: Settings, version: str, console: Any) -> None:
    """Where this release's contract packages went, and how the demo's recipient opens one."""
    from transforms.contracts.demo import DEMO_CONTRACT, demo_keys

    packages = sorted(settings.deliveries_root.glob(f"*/{version}.ocp"))
    for package in packages:
        console.print(f"Contract package: [bold]{package}[/bold]", soft_wrap=True)
        keys = demo_keys(settings)
        if package.parent.name == DEMO_CONTRACT and keys.publisher_public.exists():
            console.print(
                f"  open it: .venv/bin/opencrime package open {package} --key "
                f"{keys.recipient_private} --publisher-key "
                f"{keys.publisher_public.read_text().strip()} --out {package.with_suffix('')}",
                soft_wrap=True,  # a command to copy: one line
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--dags-folder", type=Path, default=Path(__file__).resolve().parents[2] / "dags"
    )
    parser.add_argument("--months", nargs="*", help="YYYY-MM months (default: all in DATA_IN)")
    parser.add_argument(
        "--demo-contract",
        action="store_true",
        help="register the demo's data-sharing contract (and its keys) before sharing",
    )
    args = parser.parse_args(argv)
    settings = get_settings()
    try:
        with exclusive_run(Path(os.environ.get("AIRFLOW_HOME", "~/airflow")).expanduser()):
            months = (
                [Month.parse(m) for m in args.months] if args.months else sample_months(settings)
            )
            before = latest_version(settings)
            outcomes = run_pipeline(args.dags_folder, months, args.demo_contract)
    except PipelineRunFailed as error:
        sys.stdout.flush()
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
