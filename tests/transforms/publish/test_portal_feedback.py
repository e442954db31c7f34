"""A unit page's feedback form in a real Chromium: served by the project's plugin app (uvicorn
on loopback, as the Airflow api-server serves it), a report sent from the page is stored with
its personal data removed, a refusal is shown with its reason, and the page shows how many
reports about the unit were made and answered; opened from disk, the page says where reports go
instead of showing a form that cannot send."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.browser import driven_browser, keep_screenshot
from tests.loopback import free_port, wait_until_serving
from transforms.cli import app
from transforms.contracts.keys import generate_key_pair, generate_signing_pair
from transforms.contracts.register import add_contract, new_contract, open_register, units_of
from transforms.database import open_database
from transforms.feedback.store import Status, move, reports
from transforms.pipeline.boundaries import load_current_units
from transforms.plumbing.settings import get_settings
from transforms.privacy.policy import load_policy

PAGE = "units/municipality-535419.html"
KEYS = {"publisher": generate_signing_pair(), "town": generate_key_pair()}


@pytest.fixture(scope="module")
def plugin_server(
    pipeline_run, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str]]:
    """The plugin's FastAPI app under uvicorn on a free loopback port, and its database (with
    a contract of Mladá Boleslav's, whose keys are ``KEYS``)."""
    folder = tmp_path_factory.mktemp("feedback")
    database = f"sqlite:///{folder / 'opencrime.db'}"
    (folder / "publisher.key").write_text(KEYS["publisher"].private)
    settings = get_settings(data_root=pipeline_run["settings"].data_root, contracts_db=database)
    add_contract(open_register(database), new_contract(
        contract_id="mb", party="535419", tier="municipal", key=KEYS["town"].public,
        valid_from=date(2020, 1, 1), valid_to=date(2099, 12, 31), contact="prevence@mb.cz",
        policy=load_policy(settings.policy_path)[0],
        geography=units_of(load_current_units(settings)),
    ))  # fmt: skip
    with _plugin_app(settings.data_root, database, folder / "publisher.key") as base:
        yield base, database


@contextmanager
def _plugin_app(data_root: Path, database: str, publisher_key: Path | None = None) -> Iterator[str]:
    """The plugin's app under uvicorn on a free loopback port, over ``data_root``: its address."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENCRIME")}
    env |= {"OPENCRIME_DATA_ROOT": str(data_root), "OPENCRIME_CONTRACTS_DB": database}
    if publisher_key is not None:
        env["OPENCRIME_PUBLISHER_SIGNING_KEY_FILE"] = str(publisher_key)
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "opencrime_airflow.ui:app", "--host", "127.0.0.1",
         "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(f"{base}/api/releases", 60)
        yield base
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
        assert said == "Podněty k této jednotce: 1, z nich zodpovězeno 1, údaj později opraven u 0."
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


def test_a_contracted_towns_report_is_marked_as_its_own(
    plugin_server: tuple[str, str], release: Path, tmp_path: Path
) -> None:
    """``opencrime feedback send`` with the town's contract key: stored as the contract's;
    the same with another key, or for a contract that does not exist, is refused (401)."""
    base, database = plugin_server
    (tmp_path / "mb.key").write_text(KEYS["town"].private)
    (tmp_path / "other.key").write_text(generate_key_pair().private)
    common = ["feedback", "send", "--url", f"{base}/api/feedback", "--release", release.name,
              "--unit", "535419", "--month", "2025-03", "--kind", "missing",
              "--publisher-key", KEYS["publisher"].public]  # fmt: skip
    runner = CliRunner()
    sent = runner.invoke(app, [*common, "--text", "Chybí vloupání do chat.", "--contract", "mb",
                               "--key", str(tmp_path / "mb.key")])  # fmt: skip
    assert sent.exit_code == 0, sent.output
    assert "from contract mb" in sent.output
    forged = runner.invoke(app, [*common, "--text", "Podvržené.", "--contract", "mb",
                                 "--key", str(tmp_path / "other.key")])  # fmt: skip
    assert forged.exit_code == 1 and "refused (401)" in forged.output
    assert "not made with this contract's key" in forged.output
    unknown = runner.invoke(app, [*common, "--text", "Jiná smlouva.", "--contract", "xx",
                                  "--key", str(tmp_path / "mb.key")])  # fmt: skip
    assert unknown.exit_code == 1 and "no active contract xx" in unknown.output
    engine = open_database(database)
    by_text = {r["text"]: r for r in reports(engine)}
    engine.dispose()
    assert by_text["Chybí vloupání do chat."]["contract_id"] == "mb"
    assert "Podvržené." not in by_text and "Jiná smlouva." not in by_text


def _later_release(release: Path, dataset: Path, version: str, figure: dict[str, str]) -> int:
    """A copy of ``release`` as ``version`` in ``dataset`` whose ``figure`` is one more, as a
    release with one corrected month publishes it: that count."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    folder = dataset / version
    shutil.copytree(release, folder)
    page = (folder / "index.html").read_text(encoding="utf-8")
    (folder / "index.html").write_text(page.replace(release.name, version), encoding="utf-8")
    counts = pq.read_table(folder / "counts.parquet")
    row = pc.and_(
        pc.and_(pc.equal(counts["geo_code"].cast(pa.string()), figure["unit"]),
                pc.equal(counts["period"].cast(pa.string()), figure["month"])),
        pc.equal(counts["offence_code"].cast(pa.string()), "NONSENSITIVE"),
    )  # fmt: skip
    assert pc.sum(row).as_py() == 1
    corrected = pc.if_else(row, pc.add(counts["count"], 1), counts["count"])
    position = counts.schema.get_field_index("count")
    counts = counts.set_column(position, "count", corrected.cast(counts.schema.field("count").type))
    pq.write_table(counts, folder / "counts.parquet")
    return int(pc.max(pc.if_else(row, corrected, 0)).as_py())


