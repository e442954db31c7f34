"""The publish steps on the sample, without Airflow: what lands, and that nothing is lost."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from transforms.domain.periods import Month
from transforms.pipeline import police_incidents as incidents
from transforms.pipeline.boundaries import load_current_geography
from transforms.pipeline.publish import audit, inputs, stage, validate, write
from transforms.pipeline.publish import staged as staging
from transforms.privacy.audit import AuditFailed
from transforms.validation import VALIDATION_RECORD, ValidationFailed, passed


def test_ledger_every_row_is_accepted_or_quarantined(pipeline_run) -> None:
    for report in pipeline_run["reports"]:
        assert report["input_rows"] == report["accepted_rows"] + report["quarantined_rows"]
        assert report["unaccounted_rows"] == 0
        assert 0 < report["quarantine_share"] < 0.01


def test_published_totals_equal_input_minus_quarantine_and_exclusions(pipeline_run) -> None:
    """The country's figures add up to every counted offence. Where the police's statistics
    let a reader narrow a hidden sensitive figure through the country's (the sample's: its
    sensitive total of March, with one region's known from the police and the other's
    districts half known), that total is hidden and the ledger, which adds it up, is withheld
    from the release and kept in the operator's report."""
    settings = pipeline_run["settings"]
    release = Path(pipeline_run["release"]["path"])
    counts = pd.read_parquet(release / "counts.parquet")
    roots = counts.query(
        "geo_level == 'country' and offence_level == 'total' and period_type == 'month'"
    )
    assert set(roots["offence_code"]) == {"NONSENSITIVE", "SENSITIVE"}
    assert roots.loc[roots["offence_code"] == "NONSENSITIVE", "status"].eq("published").all()
    months = incidents.committed_months(settings)
    canonical = pd.concat(
        pd.read_parquet(
            settings.canonical_dir / "incidents" / "parts" / m / k / "incidents.parquet"
        )
        for m, k in months.items()
    )
    counted = canonical[canonical["counted"]]
    shown = roots[roots["status"] == "published"]
    for (month, code), value in shown.set_index(["period", "offence_code"])["count"].items():
        part = counted[counted["reported_month"] == month]
        sensitive = (
            part["offence_code"].astype(int).isin(pipeline_run["policy"]["sensitive_offences"])
        )
        assert value == int((sensitive if code == "SENSITIVE" else ~sensitive).sum())
    # the two roots of every month published: the ledger is published and adds up
    manifest = json.loads((release / "manifest.json").read_text())
    summary = manifest["summary"]
    every_root = counts.query("geo_level == 'country' and offence_level == 'total'")
    assert summary.get("ledger_withheld", False) == (not every_root["status"].eq("published").all())
    ledger = (
        summary if "counted_offences" in summary else staging.operator_report(settings, manifest)
    )
    assert ledger is not None
    ledger = ledger.get("ledger", ledger)
    assert ledger["counted_offences"] == len(counted)
    reports = pipeline_run["reports"]
    assert ledger["input_rows"] - ledger["quarantined_rows"] == sum(
        r["accepted_rows"] for r in reports
    )


def test_release_files(pipeline_run) -> None:
    release = Path(pipeline_run["release"]["path"])
    names = {p.name for p in release.iterdir()}
    assert {
        "counts.parquet",
        "counts.csv",
        "municipalities.geojson",
        "municipalities.parquet",
        "disclosure-policy.yaml",
        "manifest.json",
        "SHA256SUMS",
        "validation",
    } <= names
    manifest = json.loads((release / "manifest.json").read_text())
    assert manifest["version"] == "2025-03.1"
    assert manifest["data_months"] == ["2025-01", "2025-02", "2025-03"]
    assert len(manifest["policy"]["sha256"]) == 64
    assert manifest["row_counts"]["municipalities"] == 24
    csv = pd.read_csv(release / "counts.csv", dtype={"geo_code": "str"})
    assert len(csv) == manifest["row_counts"]["counts"]
    assert b"\xef\xbb\xbf" not in (release / "counts.csv").read_bytes()[:3]
    areas = gpd.read_file(release / "municipalities.geojson")
    assert areas.crs.to_epsg() == 4326 and len(areas) == 24
    assert b"geo" in pq.read_metadata(release / "municipalities.parquet").metadata


