"""Great Expectations Data Docs, copied into a release so the same run gives the same bytes.

The generated pages carry three things that change from run to run and say nothing about the
data: the time the batch was loaded, random element ids for collapsible sections, and a logo
fetched from a remote server with the time and a context id in its URL (a request that also
fails offline). The release copy replaces the logo with the one bundled in the site, numbers the
ids in order, and leaves the load time out. The run's own Data Docs stay as generated.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

REMOTE_LOGO = re.compile(r'src="https://great-expectations-web-assets[^"]*/logo-long\.png[^"]*"')
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
LOAD_TIME = re.compile(r"(ge_load_time</span>.*?>)\d{8}T\d{6}\.\d{6}Z(<)", re.DOTALL)
LOCAL_LOGO = "static/images/logo-long.png"


def normalise_page(html: str, relative_root: str) -> str:
    """One page, made independent of when and where it was generated."""
    html = REMOTE_LOGO.sub(f'src="{relative_root}{LOCAL_LOGO}"', html)
    html = LOAD_TIME.sub(r"\1not recorded\2", html)
    numbers: dict[str, str] = {}

    def number(match: re.Match[str]) -> str:
        return numbers.setdefault(match.group(0), f"id{len(numbers) + 1}")

    return UUID.sub(number, html)


def copy_data_docs(site: Path, target: Path) -> None:
    """Copy a Data Docs site into a release, normalising every page."""
    shutil.copytree(site, target, dirs_exist_ok=True)
    for page in sorted(target.rglob("*.html")):
        depth = len(page.relative_to(target).parts) - 1
        text = page.read_text(encoding="utf-8")
        page.write_text(normalise_page(text, "../" * depth), encoding="utf-8")