def test_a_release_page_lists_the_figures_corrected_after_a_report(
    release: Path, chromium: str, tmp_path: Path
) -> None:
    """A report about Mladá Boleslav's February in one release; the next release publishes
    that month one higher. Once the digest has sent it on and noted the revision, the later
    release's page lists the figure, with both counts, under "What changed" (and the earlier
    page lists nothing); counts and figures only, never the report's text."""
    from transforms.pipeline.feedback import note_revisions
    from transforms.plumbing.storage import write_json_atomic

    dataset = tmp_path / "releases" / release.parent.name
    shutil.copytree(release, dataset / release.name)
    figure = {"unit": "535419", "month": "2025-02"}
    later = f"{release.name[:-2]}.2"
    now = _later_release(release, dataset, later, figure)
    write_json_atomic(dataset / "latest.json", {"version": later})
    database = f"sqlite:///{tmp_path / 'opencrime.db'}"
    settings = get_settings(data_root=tmp_path, contracts_db=database)
    with _plugin_app(tmp_path, database) as base:
        report = {"release": release.name, **figure, "kind": "wrong_count",
                  "text": "Únor je podle nás vyšší."}  # fmt: skip
        request = urllib.request.Request(
            f"{base}/api/feedback", data=json.dumps(report).encode(), method="POST",
            headers={"Content-Type": "application/json"},
        )  # fmt: skip
        with urllib.request.urlopen(request) as answer:
            stored = json.load(answer)
        engine = open_database(database)
        move(engine, stored["id"], Status.FORWARDED, "digest")
        engine.dispose()
        assert note_revisions(settings)["revised"] == [stored["id"]]
        with driven_browser(chromium) as browser:
            page = browser.new_page()
            page.goto(f"{base}/files/{later}/index.html")
            page.locator("#revised-after-report").wait_for()
            listed = page.inner_text("#revised-after-report")
            keep_screenshot(page, "release-page-corrected-after-report")
            page.goto(f"{base}/files/{release.name}/index.html")
            page.wait_for_load_state("networkidle")
            assert not page.locator("#revised-after-report").is_visible()
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(f"{base}/api/feedback/revised?release=1999-01.1")
        assert missing.value.code == 404
    assert f"Mladá Boleslav, 2025-02: {now - 1} → {now} (podnět k vydání {release.name})" in listed
    assert "vyšší" not in listed