def test_page_data_package_and_manifest_give_each_file_the_sha256_of_its_bytes(
    pipeline_run,
) -> None:
    """Each file is hashed once for all three: each must still name its own bytes."""
    release = Path(pipeline_run["release"]["path"])
    actual = {
        p.relative_to(release).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in release.rglob("*")
        if p.is_file() and p.name not in ("manifest.json", "SHA256SUMS")
    }
    manifest = json.loads((release / "manifest.json").read_text())
    assert {f["path"]: f["sha256"] for f in manifest["files"]} == actual
    package = json.loads((release / "datapackage.json").read_text())
    assert {r["path"]: r["hash"] for r in package["resources"]} == {
        r["path"]: f"sha256:{actual[r['path']]}" for r in package["resources"]
    }
    page = (release / "index.html").read_text()
    listed = re.findall(r'<a href="([^"]+)" download>.*?<code>([0-9a-f]{64})</code>', page)
    assert listed and all(digest == actual[path] for path, digest in listed)


def test_geoparquet_rows_are_sorted_along_a_hilbert_curve(pipeline_run) -> None:
    release = Path(pipeline_run["release"]["path"])
    for name in ("incidents.parquet", "municipalities.parquet"):
        frame = gpd.read_parquet(release / name)
        distance = frame.hilbert_distance().to_numpy()
        assert len(frame) > 1 and (distance[1:] >= distance[:-1]).all(), name
        # the GeoJSON holds the same rows in the same order
        geojson = gpd.read_file(release / name.replace(".parquet", ".geojson"))
        assert geojson.geometry.centroid.x.round(5).tolist() == (
            frame.geometry.centroid.x.round(5).tolist()
        )


def test_rerun_is_idempotent(pipeline_run) -> None:
    settings = pipeline_run["settings"]
    month = Month(2025, 2)
    before = incidents.committed_months(settings)
    snapshot = incidents.fetch_police_month(settings, month)
    staged = incidents.stage_police_month(settings, month, snapshot, "again")
    assert staged["key"] == before[str(month)]
    tables = stage.stage_release_tables(settings)
    assert tables["fingerprint"] == pipeline_run["tables"]["fingerprint"]
    with pytest.raises(RuntimeError, match="failed validation"):  # restaged: not yet gated
        write.write_release(settings, tables["staged"], "test")
    audit.audit_release_tables(settings, tables["staged"])
    validate.validate_release_tables(settings, tables["staged"], "test")
    result = write.write_release(settings, tables["staged"], "test")
    assert result == {**pipeline_run["release"], "created": False}


def test_the_previous_release_of_unchanged_months_is_known_and_its_hidden_cells_stay_hidden(
    pipeline_run,
) -> None:
    """Differencing across releases: what the last release published for the same months
    readers know (with the counts it showed); what it hid must stay hidden."""
    settings = pipeline_run["settings"]
    ctx = inputs.load_context(settings, years=["2025"], columns=inputs.CUBE_COLUMNS)
    cube = inputs.build_release_cube(ctx, "2025")
    found = inputs.previous_knowledge(ctx, cube)
    known, keep, previous = found.known, found.keep, found.version
    folder = Path(pipeline_run["release"]["path"])
    assert previous == folder.name
    counts = pd.read_parquet(folder / "counts.parquet")
    cell = cube.cell_numbers(counts)
    assert (cell >= 0).all()
    shown = (counts["status"] == "published").to_numpy()
    assert sorted(known.cells.tolist()) == sorted(cell[shown].tolist())
    assert dict(zip(known.cells.tolist(), known.counts.tolist(), strict=True)) == dict(
        zip(cell[shown].tolist(), counts.loc[shown, "count"].astype(int).tolist(), strict=True)
    )
    assert sorted(keep.tolist()) == sorted(cell[~shown].tolist())
    # the previous run's certificates come along as hints (none here: on a table this small
    # the LP-guided pattern won), and protecting the same year again, with what the police's
    # statistics tell as the release did, keeps its pattern
    from transforms.privacy.cells import known_union
    from transforms.privacy.suppression import protect

    assert found.hints is not None
    outside = inputs.outside_knowledge(ctx, cube)
    assert outside.figures > 0
    again = protect(
        cube, ctx.policy, known_union([known, outside.known]), keep, hints=found.hints,
        outside=outside.sums,
    )  # fmt: skip
    table = again.table
    assert sorted(np.flatnonzero(again.hidden & table).tolist()) == sorted(keep.tolist())


