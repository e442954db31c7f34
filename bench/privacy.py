"""Benchmark: protection (primary + secondary suppression) and the LP audit on a synthetic cube.

    .venv/bin/python bench/privacy.py                       # national year: 6,258 municipalities
    .venv/bin/python bench/privacy.py --municipalities 600  # a tenth of the country

The synthetic country has the Czech shape: 6,258 municipalities with a heavy-tailed population
(one city of 1.3 million, most villages of a few hundred), 77 districts, 14 regions, about
1.4 million offences a year over 12 groups and 100 offence types (two of them sensitive), with
monthly seasonality. Prints wall time and peak RSS for each stage.
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

import numpy as np
import pandas as pd

from transforms.aggregate import (
    build_cube,
    geography_dimension,
    offence_dimension,
    period_dimension,
)
from transforms.privacy.audit import audit
from transforms.privacy.policy import load_policy
from transforms.privacy.suppression import PUBLISHED, protect

POLICY = Path(__file__).resolve().parents[1] / "policy" / "disclosure.yaml"


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def synthetic_country(municipalities: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    regions = max(1, round(14 * municipalities / 6258))
    districts = max(regions, round(77 * municipalities / 6258))
    rows = [("CZ", "country", None)]
    rows += [(f"R{r:02d}", "region", "CZ") for r in range(regions)]
    rows += [(f"D{d:03d}", "district", f"R{d % regions:02d}") for d in range(districts)]
    rows += [
        (f"{500000 + m:06d}", "municipality", f"D{m % districts:03d}")
        for m in range(municipalities)
    ]
    geography = pd.DataFrame(rows, columns=["code", "level", "parent_code"])
    people = np.maximum(50, (rng.pareto(1.05, municipalities) + 1) * 180).astype(int)
    people[0] = 1_300_000
    geography["population"] = np.concatenate([[0] * (1 + regions + districts), people])
    return geography


def offence_types() -> tuple[dict[int, str], dict[int, int | None]]:
    roots = [1, 13, 18, 35, 54, 55, 63, 79, 80, 84, 96, 97]
    names: dict[int, str] = {r: f"group {r}" for r in roots}
    parent: dict[int, int | None] = {r: None for r in roots}
    code = 200
    for r in roots:
        for _ in range(8):
            names[code], parent[code] = f"type {code}", r
            code += 1
    names[6], parent[6] = "Znásilnění", 1
    names[7], parent[7] = "Týrání osoby žijící ve společném obydlí", 1
    return names, parent


def synthetic_offences(
    geography: pd.DataFrame,
    names: dict[int, str],
    parent: dict[int, int | None],
    per_year: float,
    seed: int = 2,
) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    municipalities = geography[geography["level"] == "municipality"]
    leaves = [c for c in names if c not in set(parent.values())]
    weights = rng.gamma(0.6, 1.0, len(leaves))
    weights[[leaves.index(6), leaves.index(7)]] = 0.05
    weights /= weights.sum()
    share = municipalities["population"].to_numpy() / municipalities["population"].sum()
    frames = []
    for month in range(1, 13):
        seasonal = 1 + 0.15 * np.sin((month - 4) / 12 * 2 * np.pi)
        n = rng.poisson(per_year / 12 * seasonal)
        frames.append(
            pd.DataFrame(
                {
                    "geo": rng.choice(municipalities["code"].to_numpy(), size=n, p=share),
                    "period": f"2025-{month:02d}",
                    "offence": rng.choice(np.array(leaves).astype(str), size=n, p=weights),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--municipalities", type=int, default=6258)
    parser.add_argument(
        "--offences-per-year",
        type=float,
        default=None,
        help="default: 1.4 million scaled by the number of municipalities",
    )
    args = parser.parse_args()
    policy, _ = load_policy(POLICY)
    per_year = args.offences_per_year or 1_400_000 * args.municipalities / 6258
    stages: list[tuple[str, float, float]] = []
    start = time.perf_counter()
    geography = synthetic_country(args.municipalities)
    names, parent = offence_types()
    offences = synthetic_offences(geography, names, parent, per_year)
    stages.append(("synthetic data", time.perf_counter() - start, peak_rss_mib()))
    start = time.perf_counter()
    cube = build_cube(
        offences,
        geography_dimension(geography),
        period_dimension([f"2025-{m:02d}" for m in range(1, 13)]),
        offence_dimension(names, parent),
    )
    stages.append(("count cube", time.perf_counter() - start, peak_rss_mib()))
    start = time.perf_counter()
    protection = protect(cube, policy, {6, 7})
    protect_s = time.perf_counter() - start
    stages.append(("protect (suppression + audits)", protect_s, peak_rss_mib()))
    start = time.perf_counter()
    result = audit(cube, protection.status, protection.required_width, hints=protection.hints)
    audit_s = time.perf_counter() - start
    stages.append(("final audit (the gate)", audit_s, peak_rss_mib()))
    status = pd.Series(protection.status)
    print(
        f"cube: {len(cube.cells):,} cells, {len(cube.totals):,} relations, "
        f"{len(offences):,} offences, {args.municipalities:,} municipalities"
    )
    print(
        f"cells published {int((status == PUBLISHED).sum()):,}, "
        f"suppressed primary {int((status == 'suppressed_primary').sum()):,}, "
        f"secondary {int((status == 'suppressed_secondary').sum()):,}; "
        f"protection rounds {protection.iterations}; audit passed {result.passed} "
        f"({len(result.cells):,} protected cells: "
        f"{int(result.cells['certificate'].sum()):,} by certificate, "
        f"{result.lp_solves:,} LP solves)"
    )
    print(f"{'stage':34} {'wall s':>9} {'peak RSS MiB':>13}")
    for name, seconds, rss in stages:
        print(f"{name:34} {seconds:9.2f} {rss:13.0f}")
    print(f"{'protection + audit':34} {protect_s + audit_s:9.2f} {peak_rss_mib():13.0f}")


if __name__ == "__main__":
    main()
