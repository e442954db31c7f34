"""Feedback reports: what a reporter sends is checked against the release, cleaned of markup
and personal data, stored once however often it is sent, and limited per address. Through the
plugin's own FastAPI app, on PostgreSQL and SQLite."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.postgres import sqlalchemy_url, temporary_database
from transforms.database import open_database
from transforms.feedback.screening import MAX_BODY_BYTES, clean_text, redact
from transforms.feedback.store import (
    ReportRefused,
    Status,
    UnknownReport,
    history_table,
    move,
    reports,
    reports_table,
)

WORDS = st.lists(st.sampled_from(["krádež", "v", "ulici", "Husova", "28.", "října", "1234",
                                  "lednu", "2025", "3", "kola", "u", "školy", "č.p.", "15"]),
                 max_size=8).map(" ".join)  # fmt: skip
EMAILS = st.builds(
    "{}.{}@{}.cz".format,
    st.sampled_from(["jan", "eva", "p"]),
    st.sampled_from(["novak", "dvorakova"]),
    st.sampled_from(["seznam", "mb-net"]),
)
PHONES = st.builds(
    lambda p, a, b, c, sep: f"{p}{a}{sep}{b}{sep}{c}",
    st.sampled_from(["", "+420 ", "00420", "+420"]),
    *(st.integers(100, 999) for _ in range(3)),
    st.sampled_from([" ", "", "-", "."]),
)
BIRTH_NUMBERS = st.builds(
    lambda yy, mm, dd, tail, slash: f"{yy:02d}{mm:02d}{dd:02d}{slash}{tail}",
    st.integers(0, 99), st.sampled_from([1, 5, 12, 51, 62]), st.integers(1, 28),
    st.integers(100, 9999).map(str), st.sampled_from(["/", " / ", "/"]),
)  # fmt: skip
PLATES = st.builds(
    lambda d, a, b, sep, n: f"{d}{a}{b}{sep}{n:04d}",
    st.integers(1, 9), st.sampled_from("ABCEHJKLMPSTUZ"), st.sampled_from("ABC0123456789"),
    st.sampled_from([" ", "", "-"]), st.integers(0, 9999),
)  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(WORDS, st.one_of(EMAILS, PHONES, BIRTH_NUMBERS, PLATES)), min_size=1,
                max_size=4))  # fmt: skip
def test_no_personal_data_survives_the_screening(parts: list[tuple[str, str]]) -> None:
    text = " ".join(f"{words} {secret}" for words, secret in parts)
    screened, found = redact(clean_text(text))
    for _, secret in parts:
        assert secret not in screened, (secret, screened)
    assert sum(found.values()) >= len(parts)
    assert not re.search(r"\d(?:[\s./-]?\d){8}", screened), screened  # no nine digits together


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("<script>alert(1)</script>Krádež", "Krádež"),
        ("&lt;script&gt;alert(1)&lt;/script&gt;Krádež", "Krádež"),
        ('<img src=x onerror="alert(1)">Krádež', "Krádež"),
        # a broken tag is dropped as a tag; what is left is text, no markup
        ("<scr<script>ipt>alert(1)</script>Krádež", "ipt>alert(1)Krádež"),
        ("<style>body{}</style><b>Krádež</b>", "Krádež"),
        ("méně než 3 < 5 krádeží", "méně než 3 < 5 krádeží"),
    ],
)
def test_markup_and_scripts_are_removed_and_plain_text_kept(text: str, kept: str) -> None:
    cleaned = clean_text(text)
    assert cleaned == kept
    assert not re.search(r"<[A-Za-z/!?]", cleaned)  # nothing a browser would read as a tag


# through the plugin's app: a release to report on, a database of each kind


@pytest.fixture(params=["sqlite", "postgresql"])
def intake(
    request: pytest.FixtureRequest, pipeline_run, tmp_path: Path, monkeypatch
) -> Iterator[Any]:
    from fastapi.testclient import TestClient
    from opencrime_airflow.ui import app

    data_root = pipeline_run["settings"].data_root
    with temporary_database("feedback") as name:
        url = (
            sqlalchemy_url(name)
            if request.param == "postgresql"
            else f"sqlite:///{tmp_path / 'f.db'}"
        )
        monkeypatch.setenv("OPENCRIME_DATA_ROOT", str(data_root))
        monkeypatch.setenv("OPENCRIME_CONTRACTS_DB", url)
        monkeypatch.setenv("OPENCRIME_FEEDBACK_RATE_LIMIT", "5")
        client = TestClient(app)
        client.engine = open_database(url)  # type: ignore[attr-defined]
        yield client
        client.engine.dispose()  # type: ignore[attr-defined]


def report(**changes: Any) -> dict[str, Any]:
    text = "Únor je příliš nízko, volejte 603 123 456."
    return {"release": "2025-03.1", "unit": "535419", "month": "2025-02", "offence_group": "35",
            "kind": "wrong_count", "text": text} | changes  # fmt: skip


def post(client: Any, body: Any, content_type: str = "application/json") -> Any:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.post("/api/feedback", content=data, headers={"Content-Type": content_type})


def stored(client: Any) -> list[dict[str, Any]]:
    return reports(client.engine)


def test_a_report_is_stored_redacted_and_a_second_copy_is_folded_into_it(intake: Any) -> None:
    first = post(intake, report())
    assert first.status_code == 201, first.text
    assert first.json()["redacted"] == {"[telefon]": 1}
    again = post(intake, report(text="ÚNOR je příliš   nízko, volejte 603-123-456."))
    assert again.status_code == 200 and again.json()["copies"] == 2
    [kept] = stored(intake)
    assert kept["text"] == "Únor je příliš nízko, volejte [telefon]." and kept["copies"] == 2
    assert kept["status"] == "new" and [h["status"] for h in kept["history"]] == ["new"]
    # the police's answer moves it on; a report that does not exist cannot be answered
    move(
        intake.engine, kept["id"], Status.FORWARDED, "digest 2025-W10", {"police_units": '["0107"]'}
    )
    move(intake.engine, kept["id"], Status.ANSWERED, "answered", {"answer": "Opraveno."})
    with pytest.raises(ReportRefused, match="is answered: it cannot become forwarded"):
        move(intake.engine, kept["id"], Status.FORWARDED, "again")
    with pytest.raises(UnknownReport, match="no report 999"):
        move(intake.engine, 999, Status.ANSWERED, "answer to nothing")
    [answered] = stored(intake)
    assert [h["status"] for h in answered["history"]] == ["new", "forwarded", "answered"]


@pytest.mark.parametrize(
    ("body", "content_type", "status", "reason"),
    [
        (b"", "application/json", 400, "the body is empty"),
        (b"{not json", "application/json", 400, "not JSON"),
        (report(), "text/plain", 415, "as JSON"),
        (report(text="x" * MAX_BODY_BYTES), "application/json", 413, "at most 8,192 bytes"),
        (report(kind="rumour"), "application/json", 400, "kind"),
        (report(colour="red"), "application/json", 400, "colour"),
        (report(unit="999999"), "application/json", 422, "no unit 999999"),
        (report(month="2024-12"), "application/json", 422, "holds 2025-01, 2025-02, 2025-03, not"),
        (report(release="2024-12.1"), "application/json", 422, "there is no release 2024-12.1"),
        (report(offence_group="4242"), "application/json", 422, "no offence 4242"),
        (report(point_class="CRS3035RES250mN1E1"), "application/json", 422, "no point class"),
        (report(text="<script>alert(1)</script>"), "application/json", 422, "text is empty"),
    ],
)
def test_bad_reports_are_refused_with_the_reason_and_nothing_is_stored(
    intake: Any, body: Any, content_type: str, status: int, reason: str
) -> None:
    answer = post(intake, body, content_type)
    assert answer.status_code == status, answer.text
    assert reason in answer.json()["refused"]
    assert stored(intake) == []


def test_a_flood_from_one_address_is_limited_and_not_stored(intake: Any) -> None:
    answers = [post(intake, report(text=f"Zpráva číslo {n}.")) for n in range(8)]
    assert [a.status_code for a in answers] == [201] * 5 + [429] * 3
    assert "at most 5" in answers[-1].json()["refused"]
    assert len(stored(intake)) == 5


def test_script_and_personal_data_never_reach_the_database(intake: Any) -> None:
    text = ("<script>document.location='http://x'</script>Auto 1AB 2345 stálo u domu, "
            "majitel jan.novak@seznam.cz, RČ 900101/1234, tel. +420603123456.")  # fmt: skip
    assert post(intake, report(text=text)).status_code == 201
    with intake.engine.connect() as connection:
        everything = json.dumps(
            [dict(r) for r in connection.execute(sa.select(reports_table)).mappings()]
            + [dict(r) for r in connection.execute(sa.select(history_table)).mappings()],
            default=str,
        )
    for secret in ("<script", "document.location", "1AB 2345", "jan.novak", "900101", "603123456"):
        assert secret not in everything


def test_a_contracts_proof_holds_for_its_report_and_its_key_and_for_a_while_only() -> None:
    from datetime import UTC, datetime, timedelta

    from transforms.contracts.keys import generate_key_pair, generate_signing_pair
    from transforms.feedback.contract_proof import ProofRefused, check_proof, prove

    town, publisher = generate_key_pair(), generate_signing_pair()
    sent = report()
    at = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
    proof = prove(sent, town.private, publisher.public, at)
    check_proof(sent, proof, town.public, publisher.private, at + timedelta(minutes=5))
    with pytest.raises(ProofRefused, match="for another report"):
        check_proof(report(month="2025-03"), proof, town.public, publisher.private, at)
    with pytest.raises(ProofRefused, match="not made with this contract's key"):
        check_proof(sent, proof, generate_key_pair().public, publisher.private, at)
    with pytest.raises(ProofRefused, match="at most 0:15:00"):
        check_proof(sent, proof, town.public, publisher.private, at + timedelta(hours=1))


def test_the_same_report_stored_meanwhile_by_another_request_is_counted_as_a_copy(
    tmp_path: Path,
) -> None:
    """Two requests with one report at the same moment: the second finds nothing, and before
    it inserts, the first has stored it. The second is then a copy, not a failure (PostgreSQL,
    where two api-server workers write at once)."""
    from transforms.feedback.intake import ScreenedReport
    from transforms.feedback.screening import ReportIn, fingerprint
    from transforms.feedback.store import submit

    sent = ReportIn(release="2025-03.1", unit="535419", month="2025-02", kind="other", text="X.")
    screened = ScreenedReport(sent, "X.", {}, fingerprint(sent, "X."))
    with temporary_database("feedback_race") as name:
        engine, other = open_database(sqlalchemy_url(name)), sa.create_engine(sqlalchemy_url(name))
        raced = []

        @sa.event.listens_for(engine, "before_cursor_execute")
        def other_request_first(conn, cursor, statement, parameters, context, many):  # type: ignore[no-untyped-def]
            if statement.startswith("INSERT INTO opencrime_feedback ") and not raced:
                raced.append(True)
                submit(other, screened, client="b", limit=5)  # commits before ours inserts

        stored = submit(engine, screened, client="a", limit=5)
        assert raced and stored.copies == 2
        [kept] = reports(engine)
        assert kept["copies"] == 2
        engine.dispose()
        other.dispose()