def test_release_carries_its_policy_and_a_passing_audit(pipeline_run, project_root) -> None:
    folder = Path(pipeline_run["release"]["path"])
    policy = (folder / "disclosure-policy.yaml").read_bytes()
    assert policy == (project_root / "policy" / "disclosure.yaml").read_bytes()
    manifest = json.loads((folder / "manifest.json").read_text())
    import hashlib

    assert manifest["policy"]["sha256"] == hashlib.sha256(policy).hexdigest()
    audit = json.loads((folder / "audit.json").read_text())
    assert audit["passed"]
    counts = pd.read_parquet(folder / "counts.parquet")
    summary = manifest["summary"]
    # the published audit says what a reader of the table can count, and nothing that
    # depends on hidden counts: not why cells are hidden, not how wide they came out
    assert audit["cells"] == summary["cells"] == len(counts)
    assert (
        audit["suppressed"]
        == summary["cells_suppressed"]
        == int((counts["status"] == "suppressed").sum())
    )
    for internal in ("primary", "secondary", "width", "certificate", "lp_solves", "lower"):
        assert internal not in json.dumps(audit), internal
        assert internal not in json.dumps(summary), internal
    assert audit["attacker"] and audit["protection_cost"] == summary["protection_cost"]
    # the operator's details stay beside the staged tables
    details = json.loads(
        (Path(pipeline_run["tables"]["staged"]) / "audit_details.json").read_text()
    )
    assert details["passed"] and details["failing_cells"] == 0
    assert details["protected_cells_attacked"] > 0
    assert details["narrowest_width_over_required"] >= 1.0


def test_sensitive_offences_are_only_published_from_district_up(pipeline_run) -> None:
    """No figure below the district holds a sensitive offence: a municipality's rows leave
    them out (its totals are NONSENSITIVE), and sensitive rows start at the district."""
    counts = pd.read_parquet(Path(pipeline_run["release"]["path"]) / "counts.parquet")
    sensitive = {str(c) for c in pipeline_run["policy"]["sensitive_offences"]}
    assert sensitive == {"6", "7", "8"}
    rows = counts[counts["offence_code"].isin(sensitive | {"SENSITIVE"})]
    assert set(rows["geo_level"]) == {"district", "region", "country"}
    published = rows[rows["status"] == "published"]
    assert (published["count"].eq(0) | published["count"].ge(10)).all()
    municipal = counts[counts["geo_level"] == "municipality"]
    assert set(municipal.loc[municipal["offence_level"] == "total", "offence_code"]) == {
        "NONSENSITIVE"
    }
    violent = municipal[municipal["offence_code"] == "1"]["offence_name"]
    assert violent.str.contains("excluding sensitive").all()


def test_a_release_failing_validation_is_not_published(pipeline_run, tmp_path: Path) -> None:
    """A small count slipped into the staged table: the GX gate stops it, Data Docs stay."""
    settings = pipeline_run["settings"]
    staged = tmp_path / "staged"
    shutil.copytree(pipeline_run["tables"]["staged"], staged)
    (staged / VALIDATION_RECORD).unlink()  # the copy was validated: start unvalidated
    year = staged / "counts.parquet" / "2025.parquet"  # the staged table, a file per year
    counts = pd.read_parquet(year)
    leak = counts.index[counts["status"] == "suppressed"][0]
    counts.loc[leak, ["count", "status"]] = [1, "published"]
    counts.to_parquet(year)
    pointer = (settings.releases_dir / settings.dataset_id / "latest.json").read_bytes()

    with pytest.raises(ValidationFailed, match="published_counts") as failure:
        validate.validate_release_tables(settings, str(staged), "leak")
    assert "count" in str(failure.value)
    docs = failure.value.report.data_docs
    assert docs is not None and Path(docs).is_file()
    with pytest.raises(RuntimeError, match="failed validation; not publishing"):
        write.write_release(settings, str(staged), "leak")
    assert (settings.releases_dir / settings.dataset_id / "latest.json").read_bytes() == pointer


