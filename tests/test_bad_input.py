"""The bad-input matrix: every kind of broken police export, in the real formats.

Row-level faults go to the quarantine with their reason code and the original line, and every
input row is either accepted or quarantined. File-level faults stop the month with a clear error
and commit nothing. Each kind of fault, its outcome, and where it is tested:

- wrong field count, unbalanced quotes: ``malformed_line`` (row matrix)
- Windows-1250 instead of UTF-8: decoded, the encoding reported (``test_cp1250…``)
- bytes neither UTF-8 nor Windows-1250: ``undecodable_text``, one row (``test_bytes…``)
- swapped axes, S-JTSK metres, abroad: ``swapped_axes``, ``wrong_crs``, ``outside_country``
- duplicate id and type within a file: ``duplicate_record`` (row matrix)
- duplicate id across months: ``duplicate_across_months`` (``test_an_id_…``)
- unknown offence code: ``unknown_offence_code``; date outside the month:
  ``date_outside_interval`` (row matrix)
- empty month: the month fails validation (``test_an_empty_month…``)
- renamed, added, missing column: mapped and reported, ignored, a clear error (``test_schema…``)
- truncated zip, corrupt member: ``CorruptDownloadError`` (``test_truncated…``)
- quarantine share over the limit: the month fails before publishing (``test_a_month_over…``)
- HTTP 5xx, 429, timeouts: retried with back-off, then a clear failure
  (``tests/transforms/sources/test_http.py``, against a real server on loopback)
- invalid or self-intersecting boundary polygons, a boundary file in another CRS: repaired with
  make_valid or rejected, reprojected (``tests/transforms/test_geography.py``)
"""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from testdata.formats import police_month_zip
from transforms.domain.countries import CZECHIA
from transforms.domain.periods import Month
from transforms.sources import czech_police as cp
from transforms.sources.text import SchemaError
from transforms.validation import ValidationFailed

JANUARY = Month(2025, 1)
HEADER = "id,x,y,mp,date,state,relevance,types"
GOOD = "2,15.05,50.76,false,2025-01-05 10:00:00,2,4,44"


