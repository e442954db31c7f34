"""The feedback loop on the demo's release, on PostgreSQL: reports go to the police units that
reach their municipalities (a split municipality to both), each once; the police's filled-in
digest comes back as answers, a row for a report that does not exist is refused by name."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd
import pytest

from tests.postgres import sqlalchemy_url, temporary_database
from transforms.database import open_database
from transforms.domain.police_overlay import SLIVER
from transforms.feedback.digest import DIGEST_COLUMNS, municipalities_under, police_routes
from transforms.feedback.intake import release_codes, screen
from transforms.feedback.screening import ReportIn
from transforms.feedback.store import Status, reports, submit
from transforms.pipeline.boundaries import current_geography_version, load_current_units
from transforms.pipeline.feedback import AnswersRefused, import_answers, make_digest
from transforms.pipeline.publish.police_figures import unit_shares
from transforms.plumbing.settings import get_settings
from transforms.plumbing.storage import read_json


def test_reports_reach_their_police_units_once_and_come_back_answered(
    pipeline_run, tmp_path: Path
) -> None:
    base = pipeline_run["settings"]
    release = Path(pipeline_run["release"]["path"])
    with temporary_database("digest") as name:
        settings = get_settings(data_root=base.data_root, data_in=tmp_path,
                                contracts_db=sqlalchemy_url(name))  # fmt: skip
        engine = open_database(settings.feedback_db_url)
        pointer = read_json(settings.canonical_dir / "police_districts" / "current.json")
        shares = unit_shares(settings, str(pointer["version"]), current_geography_version(settings))
        codes = release_codes(release)
        # a town's report, and its district's (which several police units share)
        texts = {"535419": "Únor u nádraží chybí, volejte 603 123 456.",
                 "3207": "Krádeže jsou na špatném místě."}  # fmt: skip
        for unit, text in texts.items():
            report = ReportIn(release=release.name, unit=unit, month="2025-02",
                              offence_group="35", kind="wrong_count", text=text)  # fmt: skip
            submit(engine, screen(report, codes), client="c", limit=10)

        first = make_digest(settings, "2026-W50")
        assert first["reports"] == 2 and first["not_routed"] == []
        towns = set(units_under("3207", settings))
        reaching = shares["municipality_code"].isin(towns) & (shares["share"] > SLIVER)
        district_units = sorted(set(shares.loc[reaching, "unit_code"]))
        assert len(district_units) > 1
        folder = Path(first["folder"])
        for unit in district_units:  # the district's report goes to each of its police units
            assert "3207" in {r["unit"] for r in _rows(folder / f"{unit}.csv")}
        assert first["police_units"] == district_units
        every = [r for unit in first["police_units"] for r in _rows(folder / f"{unit}.csv")]
        assert all(r["published_status"] in ("published", "suppressed") for r in every)
        assert "603 123 456" not in "".join(p.read_text() for p in folder.iterdir())
        assert {r["status"] for r in reports(engine)} == {"forwarded"}
        # the same week again, or the next: nothing is sent twice
        again = make_digest(settings, "2026-W51")
        assert again["reports"] == 0 and not (folder.parent / "2026-W51").exists()

        # the police answer in the digest's own CSV; one row names a report that is not there
        unit = first["police_units"][0]
        rows = _rows(folder / f"{unit}.csv")
        rows[0] |= {"answer_status": "answered", "answer": "Opraveno, volejte 777 888 999."}
        rows.append(dict.fromkeys(DIGEST_COLUMNS, "") | {"report_id": "999",
                                                        "answer_status": "closed"})  # fmt: skip
        (tmp_path / "feedback_answers").mkdir()
        _write(tmp_path / "feedback_answers" / f"{unit}.csv", rows)
        for _ in range(2):  # taken once; the bad row refused by name each time
            with pytest.raises(AnswersRefused, match="there is no report 999") as refused:
                import_answers(settings)
        assert "(1 taken)" not in str(refused.value)  # the second run took nothing new
        answered = {r["id"]: r for r in reports(engine)}[int(rows[0]["report_id"])]
        assert answered["status"] == Status.ANSWERED
        assert answered["answer"] == "Opraveno, volejte [telefon]."
        assert [h["status"] for h in answered["history"]] == ["new", "forwarded", "answered"]
        engine.dispose()


def test_a_municipality_split_between_two_police_units_goes_to_both() -> None:
    shares = pd.DataFrame(
        {"unit_code": ["A", "B", "B", "C"], "municipality_code": ["m1", "m1", "m2", "m2"],
         "share": [0.6, 0.4, 0.995, 0.005]}  # m2's 0.5 % in C is a drawing difference
    )  # fmt: skip
    under = {"m1": frozenset({"m1"}), "m2": frozenset({"m2"}), "D": frozenset({"m1", "m2"})}
    assert police_routes(["m1", "m2", "D", "X"], under, shares) == {
        "m1": ["A", "B"],
        "m2": ["B"],
        "D": ["A", "B"],
        "X": [],
    }


def units_under(unit: str, settings) -> frozenset[str]:  # type: ignore[no-untyped-def]
    return municipalities_under(load_current_units(settings))[unit]


def _rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text("utf-8-sig")), delimiter=";"))


def _write(path: Path, rows: list[dict[str, str]]) -> None:
    out = io.StringIO()
    writer = csv.DictWriter(out, DIGEST_COLUMNS, delimiter=";")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text("\ufeff" + out.getvalue(), encoding="utf-8")


def test_a_report_whose_figure_changed_in_a_later_release_says_so_once(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from transforms.feedback.intake import ScreenedReport
    from transforms.feedback.screening import fingerprint
    from transforms.feedback.store import counts_for, move
    from transforms.pipeline.feedback import note_revisions, revised_after_reports
    from transforms.plumbing.storage import write_json_atomic

    dataset = tmp_path / "releases" / "cz-crime"
    for version, count in (("2025-03.1", 12), ("2025-04.1", 14)):
        (dataset / version).mkdir(parents=True)
        figure = {"geo_code": ["535419"], "period": ["2025-02"], "offence_code": ["35"],
                  "count": [count], "status": ["published"]}  # fmt: skip
        pq.write_table(pa.table(figure), dataset / version / "counts.parquet")
    write_json_atomic(dataset / "latest.json", {"version": "2025-04.1"})
    settings = get_settings(data_root=tmp_path, contracts_db=f"sqlite:///{tmp_path / 'f.db'}")
    engine = open_database(settings.feedback_db_url)
    sent = ReportIn(release="2025-03.1", unit="535419", month="2025-02", offence_group="35",
                    kind="wrong_count", text="Málo.")  # fmt: skip
    stored = submit(engine, ScreenedReport(sent, "Málo.", {}, fingerprint(sent, "Málo.")), "c", 5)
    assert note_revisions(settings)["revised"] == []  # not sent on yet
    move(engine, stored.id, Status.FORWARDED, "digest")
    assert note_revisions(settings)["revised"] == [stored.id]
    assert note_revisions(settings)["revised"] == []  # once
    [report] = reports(engine)
    assert report["revised_in"] == "2025-04.1" and report["status"] == "forwarded"
    assert report["history"][-1]["note"] == "revised in 2025-04.1: 12 → 14"
    assert counts_for(engine, "535419") == {"reports": 1, "answered": 0, "revised": 1}
    engine.dispose()
    # what the later release's page lists: the figure, as each release published it
    assert revised_after_reports(settings, "2025-04.1") == [
        {"unit": "535419", "month": "2025-02", "offence_group": "35", "reported_in": "2025-03.1",
         "before": "12", "now": "14"}
    ]  # fmt: skip
    assert revised_after_reports(settings, "2025-03.1") == []
