"""What a user reads when a run fails: the figures, the cause and the fix, in the first lines.

Each case of a hostile real world (a month over the quarantine limit, another month's file, an
empty or HTML file saved as the archive, a semicolon export, a renamed column, a stray file, a
KML among the boundaries, a bad extract request) is checked here on the functions that word the
message; ``tests/airflow/test_failure_messages.py`` checks the same words arrive, through
Airflow, in what ``make demo`` prints, without retries.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from transforms.domain.periods import Month
from transforms.domain.quarantine import ledger_explanation
from transforms.plumbing.errors import PermanentFailure
from transforms.plumbing.settings import QUARANTINE_LIMIT_SETTING, Settings
from transforms.sources import czech_police as cp
from transforms.sources.text import header_delimiter

JANUARY = Month(2025, 1)


def ledger(rows: int, reasons: dict[str, int], unaccounted: int = 0) -> dict:
    quarantined = sum(reasons.values())
    return {
        "month": "2025-02",
        "input_rows": rows,
        "quarantined_rows": quarantined,
        "unaccounted_rows": unaccounted,
        "quarantine_share": round(quarantined / rows, 6),
        "quarantine_reasons": [
            {"reason": reason, "count": count, "examples": []} for reason, count in reasons.items()
        ],
    }


def test_a_month_over_the_limit_says_its_share_the_limit_the_setting_and_the_reasons() -> None:
    report = ledger(1_477, {"bad_coordinate": 4, "malformed_line": 12})
    lines = ledger_explanation(report, 0.01, "Q.parquet", QUARANTINE_LIMIT_SETTING)
    assert lines[0] == ("2025-02: 16 of 1,477 rows quarantined (1.08%), over the limit of 1.00%.")
    # the reasons, most rows first, in words
    assert lines[1].startswith("Reasons: 12 × malformed_line (The line has the wrong number")
    assert "4 × bad_coordinate" in lines[1]
    assert "OPENCRIME_QUARANTINE_LIMIT" in lines[2] and "opencrime_quarantine_limit" in lines[2]
    assert lines[2].endswith("Q.parquet")


def test_another_months_file_is_named_as_such_and_the_limit_is_not_offered() -> None:
    report = ledger(1_477, {"date_outside_interval": 1_411, "bad_date": 1})
    lines = ledger_explanation(report, 0.01, "Q.parquet", QUARANTINE_LIMIT_SETTING)
    assert lines[0] == (
        "2025-02: 1,411 of 1,477 rows are dated outside 2025-02: this file holds another "
        "month's records."
    )
    assert lines[1].startswith("Fix: put 2025-02's file in its place, then clear the run.")
    assert not any("LIMIT" in line for line in lines)


def test_a_month_within_the_limit_has_nothing_to_explain_but_a_broken_ledger_does() -> None:
    assert ledger_explanation(ledger(1_477, {"bad_date": 1}), 0.01, "Q", "S") == []
    lines = ledger_explanation(ledger(1_477, {"bad_date": 1}, unaccounted=2), 0.01, "Q", "S")
    assert lines == [
        "2025-02: 2 of 1,477 rows were neither accepted nor quarantined. This is a bug in the "
        "loader: please report it with the file."
    ]


def sample_month(sample_dir: Path) -> bytes:
    return (sample_dir / "police" / "202501.zip").read_bytes()


@pytest.mark.parametrize(
    ("data", "cause"),
    [
        (b"", "the file is empty (0 bytes)"),
        (
            b"<!DOCTYPE html><html><body><h1>503 Service Unavailable</h1></body></html>",
            "the file is an HTML page, not a zip archive",
        ),
        (b"id,x,y\n1,2,3\n", "the file is not a zip archive (it begins b'id,x,y\\n1'"),
    ],
    ids=["empty", "html", "csv"],
)
def test_an_unreadable_archive_names_its_cause_and_the_fix_for_where_it_came_from(
    data: bytes, cause: str
) -> None:
    with pytest.raises(cp.CorruptDownloadError) as caught:
        cp.read_month_zip(data, JANUARY, fix="FIX")
    message = str(caught.value)
    assert message.startswith(f"the police archive for 2025-01 cannot be read: {cause}")
    assert message.endswith("Fix: FIX")


def test_a_cut_short_archive_is_told_apart_from_one_that_is_not_a_zip(sample_dir: Path) -> None:
    data = sample_month(sample_dir)
    with pytest.raises(cp.CorruptDownloadError, match="the zip archive is damaged or cut short"):
        cp.read_month_zip(data[: len(data) // 2], JANUARY)


def test_the_fix_for_an_unreadable_archive_depends_on_where_it_came_from(tmp_path: Path) -> None:
    from transforms.pipeline.police_incidents import archive_fix

    local = Settings(data_root=tmp_path / "data", data_in=tmp_path / "in")
    fix = archive_fix(local, JANUARY, {"origin": "202501.zip"})
    # a local file: replace it; clearing only the failed task would re-read the stored copy
    assert f"put a good copy of the police's 202501.zip in {tmp_path / 'in' / 'police'}" in fix
    assert "clear the whole run (fetch_month included)" in fix
    downloaded = Settings(data_root=tmp_path / "data")
    fix = archive_fix(downloaded, JANUARY, {"origin": "https://police.example/202501.zip"})
    assert "the server at https://police.example/202501.zip sent these bytes" in fix
    assert "download the month again" in fix


def records_csv(data: bytes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return archive.read("202501.csv")


def test_a_semicolon_export_with_decimal_commas_is_read_as_the_comma_file(
    sample_dir: Path,
) -> None:
    text = records_csv(sample_month(sample_dir)).decode()
    lines = text.splitlines()
    # as a Czech spreadsheet saves it: semicolons between fields, decimal commas
    semicolons = "\n".join(
        [lines[0].replace(",", ";")]
        + [
            ";".join(
                field.replace(".", ",") if i in (1, 2) else field for i, field in enumerate(row)
            )
            for row in (line.split(",") for line in lines[1:])
        ]
    ).encode()
    comma = cp.read_records_csv(text.encode())
    semicolon = cp.read_records_csv(semicolons)
    pd.testing.assert_frame_equal(semicolon.frame, comma.frame)
    assert semicolon.input_rows == comma.input_rows
    assert cp.export_changes(semicolon) == ["fields separated by semicolons, not commas"]
    assert cp.export_changes(comma) == []


def test_the_separator_is_decided_by_the_header_alone() -> None:
    assert header_delimiter("id,x,y,date") == ","
    assert header_delimiter("id;x;y;date") == ";"
    assert header_delimiter("id\tx\ty\tdate") == "\t"
    assert header_delimiter("id") == ","  # one name: nothing to tell, the expected separator


def test_a_header_the_loader_cannot_use_names_the_separator_and_the_aliases() -> None:
    with pytest.raises(cp.SchemaError) as caught:
        cp.read_records_csv(b"id:x:y:date:types\n1:2:3:4:5\n")
    message = str(caught.value)
    assert "required column(s)" in message
    assert "not separated by commas, semicolons, tabs or |" in message
    assert "COLUMN_ALIASES" in message


def test_schema_drift_is_said_in_words_for_the_log_the_manifest_and_the_changelog() -> None:
    records = cp.read_records_csv(
        b"id,x,y,mp,datum,state,relevance,types,novy_sloupec\n"
        b"1,15.05,50.76,false,2025-01-05 10:00:00,2,4,44,abc\n"
    )
    changes = cp.export_changes(records)
    assert changes == ["column 'datum' read as 'date'", "column(s) not used: 'novy_sloupec'"]

    from transforms.pipeline.publish.write import what_changed

    inputs = {"months": {"2025-01": "a", "2025-02": "b"}, "policy_sha256": "p", "geography": "g"}
    lines = what_changed(None, inputs | {"code": "c"}, {"2025-02": changes})
    assert lines == [
        "První vydání. / First release.",
        "Změněný export policie / the police export changed (2025-02): column 'datum' read as "
        "'date'; column(s) not used: 'novy_sloupec'.",
    ]
    # a later release repeats it only for a month it adds or revises
    previous = {
        "version": "2025-02.1",
        "inputs": {"incident_partitions": {"2025-01": "a", "2025-02": "b"}, "geography": "g"},
        "policy": {"sha256": "p"},
        "code_version": "c",
    }
    later = what_changed(previous, inputs | {"code": "c"}, {"2025-02": changes})
    assert later == ["Předchozí vydání / previous release: 2025-02.1."]


def test_a_stray_file_among_the_police_months_is_named_not_parsed(tmp_path: Path) -> None:
    from opencrime_airflow.runner import police_files

    for name in ("202501.zip", "202502.zip", "202501 (1).zip", "202501.geojson", "notes.txt"):
        (tmp_path / name).write_bytes(b"")
    months, other = police_files(tmp_path)
    assert months == [Month(2025, 1), Month(2025, 2)]
    # what is not a zip archive is not read, and is not mistaken for a month either
    assert other == ["202501 (1).zip"]


def test_a_boundary_folder_without_a_usable_file_lists_what_it_holds_and_why(
    tmp_path: Path,
) -> None:
    from transforms.pipeline.boundaries import snapshot_boundary_inputs
    from transforms.pipeline.common import InputMissing

    (tmp_path / "boundaries").mkdir()
    (tmp_path / "boundaries" / "OOP_2000.kml").write_text("<kml/>")
    settings = Settings(data_root=tmp_path / "data", data_in=tmp_path)
    with pytest.raises(InputMissing) as caught:
        snapshot_boundary_inputs(settings)
    message = str(caught.value)
    assert "expected exactly one boundary file (.gpkg" in message
    assert "found none; not taken, as not one of those formats: OOP_2000.kml" in message


@pytest.mark.parametrize(
    ("fields", "sentence"),
    [
        (
            {"first_month": "2025-13"},
            "first_month must be a month written YYYY-MM, e.g. 2025-03 (given: '2025-13')",
        ),
        (
            {"format": "xlsx"},
            "format must be one of 'csv', 'parquet' or 'geojson' (given: 'xlsx')",
        ),
        (
            {"first_month": "2025-03", "last_month": "2025-01"},
            "empty period: 2025-03 is after 2025-01",
        ),
        ({"colour": "red"}, "colour is not a field of an extract request"),
    ],
)
def test_a_bad_extract_request_is_one_plain_sentence_naming_the_field(
    fields: dict, sentence: str
) -> None:
    from transforms.publish.extract import ExtractError, extract_request

    with pytest.raises(ExtractError) as caught:
        extract_request(fields)
    assert str(caught.value) == sentence
    assert "pydantic" not in str(caught.value)


def test_failures_a_retry_cannot_heal_are_marked_permanent() -> None:
    from transforms.pipeline.common import InputMissing
    from transforms.pipeline.publish.inputs import IncompatibleRelease
    from transforms.plumbing.snapshot import SnapshotCorrupted
    from transforms.privacy.audit import AuditFailed
    from transforms.privacy.policy import PolicyError
    from transforms.publish.extract import ExtractError
    from transforms.sources.http import DownloadFailed, NotPublished
    from transforms.validation import ValidationFailed

    for error in (
        ValidationFailed,
        AuditFailed,
        cp.CorruptDownloadError,
        cp.SchemaError,
        SnapshotCorrupted,
        PolicyError,
        IncompatibleRelease,
        InputMissing,
        ExtractError,
    ):
        assert issubclass(error, PermanentFailure), error
    # what may heal: the police's server, a month not published yet
    for error in (DownloadFailed, NotPublished):
        assert not issubclass(error, PermanentFailure), error


def test_the_task_decorator_fails_a_permanent_failure_at_once_and_retries_the_rest() -> None:
    from airflow.sdk.exceptions import AirflowFailException
    from opencrime_airflow.tasks import step

    def verdict() -> None:
        raise cp.CorruptDownloadError("the file is empty (0 bytes)")

    def outage() -> None:
        raise ConnectionError("the police's server did not answer")

    with pytest.raises(AirflowFailException, match=r"^the file is empty \(0 bytes\)$") as caught:
        step()(verdict).function()
    assert isinstance(caught.value.__cause__, cp.CorruptDownloadError)
    with pytest.raises(ConnectionError):
        step()(outage).function()
