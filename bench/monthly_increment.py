"""Benchmark: one monthly increment of the police DAG on a national-size geography.

    .venv/bin/python bench/monthly_increment.py                    # 150,000 incidents
    .venv/bin/python bench/monthly_increment.py --incidents 500000

Generates, in the exact input formats, a synthetic country of 6,258 municipalities (RÚIAN-like
layers ``vusc``/``okresy``/``obce`` in S-JTSK, 14 regions, 77 districts, ~265 vertices per
municipality), its ČSÚ population table and one police month (``{YYYYMM}.zip``: records CSV plus
code lists), then runs the pipeline's own steps, as the ``boundaries`` and ``police_incidents``
DAGs' tasks call them: the geography once (not part of the increment), then the month — snapshot,
raw check, the per-region placement, canonicalisation, validation, commit. Prints wall time and
peak RSS per step; the increment's task time is their sum (Airflow's own start-up excluded).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

# testdata/ lives beside the installed package, not in it: a script run from anywhere finds it
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
# releases built here are catalogued as the demo's are (publishing needs an address)
os.environ.setdefault("OPENCRIME_PUBLIC_BASE_URL", "https://localhost/opencrime/releases")

from testdata.formats import police_month_zip, records_csv
from testdata.national import month_records, write_national_inputs
from transforms.domain.periods import Month
from transforms.pipeline import boundaries as geo_steps
from transforms.pipeline import police_incidents as steps
from transforms.plumbing.settings import get_settings
from transforms.plumbing.timing import Stages

MONTH = Month(2025, 6)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=150_000)
    args = parser.parse_args()
    stages = Stages()  # one per task of the DAG

    with tempfile.TemporaryDirectory() as tmp:
        data_in, root = Path(tmp) / "in", Path(tmp) / "root"
        started = time.perf_counter()
        placement = write_national_inputs(data_in)
        records = month_records(
            MONTH, args.incidents, placement, 20_000_000, np.random.default_rng(13)
        )
        (data_in / "police" / f"{MONTH.compact}.zip").write_bytes(
            police_month_zip(MONTH, records_csv(records))
        )
        print(
            f"inputs: {len(placement.people):,} municipalities, 77 districts, 14 regions; "
            f"{args.incidents:,} incidents in {MONTH} "
            f"({time.perf_counter() - started:.1f} s to generate)"
        )
        settings = get_settings(data_root=root, data_in=data_in)

        started = time.perf_counter()
        snapshots = geo_steps.snapshot_boundary_inputs(settings)
        staged = geo_steps.stage_geography(settings, snapshots)
        geo_steps.validate_geography(settings, staged["version"], "bench")
        geo_steps.promote_geography(settings, staged["version"])
        print(f"geography (once, not part of the increment): {time.perf_counter() - started:.1f} s")

        with stages("fetch_month"):
            snapshot = steps.fetch_police_month(settings, MONTH)
        with stages("check_raw_month"):
            prepared = steps.prepare_placement(settings, MONTH, snapshot, "bench")
        for region in prepared["regions"]:
            with stages(f"place_in_region {region}"):
                steps.place_in_region(settings, MONTH, prepared["key"], region)
        with stages("parse_and_place"):
            staged_month = steps.stage_police_month(
                settings, MONTH, snapshot, "bench", placed_by_region=True
            )
        with stages("validate_month"):
            steps.validate_police_month(settings, MONTH, staged_month["key"], "bench")
        with stages("commit_month"):
            steps.commit_police_month(settings, MONTH, staged_month["key"])

    print(
        f"{staged_month['input_rows']:,} rows in, {staged_month['accepted_rows']:,} accepted, "
        f"{staged_month['quarantined_rows']:,} quarantined"
    )
    print(f"{'step':28} {'wall s':>8} {'peak RSS MiB':>13}")
    regions = [t for t in stages.rows if t[0].startswith("place_in_region")]
    for name, seconds, rss in stages.rows:
        if not name.startswith("place_in_region"):
            print(f"{name:28} {seconds:8.2f} {rss:13.0f}")
    print(
        f"{'place_in_region × ' + str(len(regions)):28} {sum(t[1] for t in regions):8.2f} "
        f"{max(t[2] for t in regions):13.0f}  (longest one {max(t[1] for t in regions):.2f} s)"
    )
    print(f"{'monthly increment, task time':28} {sum(t[1] for t in stages.rows):8.2f}")


if __name__ == "__main__":
    main()