def _staged_copy(pipeline_run, tmp_path: Path) -> tuple[Path, Path, pd.DataFrame]:
    staged = tmp_path / "staged"
    shutil.copytree(pipeline_run["tables"]["staged"], staged)
    (staged / "audit.json").unlink()
    year = staged / "counts.parquet" / "2025.parquet"
    return staged, year, pd.read_parquet(year)


def _a_primary_row(pipeline_run, counts: pd.DataFrame) -> int:
    """A row of the staged table the policy hides by its own count (the table does not say
    which: the cube does)."""
    from transforms.privacy.cells import primary_cells

    settings = pipeline_run["settings"]
    ctx = inputs.load_context(settings, years=["2025"], columns=inputs.CUBE_COLUMNS)
    cube = inputs.build_release_cube(ctx, "2025")
    _, required, sensitive = primary_cells(cube, ctx.policy)
    cells = cube.cell_numbers(counts)
    small = (cells >= 0) & (required[cells] > 0) & ~sensitive[cells]
    return int(counts.index[small & (counts["status"] == "suppressed").to_numpy()][0])


def test_the_audit_finds_each_cell_by_its_key_not_its_row(pipeline_run, tmp_path: Path) -> None:
    """The audit recounts the cube and reads the staged statuses by (unit, period, offence):
    rows in another order are the same table."""
    staged, year, counts = _staged_copy(pipeline_run, tmp_path)
    # both audits now know the demo release as the previous one: the same attacker
    in_order = audit.audit_release_tables(pipeline_run["settings"], str(staged))
    counts.sample(frac=1, random_state=7).to_parquet(year)
    shuffled = audit.audit_release_tables(pipeline_run["settings"], str(staged))
    assert shuffled == in_order
    assert shuffled["passed"] and shuffled["suppressed"] == pipeline_run["audit"]["suppressed"]


def test_the_audit_stops_a_protected_cell_slipped_into_the_staged_table(
    pipeline_run, tmp_path: Path
) -> None:
    staged, year, counts = _staged_copy(pipeline_run, tmp_path)
    leak = _a_primary_row(pipeline_run, counts)
    counts.loc[leak, ["count", "status"]] = [1, "published"]
    counts.to_parquet(year)
    with pytest.raises(AuditFailed, match="the policy protects are published") as failure:
        audit.audit_release_tables(pipeline_run["settings"], str(staged))
    cell = counts.loc[leak]
    assert failure.value.labels == [
        f"{cell['geo_code']} {cell['period']} offence {cell['offence_code']}"
    ]


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda counts: counts.iloc[1:], "does not cover the cube"),
        (lambda counts: pd.concat([counts, counts.iloc[:1]]), "has a cell more than once"),
        (
            lambda counts: counts.assign(status=counts["status"].replace("published", "shown")),
            "has a status other than published",
        ),
    ],
)
def test_the_audit_refuses_a_staged_table_that_is_not_the_cube(
    pipeline_run, tmp_path: Path, edit, message: str
) -> None:
    staged, year, counts = _staged_copy(pipeline_run, tmp_path)
    edit(counts).to_parquet(year)
    with pytest.raises(RuntimeError, match=message):
        audit.audit_release_tables(pipeline_run["settings"], str(staged))
    assert not (staged / "audit.json").exists()


