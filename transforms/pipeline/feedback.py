"""The ``feedback_digest`` DAG's steps: the police's answers read back, and the new reports
sent, one digest per police unit. Every report is forwarded once; answers are taken once."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pyarrow.dataset as ds

from transforms.database import open_database
from transforms.domain.counting import NONSENSITIVE
from transforms.feedback.digest import (
    digest_csv,
    digest_html,
    municipalities_under,
    police_routes,
    read_answers,
)
from transforms.feedback.store import (
    Status,
    move,
    note_revision,
    reported_figures_revised_in,
    reports,
    status_of,
)
from transforms.pipeline.boundaries import current_geography_version, load_current_units
from transforms.pipeline.police_districts import load_current_police_units
from transforms.pipeline.publish.police_figures import unit_shares
from transforms.plumbing.errors import PermanentFailure
from transforms.plumbing.settings import Settings
from transforms.plumbing.storage import read_json, write_bytes_atomic, write_json_atomic
from transforms.publish.folder import latest

ANSWERS = "feedback_answers"  # in DATA_IN: digests the police filled in and sent back


class AnswersRefused(PermanentFailure, RuntimeError):
    """Rows of the police's answers that could not be taken (the others were): says which."""


def import_answers(settings: Settings) -> dict[str, Any]:
    """Take every filled-in row of the returned digests in ``DATA_IN/feedback_answers/``: a
    forwarded report becomes answered or closed, with the answer. A row taken before is
    skipped; a row that names no report, or a report not yet forwarded, is refused by name
    after the others are taken (the task fails, so someone looks)."""
    folder = (settings.data_in or settings.data_root) / ANSWERS
    engine = open_database(settings.feedback_db_url)
    taken, again, problems = 0, 0, []
    for path in sorted(folder.glob("*.csv")) if folder.is_dir() else []:
        answers, unreadable = read_answers(path.read_bytes(), path.name)
        problems += unreadable
        for answer in answers:
            current = status_of(engine, answer.report_id)
            target = Status(answer.status)
            if current is None:
                problems.append(f"{path.name}: there is no report {answer.report_id}")
            elif current == target or current == Status.CLOSED:
                again += 1  # imported before
            elif current == Status.NEW:
                problems.append(f"{path.name}: report {answer.report_id} was not sent yet")
            else:
                text = {"answer": answer.text} if answer.text else {}
                move(engine, answer.report_id, target, f"answer from {path.name}", text)
                taken += 1
    engine.dispose()
    result = {"answers_taken": taken, "taken_before": again, "problems": problems}
    if problems:
        raise AnswersRefused(
            f"{len(problems)} answer row(s) not taken ({taken} taken): " + "; ".join(problems)
        )
    return result


def make_digest(settings: Settings, digest_id: str) -> dict[str, Any]:
    """Send every new report: one digest per police unit that reaches the report's unit
    (CSV to fill in and HTML to read, in ``feedback/digests/<digest_id>/``), then mark the
    reports forwarded. A report no police unit reaches stays new and is named."""
    engine = open_database(settings.feedback_db_url)
    new = reports(engine, Status.NEW)
    if not new:
        engine.dispose()
        return {"digest": digest_id, "reports": 0, "police_units": []}
    units = load_current_units(settings)
    police = load_current_police_units(settings)
    pointer = read_json(settings.canonical_dir / "police_districts" / "current.json")
    shares = unit_shares(settings, str(pointer["version"]), current_geography_version(settings))
    routes = police_routes({r["unit"] for r in new}, municipalities_under(units), shares)
    names = dict(zip(units["code"], units["name"], strict=True))
    by_police: dict[str, list[dict[str, Any]]] = {}
    for report, (count, status) in zip(new, reported_figures(settings, new), strict=True):
        row = {
            "report_id": report["id"], "received_at": report["received_at"].isoformat(),
            "kind": report["kind"], "release": report["release"], "unit": report["unit"],
            "unit_name": names.get(report["unit"], report["unit"]), "month": report["month"],
            "offence_group": report["offence_group"], "point_class": report["point_class"],
            "published_count": count, "published_status": status, "copies": report["copies"],
            "from_contract": report["contract_id"], "text": report["text"],
        }  # fmt: skip
        for unit in routes[report["unit"]]:
            by_police.setdefault(unit, []).append(row)
    folder = settings.data_root / "feedback" / "digests" / digest_id
    police_names = dict(zip(police["code"], police["name"], strict=True))
    for unit, rows in sorted(by_police.items()):
        write_bytes_atomic(folder / f"{unit}.csv", digest_csv(rows))
        page = digest_html(unit, str(police_names.get(unit, unit)), digest_id, rows)
        write_bytes_atomic(folder / f"{unit}.html", page.encode())
    unrouted = [r["id"] for r in new if not routes[r["unit"]]]
    for report in new:
        if routes[report["unit"]]:
            sent_to = json.dumps(routes[report["unit"]])
            move(engine, report["id"], Status.FORWARDED, f"digest {digest_id}",
                 {"police_units": sent_to})  # fmt: skip
    engine.dispose()
    result = {
        "digest": digest_id,
        "reports": len(new) - len(unrouted),
        "police_units": sorted(by_police),
        "folder": str(folder),
        "not_routed": unrouted,
    }
    if by_police:
        write_json_atomic(folder / "digest.json", result)
    return result


