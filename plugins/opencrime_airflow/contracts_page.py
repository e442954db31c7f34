"""The Airflow UI's "Contracts" page: the data-sharing contracts, their state and last delivery,
and the delivery log with its chain's check (``transforms.contracts.report``).

Unlike the Releases page, this is not open data: who holds a contract, and what was delivered
when, is for the operators and the police's data protection officer. So both routes ask
Airflow's auth manager: a signed-in user (the UI's cookie, or a bearer token from
``/auth/token``) whom it authorizes for the custom view ``Contracts``. No contact is shown.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse

from opencrime_airflow.access import signed_in_for
from transforms.contracts.register import open_register
from transforms.contracts.report import register_report
from transforms.plumbing.settings import get_settings

router = APIRouter(dependencies=[Depends(signed_in_for("Contracts"))])


@router.get("/api/contracts")
def contracts() -> dict[str, Any]:
    return _report()


@router.get("/contracts", response_class=HTMLResponse)
def contracts_page() -> str:
    return render_contracts(_report())


def _report() -> dict[str, Any]:
    engine = open_register(get_settings().contracts_db_url)
    try:
        return register_report(engine, datetime.now(UTC).date())
    finally:
        engine.dispose()


def render_contracts(report: dict[str, Any]) -> str:
    """The page, self-contained (no script, relative links only)."""
    e = html.escape
    rows = []
    for c in report["contracts"]:
        last = c["last_delivery"]
        delivered = (
            f"{e(last['release'])}<br><small>{e(last['delivered_at'])}<br>"
            f"<code>{e(last['package_sha256'][:16])}</code></small>"
            if last
            else "none yet"
        )
        revoked = f"<br><small>{e(c['revoked_reason'] or '')}</small>" if c["revoked_at"] else ""
        rows.append(
            "<tr>"
            f"<td><b>{e(c['id'])}</b></td>"
            f"<td>{e(c['party_name'])} ({e(c['party_code'])}, {e(c['party_level'])})</td>"
            f"<td>{e(c['tier'])}</td><td>{len(c['units'])}</td>"
            f"<td>{e(c['valid_from'])} – {e(c['valid_to'])}</td>"
            f'<td class="{e(c["state"]).replace(" ", "-")}">{e(c["state"])}{revoked}</td>'
            f"<td><code>{e(c['key_fingerprint'])}</code></td>"
            f"<td>{delivered}</td>"
            "</tr>"
        )
    body = "\n".join(rows) or (
        '<tr><td colspan="8">No contract yet: <code>opencrime contracts add</code>.</td></tr>'
    )
    log = (
        "\n".join(
            f"<tr><td>{d['seq']}</td><td>{e(d['contract_id'])}</td><td>{e(d['release'])}</td>"
            f"<td>{e(d['delivered_at'])}</td><td><code>{e(d['package_sha256'])}</code></td>"
            f"<td><code>{e(d['policy_sha256'][:16])}</code></td></tr>"
            for d in report["deliveries"]
        )
        or '<tr><td colspan="6">Nothing delivered yet.</td></tr>'
    )
    problems = report["log_problems"]
    chain = (
        '<p class="bad">The delivery log is broken: ' + "; ".join(e(p) for p in problems) + ".</p>"
        if problems
        else f'<p class="ok">The delivery log\'s chain is intact ({len(report["deliveries"])} '
        "entries): no entry was removed or altered.</p>"
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Data-sharing contracts</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 1.5rem; }}
table {{ border-collapse: collapse; }}
td, th {{ border-bottom: 1px solid #ddd; padding: .4rem .6rem; text-align: left;
  vertical-align: top; }}
.ok, .active {{ color: #1a7f37; }} .bad {{ color: #c00; font-weight: bold; }}
.revoked, .expired {{ color: #777; }}
</style></head><body>
<h1>Data-sharing contracts</h1>
<p>Each contract's package goes, sealed to its recipient's key, after every public release
(the <code>share</code> DAG), as of {e(report["as_of"])}. Contacts are in the register
(<code>opencrime contracts list</code>).</p>
<table><thead><tr><th>Contract</th><th>Party</th><th>Tier</th><th>Units</th><th>Valid</th>
<th>State</th><th>Key</th><th>Last delivery</th></tr></thead>
<tbody>
{body}
</tbody></table>
<h2>Delivery log</h2>
{chain}
<table><thead><tr><th>#</th><th>Contract</th><th>Release</th><th>Delivered at</th>
<th>Package SHA-256</th><th>Policy</th></tr></thead>
<tbody>
{log}
</tbody></table>
<p><a href="api/contracts">as JSON</a> · <a href="./">Releases</a></p>
</body></html>
"""
