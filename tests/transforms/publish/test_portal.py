"""The download portal in a real headless Chromium: served over loopback and opened as files."""

from __future__ import annotations

import hashlib
import json
import re
import urllib.request
from pathlib import Path

import pytest

from tests.browser import rendered


def drawn(dom: str) -> int:
    """How many municipalities the map coloured, shown or hidden."""
    match = re.search(r'<output id="map-summary"[^>]*data-shown="(\d+)" data-hidden="(\d+)"', dom)
    assert match, dom[:2000]
    return int(match.group(1)) + int(match.group(2))


def test_the_map_draws_every_municipality_from_the_server(
    pipeline_run, server: str, chromium: str, tmp_path: Path
) -> None:
    release = Path(pipeline_run["release"]["path"])
    areas = json.loads((release / "municipalities.geojson").read_text())
    dom = rendered(chromium, f"{server}/{release.name}/index.html", tmp_path / "profile")
    assert drawn(dom) == len(areas["features"]) > 0
    assert "<canvas" in dom  # the polygons are drawn (on a canvas: thousands of them)


def test_the_page_works_opened_as_a_file(pipeline_run, chromium: str, tmp_path: Path) -> None:
    release = Path(pipeline_run["release"]["path"])
    dom = rendered(chromium, (release / "index.html").as_uri(), tmp_path / "profile")
    assert drawn(dom) > 0


def test_a_download_link_serves_the_checksummed_bytes(pipeline_run, server: str) -> None:
    release = Path(pipeline_run["release"]["path"])
    page = (release / "index.html").read_text()
    links = set(re.findall(r'<a href="([^"]+)" download>', page))
    assert {"counts.csv", "incidents.geojson", "municipalities.geojson"} <= links
    sums = dict(
        reversed(line.split("  ")) for line in (release / "SHA256SUMS").read_text().splitlines()
    )
    for link in sorted(links):
        with urllib.request.urlopen(f"{server}/{release.name}/{link}", timeout=10) as response:
            assert hashlib.sha256(response.read()).hexdigest() == sums[link]
    # the index of all releases links this one
    with urllib.request.urlopen(f"{server}/index.html", timeout=10) as response:
        assert f'href="{release.name}/index.html"' in response.read().decode()


def test_no_request_leaves_the_page(pipeline_run) -> None:
    release = Path(pipeline_run["release"]["path"])
    page = (release / "index.html").read_text()
    assert not re.search(
        r'(src|href)="(https?:)?//', page.replace('href="https://creativecommons', "")
    )


@pytest.mark.parametrize("over", ["http", "file"])
def test_latest_opens_the_newest_release(
    pipeline_run, server: str, chromium: str, tmp_path: Path, over: str
) -> None:
    """``<dataset>/latest/`` is a stable address: a browser that opens it lands on the newest
    release's page (its map drawn), over HTTP and from disk."""
    release = Path(pipeline_run["release"]["path"])
    latest = json.loads((release.parent / "latest.json").read_text())["version"]
    assert latest == release.name
    url = f"{server}/latest/" if over == "http" else (release.parent / "latest").as_uri() + "/"
    if over == "file":
        url += "index.html"
    dom = rendered(chromium, url, tmp_path / "profile")
    assert "<title>" in dom and release.name in dom
    assert drawn(dom) > 0  # the release page itself, not the redirecting one
