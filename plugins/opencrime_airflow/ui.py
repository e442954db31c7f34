"""The Airflow UI's "Releases" page: every published release with its validation and audit status.

An Airflow 3 plugin: a FastAPI app mounted by the api-server under ``/opencrime`` and an
external view that puts it in the UI's navigation (Browse → Releases).

- ``/opencrime/`` — the page: one row per release, newest first, with links to its portal page,
  Data Docs and manifest.
- ``/opencrime/api/releases`` — the same as JSON, for scripts.
- ``/opencrime/files/<path>`` — the files of the published releases (read-only).
- ``/opencrime/extracts/<key>/<file>`` — the extracts the ``extract`` DAG made, to download.
- ``POST /opencrime/api/feedback`` — a report about a published figure
  (``opencrime_airflow.feedback_api``); ``/opencrime/feedback`` and ``PATCH
  /opencrime/api/feedback/<id>``, the reports and the police's answers, for signed-in users only
  (``opencrime_airflow.feedback_page``).
- ``/opencrime/contracts`` and ``/opencrime/api/contracts`` — the data-sharing contracts and
  their deliveries, for signed-in users only (``opencrime_airflow.contracts_page``).

The Releases page shows only what is published: releases are open data, so it needs no more
access than the portal; nothing from unpublished runs (staging, quarantine) is served. An extract
is a selection of one release's published rows, never a sum of them
(``transforms.publish.extract``), so it tells nothing the release does not.
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

from airflow.plugins_manager import AirflowPlugin
from fastapi import FastAPI, HTTPException
from fastapi.responses import FileResponse, HTMLResponse

from opencrime_airflow.contracts_page import router as contracts_router
from opencrime_airflow.feedback_api import router as feedback_router
from opencrime_airflow.feedback_page import answerer as feedback_answerer
from opencrime_airflow.feedback_page import reader as feedback_reader
from transforms.plumbing.settings import get_settings
from transforms.publish.extract import EXTRACT_KEY, describe_extracts
from transforms.publish.folder import describe_releases

PREFIX = "/opencrime"

app = FastAPI(title="opencrime releases", docs_url=None, redoc_url=None)
app.include_router(contracts_router)  # signed-in users only: opencrime_airflow.contracts_page
app.include_router(feedback_router)  # POST /api/feedback, from anyone: screened before kept
app.include_router(feedback_reader)  # the Feedback page: signed-in users only
app.include_router(feedback_answerer)  # PATCH /api/feedback/<id>: signed-in users only


def _dataset_dir() -> tuple[str, Path]:
    settings = get_settings()
    return settings.dataset_id, settings.releases_dir / settings.dataset_id


@app.get("/api/releases")
def releases() -> dict[str, Any]:
    dataset, folder = _dataset_dir()
    return {"dataset": dataset, "releases": describe_releases(folder)}


@app.get("/files/{path:path}")
def release_file(path: str) -> FileResponse:
    _, folder = _dataset_dir()
    root = folder.resolve()
    target = (root / path).resolve()
    hidden = any(part.startswith(".") for part in Path(path).parts)
    if hidden or not target.is_relative_to(root) or not target.is_file():
        raise HTTPException(status_code=404, detail="no such published file")
    return FileResponse(target)


EXTRACT_FILES = {"extract.csv", "extract.parquet", "extract.geojson", "extract.json"}


@app.get("/extracts/{key}/{name}")
def extract_file(key: str, name: str) -> FileResponse:
    target = get_settings().data_root / "extracts" / key / name
    if not re.match(EXTRACT_KEY, key) or name not in EXTRACT_FILES or not target.is_file():
        raise HTTPException(status_code=404, detail="no such extract")
    return FileResponse(target, filename=f"opencrime-{key}-{name}")


@app.get("/", response_class=HTMLResponse)
def page() -> str:
    dataset, folder = _dataset_dir()
    extracts = describe_extracts(get_settings().data_root / "extracts")
    return render_page(dataset, describe_releases(folder), extracts)


def _status(ok: bool) -> str:
    return '<span class="ok">passed</span>' if ok else '<span class="bad">FAILED</span>'


def render_page(
    dataset: str, described: list[dict[str, Any]], extracts: list[dict[str, Any]] | None = None
) -> str:
    """The page, self-contained (no script, relative links only: it works behind a proxy)."""
    e = html.escape
    rows = []
    for release in described:
        months = release["data_months"]
        pages = release["pages"]
        counts = ", ".join(f"{k} {v:,}" for k, v in sorted(release["row_counts"].items()))
        suites = ", ".join(release["validation"]["suites"])
        rows.append(
            "<tr>"
            f"<td><b>{e(release['version'])}</b>{' (latest)' if release['latest'] else ''}</td>"
            f"<td>{e(months[0])} – {e(months[-1])}</td>"
            f"<td>{_status(release['validation']['passed'])}<br><small>{e(suites)}</small></td>"
            f"<td>{_status(release['audit']['passed'])}<br><small>"
            f"{release['audit']['cells'] or 0:,} cells</small></td>"
            f"<td><small>{e(counts)}</small></td>"
            f"<td>{release['cells_suppressed'] or 0:,}</td>"
            f"<td>{e(release['policy']['id'])} {e(release['policy']['version'])}</td>"
            f'<td><a href="files/{e(pages["portal"])}">portal</a> · '
            f'<a href="files/{e(pages["data_docs"])}">Data Docs</a> · '
            f'<a href="files/{e(pages["manifest"])}">manifest</a></td>'
            "</tr>"
        )
    body = "\n".join(rows) or '<tr><td colspan="8">No release has been published yet.</td></tr>'
    made = [
        "<tr>"
        f"<td><code>{e(x['key'])}</code></td>"
        f"<td>{e(x['source']['release'])}</td>"
        f"<td><small>{e(x['command'])}</small></td>"
        f"<td>{x['file']['rows']:,}</td>"
        f'<td><a href="extracts/{e(x["key"])}/{e(x["file"]["path"])}">{e(x["file"]["path"])}</a>'
        f' · <a href="extracts/{e(x["key"])}/extract.json">extract.json</a></td>'
        "</tr>"
        for x in extracts or []
    ]
    extract_rows = "\n".join(made) or (
        '<tr><td colspan="5">No extract yet: trigger the <code>extract</code> DAG.</td></tr>'
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Releases of {e(dataset)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 1.5rem; }}
table {{ border-collapse: collapse; }}
td, th {{ border-bottom: 1px solid #ddd; padding: .4rem .6rem; text-align: left;
  vertical-align: top; }}
.ok {{ color: #1a7f37; }} .bad {{ color: #c00; font-weight: bold; }}
</style></head><body>
<h1>Releases of {e(dataset)}</h1>
<p>Every release passed its Great Expectations suites and the disclosure audit before it was
published; a run that fails either publishes nothing (see the failed run's log in Airflow).</p>
<table><thead><tr><th>Version</th><th>Months</th><th>Validation</th><th>Audit</th>
<th>Rows</th><th>Cells suppressed</th><th>Policy</th><th>Pages</th></tr></thead>
<tbody>
{body}
</tbody></table>
<p><a href="files/index.html">All releases on the public portal</a> ·
<a href="api/releases">as JSON</a></p>
<h2>Extracts</h2>
<p>The newest extracts the <code>extract</code> DAG made, to download; each is a selection of
one release's published rows, and <code>extract.json</code> says how to make it again.</p>
<table><thead><tr><th>Request</th><th>Release</th><th>Command</th><th>Rows</th>
<th>Download</th></tr></thead>
<tbody>
{extract_rows}
</tbody></table>
</body></html>
"""


class OpencrimePlugin(AirflowPlugin):
    name = "opencrime"
    # Airflow's plugin interface: plain class attributes
    fastapi_apps = [  # noqa: RUF012
        {"app": app, "url_prefix": PREFIX, "name": "opencrime releases"}
    ]
    external_views = [  # noqa: RUF012
        {
            "name": "Releases",
            "href": "opencrime/",
            "destination": "nav",
            "category": "browse",
            "url_route": "opencrime-releases",
        },
        {
            "name": "Contracts",
            "href": "opencrime/contracts",
            "destination": "nav",
            "category": "browse",
            "url_route": "opencrime-contracts",
        },
        {
            "name": "Feedback",
            "href": "opencrime/feedback",
            "destination": "nav",
            "category": "browse",
            "url_route": "opencrime-feedback",
        },
    ]
