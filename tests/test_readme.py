"""README's figures of the demo are what `make demo` prints for the same release.

The session's sample pipeline builds the demo's release (the same bytes: the reproducibility
tests), and the runner's own functions give the figures it prints; README's tables and
sentences must carry the same numbers, so they cannot drift from the code.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def section(heading: str) -> str:
    text = README.read_text()
    start = text.index(heading)
    end = text.find("\n#", start + len(heading))
    return text[start : end if end > 0 else None]


def tables(text: str) -> list[dict[str, list[str]]]:
    """Each Markdown table of ``text``: first cell → the other cells."""
    found: list[dict[str, list[str]]] = []
    current: dict[str, list[str]] | None = None
    for line in text.splitlines():
        if line.startswith("|") and not line.startswith("|---"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            if current is None:
                current = {}
                found.append(current)
            current[cells[0]] = cells[1:]
        elif not line.startswith("|"):
            current = None
    return found


def numbers(text: str) -> list[float]:
    return [float(n.replace(",", "")) for n in re.findall(r"\d[\d,]*(?:\.\d+)?", text)]


@pytest.fixture(scope="module")
def printed(pipeline_run) -> tuple[dict[str, str], dict[str, str]]:
    from opencrime_airflow.runner import protection_cost_figures, release_figures

    settings, release = pipeline_run["settings"], Path(pipeline_run["release"]["path"])
    return (
        dict(release_figures(settings, release)),
        dict(protection_cost_figures(settings, release)),
    )


def test_the_demo_table_is_what_make_demo_prints(printed) -> None:
    figures, _ = printed
    demo, points = tables(section("### What `make demo` produces"))[:2]
    same = {
        "rows in (three monthly police files)": "rows in",
        "rows quarantined, with a reason each": "rows quarantined",
        "records excluded (state: act did not happen / not an offence / fabricated)": (
            "records excluded (not an offence)"
        ),
        "offences counted": "offences counted",
        "cells published": "cells published",
        "cells suppressed (`suppressed`: the table never says why)": "cells suppressed",
    }
    for readme, runner in same.items():
        assert numbers(demo[readme][0]) == numbers(figures[runner]), readme
    audit = next(cells for name, cells in demo.items() if name.startswith("disclosure audit"))
    assert audit == [figures["disclosure audit"]]
    levels = {
        "250 m cell": "250m",
        "500 m cell": "500m",
        "1 km cell": "1000m",
        "2 km cell": "2000m",
        "5 km cell": "5000m",
        "municipality": "municipality",
    }
    for readme, level in levels.items():
        assert numbers(" ".join(points[readme])) == numbers(
            figures[f"incident points at {level}"]
        ), readme
    left_out = figures["records of published cells left out of the points (< k)"]
    assert numbers(points["left out (class under k everywhere)"][0]) == numbers(left_out)


def test_the_protection_cost_sentences_are_what_make_demo_prints(printed) -> None:
    figures, cost = printed
    text = " ".join(section("### What `make demo` produces").split())
    municipal = numbers(cost["municipal headline totals hidden"])[0]
    assert f"{municipal} % of the municipalities' monthly and yearly headline totals" in text
    region, district = numbers(cost["group totals hidden (region / district)"])
    assert f"{region} % / {district} % of the offence-group totals" in text
    ratio = numbers(cost["secondary cells per primary cell"])[0]
    assert f"{ratio:.2f} secondary cells per primary one" in text
    hidden = cost["point records in hidden cells (never placed)"]
    sensitive = cost["sensitive records (never points)"]
    assert (
        f"Records of cells the table hides ({hidden}) and sensitive records ({sensitive})" in text
    )
    placed = sum(
        numbers(value)[0] for name, value in figures.items() if name.startswith("incident points")
    )
    left_out = numbers(figures["records of published cells left out of the points (< k)"])[0]
    assert f"built from the {placed + left_out:,.0f} incident-group records" in text


def test_the_layout_table_names_every_folder_of_the_tree() -> None:
    """Each top-level folder of the repository and each package of the product has its row."""
    import subprocess

    root = README.parent
    tracked = subprocess.run(
        ["git", "ls-files", "-z"], cwd=root, capture_output=True, text=True, check=True
    ).stdout.split("\0")
    top = {path.split("/")[0] for path in tracked if "/" in path and not path.startswith(".")}
    packages = {
        str(init.parent.relative_to(root))
        for init in (root / "transforms").rglob("__init__.py")
        if init.parent.parent == root / "transforms"
    }
    layout = tables(section("## Layout"))[0]
    paths = [path.rstrip("/") for cell in layout for path in re.findall(r"`([^`]+)`", cell)]
    named = set(paths) | {path.split("/")[0] for path in paths}
    missing = {folder for folder in top | packages if folder not in named}
    assert missing == set()
