"""What the pipeline steps share: the country, the code version, where things live."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Any

from transforms import __version__
from transforms.domain.countries import CZECHIA, CountryProfile
from transforms.domain.licences import SourceTerms, merged_terms
from transforms.plumbing.errors import PermanentFailure
from transforms.plumbing.settings import Settings
from transforms.plumbing.storage import read_json, read_json_or_none, write_json_atomic
from transforms.validation import passed

COUNTRY: CountryProfile = CZECHIA


class InputMissing(PermanentFailure, FileNotFoundError):
    """An input the step needs is not where the configuration says it is."""


def one_input_file(folder: Path, suffixes: tuple[str, ...], what: str) -> Path:
    """The one file of ``folder`` with one of ``suffixes``; refused, naming every file there
    and why it was not taken, when there is none or more than one."""
    files = sorted(p for p in folder.glob("*") if p.is_file()) if folder.is_dir() else []
    found = [p for p in files if p.name.lower().endswith(suffixes)]
    if len(found) != 1:
        other = [p.name for p in files if p not in found]
        raise InputMissing(
            f"expected exactly one {what} file ({', '.join(suffixes)}) in {folder}; "
            + (
                f"found {len(found)}: {', '.join(p.name for p in found)} (keep one)"
                if found
                else "found none"
            )
            + (f"; not taken, as not one of those formats: {', '.join(other)}" if other else "")
            + ("" if folder.is_dir() else " (the folder does not exist)")
        )
    return found[0]


def promote_version(pointer: Path, folder: Path, version: str, what: str) -> dict[str, Any]:
    """Make the validated version in ``folder`` the current ``what`` (an atomic pointer swap);
    refused when its validation did not pass."""
    if not passed(folder):
        raise RuntimeError(f"{what} {version} has not passed validation; not promoting it")
    previous = read_json_or_none(pointer)
    write_json_atomic(pointer, {"version": version})
    return {"version": version, "changed": previous != {"version": version}}


def commit_month_partition(months_dir: Path, folder: Path, month: str, key: str) -> dict[str, Any]:
    """Make the validated partition ``key`` in ``folder`` the month's (an atomic pointer swap
    under ``months_dir``); returns the partition's report."""
    if not passed(folder):
        raise RuntimeError(f"partition {month}/{key} has not passed validation; not committing")
    write_json_atomic(months_dir / f"{month}.json", {"month": month, "partition": key})
    return read_json(folder / "report.json")


def committed_partitions(months_dir: Path) -> dict[str, str]:
    """Each committed month's partition key (month → key), oldest first."""
    if not months_dir.exists():
        return {}
    return {p.stem: read_json(p)["partition"] for p in sorted(months_dir.glob("*.json"))}


def code_version() -> str:
    return f"opencrime {__version__}"


def snapshot_path(settings: Settings, info: dict[str, Any]) -> Path:
    return settings.snapshots_dir / str(info["source"]) / str(info["file"])


def docs_dir(settings: Settings, scope: str, run_id: str) -> Path:
    """Where a run's Great Expectations Data Docs go: ``runs/<scope>/<run_id>/data_docs``."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in run_id)
    return settings.runs_dir / scope / safe / "data_docs"


def country_parameters(country: CountryProfile = COUNTRY) -> dict[str, Any]:
    """Suite parameters describing the country: its bounds and municipality code pattern."""
    lon_min, lat_min, lon_max, lat_max = country.bbox
    return {
        "lon_min": lon_min,
        "lat_min": lat_min,
        "lon_max": lon_max,
        "lat_max": lat_max,
        "municipality_code_pattern": r"^\d{6}$",
    }


SOURCES_FILE = "sources.json"  # an input folder's own terms, beside its police/, boundaries/, …


def source_terms(settings: Settings, only: Collection[str] | None = None) -> list[SourceTerms]:
    """Each source's licence and attribution: the country's defaults, then what the input
    folder declares (``sources.json``), then the settings (``OPENCRIME_SOURCE_TERMS``);
    ``only``: the sources a dataset is made from."""
    declared = settings.data_in / SOURCES_FILE if settings.data_in else None
    folder = read_json(declared) if declared and declared.exists() else {}
    terms = merged_terms(COUNTRY.sources, folder, settings.source_terms)
    return terms if only is None else [t for t in terms if t.source in only]
