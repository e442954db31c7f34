"""The Great Expectations suites: each passes on good data and fails, by name, on broken data."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest

from transforms.domain.periods import Month
from transforms.pipeline import boundaries as geography
from transforms.pipeline import police_incidents as incidents
from transforms.pipeline.common import country_parameters
from transforms.validation import ValidationFailed, require, validate

EXPECTATIONS = Path(__file__).resolve().parents[1] / "expectations"


@pytest.mark.parametrize("path", sorted(EXPECTATIONS.glob("*.json")), ids=lambda p: p.stem)
def test_every_expectation_says_why_it_exists(path: Path) -> None:
    suite = json.loads(path.read_text())
    assert suite["name"] == path.stem
    assert suite["meta"]["why"]
    for expectation in suite["expectations"]:
        assert expectation["type"].startswith("expect_")
        assert expectation["meta"]["why"], expectation


def failures(frame: pd.DataFrame, suite: str, **parameters) -> list[str]:
    report = validate(frame, suite, EXPECTATIONS, parameters=parameters)
    return report.failures


@pytest.fixture(scope="module")
def canonical(pipeline_run) -> pd.DataFrame:
    settings = pipeline_run["settings"]
    key = incidents.committed_months(settings)["2025-01"]
    return pd.read_parquet(
        settings.canonical_dir / "incidents" / "parts" / "2025-01" / key / "incidents.parquet"
    )


def test_canonical_incidents(canonical: pd.DataFrame) -> None:
    params = country_parameters() | {"months": ["2025-01"]}
    assert failures(canonical, "canonical_incidents", **params) == []
    broken = canonical.copy()
    broken.loc[broken.index[:3], ["lon", "lat"]] = broken.loc[
        broken.index[:3], ["lat", "lon"]
    ].to_numpy()
    found = failures(broken, "canonical_incidents", **params)
    assert any("expect_column_values_to_be_between(lon) 3 unexpected" in f for f in found)
    assert any("CRS or the axis order" in f for f in found)
    duplicated = pd.concat([canonical, canonical.head(1)])
    assert any(
        "compound_columns_to_be_unique" in f
        for f in failures(duplicated, "canonical_incidents", **params)
    )
    other_month = failures(
        canonical,
        "canonical_incidents",
        **(country_parameters() | {"months": ["2025-02"]}),
    )
    assert any("reported_month" in f for f in other_month)


def test_a_verdict_first_reports_what_a_full_run_reports(
    canonical: pd.DataFrame, monkeypatch
) -> None:
    """A partition is first checked for its verdict alone; a failure is reported in full."""
    from transforms import validation

    broken = canonical.copy()
    broken.loc[broken.index[:3], "lat"] = 0.0
    partitions = [(canonical, "2025-01"), (broken, "2025-01"), (canonical, "2025-02")]
    cases = [(frame, country_parameters() | {"months": [month]}) for frame, month in partitions]

    def reports() -> list[dict]:
        return [
            validate(frame, "canonical_incidents", EXPECTATIONS, parameters=params).to_json()
            for frame, params in cases
        ]

    verdict_first = reports()
    monkeypatch.setattr(validation, "VERDICT_FORMAT", validation.RESULT_FORMAT)
    assert verdict_first == reports()
    assert [r["success"] for r in verdict_first] == [True, False, False]
    assert any("lat) 3 unexpected values" in f for f in verdict_first[1]["failures"])


def test_geography(pipeline_run) -> None:
    settings = pipeline_run["settings"]
    units, _ = geography.load_current_geography(settings)
    params = country_parameters()
    view = geography.geography_view(units)
    assert failures(view, "geography", **params) == []
    numeric = view.copy()
    numeric.loc[numeric["level"] == "municipality", "code"] = "63889"  # leading digit lost
    found = failures(numeric, "geography", **params)
    assert any("match_regex(code)" in f for f in found)
    assert any("values_to_be_unique(code)" in f for f in found)
    centres = units.geometry.to_crs("EPSG:5514").centroid.to_crs("EPSG:4326")
    swapped = units.copy()
    swapped.geometry = gpd.GeoSeries.from_xy(centres.y, centres.x, crs="EPSG:4326").buffer(0.01)
    assert any(
        "wrong CRS or swapped axes" in f
        for f in failures(geography.geography_view(swapped), "geography", **params)
    )


@pytest.fixture(scope="module")
def counts_parameters(pipeline_run) -> dict:
    """The release's parameters of ``published_counts``: the small counts, its periods."""
    from transforms.domain.counting import period_dimension
    from transforms.pipeline.publish.validate import sensitive_code_parameters
    from transforms.privacy.policy import load_policy

    inputs = json.loads((Path(pipeline_run["tables"]["staged"]) / "inputs.json").read_text())
    policy, _ = load_policy(EXPECTATIONS.parent / "policy" / "disclosure.yaml")
    return {
        "small_counts": [1, 2],
        "periods": list(period_dimension(inputs["months"]).codes),
    } | sensitive_code_parameters(policy, inputs["sensitive_offences"])


