"""Great Expectations Data Docs, copied into a release so the same run gives the same bytes and
the pages work with no network.

The generated pages carry three things that change from run to run and say nothing about the
data: the time the batch was loaded, random element ids for collapsible sections, and a logo
fetched from a remote server with the time and a context id in its URL (a request that also
fails offline). The release copy replaces the logo with the one bundled in the site, numbers the
ids in order, and leaves the load time out. The pages also load their scripts, styles and fonts
from CDNs: the copy points each one at the same file vendored in ``datadocs_vendor/`` and
copied beside the pages. The run's own Data Docs stay as generated.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

REMOTE_LOGO = re.compile(r'src="https://great-expectations-web-assets[^"]*/logo-long\.png[^"]*"')
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
LOAD_TIME = re.compile(r"(ge_load_time</span>.*?>)\d{8}T\d{6}\.\d{6}Z(<)", re.DOTALL)
LOCAL_LOGO = "static/images/logo-long.png"

VENDOR = Path(__file__).parent / "datadocs_vendor"
VENDORED = "static/vendor"
# each CDN address the pages load, and its copy in datadocs_vendor/ (README.md there says
# where each comes from)
CDN_COPIES = {
    "https://code.jquery.com/jquery-3.7.1.min.js": "jquery/jquery.min.js",
    "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css": (
        "bootstrap/bootstrap.min.css"
    ),
    "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js": (
        "bootstrap/bootstrap.min.js"
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js": (
        "popper/popper.min.js"
    ),
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js": (
        "bootstrap-table/bootstrap-table.min.js"
    ),
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.css": (
        "bootstrap-table/bootstrap-table.min.css"
    ),
    "https://unpkg.com/bootstrap-table@1.19.1/dist/extensions/filter-control/"
    "bootstrap-table-filter-control.min.js": (
        "bootstrap-table/bootstrap-table-filter-control.min.js"
    ),
    # the pages ask for the style of 1.19.0 beside the script of 1.19.1: the same rules
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/"
    "bootstrap-table-filter-control.css": "bootstrap-table/bootstrap-table-filter-control.min.css",
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/"
    "bootstrap-table-filter-control.min.css": (
        "bootstrap-table/bootstrap-table-filter-control.min.css"
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/js/"
    "bootstrap-datepicker.min.js": "bootstrap-datepicker/bootstrap-datepicker.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/css/"
    "bootstrap-datepicker.min.css": "bootstrap-datepicker/bootstrap-datepicker.min.css",
    "https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css": (
        "fontawesome/css/all.min.css"
    ),
    "https://cdn.jsdelivr.net/npm/@forevolve/bootstrap-dark@1.1.0/dist/css/"
    "bootstrap-prefers-dark.css": "bootstrap-dark/bootstrap-prefers-dark.min.css",
    "https://cdn.jsdelivr.net/npm/vega@5": "vega/vega.min.js",
    "https://cdn.jsdelivr.net/npm/vega-lite@5": "vega/vega-lite.min.js",
    "https://cdn.jsdelivr.net/npm/vega-embed@6": "vega/vega-embed.min.js",
}
# a tag that loads a file: its address, and the attributes that tie it to a CDN (a copy read
# from disk is no cross-origin request; SHA256SUMS vouches for its bytes)
ASSET = re.compile(r'(<(?:script|link)\b[^>]*?\b(?:src|href)=")(https?://[^"]+)("[^>]*>)')
CROSS_ORIGIN = re.compile(r'\s+(?:integrity|crossorigin)="[^"]*"')
REMOTE_ASSET = re.compile(
    r'<(?:script\b[^>]*\bsrc|link\b[^>]*\brel="stylesheet"[^>]*\bhref)="https?://[^"]+"'
)


class RemoteAsset(ValueError):
    """A Data Docs page loads a file from the network that has no vendored copy."""


def normalise_page(html: str, relative_root: str) -> str:
    """One page, made independent of when and where it was generated, and of the network."""
    html = REMOTE_LOGO.sub(f'src="{relative_root}{LOCAL_LOGO}"', html)
    html = LOAD_TIME.sub(r"\1not recorded\2", html)

    def local(match: re.Match[str]) -> str:
        copy = CDN_COPIES.get(match.group(2))
        if copy is None:
            return match.group(0)
        rest = CROSS_ORIGIN.sub("", match.group(3))
        return f"{match.group(1)}{relative_root}{VENDORED}/{copy}{rest}"

    html = ASSET.sub(local, html)
    left = REMOTE_ASSET.search(html)
    if left:  # a new Great Expectations version loads something more: vendor it too
        raise RemoteAsset(f"a Data Docs page loads {left.group(0)!r}; add it to CDN_COPIES")
    numbers: dict[str, str] = {}

    def number(match: re.Match[str]) -> str:
        return numbers.setdefault(match.group(0), f"id{len(numbers) + 1}")

    return UUID.sub(number, html)


def copy_data_docs(site: Path, target: Path) -> None:
    """Copy a Data Docs site into a release with its vendored assets, normalising every page."""
    shutil.copytree(site, target, dirs_exist_ok=True)
    shutil.copytree(VENDOR, target / VENDORED, dirs_exist_ok=True)
    for page in sorted(target.rglob("*.html")):
        depth = len(page.relative_to(target).parts) - 1
        text = page.read_text(encoding="utf-8")
        page.write_text(normalise_page(text, "../" * depth), encoding="utf-8")
