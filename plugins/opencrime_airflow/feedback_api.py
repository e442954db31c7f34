"""``POST /opencrime/api/feedback``: a report about a published figure, from anyone.

Open like the Releases page (the public and municipalities report without an Airflow account),
so everything is checked here before anything is kept (``transforms.feedback``): the content
type, the size, the fields, the codes against the release named, markup and personal data in
the text, and a rate limit per address. Each refusal is an HTTP status with a sentence: 415 not
JSON, 413 too large, 400 not a report, 422 a report the release does not match, 401 a contract's
report whose proof does not hold, 429 too many. Two reads, counts and figures only, for the
portal's pages: ``/api/feedback/counts`` and ``/api/feedback/revised``.
"""

from __future__ import annotations

import contextlib
import json
import secrets
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from transforms.contracts.keys import write_private_key
from transforms.contracts.register import list_contracts
from transforms.database import open_database
from transforms.feedback.contract_proof import ProofRefused
from transforms.feedback.intake import (
    ReportRefused,
    release_codes,
    release_folder,
    screen,
    verified_contract,
)
from transforms.feedback.screening import MAX_BODY_BYTES, ReportIn
from transforms.feedback.store import RateLimited, client_key, counts_for, submit
from transforms.pipeline.feedback import revised_after_reports
from transforms.plumbing.settings import Settings, get_settings

router = APIRouter()


def sent_as_json(request: Request) -> bool:
    return request.headers.get("content-type", "").split(";")[0].strip() == "application/json"


def refused(status: int, reason: str) -> JSONResponse:
    return JSONResponse({"refused": reason}, status_code=status)


@router.post("/api/feedback")
async def post_feedback(request: Request) -> JSONResponse:
    if not sent_as_json(request):
        return refused(415, "send the report as JSON (Content-Type: application/json)")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            return refused(413, f"a report is at most {MAX_BODY_BYTES:,} bytes")
    if not body.strip():
        return refused(400, "the body is empty: send a report")
    try:
        report = ReportIn.model_validate(json.loads(body))
    except (ValueError, ValidationError) as error:
        return refused(400, f"not a report: {_first_problem(error)}")
    settings = get_settings()
    try:
        folder = release_folder(settings.releases_dir / settings.dataset_id, report.release)
        screened = screen(report, release_codes(folder))
    except ReportRefused as error:
        return refused(422, str(error))
    engine = open_database(settings.feedback_db_url)
    try:
        contract = verified_contract(report, list_contracts(engine), _publisher_key(settings))
        address = request.client.host if request.client else "unknown"
        client = client_key(address, _secret(settings))
        stored = submit(engine, screened, client, settings.feedback_rate_limit, contract)
    except ProofRefused as error:
        return refused(401, str(error))
    except RateLimited as error:
        return refused(429, str(error))
    finally:
        engine.dispose()
    answer: dict[str, Any] = {
        "id": stored.id,
        "status": "received" if stored.copies == 1 else "received before",
        "copies": stored.copies,
        "redacted": screened.redacted,  # what was taken out of the text, by kind
        "contract": contract,
    }
    return JSONResponse(answer, status_code=201 if stored.copies == 1 else 200)


@router.get("/api/feedback/counts")
def feedback_counts(unit: str) -> JSONResponse:
    """How many reports were made about ``unit`` and how many were answered: what the unit's
    portal page shows (counts only; the texts are never published)."""
    engine = open_database(get_settings().feedback_db_url)
    try:
        return JSONResponse({"unit": unit, **counts_for(engine, unit[:64])})
    finally:
        engine.dispose()


@router.get("/api/feedback/revised")
def revised_after_reports_of(release: str) -> JSONResponse:
    """The figures that changed in ``release`` after a report named them: what the release
    page lists under "What changed" (each figure as both releases published it; no text, no
    number of reports)."""
    settings = get_settings()
    try:
        release_folder(settings.releases_dir / settings.dataset_id, release)
    except ReportRefused as error:
        return refused(404, str(error))
    return JSONResponse({"release": release, "figures": revised_after_reports(settings, release)})


def _first_problem(error: Exception) -> str:
    if isinstance(error, ValidationError):
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        return f"{where}: {first['msg']}"
    return "the body is not JSON"


def _publisher_key(settings: Settings) -> str | None:
    path = settings.publisher_signing_key_file
    return path.read_text().strip() if path is not None and path.is_file() else None


def _secret(settings: Settings) -> str:
    """This installation's key for hashing addresses, made on first use (mode 600)."""
    path: Path = settings.feedback_secret_file
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):  # another worker made it first
            write_private_key(path, secrets.token_hex(32))
    return path.read_text().strip()