def test_published_counts_have_no_sensitive_row_below_the_district(
    pipeline_run, counts_parameters: dict
) -> None:
    """A municipality's rows never name a sensitive offence: not even as suppressed."""
    counts = pd.read_parquet(Path(pipeline_run["tables"]["staged"]) / "counts.parquet")
    assert counts_parameters["sensitive_codes_at_municipality"]
    assert counts_parameters["sensitive_codes_at_district"] == []
    sensitive = counts[counts["offence_code"] == "SENSITIVE"]
    assert len(sensitive) and set(sensitive["geo_level"]) == {"country", "region", "district"}
    leaked = pd.concat(
        [
            counts,
            counts[counts["geo_level"] == "municipality"]
            .head(1)
            .assign(
                offence_code="SENSITIVE", status="suppressed", count=pd.NA, rate_per_1000=pd.NA
            ),
        ],
        ignore_index=True,
    )
    found = failures(leaked, "published_counts", **counts_parameters)
    assert any("minimum geography level" in f for f in found)


def test_published_counts(pipeline_run, counts_parameters: dict) -> None:
    counts = pd.read_parquet(Path(pipeline_run["tables"]["staged"]) / "counts.parquet")
    assert failures(counts, "published_counts", **counts_parameters) == []
    leaked = counts.copy()
    cell = leaked.index[leaked["status"] == "suppressed"][0]
    leaked.loc[cell, "count"] = 2
    found = failures(leaked, "published_counts", **counts_parameters)
    assert any("suppressed cell must never carry its value" in f for f in found)
    assert any("identify victims" in f for f in found)
    with pytest.raises(ValidationFailed, match="published_counts"):
        require(validate(leaked, "published_counts", EXPECTATIONS, parameters=counts_parameters))


def test_published_counts_holds_only_the_releases_periods(
    pipeline_run, counts_parameters: dict
) -> None:
    """A day, or a month the release does not cover, is a row that does not belong."""
    counts = pd.read_parquet(Path(pipeline_run["tables"]["staged"]) / "counts.parquet")
    last = max(counts_parameters["periods"])
    for wrong in (f"{last}-15", str(Month.parse(last).next())):
        mislabelled = counts.copy()
        mislabelled.loc[mislabelled["period"] == last, "period"] = wrong
        found = failures(mislabelled, "published_counts", **counts_parameters)
        assert any("be_in_set(period)" in f and "granularity" in f for f in found), wrong


def test_the_counts_validation_view_has_the_same_values_and_verdicts(
    pipeline_run, counts_parameters: dict
) -> None:
    """The release validates counts read as categories, numbers as float64 (GX's fast paths):
    every value and every missing value is the staged table's, and a leak fails the same way."""
    from transforms.pipeline.publish.staged import counts_by_year
    from transforms.validation import validation_view

    staged = Path(pipeline_run["tables"]["staged"])
    months = json.loads((staged / "inputs.json").read_text())["months"]
    years = dict(counts_by_year(staged, months))
    views = {
        year: validation_view(frame)
        for year, frame in counts_by_year(staged, months, text_as_categories=True)
    }
    assert list(views) == list(years)
    for year, frame in years.items():
        view = views[year]
        assert list(view.columns) == list(frame.columns)
        assert {str(view[c].dtype) for c in ("count", "population", "rate_per_1000")} == {"float64"}
        for column in frame.columns:
            assert (view[column].isna() == frame[column].isna()).all(), column
            present = frame[column].notna()
            assert (
                view.loc[present, column].astype(object)
                == frame.loc[present, column].astype(object)
            ).all(), column
        leaked = frame.copy()
        leaked.loc[leaked.index[leaked["status"] == "suppressed"][0], "count"] = 2
        found = failures(leaked, "published_counts", **counts_parameters)
        assert found
        assert failures(validation_view(leaked), "published_counts", **counts_parameters) == found


