"""The Airflow UI's "Feedback" page and the police's answer through the API, for signed-in users
(``opencrime_airflow.access``): the reports by status and unit, with their history, and
``PATCH /opencrime/api/feedback/<id>`` to set ``answered`` or ``closed`` with the answer.

The reports' texts were screened when they came in (``transforms.feedback``); an answer is
screened the same way. Neither is ever published.
"""

from __future__ import annotations

import html
import json
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse

from opencrime_airflow.access import signed_in_for
from opencrime_airflow.feedback_api import refused, sent_as_json
from transforms.database import open_database
from transforms.feedback.digest import ANSWER_STATUSES
from transforms.feedback.intake import ReportRefused
from transforms.feedback.screening import MAX_BODY_BYTES, MAX_TEXT, clean_text, redact
from transforms.feedback.store import Status, UnknownReport, move, reports
from transforms.plumbing.settings import get_settings

reader = APIRouter(dependencies=[Depends(signed_in_for("Feedback"))])
answerer = APIRouter(dependencies=[Depends(signed_in_for("Feedback", "PUT"))])


def _reports(status: str | None, unit: str | None) -> list[dict[str, Any]]:
    engine = open_database(get_settings().feedback_db_url)
    try:
        chosen = Status(status) if status in set(Status) else None
        found = reports(engine, chosen)
    finally:
        engine.dispose()
    return [r for r in found if not unit or r["unit"] == unit]


@reader.get("/api/feedback/reports")
def feedback_reports(status: str | None = None, unit: str | None = None) -> JSONResponse:
    found = _reports(status, unit)
    return JSONResponse(json.loads(json.dumps({"reports": found}, default=str)))


@reader.get("/feedback", response_class=HTMLResponse)
def feedback_page(status: str | None = None, unit: str | None = None) -> str:
    return render_feedback(_reports(status, unit), status, unit)


@answerer.patch("/api/feedback/{report_id}")
async def answer_report(report_id: int, request: Request) -> JSONResponse:
    if not sent_as_json(request):
        return refused(415, "send the answer as JSON (Content-Type: application/json)")
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        return refused(413, f"an answer is at most {MAX_BODY_BYTES:,} bytes")
    try:
        sent = json.loads(body or b"null")
        status, text = sent["status"], str(sent.get("answer") or "")
    except (ValueError, TypeError, KeyError):
        return refused(400, 'send {"status": "answered" or "closed", "answer": "…"}')
    if status not in ANSWER_STATUSES:
        return refused(400, f"status {status!r}: use answered or closed")
    answer, _ = redact(clean_text(text))
    if len(answer) > MAX_TEXT:
        return refused(400, f"the answer is {len(answer):,} characters long: at most {MAX_TEXT:,}")
    engine = open_database(get_settings().feedback_db_url)
    try:
        move(engine, report_id, Status(status), "answer through the API",
             {"answer": answer} if answer else None)  # fmt: skip
    except UnknownReport as error:
        return refused(404, str(error))
    except ReportRefused as error:
        return refused(409, str(error))
    finally:
        engine.dispose()
    return JSONResponse({"id": report_id, "status": status, "answer": answer})


def _history(steps: list[dict[str, Any]]) -> str:
    return "<br>".join(html.escape(f"{str(h['at'])[:16]} {h['status']}") for h in steps)


def render_feedback(found: list[dict[str, Any]], status: str | None, unit: str | None) -> str:
    """The page, self-contained (no script): a filter form and a row per report."""
    e = html.escape
    options = "".join(
        f'<option value="{s}"{" selected" if s == status else ""}>{s}</option>'
        for s in ["", *Status]
    )
    rows = (
        "\n".join(
            "<tr>"
            f'<td>{r["id"]}</td><td><span class="{e(r["status"])}">{e(r["status"])}</span></td>'
            f"<td>{e(str(r['received_at'])[:16])}</td>"
            f"<td>{e(r['unit'])}<br><small>{e(r['month'])} · {e(r['offence_group'] or 'all')}"
            f"{' · ' + e(r['point_class']) if r['point_class'] else ''} · {e(r['release'])}"
            f"</small></td><td>{e(r['kind'])}</td><td>{r['copies']}</td>"
            f"<td>{e(r['text'])}</td>"
            f"<td>{e(', '.join(r['police_units']))}</td><td>{e(r['answer'] or '')}</td>"
            f"<td><small>{_history(r['history'])}</small></td></tr>"
            for r in found
        )
        or '<tr><td colspan="10">No report matches.</td></tr>'
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Feedback to the police</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 1.5rem; }}
table {{ border-collapse: collapse; }}
td, th {{ border-bottom: 1px solid #ddd; padding: .4rem .6rem; text-align: left;
  vertical-align: top; }}
.new {{ color: #b35900; }} .forwarded {{ color: #0057b3; }} .answered {{ color: #1a7f37; }}
.closed {{ color: #777; }}
</style></head><body>
<h1>Feedback to the police</h1>
<p>Reports about published figures, screened and with personal data removed when they came in;
sent to the police unit responsible by the <code>feedback_digest</code> DAG and answered in its
returned CSV or through <code>PATCH api/feedback/&lt;id&gt;</code>. Never published.</p>
<form method="get" action="feedback">
<label>Status <select name="status">{options}</select></label>
<label>Unit <input name="unit" value="{e(unit or "")}" size="8"></label>
<button type="submit">Filter</button></form>
<p>{len(found)} report(s).</p>
<table><thead><tr><th>#</th><th>Status</th><th>Received</th><th>Figure</th><th>Kind</th>
<th>Copies</th><th>Text</th><th>Police units</th><th>Answer</th><th>History</th></tr></thead>
<tbody>
{rows}
</tbody></table>
<p><a href="api/feedback/reports">as JSON</a> · <a href="contracts">Contracts</a> ·
<a href="./">Releases</a></p>
</body></html>
"""
