"""The release's copy of the Data Docs: no wall clock, no random ids, no remote request."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser import driven_browser
from transforms.publish.datadocs import CDN_COPIES, VENDOR, RemoteAsset, normalise_page

PAGE = """<img src="https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/logo-long.png?d=20261123T121021.840581Z&dataContextId=e7a5598b-ad12-4467-8066-26029741537f">
<a href="#body-1c113bc1-c3b7-4350-b3f9-a2dee0d5504e"></a>
<div id=body-1c113bc1-c3b7-4350-b3f9-a2dee0d5504e>
<span style="word-break:break-all;" >ge_load_time</span>
</span></div></td><td><div><span>
<span style="word-break:break-all;" >20261123T121021.742684Z</span>"""


def test_page_is_made_independent_of_time_and_place() -> None:
    page = normalise_page(PAGE, "../../")
    assert 'src="../../static/images/logo-long.png"' in page
    assert "https://" not in page and "2026" not in page
    assert page.count("body-id1") == 2  # the link still finds its target
    assert ">not recorded<" in page
    assert normalise_page(PAGE, "../../") == page


CDN_TAGS = """<script src="https://code.jquery.com/jquery-3.7.1.min.js"></script>
<script src="https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js" \
integrity="sha384-JjSmVgyd0p3pXB1rRibZUAYoIIy6OrQ6VrjIEaFf/nJGzIxFDsf4x0xIM+B07jRM" \
crossorigin="anonymous"></script>
<link rel="stylesheet" href="https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css">
<a href="https://docs.greatexpectations.io/docs/">a link, not a file the page loads</a>"""


def test_every_file_the_page_loads_is_a_vendored_copy() -> None:
    page = normalise_page(CDN_TAGS, "../")
    assert '<script src="../static/vendor/jquery/jquery.min.js"></script>' in page
    assert '<script src="../static/vendor/bootstrap/bootstrap.min.js"></script>' in page
    assert 'href="../static/vendor/fontawesome/css/all.min.css"' in page
    assert 'href="https://docs.greatexpectations.io/docs/"' in page  # links stay links
    assert all((VENDOR / copy).is_file() for copy in CDN_COPIES.values())


def test_a_new_remote_file_is_refused_rather_than_loaded_from_the_network() -> None:
    with pytest.raises(RemoteAsset, match=r"unpkg\.com/left-pad"):
        normalise_page('<script src="https://unpkg.com/left-pad@1.3.0/index.js"></script>', "")


def test_the_release_data_docs_work_with_no_network(pipeline_run, chromium: str) -> None:
    """Opened from disk in Chromium with every network request refused: the page asks for
    none, its scripts run (jQuery, Bootstrap) and its styles and icon font apply."""
    docs = Path(pipeline_run["release"]["path"]) / "validation" / "data_docs"
    asked: list[str] = []
    with driven_browser(chromium) as browser:
        page = browser.new_page()
        page.on("request", lambda request: asked.append(request.url))
        page.route(
            "**/*",
            lambda route: (
                route.continue_() if route.request.url.startswith("file:") else route.abort()
            ),
        )
        for name in (
            "index.html",
            *sorted(str(p.relative_to(docs)) for p in docs.glob("validations/**/*.html")),
        ):
            page.goto((docs / name).as_uri())
            page.wait_for_load_state("load")
            assert page.evaluate("typeof window.jQuery === 'function'"), name
            assert page.evaluate("typeof jQuery.fn.bootstrapTable === 'function'"), name
            # Bootstrap's reboot sets the page's margin to 0; the icon font is loaded
            assert page.evaluate("getComputedStyle(document.body).marginTop") == "0px", name
            font = "900 16px 'Font Awesome 6 Free'"
            loaded = f'document.fonts.load("{font}").then(f => f.length, () => -1)'
            assert page.evaluate(loaded) > 0, name
    assert asked and all(url.startswith("file:") for url in asked), [
        u for u in asked if not u.startswith("file:")
    ]
