"""An extract made by the extract DAG is downloaded from the Releases page of the Airflow UI."""

from __future__ import annotations

import hashlib

import pytest


@pytest.fixture
def made_extract(pipeline_run, monkeypatch):
    from transforms.publish.extract import extract_folder, extract_request, make_extract

    settings = pipeline_run["settings"]
    monkeypatch.setenv("OPENCRIME_DATA_ROOT", str(settings.data_root))
    # what the DAG's task does with the form's fields
    request = extract_request({"geo_codes": ["535419"], "format": "csv"})
    out = extract_folder(settings.data_root / "extracts", request)
    record = make_extract(settings.releases_dir / settings.dataset_id, request, out, "opencrime")
    return out, record


def test_the_releases_page_lists_the_extract_and_serves_its_bytes(made_extract) -> None:
    from fastapi.testclient import TestClient
    from opencrime_airflow.ui import app

    out, record = made_extract
    client = TestClient(app)
    page = client.get("/").text
    assert f'<a href="extracts/{out.name}/extract.csv">extract.csv</a>' in page
    assert record["command"].replace("&", "&amp;") in page.replace("&#x27;", "'")
    download = client.get(f"/extracts/{out.name}/extract.csv")
    assert download.status_code == 200
    assert hashlib.sha256(download.content).hexdigest() == record["file"]["sha256"]
    assert "attachment" in download.headers["content-disposition"]
    assert client.get(f"/extracts/{out.name}/extract.json").json()["file"] == record["file"]


@pytest.mark.parametrize(
    "path",
    [
        "extracts/{key}/report.json",  # only the extract's own files
        "extracts/../releases/latest.json",
        "extracts/{key}/..%2F..%2Fcanonical",
        "extracts/not-a-key/extract.csv",
    ],
)
def test_nothing_but_an_extracts_files_is_served(made_extract, path: str) -> None:
    from fastapi.testclient import TestClient
    from opencrime_airflow.ui import app

    out, _ = made_extract
    assert TestClient(app).get("/" + path.format(key=out.name)).status_code == 404