def test_area_layers_are_simplified_with_shared_borders_kept(pipeline_run) -> None:
    import shapely

    release = Path(pipeline_run["release"]["path"])
    geography, _ = load_current_geography(pipeline_run["settings"])
    for level, name in (("municipality", "municipalities"), ("district", "districts")):
        areas = gpd.read_parquet(release / f"{name}.parquet")
        original = geography[geography["level"] == level]
        assert sorted(areas["code"]) == sorted(original["code"])
        # fewer vertices, still one clean coverage: every shared border is the same line for
        # both neighbours, so the map shows no slivers or gaps
        simplified = areas.geometry.to_numpy()
        assert shapely.get_num_coordinates(simplified).sum() < (
            shapely.get_num_coordinates(original.geometry.to_numpy()).sum()
        )
        assert shapely.coverage_is_valid(simplified)
        assert areas.geometry.union_all().area == pytest.approx(areas.area.sum(), rel=1e-9)
        # counts and rates per period, suppressed ones empty
        assert {"count_2025", "status_2025", "rate_2025", "count_2025-03"} <= set(areas.columns)
        hidden = areas["status_2025-03"] != "published"
        assert areas.loc[hidden, "count_2025-03"].isna().all()


def test_the_areas_totals_are_the_all_offence_rows_of_the_staged_table(pipeline_run) -> None:
    """Found on the offence codes' dictionaries, they are what a plain filtered read gives: the
    same rows in the same order, the same values, missing values and types."""
    staged = Path(pipeline_run["tables"]["staged"])
    expected = pd.read_parquet(
        staged / "counts.parquet", filters=[("offence_code", "==", "NONSENSITIVE")]
    )
    months = json.loads((staged / "inputs.json").read_text())["months"]
    totals = write.all_offence_totals(
        write.all_offence_rows(table) for _, table in staging.count_tables_by_year(staged, months)
    )
    assert len(totals) and (totals["offence_code"] == "NONSENSITIVE").all()
    assert totals["count"].isna().any()  # suppressed totals stay missing
    pd.testing.assert_frame_equal(totals, expected[write.AREA_TOTAL_COLUMNS])


def test_what_changed_names_new_and_revised_months_and_policy() -> None:
    inputs = {
        "months": {"2025-01": "a", "2025-02": "b2", "2025-03": "c"},
        "policy_sha256": "p2",
        "geography": "g",
        "code": "v1",
    }
    previous = {
        "version": "2025-02.1",
        "inputs": {"incident_partitions": {"2025-01": "a", "2025-02": "b"}, "geography": "g"},
        "policy": {"sha256": "p1"},
        "code_version": "v1",
    }
    assert write.what_changed(previous, inputs) == [
        "Předchozí vydání / previous release: 2025-02.1.",
        "Nové měsíce / new months: 2025-03.",
        "Opravená data měsíců / revised data for: 2025-02.",
        "Změněná pravidla ochrany / changed disclosure policy.",
    ]
    assert write.what_changed(None, inputs) == ["První vydání. / First release."]


def test_the_manifest_says_what_changed(pipeline_run) -> None:
    manifest = json.loads((Path(pipeline_run["release"]["path"]) / "manifest.json").read_text())
    assert manifest["changes"] == ["První vydání. / First release."]


def test_the_manifest_names_every_raw_input_by_its_sha256(pipeline_run) -> None:
    settings = pipeline_run["settings"]
    manifest = json.loads((Path(pipeline_run["release"]["path"]) / "manifest.json").read_text())
    raw = manifest["inputs"]["raw_files"]
    assert [f["source"] for f in raw] == [
        "boundaries",
        "population",
        "police 2025-01",
        "police 2025-02",
        "police 2025-03",
    ]
    snapshots = {p.name.split(".")[0] for p in settings.snapshots_dir.rglob("*") if p.is_file()}
    assert {f["sha256"] for f in raw} <= snapshots  # each one kept, named by its hash
    assert manifest["parameters"]["quarantine_limit"] == 0.01
    assert manifest["parameters"]["disclosure_policy"]["incidents"]["k"] == 5


def test_an_incident_committed_in_two_months_stops_the_release() -> None:
    from transforms.pipeline.publish.inputs import check_each_incident_in_one_month

    months = pd.Categorical(["2025-01", "2025-01", "2025-02", "2025-03", "2025-02"])
    incidents = pd.DataFrame({"incident_id": [1, 1, 2, 1, 3], "reported_month": months})
    with pytest.raises(RuntimeError, match=r"1 incident id.*\[1\].*\['2025-03'\]"):
        check_each_incident_in_one_month(incidents)
    check_each_incident_in_one_month(incidents[incidents["incident_id"] != 1])


