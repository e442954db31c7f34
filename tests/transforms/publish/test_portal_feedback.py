"""A unit page's feedback form in a real Chromium: served by the project's plugin app (uvicorn
on loopback, as the Airflow api-server serves it), a report sent from the page is stored with
its personal data removed, a refusal is shown with its reason, and the page shows how many
reports about the unit were made and answered; opened from disk, the page says where reports go
instead of showing a form that cannot send."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser import driven_browser, keep_screenshot
from tests.loopback import free_port, wait_until_serving
from transforms.database import open_database
from transforms.feedback.store import Status, move, reports

PAGE = "units/municipality-535419.html"


@pytest.fixture(scope="module")
def plugin_server(
    pipeline_run, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str]]:
    """The plugin's FastAPI app under uvicorn on a free loopback port, and its database."""
    database = f"sqlite:///{tmp_path_factory.mktemp('feedback') / 'opencrime.db'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENCRIME")}
    env |= {"OPENCRIME_DATA_ROOT": str(pipeline_run["settings"].data_root),
            "OPENCRIME_CONTRACTS_DB": database}  # fmt: skip
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "opencrime_airflow.ui:app", "--host", "127.0.0.1",
         "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(f"{base}/api/releases", 60)
        yield base, database
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_a_report_sent_from_a_unit_page_is_stored_without_personal_data(
    plugin_server: tuple[str, str], release: Path, chromium: str
) -> None:
    base, database = plugin_server
    with driven_browser(chromium) as browser:
        page = browser.new_page()
        page.goto(f"{base}/files/{release.name}/{PAGE}")
        assert page.locator("#feedback").is_visible()
        assert not page.locator("#feedback-elsewhere").is_visible()
        page.select_option("#feedback-month", "2025-02")
        page.select_option("#feedback-group", index=1)
        group = page.input_value("#feedback-group")
        page.select_option("#feedback-kind", "wrong_count")
        page.fill("#feedback-text", "V únoru chybí krádeže u nádraží, volejte 603 123 456.")
        page.click("#feedback button[type=submit]")
        page.wait_for_function("document.getElementById('feedback-status').textContent"
                               ".includes('přijat')")  # fmt: skip
        keep_screenshot(page, "unit-page-feedback")
        # a point class the release does not hold: refused, and the page says why
        page.fill("#feedback-class", "CRS3035RES250mN1E1")
        page.fill("#feedback-text", "Body jsou jinde.")
        page.click("#feedback button[type=submit]")
        page.wait_for_function("document.getElementById('feedback-status').textContent"
                               ".includes('Nepřijato')")  # fmt: skip
        assert "no point class" in page.inner_text("#feedback-status")
        # the police answer it; the page shows how many reports were made and answered
        engine = open_database(database)
        [stored] = reports(engine)
        move(engine, stored["id"], Status.FORWARDED, "digest")
        move(engine, stored["id"], Status.ANSWERED, "answer", {"answer": "Doplněno."})
        engine.dispose()
        page.reload()
        page.locator("#feedback-counts").wait_for()
        said = page.inner_text("#feedback-counts")
        assert said == "Podněty k této jednotce: 1, z nich zodpovězeno 1."
        assert "Doplněno" not in page.content()  # counts only
    assert (stored["unit"], stored["month"], stored["offence_group"]) == (
        "535419",
        "2025-02",
        group,
    )
    assert stored["text"] == "V únoru chybí krádeže u nádraží, volejte [telefon]."
    assert stored["release"] == release.name and stored["kind"] == "wrong_count"


def test_a_unit_page_opened_from_disk_says_where_reports_go(release: Path, chromium: str) -> None:
    with driven_browser(chromium) as browser:
        page = browser.new_page()
        page.goto((release / PAGE).as_uri())
        assert not page.locator("#feedback").is_visible()
        said = page.inner_text("#feedback-elsewhere")
        assert "/opencrime/api/feedback" in said and "vydavateli" in said
