"""Which police unit a report goes to, what its digest says, and the police's answers read back.

A report names a unit of our geography; the police work by their own territorial units. A
report goes to every police unit that reaches a municipality of its unit (the overlay of the
police polygons on the municipalities, ``transforms.domain.police_overlay``: a share above the
sliver), so a municipality split between two units goes to both, and a district's report to
every unit of the district.
"""

from __future__ import annotations

import csv
import html
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from transforms.domain.police_overlay import SLIVER
from transforms.feedback.screening import clean_text, redact

DIGEST_COLUMNS = [
    "report_id", "received_at", "kind", "release", "unit", "unit_name", "month",
    "offence_group", "point_class", "published_count", "published_status", "copies",
    "from_contract", "text", "answer_status", "answer",
]  # fmt: skip
ANSWER_STATUSES = ("answered", "closed")  # what the police may set in a digest's last columns


def municipalities_under(units: pd.DataFrame) -> dict[str, frozenset[str]]:
    """Each unit's municipalities (a municipality's own is itself), from ``code, level,
    parent_code``."""
    parent = dict(zip(units["code"], units["parent_code"], strict=True))
    under: dict[str, set[str]] = {}
    for town in units.loc[units["level"] == "municipality", "code"]:
        node: Any = town
        while isinstance(node, str):
            under.setdefault(node, set()).add(town)
            node = parent.get(node)
    return {unit: frozenset(towns) for unit, towns in under.items()}


def police_routes(
    report_units: Iterable[str], under: Mapping[str, frozenset[str]], shares: pd.DataFrame
) -> dict[str, list[str]]:
    """Each report unit's police units (sorted); ``shares``: ``unit_code, municipality_code,
    share``. A unit no police unit reaches gets none (reported by the caller)."""
    reach = shares[shares["share"] > SLIVER]
    by_town = reach.groupby("municipality_code")["unit_code"].agg(frozenset).to_dict()
    return {
        unit: sorted(set().union(*(by_town.get(t, frozenset()) for t in under.get(unit, ()))))
        for unit in set(report_units)
    }


def digest_csv(rows: list[dict[str, Any]]) -> bytes:
    """One police unit's digest as CSV (``;``, UTF-8 with BOM, for Czech Excel): a report per
    row, the last two columns left for the police to fill in and send back."""
    out = io.StringIO()
    writer = csv.DictWriter(out, DIGEST_COLUMNS, delimiter=";", lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({c: "" if row.get(c) is None else row.get(c) for c in DIGEST_COLUMNS})
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def digest_html(police_unit: str, name: str, digest_id: str, rows: list[dict[str, Any]]) -> str:
    """The same digest as a page to read: each report with the published figure it is about."""
    e = html.escape
    body = "\n".join(
        "<tr>"
        f"<td>{r['report_id']}</td><td>{e(str(r['kind']))}</td>"
        f"<td>{e(str(r['unit_name']))} ({e(str(r['unit']))})<br><small>{e(str(r['month']))}"
        f" · {e(str(r['offence_group'] or 'vše'))}"
        f"{' · ' + e(str(r['point_class'])) if r['point_class'] else ''}</small></td>"
        f"<td>{e(str(r['published_count']))} <small>({e(str(r['published_status']))}, "
        f"release {e(str(r['release']))})</small></td>"
        f"<td>{e(str(r['text']))}<br><small>{r['copies']}× "
        f"{'· smluvní samospráva ' + e(str(r['from_contract'])) if r['from_contract'] else ''}"
        "</small></td></tr>"
        for r in rows
    )
    return f"""<!doctype html>
<html lang="cs"><head><meta charset="utf-8">
<title>Podněty k publikovaným údajům: {e(name)} ({e(digest_id)})</title>
<style>body {{ font-family: system-ui, sans-serif; margin: 1.5rem; }}
table {{ border-collapse: collapse; }} td, th {{ border-bottom: 1px solid #ddd;
padding: .4rem .6rem; text-align: left; vertical-align: top; }}</style></head><body>
<h1>Podněty k publikovaným údajům</h1>
<p>{e(name)} ({e(police_unit)}), přehled {e(digest_id)}: {len(rows)} podnětů. Odpovědi
vyplňte do posledních dvou sloupců souboru CSV (stav <code>answered</code> nebo
<code>closed</code>) a vraťte jej.</p>
<table><thead><tr><th>Č.</th><th>Druh</th><th>Území, měsíc, skupina</th>
<th>Publikovaný údaj</th><th>Text (osobní údaje odstraněny)</th></tr></thead>
<tbody>
{body}
</tbody></table>
</body></html>
"""


@dataclass(frozen=True)
class Answer:
    report_id: int
    status: str
    text: str  # cleaned and redacted like a report's


class AnswerRefused(ValueError):
    """A row of an answer file that cannot be taken: says which and why."""


def read_answers(data: bytes, source: str) -> tuple[list[Answer], list[str]]:
    """The filled-in rows of a returned digest (rows without an answer status are skipped),
    and a sentence for each row that cannot be read (the others are still taken)."""
    text = data.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text), delimiter=";"))
    answers, problems = [], []
    for line, row in enumerate(rows, start=2):
        status = (row.get("answer_status") or "").strip().lower()
        if not status:
            continue
        where = f"{source}, line {line}"
        if status not in ANSWER_STATUSES:
            problems.append(f"{where}: answer_status {status!r}: use answered or closed")
            continue
        try:
            report_id = int(str(row.get("report_id", "")).strip())
        except ValueError:
            problems.append(f"{where}: report_id {row.get('report_id')!r} is not a number")
            continue
        answer, _ = redact(clean_text(row.get("answer") or ""))
        answers.append(Answer(report_id, status, answer))
    return answers, problems
