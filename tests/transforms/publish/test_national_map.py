"""The release page's national map in a real Chromium: the selectors change what it draws, and
what it draws is the counts table's own municipal cells and the point file's classes."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from tests.browser import driven_browser, keep_screenshot
from transforms.domain.counting import NONSENSITIVE


def municipal_cells(release: Path, offence: str, period: str) -> pd.DataFrame:
    counts = pq.read_table(release / "counts.parquet").to_pandas()
    return counts[
        (counts["geo_level"] == "municipality")
        & (counts["offence_code"] == offence)
        & (counts["period"] == period)
    ]


def summary(page) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    box = page.locator("#map-summary")
    return int(box.get_attribute("data-shown")), int(box.get_attribute("data-hidden"))


@pytest.mark.parametrize("over", ["http", "file"])
def test_the_selectors_change_the_map(release: Path, server: str, chromium: str, over: str) -> None:
    """Newest month, all offences, then March's offence group with the most point records:
    each time the map colours every municipality, as many hidden as the table hides; the points
    are that month's classes of the group with their records."""
    url = (
        f"{server}/{release.name}/index.html"
        if over == "http"
        else (release / "index.html").as_uri()
    )
    with driven_browser(chromium) as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 1400})
        page.goto(url)
        page.wait_for_function("document.getElementById('map-summary').hasAttribute('data-shown')")
        newest = page.locator("#map-period").input_value()
        cells = municipal_cells(release, NONSENSITIVE, newest)
        assert summary(page) == (
            int((cells["status"] == "published").sum()),
            int((cells["status"] == "suppressed").sum()),
        )
        classes = pq.read_table(release / "incidents.parquet").to_pandas()
        march = classes[classes["month"] == "2025-03"]
        group = int(march.groupby("offence_group")["records"].sum().idxmax())
        march = march[march["offence_group"] == group]
        page.select_option("#map-period", "2025-03")
        page.select_option("#map-offence", str(group))
        cells = municipal_cells(release, str(group), "2025-03")
        expected = (
            int((cells["status"] == "published").sum()),
            int((cells["status"] == "suppressed").sum()),
        )
        page.wait_for_function(
            f"document.getElementById('map-summary').getAttribute('data-hidden') === "
            f"'{expected[1]}'"
        )
        assert summary(page) == expected
        assert "skryto" in page.inner_text("#map-legend")
        page.check("#map-points")
        page.wait_for_function("document.getElementById('map').dataset.points !== '0'")
        assert int(page.get_attribute("#map", "data-points")) == len(march)
        assert int(page.get_attribute("#map", "data-records")) == march["records"].sum()
        if over == "file":
            keep_screenshot(page, "national-map-2025-03")


def test_every_figure_on_the_map_is_the_tables(release: Path, chromium: str) -> None:
    """Every municipality's figure for every period and offence the map offers, as the page's
    data give it to the map, against the counts table: hidden ones are null, never a number."""
    counts = pq.read_table(release / "counts.parquet").to_pandas()
    municipal = counts[counts["geo_level"] == "municipality"].set_index(
        ["geo_code", "offence_code", "period"]
    )
    with driven_browser(chromium) as browser:
        page = browser.new_page()
        page.goto((release / "index.html").as_uri())
        page.wait_for_function("document.getElementById('map-summary').hasAttribute('data-shown')")
        codes = page.evaluate(
            "window.OPENCRIME_MAP_AREAS.features.map(function (f) { return f.properties.code; })"
        )
        periods = page.locator("#map-period option").evaluate_all(
            "options => options.map(o => o.value)"
        )
        offences = page.locator("#map-offence option").evaluate_all(
            "options => options.map(o => o.value)"
        )
        compared = 0
        for period in periods:
            page.select_option("#map-period", period)
            page.wait_for_function(f"(window.OPENCRIME_MAP_FIGURES || {{}})['{period}']")
            figures = page.evaluate(f"window.OPENCRIME_MAP_FIGURES['{period}']")
            for offence in offences:
                for code, shown, rate in zip(
                    codes, figures["count"][offence], figures["rate"][offence], strict=True
                ):
                    row = municipal.loc[(code, offence, period)]
                    if row["status"] == "suppressed":
                        assert shown is None and rate is None
                    else:
                        assert shown == int(row["count"])
                        assert rate == (
                            None if pd.isna(row["rate_per_1000"]) else row["rate_per_1000"]
                        )
                    compared += 1
    assert compared == len(codes) * len(periods) * len(offences) > 0
