"""Benchmark: a full rebuild of the national history, raw police files to a published release.

    .venv/bin/python bench/full_history.py                          # 1 million incidents
    .venv/bin/python bench/full_history.py --incidents 15000000     # the reported volume
    .venv/bin/python bench/full_history.py --first 2022-01          # a shorter history

Generates, in the exact input formats, a country of 6,258 municipality polygons (~265 vertices
each, 77 districts, 14 regions, RÚIAN-like layers in S-JTSK), its ČSÚ population table and one
police archive per month (``{YYYYMM}.zip``: records CSV plus code lists) from ``--first`` to
``--last`` (default 2013-01 to 2022-12), with N incidents placed by population, the offence mix
of the police code lists and monthly seasonality. Then runs the pipeline's own steps in child
processes, with a fresh peak RSS each, as on an Airflow worker:

- ``boundaries``: snapshot, stage, validate, promote the geography;
- ``police_incidents``: the history in one batch (``transforms.pipeline.police_history``): parse,
  canonical, spatial join, the raw and canonical suites per month, commit;
- ``publish``: each task in its own process: count and protect (``build_tables``, two years at
  a time in worker processes), then the ``audit`` and ``validate_tables`` side by side, as the
  DAG runs them, then ``write_release`` (vector tiles in a side process). Its peak RSS is the
  largest of the tasks' (with their workers) or of the two gates together.

Each step prints its stages (wall time, peak RSS of its process). Two references are measured
in the same run, each in its own process, on the same files:

1. the floor: reading the month CSVs out of the archives and writing them as one Parquet file,
   with pyarrow alone;
2. the naive baseline: a GeoDataFrame of every point, ``geopandas.sjoin`` with the municipalities
   and a pandas ``groupby`` counting offences per municipality, month and type.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

# testdata/ lives beside the installed package, not in it: a script run from anywhere finds it
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
# releases built here are catalogued as the demo's are (publishing needs an address)
os.environ.setdefault("OPENCRIME_PUBLIC_BASE_URL", "https://localhost/opencrime/releases")

from testdata.formats import police_month_zip, records_csv
from testdata.national import month_records, seasonal_month_sizes, write_national_inputs
from transforms.domain.geography import WGS84
from transforms.domain.periods import Month
from transforms.pipeline.publish.stage import YEAR_WORKERS
from transforms.plumbing.timing import Stages, peak_rss_mib
from transforms.plumbing.workers import GLIBC_TUNABLES


def step_peak_rss_mib(children: int = 1) -> float:
    """The step's peak: its own plus ``children`` times its largest helper process's (an upper
    bound of all at once: the ingest's helper, build_tables' year workers, write_release's
    tile process)."""
    largest_child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return peak_rss_mib() + children * largest_child


class TreeMemory:
    """The resident memory of this process's descendants (the steps' processes, not this
    one, which generated the inputs), summed, sampled every 50 ms in a thread while
    ``active``: what the processes running at once hold together. (Each step's processes at
    their own peaks, summed, are an upper bound of it.)"""

    def __init__(self) -> None:
        self.peak_mib = 0.0
        self.active = False
        threading.Thread(target=self._sample, daemon=True).start()

    def _sample(self) -> None:
        while True:
            if self.active:
                self.peak_mib = max(self.peak_mib, descendants_rss_mib(os.getpid()))
            time.sleep(0.05)


def descendants_rss_mib(root: int) -> float:
    """The summed resident memory of ``root``'s descendants (Linux's /proc; a process that
    ends meanwhile counts as nothing)."""
    total, pending = 0, [root]
    page = os.sysconf("SC_PAGE_SIZE")
    while pending:
        pid = pending.pop()
        try:
            if pid != root:
                total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * page
            for task in Path(f"/proc/{pid}/task").iterdir():
                pending += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, ValueError):
            continue
    return total / 2**20


def make_inputs(data_in: Path, incidents: int, months: list[Month], seed: int = 13) -> int:
    """Writes the inputs; returns the number of record rows (incidents × their types)."""
    placement = write_national_inputs(data_in)
    rng = np.random.default_rng(seed)
    rows, next_id = 0, 10_000_000
    for month, size in zip(months, seasonal_month_sizes(months, incidents), strict=True):
        records = month_records(month, int(size), placement, next_id, rng)
        next_id = int(records["id"].astype(np.int64).max()) + 1
        rows += len(records)
        (data_in / "police" / f"{month.compact}.zip").write_bytes(
            police_month_zip(month, records_csv(records))
        )
    return rows


# --- the pipeline's steps, a child process per DAG (per task for publish) ----------------------


def run_boundaries(settings: Any, stages: Stages) -> dict[str, Any]:
    from transforms.pipeline import boundaries as steps

    with stages("snapshot + stage geography"):
        staged = steps.stage_geography(settings, steps.snapshot_boundary_inputs(settings))
    with stages("validate geography (GX)"):
        steps.validate_geography(settings, staged["version"], "bench")
    with stages("promote geography"):
        steps.promote_geography(settings, staged["version"])
    return {}


def run_police_incidents(settings: Any, stages: Stages, months: list[Month]) -> dict[str, Any]:
    from transforms.pipeline import police_history as history

    return history.ingest_history(settings, months, "bench", stages=stages)


# The publish DAG's tasks, each in its own process as on an Airflow worker; the tasks of a
# group run side by side (the audit and the validation are independent gates on the staged
# tables), so the group's peak is the sum of its tasks' peaks.
PUBLISH_TASKS = [["build_tables"], ["audit", "validate_tables"], ["write_release"]]


def run_publish_task(settings: Any, stages: Stages, task: str, staged: str) -> dict[str, Any]:
    from transforms.pipeline.publish import audit, inputs, stage, validate, write

    if task == "build_tables":
        # a first release: a kept folder's earlier one would make this a re-publication, whose
        # years also read that release's cells (what readers know; docs/performance.md)
        shutil.rmtree(settings.releases_dir, ignore_errors=True)
        shutil.rmtree(settings.runs_dir / "publish", ignore_errors=True)
        with stages("check policy"):
            inputs.check_policy(settings)
        return stage.stage_release_tables(settings, stages=stages)
    if task == "audit":
        return audit.audit_release_tables(settings, staged, stages=stages)
    if task == "validate_tables":
        with stages("validate release tables (GX)"):
            return validate.validate_release_tables(settings, staged, "bench")
    if task == "write_release":
        with stages("publish: manifest, checksums, pages"):
            return write.write_release(settings, staged, "bench", stages=stages)
    raise ValueError(task)


def run_publish(command: list[str]) -> dict[str, Any]:
    """The publish tasks in their groups; one result with every task's stages."""
    started = time.perf_counter()
    stages: list[Any] = []
    peak, staged = 0.0, ""
    for group in PUBLISH_TASKS:
        running = [
            subprocess.Popen(
                [*command, "--step", f"publish:{task}", "--staged", staged],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for task in group
        ]
        results = []
        for task, process in zip(group, running, strict=True):
            out, err = process.communicate()
            if process.returncode:
                print(err[-4000:])
                raise SystemExit(f"publish task {task} failed")
            results.append(json.loads(out.strip().splitlines()[-1]))
        for result in results:
            print(
                f"  publish task {result['step']}: {result['seconds']:.1f} s, "
                f"peak RSS {result['peak_rss_mib']:,.0f} MiB",
                flush=True,
            )
            stages += result["stages"]
        peak = max(peak, sum(r["peak_rss_mib"] for r in results))
        staged = results[0]["result"].get("staged", staged)
    return {
        "step": "publish",
        "seconds": time.perf_counter() - started,
        "peak_rss_mib": peak,
        "stages": stages,
        "result": {},
    }


def run_floor(data_in: Path, out: Path, stages: Stages) -> dict[str, Any]:
    import pyarrow as pa
    import pyarrow.csv as pv
    import pyarrow.parquet as pq

    with stages("pyarrow: read CSVs, write Parquet"):
        tables = []
        for path in sorted((data_in / "police").glob("*.zip")):
            with zipfile.ZipFile(path) as archive:
                name = f"{path.stem}.csv"
                tables.append(pv.read_csv(pa.BufferReader(archive.read(name))))
        table = pa.concat_tables(tables)
        pq.write_table(table, out / "floor.parquet")
    return {"rows": table.num_rows}


def run_naive(data_in: Path, stages: Stages) -> dict[str, Any]:
    import geopandas as gpd
    import pandas as pd
    import pyarrow as pa
    import pyarrow.csv as pv

    with stages("read CSVs (pyarrow)"):
        frames = []
        for path in sorted((data_in / "police").glob("*.zip")):
            with zipfile.ZipFile(path) as archive:
                frames.append(
                    pv.read_csv(pa.BufferReader(archive.read(f"{path.stem}.csv"))).to_pandas()
                )
        records = pd.concat(frames, ignore_index=True)
        obce = gpd.read_file(data_in / "boundaries" / "national.gpkg", layer="obce").to_crs(WGS84)
    with stages("geopandas.sjoin"):
        points = gpd.GeoDataFrame(
            {"month": records["date"].to_numpy().astype("datetime64[M]"), "type": records["types"]},
            geometry=gpd.points_from_xy(records["x"], records["y"]),
            crs=WGS84,
        )
        joined = gpd.sjoin(points, obce[["kod", "geometry"]], predicate="within", how="left")
    with stages("pandas groupby"):
        counts = joined.groupby(["kod", "month", "type"]).size()
    return {"cells": len(counts)}


def child(step: str, folder: Path, months: list[Month], staged: str) -> dict[str, Any]:
    from transforms.plumbing.settings import get_settings

    stages = Stages()
    settings = get_settings(data_root=folder / "root", data_in=folder / "in")
    started = time.perf_counter()
    if step == "boundaries":
        result = run_boundaries(settings, stages)
    elif step == "police_incidents":
        result = run_police_incidents(settings, stages, months)
    elif step.startswith("publish:"):
        result = run_publish_task(settings, stages, step.removeprefix("publish:"), staged)
    elif step == "floor":
        result = run_floor(folder / "in", folder, stages)
    elif step == "naive":
        result = run_naive(folder / "in", stages)
    else:
        raise ValueError(step)
    return {
        "step": step,
        "seconds": time.perf_counter() - started,
        "peak_rss_mib": step_peak_rss_mib(YEAR_WORKERS if step == "publish:build_tables" else 1),
        "stages": stages.rows,
        "result": result,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=1_000_000)
    parser.add_argument("--first", default="2013-01")
    parser.add_argument("--last", default="2022-12")
    parser.add_argument(
        "--skip",
        nargs="*",
        default=[],
        help="steps not to run: boundaries, police_incidents, publish, floor, naive (with "
        "--keep, the steps skipped are the ones already run on that folder)",
    )
    parser.add_argument("--keep", type=Path, help="generate into (or reuse) this folder")
    parser.add_argument("--step", help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--staged", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    months = Month.parse(args.first).months_until(Month.parse(args.last))
    if args.step:  # a child process: one DAG's steps or one reference
        print(json.dumps(child(args.step, args.folder, months, args.staged)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        started = time.perf_counter()
        if not (folder / "in" / "rows.json").exists():
            rows = make_inputs(folder / "in", args.incidents, months)
            (folder / "in" / "rows.json").write_text(json.dumps(rows))
        rows = json.loads((folder / "in" / "rows.json").read_text())
        print(
            f"inputs: {args.incidents:,} incidents ({rows:,} record rows) in {len(months)} "
            f"monthly archives {months[0]}..{months[-1]}, 6,258 municipalities "
            f"({time.perf_counter() - started:.0f} s to generate)",
            flush=True,
        )
        # the steps run with the allocator settings the image gives every task
        os.environ.setdefault("GLIBC_TUNABLES", GLIBC_TUNABLES)
        print(f"GLIBC_TUNABLES={os.environ['GLIBC_TUNABLES']}", flush=True)
        results = []
        steps = ["boundaries", "police_incidents", "publish", "floor", "naive"]
        steps = [s for s in steps if s not in args.skip]
        if "boundaries" in steps:
            # from the raw files: nothing a kept folder's earlier run derived is reused (the
            # geography's point-location grid, snapshots, partitions, releases)
            shutil.rmtree(folder / "root", ignore_errors=True)
        memory = TreeMemory()
        for step in steps:
            memory.active = step not in ("floor", "naive")  # the pipeline's, not the references'
            command = [
                *(sys.executable, __file__, "--folder", str(folder)),
                *("--first", args.first, "--last", args.last),
            ]
            if step == "publish":
                results.append(run_publish(command))
                report(results[-1])
                continue
            done = subprocess.run([*command, "--step", step], capture_output=True, text=True)
            if done.returncode:
                print(done.stderr[-4000:])
                raise SystemExit(f"step {step} failed")
            results.append(json.loads(done.stdout.strip().splitlines()[-1]))
            report(results[-1])
        summarise(results, memory.peak_mib)


def report(result: dict[str, Any]) -> None:
    """A step's stages in their first order; a stage repeated per month is summed (× times).
    Stages of the ingest's helper process ran beside the main's, and the publish gates side by
    side: their sum exceeds the wall."""
    print(
        f"\n{result['step']}: {result['seconds']:.1f} s, peak RSS {result['peak_rss_mib']:,.0f} MiB"
    )
    totals: dict[str, list[float]] = {}
    for name, seconds, rss in result["stages"]:
        entry = totals.setdefault(name, [0.0, 0.0, 0.0])
        entry[0] += seconds
        entry[1] += 1
        entry[2] = max(entry[2], rss)
    for name, (seconds, times, rss) in totals.items():
        label = name + (f" × {times:.0f}" if times > 1 else "")
        print(f"  {label:44} {seconds:8.2f} s {rss:8,.0f} MiB")
    sys.stdout.flush()


def summarise(results: list[dict[str, Any]], tree_peak_mib: float) -> None:
    by_step = {r["step"]: r for r in results}
    pipeline = [by_step[s] for s in ("boundaries", "police_incidents", "publish") if s in by_step]
    total = sum(r["seconds"] for r in pipeline)
    peak = max(r["peak_rss_mib"] for r in pipeline)
    if {"boundaries", "police_incidents", "publish"} <= by_step.keys():
        what = "raw → published release"
    else:
        what = " + ".join(r["step"] for r in pipeline)
    print(
        f"\n{what}: {total:.1f} s wall, peak RSS {peak:,.0f} MiB (the processes running at once, "
        f"each at its own peak), {tree_peak_mib:,.0f} MiB sampled (all of them at one moment)"
    )
    if "police_incidents" not in by_step:
        return
    join = sum(s[1] for s in by_step["police_incidents"]["stages"] if s[0].endswith("spatial join"))
    print(f"spatial join (pipeline): {join:.1f} s")
    if "floor" in by_step:
        floor = by_step["floor"]["seconds"]
        print(
            f"floor (pyarrow read + write): {floor:.1f} s; "
            f"spatial join / floor: {join / floor:.2f}×"
        )
    if "naive" in by_step:
        naive = dict((s[0], s[1]) for s in by_step["naive"]["stages"])
        print(
            f"naive geopandas.sjoin: {naive['geopandas.sjoin']:.1f} s (+ groupby "
            f"{naive['pandas groupby']:.1f} s); pipeline join is "
            f"{naive['geopandas.sjoin'] / join:.1f}× faster"
        )


if __name__ == "__main__":
    main()
