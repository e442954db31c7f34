"""``validate_tables``: the output suites of Great Expectations on the staged tables and
points, the second gate beside the audit."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from transforms.domain.counting import (
    SENSITIVE,
    period_dimension,
)
from transforms.domain.periods import Month
from transforms.pipeline.common import (
    country_parameters,
    docs_dir,
)
from transforms.pipeline.publish.staged import POINT_CLASSES, counts_by_year, read_staged_points
from transforms.plumbing.settings import Settings
from transforms.plumbing.storage import (
    ParquetAppender,
    read_json,
)
from transforms.privacy.kanon import (
    point_classes,
)
from transforms.privacy.policy import (
    GEO_LEVELS,
    DisclosurePolicy,
    load_policy,
)
from transforms.validation import (
    gate,
    great_expectations_imported_meanwhile,
    validate,
    validate_batches,
    validation_view,
)


def points_view(classes: pd.DataFrame) -> pd.DataFrame:
    """What the ``published_points`` suite checks: each distinct point row once (the staged
    points' :func:`point_classes`), with the size of its (location, month, group) class.
    Every expectation of that suite is row-wise, so the distinct rows pass exactly when all
    rows do (its Data Docs count distinct rows)."""
    class_size = classes.groupby(["cell_code", "month", "offence_group"])["records"]
    return classes.assign(class_size=class_size.transform("sum")).drop(columns="records")


def validate_release_tables(settings: Settings, staged: str, run_id: str) -> dict[str, Any]:
    policy, _ = load_policy(settings.policy_path)
    folder = Path(staged)
    inputs = read_json(folder / "inputs.json")
    docs = docs_dir(settings, "publish", run_id)
    small = sorted(set(range(1, policy.aggregates.primary_threshold)))
    months = inputs["months"]
    with great_expectations_imported_meanwhile():
        classes = point_classes(read_staged_points(folder / "incidents.parquet"))
        # staged before the record that lets write_release read them: its tiles draw the
        # classes checked here instead of grouping ten million points again
        with ParquetAppender(folder / POINT_CLASSES, staging=True) as staged_classes:
            staged_classes.append(classes)
        view = validation_view(points_view(classes), ["level", "offence_group_name"])
    # the release's Data Docs show the data's date, not the wall clock: same data, same pages
    as_of = Month.parse(max(inputs["months"])).next().start_utc()
    checks = [
        # each expectation is row-wise or keyed by period, and no period spans two years
        validate_batches(
            (
                (year, validation_view(counts))
                for year, counts in counts_by_year(folder, months, text_as_categories=True)
            ),
            "published_counts",
            settings.expectations_dir,
            docs,
            {"small_counts": small, "periods": list(period_dimension(months).codes)}
            | sensitive_code_parameters(policy, inputs["sensitive_offences"]),
            as_of,
        ),
        validate(
            view,
            "published_points",
            settings.expectations_dir,
            docs,
            country_parameters()
            | {"k": policy.incidents.k, "sensitive_groups": inputs["sensitive_groups"]},
            as_of,
        ),
    ]
    return gate(checks, folder)


def sensitive_code_parameters(
    policy: DisclosurePolicy, sensitive: Iterable[int]
) -> dict[str, list[str]]:
    """The ``published_counts`` suite's ``sensitive_codes_at_<level>``: per geography level,
    the offence codes its rows must not have (the sensitive ones, below the policy's minimum
    level; none from that level up)."""
    codes = [SENSITIVE, *(str(c) for c in sorted(sensitive))]
    allowed = GEO_LEVELS.index(policy.sensitive.min_geo_level)
    return {
        f"sensitive_codes_at_{level}": codes if GEO_LEVELS.index(level) < allowed else []
        for level in ("municipality", "district", "region")
    }