def test_incident_ledger() -> None:
    good = pd.DataFrame([{"unaccounted_rows": 0, "quarantine_share": 0.004}])
    assert failures(good, "incident_ledger", quarantine_limit=0.01) == []
    lost = pd.DataFrame([{"unaccounted_rows": 3, "quarantine_share": 0.004}])
    assert any("silent drop" in f for f in failures(lost, "incident_ledger", quarantine_limit=0.01))
    broken = pd.DataFrame([{"unaccounted_rows": 0, "quarantine_share": 0.2}])
    assert any(
        "broken export" in f for f in failures(broken, "incident_ledger", quarantine_limit=0.01)
    )


@pytest.mark.parametrize("with_docs", [False, True], ids=["in memory", "with Data Docs"])
def test_each_run_judges_its_own_frame(tmp_path: Path, with_docs: bool) -> None:
    """One process validates batch after batch (a history's months, a release's years) with
    the same suite, and GX's metric cache is emptied after each: a bad batch between good ones
    fails, and the good one after it passes again."""
    docs = tmp_path / "docs" if with_docs else None
    good = pd.DataFrame([{"unaccounted_rows": 0, "quarantine_share": 0.004}])
    lost = pd.DataFrame([{"unaccounted_rows": 3, "quarantine_share": 0.004}])
    verdicts = [
        validate(frame, "incident_ledger", EXPECTATIONS, docs, {"quarantine_limit": 0.01}).success
        for frame in (good, lost, good, lost)
    ]
    assert verdicts == [True, False, True, False]


def test_raw_incidents_catches_a_shifted_file(sample_dir: Path) -> None:
    from transforms.domain.periods import Month
    from transforms.sources.czech_police import read_month_zip

    records = read_month_zip(
        (sample_dir / "police" / "202501.zip").read_bytes(), Month(2025, 1)
    ).records.frame
    assert failures(records, "raw_incidents") == []
    shifted = records.rename(columns={"x": "y", "y": "date", "date": "x"})
    found = failures(shifted, "raw_incidents")
    assert any("match_regex(date)" in f for f in found)


def test_published_points(pipeline_run) -> None:
    from transforms.pipeline.publish.staged import POINT_CLASSES, read_staged_points
    from transforms.pipeline.publish.validate import points_view
    from transforms.privacy.kanon import point_classes

    staged = Path(pipeline_run["tables"]["staged"]) / "incidents.parquet"
    points = pd.read_parquet(staged)
    classes = point_classes(read_staged_points(staged))
    # the classes the validation checked are the ones it staged for the point tiles
    assert pd.read_parquet(staged.parent / POINT_CLASSES).equals(classes)
    view = points_view(classes)
    # the view is the distinct rows, with the size each row's class has in the whole file
    sizes = points.groupby(["cell_code", "month", "offence_group"]).size()
    assert len(view) < len(points)
    assert view.drop(columns="class_size").equals(
        points.drop_duplicates().sort_values(list(points.columns), ignore_index=True)
    )
    keys = zip(view["cell_code"], view["month"], view["offence_group"], strict=True)
    assert (view["class_size"].to_numpy() == sizes.loc[list(keys)].to_numpy()).all()
    params = country_parameters() | {"k": 5, "sensitive_groups": []}
    assert failures(view, "published_points", **params) == []
    small = view.copy()
    small.loc[small.index[0], "class_size"] = 2
    assert any("k-anonymity" in f for f in failures(small, "published_points", **params))
    exact = view.copy()
    exact.loc[exact.index[0], "cell_code"] = "15.056213,50.767102"
    assert any("never a coordinate" in f for f in failures(exact, "published_points", **params))


