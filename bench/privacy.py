"""Benchmark: protection (primary + secondary suppression) and the audit on a synthetic cube, and
what protection costs the tables.

    .venv/bin/python bench/privacy.py                       # national year: 6,258 municipalities
    .venv/bin/python bench/privacy.py --municipalities 600  # a tenth of the country
    .venv/bin/python bench/privacy.py --police              # readers hold the police's statistics

The synthetic country has the Czech shape: 6,258 municipalities with a heavy-tailed population
(one city of 1.3 million, most villages of a few hundred), 77 districts, 14 regions, about
1.4 million offences a year over 12 groups and 100 offence types (two of them sensitive), with
monthly seasonality. Prints wall time and peak RSS for each stage, and the protection-cost table
of docs/disclosure-policy.md (the operator's report: the figures a release does not carry).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

# testdata/ lives beside the installed package, not in it: a script run from anywhere finds it
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from testdata.national import (
    country_hierarchy,
    offence_records,
    offence_tree,
    police_statistics,
)
from transforms.domain.counting import (
    build_cube,
    geography_dimension,
    offence_dimension,
    period_dimension,
)
from transforms.plumbing.timing import Stages, peak_rss_mib
from transforms.privacy.audit import audit
from transforms.privacy.cells import below_sensitive_level
from transforms.privacy.police_figures import NOTHING_OUTSIDE, police_knowledge
from transforms.privacy.policy import load_policy, sensitive_codes
from transforms.privacy.report import protection_cost, table_text, tally
from transforms.privacy.suppression import protect

POLICY = Path(__file__).resolve().parents[1] / "policy" / "disclosure.yaml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--municipalities", type=int, default=6258)
    parser.add_argument(
        "--offences-per-year",
        type=float,
        default=None,
        help="default: 1.4 million scaled by the number of municipalities",
    )
    parser.add_argument(
        "--police",
        action="store_true",
        help="readers also hold the police's monthly statistics per unit of ~14 municipalities",
    )
    parser.add_argument("--json", type=Path, help="also write the cost report here")
    args = parser.parse_args()
    policy, _ = load_policy(POLICY)
    per_year = args.offences_per_year or 1_400_000 * args.municipalities / 6258
    stages = Stages()
    with stages("synthetic data"):
        geography = country_hierarchy(args.municipalities)
        names, parent = offence_tree()
        offences = offence_records(geography, names, parent, per_year)
        sensitive = sensitive_codes(policy, names, parent)
    with stages("count cube"):
        cube = build_cube(
            offences,
            geography_dimension(geography),
            period_dimension([f"2025-{m:02d}" for m in range(1, 13)]),
            offence_dimension(names, parent, sensitive),
        )
    outside = NOTHING_OUTSIDE
    if args.police:
        with stages("the police's figures as outside sums"):
            outside = police_knowledge(cube, police_statistics(geography, offences, parent))
        print(
            f"police figures: {outside.figures:,} meet the cube, {outside.broken:,} broken, "
            f"{len(outside.known.cells):,} cells they determine"
        )
    with stages("protect (suppression + audits)"):
        protection = protect(cube, policy, known=outside.known, outside=outside.sums)
    with stages("final audit (the gate)"):
        result = audit(
            cube,
            protection.codes,
            protection.required_width,
            outside.known,
            hints=protection.hints,
            free=below_sensitive_level(cube, policy),
            outside=outside.sums,
        )
    cost = protection_cost(
        tally(cube, protection.codes, protection.table, protection.required_width), len(offences)
    )
    print(
        f"cube: {len(cube.count):,} cells ({int(protection.table.sum()):,} in the table), "
        f"{len(cube.totals):,} relations, {len(offences):,} offences, "
        f"{args.municipalities:,} municipalities"
    )
    print(
        f"primary {cost['primary_cells']:,}, secondary {cost['secondary_cells']:,}; "
        f"protection rounds {protection.iterations}; audit passed {result.passed} "
        f"({len(result.cells):,} hidden non-zero cells attacked: "
        f"{int(result.cells['certificate'].sum()):,} by certificate, "
        f"{result.lp_solves:,} LP solves)"
    )
    print()
    for figure, value in table_text(cost):
        print(f"{figure:56} {value:>20}")
    print()
    print(f"{'stage':34} {'wall s':>9} {'peak RSS MiB':>13}")
    for name, seconds, rss in stages.rows:
        print(f"{name:34} {seconds:9.2f} {rss:13.0f}")
    protection_and_audit = stages.total("protect (suppression + audits)") + stages.total(
        "final audit (the gate)"
    )
    print(f"{'protection + audit':34} {protection_and_audit:9.2f} {peak_rss_mib():13.0f}")
    if args.json:
        args.json.write_text(json.dumps(cost, indent=2))


if __name__ == "__main__":
    main()