Figure = tuple[str, str, str | None]  # unit, month, offence group (None: all but sensitive)


def published_figures(
    settings: Settings, release: str, wanted: Iterable[Figure]
) -> dict[Figure, tuple[Any, str]]:
    """The count and status ``release`` published for each of ``wanted`` (the unit's figure of
    offences except sensitive ones when no group is named), in one read of its counts."""
    wanted = set(wanted)
    path: Path = settings.releases_dir / settings.dataset_id / release / "counts.parquet"
    offence = {key: key[2] or NONSENSITIVE for key in wanted}
    table = ds.dataset(path).to_table(
        columns=["geo_code", "period", "offence_code", "count", "status"],
        filter=ds.field("geo_code").isin(sorted({unit for unit, _, _ in wanted}))
        & ds.field("period").isin(sorted({month for _, month, _ in wanted}))
        & ds.field("offence_code").isin(sorted(set(offence.values()))),
    )
    columns = [table[name].to_pylist() for name in table.column_names]
    held = {(g, p, o): (c, str(s)) for g, p, o, c, s in zip(*columns, strict=True)}
    missing = (None, "not in the release")
    return {key: held.get((key[0], key[1], offence[key]), missing) for key in wanted}


def reported_figures(
    settings: Settings, about: list[dict[str, Any]], release: str | None = None
) -> list[tuple[Any, str]]:
    """For each report (or figure) of ``about``, the count and status its own release (or
    ``release``) published for its unit, month and group: one read per release."""
    keys: dict[str, list[Figure]] = {}
    for report in about:
        keys.setdefault(release or report["release"], []).append(_key(report))
    found = {r: published_figures(settings, r, k) for r, k in keys.items()}
    return [found[release or report["release"]][_key(report)] for report in about]


def note_revisions(settings: Settings) -> dict[str, Any]:
    """For every report sent on and not yet found revised, compare the figure it was about
    in its release with the newest release's: where it changed, the report records the
    release and both figures (the reporter's page and the police see that it was corrected)."""
    pointer = latest(settings.releases_dir / settings.dataset_id)
    if pointer is None:
        return {"release": None, "revised": []}
    newest = str(pointer["version"])
    engine = open_database(settings.feedback_db_url)
    revised = []
    sent = [
        report
        for report in reports(engine)
        if report["status"] != Status.NEW and not report["revised_in"]
        and report["release"] != newest
    ]  # fmt: skip
    then, now = reported_figures(settings, sent), reported_figures(settings, sent, newest)
    for report, before, after in zip(sent, then, now, strict=True):
        if before != after:
            note = f"revised in {newest}: {_figure(before)} → {_figure(after)}"
            note_revision(engine, report["id"], newest, note)
            revised.append(report["id"])
    engine.dispose()
    return {"release": newest, "revised": revised}


def revised_after_reports(settings: Settings, release: str) -> list[dict[str, Any]]:
    """The figures that changed in ``release`` after a report named them, with what the
    release reported about and ``release`` published: what the release page's changelog
    lists beside ``changes.csv`` (kept out of the release's bytes: a report is no input of a
    release, so a re-run publishes the same files however many reports came since)."""
    engine = open_database(settings.feedback_db_url)
    try:
        figures = reported_figures_revised_in(engine, release)
    finally:
        engine.dispose()
    return [
        {
            "unit": figure["unit"],
            "month": figure["month"],
            "offence_group": figure["offence_group"],
            "reported_in": figure["release"],
            "before": _figure(before),
            "now": _figure(now),
        }
        for figure, before, now in zip(
            figures,
            reported_figures(settings, figures),
            reported_figures(settings, figures, release),
            strict=True,
        )
    ]


def _key(figure: dict[str, Any]) -> Figure:
    return (figure["unit"], figure["month"], figure["offence_group"])


def _figure(figure: tuple[Any, str]) -> str:
    count, status = figure
    return str(count) if status == "published" else status