def test_a_table_validated_year_by_year_fails_in_the_year_that_leaks(
    pipeline_run, counts_parameters: dict
) -> None:
    """A decade's counts are validated a year at a time: one bad year fails the whole table,
    and the failure names the year."""
    from transforms.validation import validate_batches

    counts = pd.read_parquet(Path(pipeline_run["tables"]["staged"]) / "counts.parquet")
    leaked = counts.copy()
    leaked.loc[leaked.index[leaked["status"] == "suppressed"][0], "count"] = 2
    good = validate_batches(
        [("2024", counts), ("2025", counts)], "published_counts", EXPECTATIONS,
        parameters=counts_parameters,
    )  # fmt: skip
    assert good.success and good.evaluated == 2 * len(load_suite_expectations())
    bad = validate_batches(
        [("2024", counts), ("2025", leaked)], "published_counts", EXPECTATIONS,
        parameters=counts_parameters,
    )  # fmt: skip
    assert not bad.success
    assert bad.failures and all(f.startswith("2025: ") for f in bad.failures)


def load_suite_expectations() -> list[dict]:
    return json.loads((EXPECTATIONS / "published_counts.json").read_text())["expectations"]


ROW_WISE = {
    "expect_table_columns_to_match_ordered_list",
    "expect_column_values_to_be_between",
    "expect_column_values_to_not_be_in_set",
    "expect_column_values_to_match_regex",
}


def test_published_points_suite_is_row_wise(project_root: Path) -> None:
    """The release validates each distinct point row once (``points_view``): sound only while
    every expectation of the suite judges rows one by one, with no tolerance."""
    suite = json.loads((project_root / "expectations" / "published_points.json").read_text())
    for expectation in suite["expectations"]:
        assert expectation["type"] in ROW_WISE, expectation["type"]
        assert "mostly" not in expectation["kwargs"], expectation


def test_configurations_built_once_per_call_give_what_gx_reports(
    canonical: pd.DataFrame, monkeypatch
) -> None:
    """GX's expectations build their configuration once per call of the methods that read
    their keyword arguments (``transforms.validation``): every suite's expectations read the
    same arguments, and a partition's reports, passing or failing, are the same as with GX's
    own methods."""
    from great_expectations.expectations.expectation import Expectation
    from great_expectations.expectations.expectation_configuration import (
        ExpectationConfiguration,
    )

    from transforms.validation import PINNED_CONFIGURATION_READERS, import_great_expectations

    import_great_expectations()
    expectations = [
        ExpectationConfiguration(**e).to_domain_obj()
        for path in sorted(EXPECTATIONS.glob("*.json"))
        for e in json.loads(path.read_text())["expectations"]
    ]
    broken = canonical.copy()
    broken.loc[broken.index[:3], "lat"] = 0.0
    broken.loc[broken.index[3:5], "offence_type_code"] = None
    cases = [(canonical, "2025-01"), (broken, "2025-01"), (canonical, "2025-02")]

    def read() -> list:
        arguments = [
            (
                e.configuration.to_json_dict(),
                e._get_domain_kwargs(),
                e._get_success_kwargs(),
                e._get_runtime_kwargs({"result_format": "BASIC"}),
            )
            for e in expectations
        ]
        reports = [
            validate(
                frame,
                "canonical_incidents",
                EXPECTATIONS,
                parameters=country_parameters() | {"months": [month]},
            ).to_json()
            for frame, month in cases
        ]
        return [arguments, reports]

    pinned = read()
    built = vars(Expectation)["configuration"].fget
    monkeypatch.setattr(Expectation, "configuration", property(built.__wrapped__))
    for name in PINNED_CONFIGURATION_READERS:
        monkeypatch.setattr(Expectation, name, getattr(Expectation, name).__wrapped__)
    assert read() == pinned
    assert [r["success"] for r in pinned[1]] == [True, False, False]
    assert len(pinned[0]) > 50
