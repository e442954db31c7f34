"""The portal as a person uses it, in a real Chromium driven by Playwright: find a town by
name, read its figures for a month, its trend and its place among similar towns, download its
figures for Excel; on a desktop screen and a 360 px phone."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.browser import driven_browser, keep_screenshot


def published(release: Path, code: str, offence: str, period: str) -> str:
    counts = pq.read_table(release / "counts.parquet").to_pandas()
    cell = counts[
        (counts["geo_code"] == code)
        & (counts["offence_code"] == offence)
        & (counts["period"] == period)
    ].iloc[0]
    return "skryto" if cell["status"] == "suppressed" else f"{int(cell['count']):,}"


@pytest.mark.parametrize(
    ("typed", "over"),
    [("mlada boleslav", "http"), ("Mladá Boleslav", "file"), ("535419", "http")],
)
def test_a_search_leads_to_the_towns_burglaries_in_march(
    release: Path, server: str, chromium: str, over: str, typed: str
) -> None:
    """Front page of the release → type the name (with or without diacritics, or the code)
    → the town's page → March 2025 → burglaries: the table's own figure."""
    url = (
        f"{server}/{release.name}/index.html"
        if over == "http"
        else (release / "index.html").as_uri()
    )
    with driven_browser(chromium) as browser:
        page = browser.new_page()
        page.goto(url)
        page.fill("#search", typed)
        link = page.locator("#search-results a", has_text="Mladá Boleslav").first
        link.wait_for()
        # the municipality comes with its district, so the two Mladá Boleslavs differ
        items = page.locator("#search-results li").all_inner_texts()
        assert any("obec" in item for item in items), items
        page.locator("#search-results li", has_text="obec").locator("a").first.click()
        page.wait_for_url(re.compile(r"units/municipality-535419\.html$"))
        page.select_option("#period", label="2025-03")
        row = page.locator("#figures tr", has_text="KRÁDEŽE VLOUPÁNÍM")
        assert row.locator("td").first.inner_text() == published(
            release, "535419", "18", "2025-03"
        ).replace(",", "\u00a0")
        assert page.locator("figure.trend:not([hidden]) svg polyline").count() >= 1
        assert page.locator("#map path.leaflet-interactive").count() >= 2  # it and neighbours
        assert re.match(r"\d+\. z \d+", page.inner_text("#rank"))


def test_the_trend_follows_the_chosen_offence(release: Path, chromium: str) -> None:
    with driven_browser(chromium) as browser:
        page = browser.new_page()
        page.goto((release / "units" / "municipality-535419.html").as_uri())
        page.select_option("#trend-offence", "18")
        shown = page.locator("figure.trend:not([hidden])")
        assert shown.count() == 1
        assert shown.get_attribute("data-offence") == "18"
        assert "KRÁDEŽE VLOUPÁNÍM" in (shown.locator("svg title").first.text_content() or "")


def test_the_front_page_search_opens_the_newest_release(
    release: Path, server: str, chromium: str
) -> None:
    """One search from the dataset's front page (the list of releases)."""
    with driven_browser(chromium) as browser:
        page = browser.new_page()
        page.goto(f"{server}/index.html")
        page.fill("#search", "liberec")
        page.locator("#search-results a", has_text="Liberec").first.click()
        page.wait_for_url(re.compile(rf"{release.name}/units/\w+-\d+\.html$"))
        assert "Liberec" in page.inner_text("h1")


@pytest.mark.parametrize("width", [1280, 360])
def test_pages_fit_the_screen(release: Path, chromium: str, width: int) -> None:
    """No sideways scrolling on a desktop or a 360 px phone; the screenshots are kept."""
    with driven_browser(chromium) as browser:
        page = browser.new_page(viewport={"width": width, "height": 800})
        for name, path in (
            ("release", release / "index.html"),
            ("municipality", release / "units" / "municipality-535419.html"),
        ):
            page.goto(path.as_uri())
            page.wait_for_load_state("load")
            overflow = page.evaluate("document.documentElement.scrollWidth") - width
            keep_screenshot(page, f"{name}-{width}px")
            assert overflow <= 0, f"{name} scrolls sideways by {overflow} px at {width} px"


def test_the_search_index_lists_every_unit_once(release: Path) -> None:
    text = (release / "units" / "search.js").read_text(encoding="utf-8")
    units = json.loads(text[text.index("=") + 1 :].strip().rstrip(";"))
    counts = pq.read_table(release / "counts.parquet", columns=["geo_level", "geo_code"])
    expected = set(map(tuple, counts.to_pandas().drop_duplicates().to_numpy().tolist()))
    assert {(u[0], u[1]) for u in units} == expected
    assert len(units) == len(expected)


def test_the_english_switch_translates_the_pages_and_is_remembered(
    release: Path, server: str, chromium: str
) -> None:
    """Czech by default; one click shows every page in English (texts, selectors, the map's
    summary, the search's levels, the comparison), the next page opens in English too, and a
    second click brings Czech back."""
    with driven_browser(chromium) as browser:
        page = browser.new_page()
        page.goto(f"{server}/{release.name}/index.html")
        page.wait_for_function("document.getElementById('map-summary').hasAttribute('data-shown')")
        assert page.evaluate("document.documentElement.lang") == "cs"
        assert page.locator(".en:visible").count() == 0
        assert page.locator("h2", has_text="Soubory").is_visible()
        assert "obcí zobrazeno" in page.inner_text("#map-summary")

        page.click("#language")
        assert page.evaluate("document.documentElement.lang") == "en"
        assert page.locator(".cs:visible").count() == 0
        assert page.locator("h2", has_text="Files").is_visible()
        assert page.inner_text("#language") == "Česky"
        assert page.locator("#map-measure option[value=count]").inner_text() == "count"
        assert page.get_attribute("#search", "placeholder") == "e.g. Mladá Boleslav"
        assert "municipalities shown" in page.inner_text("#map-summary")
        assert page.locator("#map-offence option[value='18']").inner_text() == "BURGLARIES"
        keep_screenshot(page, "release-english")

        page.fill("#search", "mlada boleslav")
        page.locator("#search-results a", has_text="Mladá Boleslav").first.wait_for()
        items = page.locator("#search-results li").all_inner_texts()
        assert any("(municipality" in item for item in items), items
        page.locator("#search-results li", has_text="(municipality").locator("a").first.click()
        page.wait_for_url(re.compile(r"units/municipality-535419\.html$"))
        assert page.evaluate("document.documentElement.lang") == "en"  # remembered
        assert page.locator(".cs:visible").count() == 0
        assert page.locator("#figures th", has_text="per 1,000 inhabitants").is_visible()
        assert page.locator("#figures th", has_text="Burglary of a flat").is_visible()
        page.select_option("#period", label="2025-02")  # the table redrawn by the script
        assert page.locator("#figures th", has_text="Burglary of a flat").is_visible()
        assert re.match(r"\d+ of \d+", page.inner_text("#rank"))
        title = page.locator("figure.trend:not([hidden]) svg title").first.text_content()
        assert (title or "").endswith("monthly counts")
        keep_screenshot(page, "municipality-english")

        page.click("#language")
        page.reload()
        assert page.evaluate("document.documentElement.lang") == "cs"
        assert page.locator(".en:visible").count() == 0
        assert re.match(r"\d+\. z \d+", page.inner_text("#rank"))