def everywhere(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """A locator that puts every point in municipality 563889."""
    return np.full(len(lon), "563889", dtype=object)


def month_zip(*lines: str, header: str = HEADER, encoding: str = "utf-8") -> bytes:
    return police_month_zip(JANUARY, ("\n".join([header, *lines]) + "\n").encode(encoding))


def parse(
    data: bytes, earlier_ids: dict[int, str] | None = None
) -> tuple[pd.DataFrame, pd.DataFrame, cp.PoliceDownload]:
    """Parse a month and check the ledger: input rows = accepted + quarantined, no row twice."""
    download = cp.read_month_zip(data, JANUARY)
    canonical, quarantine = cp.canonicalise(
        download.records, download.code_lists, JANUARY, CZECHIA, everywhere, earlier_ids
    )
    accepted = set(canonical["source_row"])
    quarantined = set(quarantine["source_row"])
    assert not accepted & quarantined
    assert len(accepted) + len(quarantined) == download.records.input_rows
    return canonical, quarantine, download


ROW_FAULTS = {
    "wrong field count": ("1,15.05,50.76,false,2025-01-05 10:00:00,2,4", "malformed_line"),
    "extra field": ("1,15.05,50.76,false,2025-01-05 10:00:00,2,4,44,9", "malformed_line"),
    "unbalanced quote": ('1,"15.05,50.76,false,2025-01-05 10:00:00,2,4,44', "malformed_line"),
    "id not a number": ("x1,15.05,50.76,false,2025-01-05 10:00:00,2,4,44", "bad_id"),
    "id missing": (",15.05,50.76,false,2025-01-05 10:00:00,2,4,44", "missing_value"),
    "coordinate not a number": ("1,abc,50.76,false,2025-01-05 10:00:00,2,4,44", "bad_coordinate"),
    "swapped axes": ("1,50.76,15.05,false,2025-01-05 10:00:00,2,4,44", "swapped_axes"),
    "S-JTSK metres": ("1,-740000.0,-1000000.0,false,2025-01-05 10:00:00,2,4,44", "wrong_crs"),
    "outside the country": ("1,2.35,48.85,false,2025-01-05 10:00:00,2,4,44", "outside_country"),
    "unreadable date": ("1,15.05,50.76,false,05/01/2025 10:00,2,4,44", "bad_date"),
    "date in another month": (
        "1,15.05,50.76,false,2024-12-05 10:00:00,2,4,44",
        "date_outside_interval",
    ),
    "state not a number": ("1,15.05,50.76,false,2025-01-05 10:00:00,x,4,44", "bad_code"),
    "unknown offence code": (
        "1,15.05,50.76,false,2025-01-05 10:00:00,2,4,9999",
        "unknown_offence_code",
    ),
    "duplicate id and type": (GOOD, "duplicate_record"),
}


@pytest.mark.parametrize("fault", list(ROW_FAULTS))
def test_each_bad_row_is_quarantined_once_with_its_reason_and_line(fault: str) -> None:
    line, reason = ROW_FAULTS[fault]
    canonical, quarantine, download = parse(month_zip(GOOD, line))
    assert canonical["incident_id"].tolist() == [2]
    assert quarantine["reason"].tolist() == [reason]
    assert quarantine["source_row"].tolist() == [2]
    assert quarantine["raw"].iloc[0] == line
    assert download.records.input_rows == 2


def test_many_bad_rows_are_counted_per_reason() -> None:
    lines = [GOOD] + [line for line, _ in ROW_FAULTS.values() if line != GOOD] * 3
    canonical, quarantine, _ = parse(month_zip(*lines))
    assert len(canonical) == 1
    expected = pd.Series([r for _, r in ROW_FAULTS.values() if r != "duplicate_record"] * 3)
    assert quarantine["reason"].value_counts().sort_index().to_dict() == (
        expected.value_counts().sort_index().to_dict()
    )


def test_cp1250_export_is_decoded_and_reported() -> None:
    line = "1,15.05,50.76,false,2025-01-05 10:00:00,2,4,44,Liberec – náměstí"
    canonical, quarantine, download = parse(
        month_zip(line, header=HEADER + ",misto", encoding="cp1250")
    )
    assert download.records.encoding == "cp1250"
    assert quarantine.empty and len(canonical) == 1


def test_bytes_neither_utf8_nor_cp1250_cost_one_row() -> None:
    lines = [
        f"{GOOD},Liberec".encode(),
        b"1,15.05,50.76,false,2025-01-05 10:00:00,2,4,44,Li\x98berec",  # 0x98: not in cp1250
        "3,15.05,50.76,false,2025-01-06 10:00:00,2,4,44,Liberec – náměstí".encode(),  # UTF-8
    ]
    data = police_month_zip(JANUARY, b"\n".join([(HEADER + ",misto").encode(), *lines]) + b"\n")
    canonical, quarantine, download = parse(data)
    assert download.records.encoding == "mixed"
    assert sorted(canonical["incident_id"]) == [2, 3]
    assert quarantine["reason"].tolist() == ["undecodable_text"]
    assert quarantine["source_row"].tolist() == [2]


def test_an_id_from_an_earlier_month_is_counted_there_only() -> None:
    canonical, quarantine, _ = parse(
        month_zip(GOOD, "7,15.05,50.76,false,2025-01-05 10:00:00,2,4,44"),
        earlier_ids={7: "2024-12", 8: "2024-11"},
    )
    assert canonical["incident_id"].tolist() == [2]
    assert quarantine["reason"].tolist() == ["duplicate_across_months"]
    assert quarantine["detail"].tolist() == ["id already reported in 2024-12"]


def test_schema_drift_renamed_added_and_missing_columns() -> None:
    header = "id,x,y,mp,datum,state,relevance,types,novy_sloupec"
    canonical, quarantine, download = parse(
        month_zip("1,15.05,50.76,false,2025-01-05 10:00:00,2,4,44,abc", header=header)
    )
    assert len(canonical) == 1 and quarantine.empty
    assert download.records.renamed_columns == {"datum": "date"}
    assert download.records.extra_columns == ["novy_sloupec"]
    with pytest.raises(SchemaError, match=r"required column\(s\) \['date'\].*header is"):
        cp.read_month_zip(
            month_zip("1,15.05,50.76,false,2,4,44", header="id,x,y,mp,state,relevance,types"),
            JANUARY,
        )


def test_truncated_zip_and_corrupt_member_fail_clearly(sample_dir: Path) -> None:
    data = (sample_dir / "police" / "202501.zip").read_bytes()
    with pytest.raises(cp.CorruptDownloadError, match="the zip archive is damaged or cut short"):
        cp.read_month_zip(data[: len(data) // 2], JANUARY)
    # flip bytes inside the compressed records: the CRC check catches it
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        info = archive.getinfo("202501.csv")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra) + 100
    corrupt = bytearray(data)
    corrupt[start : start + 8] = bytes(8)
    with pytest.raises(cp.CorruptDownloadError, match=r"its member 202501\.csv is damaged"):
        cp.read_month_zip(bytes(corrupt), JANUARY)


# The same checks through the pipeline's own steps, on a month next to the committed sample.


@pytest.fixture(scope="module")
def january_committed(tmp_path_factory: pytest.TempPathFactory, sample_dir: Path):
    from tests.sample_pipeline import commit_month, promote_geography
    from transforms.plumbing.settings import get_settings

    data_in = tmp_path_factory.mktemp("data_in")
    for folder in ("boundaries", "population"):
        shutil.copytree(sample_dir / folder, data_in / folder)
    (data_in / "police").mkdir()
    shutil.copy(sample_dir / "police" / "202501.zip", data_in / "police" / "202501.zip")
    settings = get_settings(data_root=tmp_path_factory.mktemp("root"), data_in=data_in)
    promote_geography(settings, "test")
    commit_month(settings, JANUARY, "test")
    return settings


def february(settings, *lines: str) -> dict:
    """Stage a February export holding ``lines`` (January dates moved to February)."""
    from transforms.pipeline import police_incidents as incidents

    month = Month(2025, 2)
    body = "\n".join([HEADER, *lines]) + "\n"
    data = police_month_zip(month, body.encode())
    (settings.data_in / "police" / "202502.zip").write_bytes(data)
    snapshot = incidents.fetch_police_month(settings, month)
    return incidents.stage_police_month(settings, month, snapshot, "test")


def liberec(incident_id: int, day: int = 5) -> str:
    return f"{incident_id},15.0562,50.7671,false,2025-02-{day:02d} 10:00:00,2,4,44"


def test_an_id_committed_in_january_is_quarantined_in_february(january_committed) -> None:
    from transforms.pipeline import police_incidents as incidents

    settings = january_committed
    january_id = int(
        pd.read_parquet(
            incidents.partition_folder(
                settings, JANUARY, incidents.committed_months(settings)["2025-01"]
            )
            / "incidents.parquet"
        )["incident_id"].iloc[0]
    )
    fresh = [liberec(900_000_000 + i) for i in range(200)]
    staged = february(settings, *fresh, liberec(january_id))
    assert (staged["input_rows"], staged["accepted_rows"], staged["quarantined_rows"]) == (
        201,
        200,
        1,
    )
    [reason] = staged["quarantine_reasons"]
    assert (reason["reason"], reason["count"]) == ("duplicate_across_months", 1)
    # under the 1 % limit: the month passes and can be committed
    incidents.validate_police_month(settings, Month(2025, 2), staged["key"], "test")


def test_a_month_over_the_quarantine_limit_fails_before_publishing(january_committed) -> None:
    from transforms.pipeline import police_incidents as incidents

    settings = january_committed
    lines = [liberec(800_000_000 + i) for i in range(95)] + ["1,15.05"] * 5  # 5 % malformed
    staged = february(settings, *lines)
    assert staged["quarantine_share"] == pytest.approx(0.05)
    with pytest.raises(ValidationFailed, match="incident_ledger") as failure:
        incidents.validate_police_month(settings, Month(2025, 2), staged["key"], "test")
    assert "quarantine_share" in str(failure.value)
    # the Data Docs of the failed validation stay where the message says
    docs = failure.value.report.data_docs
    assert docs is not None and Path(docs).is_file()
    pages = [p.read_text() for p in Path(docs).parent.rglob("*.html")]
    assert any("incident_ledger" in page and "quarantine_share" in page for page in pages)
    with pytest.raises(RuntimeError, match="has not passed validation"):
        incidents.commit_police_month(settings, Month(2025, 2), staged["key"])
    assert "2025-02" not in incidents.committed_months(settings)


def test_an_empty_month_fails_with_the_expectation_named(january_committed) -> None:
    with pytest.raises(ValidationFailed, match="expect_table_row_count_to_be_between"):
        february(january_committed)


def test_the_readme_explains_every_quarantine_reason(project_root: Path) -> None:
    from transforms.domain.quarantine import Reason

    section = (project_root / "README.md").read_text().split("## When a run fails", 1)[1]
    missing = [reason.value for reason in Reason if f"`{reason.value}`" not in section]
    assert missing == []


def test_a_changed_export_is_read_and_said_in_the_log_the_manifest_and_the_changelog(
    tmp_path: Path, sample_dir: Path
) -> None:
    """A renamed column (a known alias) and semicolons with decimal commas: every row read as
    before, and the change said where a data engineer looks."""
    from tests.sample_pipeline import commit_month, promote_geography, publish
    from transforms.pipeline import police_incidents as incidents
    from transforms.plumbing.settings import get_settings

    data_in = tmp_path / "in"
    for folder in ("boundaries", "population"):
        shutil.copytree(sample_dir / folder, data_in / folder)
    (data_in / "police").mkdir()
    shutil.copy(sample_dir / "police" / "202501.zip", data_in / "police" / "202501.zip")
    source = sample_dir / "police" / "202502.zip"
    changed = io.BytesIO()
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(changed, "w") as archive:
        for name in original.namelist():
            data = original.read(name)
            if name == "202502.csv":
                header, *rows = data.decode().splitlines()
                data = "\n".join(
                    [header.replace("date", "datum").replace(",", ";")]
                    + [
                        ";".join(
                            v.replace(".", ",") if i in (1, 2) else v
                            for i, v in enumerate(row.split(","))
                        )
                        for row in rows
                    ]
                ).encode()
            archive.writestr(name, data)
    (data_in / "police" / "202502.zip").write_bytes(changed.getvalue())
    settings = get_settings(data_root=tmp_path / "root", data_in=data_in)
    promote_geography(settings, "test")
    commit_month(settings, JANUARY, "test")

    february = Month(2025, 2)
    staged = incidents.stage_police_month(
        settings, february, incidents.fetch_police_month(settings, february), "test"
    )
    said = ["column 'datum' read as 'date'", "fields separated by semicolons, not commas"]
    assert [f"the police export changed: {change}" for change in said] == [
        line for line in incidents.ledger_lines(staged) if "export changed" in line
    ]
    incidents.validate_police_month(settings, february, staged["key"], "test")
    incidents.commit_police_month(settings, february, staged["key"])
    # the same rows accepted as from the sample's own February: nothing lost to the format
    (data_in / "police" / "202502.zip").write_bytes(source.read_bytes())
    plain = incidents.stage_police_month(
        settings, february, incidents.fetch_police_month(settings, february), "test"
    )
    assert plain["key"] != staged["key"]
    for figure in ("input_rows", "accepted_rows", "quarantined_rows"):
        assert staged[figure] == plain[figure], figure

    release = Path(publish(settings, "test")["release"]["path"])
    manifest = json.loads((release / "manifest.json").read_text())
    assert manifest["source_changes"] == {"2025-02": said}
    assert (
        "Změněný export policie / the police export changed (2025-02): column 'datum' read as "
        "'date'; fields separated by semicolons, not commas."
    ) in manifest["changes"]