def test_a_history_with_an_incident_in_two_months_is_not_staged(
    pipeline_run, tmp_path: Path
) -> None:
    """The year workers start while the history is checked: a failing check stops the staging
    with its message, and the tables it began to rewrite carry no gate's record (the copy's
    were for the tables before), so no release can be written from them."""
    from transforms.plumbing.settings import get_settings

    settings = pipeline_run["settings"]
    root = tmp_path / "root"
    shutil.copytree(settings.data_root, root)
    copied = get_settings(data_root=root, data_in=settings.data_in)
    months = incidents.committed_months(copied)
    january = incidents.partition_folder(copied, Month(2025, 1), months["2025-01"])
    february = incidents.partition_folder(copied, Month(2025, 2), months["2025-02"])
    rows = pd.read_parquet(february / "incidents.parquet")
    repeated = pd.read_parquet(january / "incidents.parquet")["incident_id"].iloc[0]
    rows.loc[0, "incident_id"] = repeated
    rows.to_parquet(february / "incidents.parquet", index=False)
    with pytest.raises(RuntimeError, match=r"more than one committed month.*\['2025-02'\]"):
        stage.stage_release_tables(copied)
    for staged in (root / "runs" / "publish").iterdir():
        assert not passed(staged)
        assert not (staged / "audit.json").exists()


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 8), st.sampled_from(["2024-12", "2025-01", "2025-02", "2025-10"])),
        max_size=30,
    )
)
def test_the_one_month_check_names_each_repeated_ids_latest_month(
    rows: list[tuple[int, str]],
) -> None:
    """Against plain Python: an id with more than one distinct month stops the release,
    naming each such id's latest month."""
    from transforms.pipeline.publish.inputs import check_each_incident_in_one_month

    incidents = pd.DataFrame(rows, columns=["incident_id", "reported_month"])
    incidents = incidents.astype({"incident_id": "int64", "reported_month": "category"})
    months: dict[int, set[str]] = {}
    for incident, month in rows:
        months.setdefault(incident, set()).add(month)
    repeated = [sorted(m) for m in months.values() if len(m) > 1]
    if not repeated:
        check_each_incident_in_one_month(incidents)
        return
    latest = sorted({m[-1] for m in repeated})
    with pytest.raises(RuntimeError) as stopped:
        check_each_incident_in_one_month(incidents)
    assert str(stopped.value).startswith(f"{len(repeated)} incident id(s)")
    assert f"for {latest} so" in str(stopped.value)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.lists(st.integers(-3, 12), max_size=8), max_size=6),
    st.sampled_from([1, 10**9]),
)
def test_ids_in_one_part_is_no_id_in_two_parts(parts: list[list[int]], spread: int) -> None:
    """Against plain Python, for ids that fill their range (marked in a table) and for ids
    spread far apart (sorted): an id may repeat within its part, never across two."""
    from transforms.pipeline.publish.inputs import ids_in_one_part

    arrays = [np.array(part, dtype=np.int64) * spread for part in parts]
    owners: dict[int, set[int]] = {}
    for number, part in enumerate(parts):
        for incident in part:
            owners.setdefault(incident, set()).add(number)
    assert ids_in_one_part(arrays) == all(len(o) == 1 for o in owners.values())


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.sampled_from(["2020", "2020-01", "2020-02", "2020-03"]), min_size=1, max_size=40),
    st.sets(st.sampled_from(["2020", "2020-01", "2020-02", "2020-03", "2020-04"]), min_size=1),
)
def test_a_staged_year_gives_the_rows_of_the_periods_asked_for(
    tmp_path_factory: pytest.TempPathFactory, periods: list[str], asked: set[str]
) -> None:
    """Read a year's own file whole or filtered, the rows are those of the periods asked for, in
    the file's order, as the filtered read gives them (pandas and Arrow alike)."""
    folder = tmp_path_factory.mktemp("staged")
    frame = pd.DataFrame(
        {
            "geo_code": [f"{500000 + i}" for i in range(len(periods))],
            "period": periods,
            "offence_code": "NONSENSITIVE",
            "count": pd.array(range(len(periods)), dtype="Int64"),
        }
    )
    (folder / "counts.parquet").mkdir()
    frame.to_parquet(folder / "counts.parquet" / "2020.parquet", index=False)
    expected = frame[frame["period"].isin(asked)].reset_index(drop=True)
    got = staging.staged_rows(folder / "counts.parquet", sorted(asked), text_as_categories=True)
    pd.testing.assert_frame_equal(
        got.astype({c: "str" for c in ("geo_code", "period", "offence_code")}), expected
    )
    months = sorted(p for p in asked if len(p) == 7)
    if months:  # what the release writers copy: the year's total and its months
        (_, table), *_ = staging.count_tables_by_year(folder, months)
        wanted = frame[frame["period"].isin(["2020", *months])].reset_index(drop=True)
        pd.testing.assert_frame_equal(
            table.to_pandas().astype({c: "str" for c in ("geo_code", "period", "offence_code")}),
            wanted,
        )


def without_every_third_record(archive: Path) -> None:
    """The police re-export the month with a third of its records gone."""
    import zipfile

    with zipfile.ZipFile(archive) as source:
        members = {name: source.read(name) for name in source.namelist()}
    name = archive.with_suffix(".csv").name
    header, *rows = members[name].decode("utf-8").splitlines()
    members[name] = "\n".join([header, *rows[1::3], *rows[2::3]]).encode("utf-8") + b"\n"
    with zipfile.ZipFile(archive, "w") as target:
        for member, data in members.items():
            target.writestr(member, data)


def test_a_monthly_release_lists_every_figure_that_changed(
    sample_dir: Path, tmp_path: Path
) -> None:
    """January and February, then a revised February and March: the second release's
    changes.csv lists each cell of January and February whose status or published count
    changed, with what each release published (never a hidden count), and its page sums them
    up."""
    from tests.sample_pipeline import SAMPLE_MONTHS, commit_month, promote_geography, publish
    from transforms.plumbing.settings import get_settings

    data_in = tmp_path / "in"
    shutil.copytree(sample_dir, data_in)
    settings = get_settings(data_root=tmp_path / "root", data_in=data_in)
    promote_geography(settings, "test")
    for month in SAMPLE_MONTHS[:2]:
        commit_month(settings, month, "test")
    first = Path(publish(settings, "test")["release"]["path"])
    without_every_third_record(data_in / "police" / "202502.zip")
    for month in SAMPLE_MONTHS[1:]:
        commit_month(settings, month, "test")
    second = Path(publish(settings, "test")["release"]["path"])
    assert (first.name, second.name) == ("2025-02.1", "2025-03.1")
    assert pd.read_csv(first / "changes.csv").empty  # a first release has nothing to compare

    changes = pd.read_csv(second / "changes.csv", dtype=str, keep_default_na=False)
    assert set(changes["period"]) <= {"2025-01", "2025-02"}  # not March, not the year
    assert (changes["period"] == "2025-02").sum() > 10  # the revised month's cells
    key = ["geo_code", "period", "offence_code"]
    for release, when in ((first, "before"), (second, "now")):
        table = pd.read_parquet(release / "counts.parquet").astype({k: str for k in key})
        said = table.set_index(key)
        for row in changes.itertuples(index=False):
            cell = said.loc[(row.geo_code, row.period, row.offence_code)]
            assert getattr(row, f"status_{when}") == cell["status"]
            shown = "" if cell["status"] == "suppressed" else str(int(cell["count"]))
            assert getattr(row, f"count_{when}") == shown
    page = (second / "index.html").read_text()
    assert "Proti vydání 2025-02.1" in page and 'href="changes.csv"' in page
    assert re.search(r"Months with changed figures: [0-9, -]*2025-02\.", page)
    assert "Years now summed over other months: 2025" in page
