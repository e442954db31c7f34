"""Reproducible extracts for journalists: a filter of one published release, never more.

An extract only slices what a release published: it selects rows of the aggregate table or of the
incident file and never adds cells up, so it cannot undo the suppression. The same request on
the same release gives the same bytes, and ``extract.json`` says how to get them again.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from transforms.domain.periods import MONTH_PATTERN
from transforms.plumbing.errors import PermanentFailure
from transforms.plumbing.storage import (
    fingerprint,
    read_json,
    sha256_file,
    write_json_atomic,
    write_parquet,
)
from transforms.publish.csv import write_csv
from transforms.publish.folder import MANIFEST, latest, versions
from transforms.publish.geojson import write_geojson


class ExtractError(PermanentFailure, ValueError):
    """The request cannot be served; says why before any file is written."""


class ExtractRequest(BaseModel):
    """What to cut out of a release. Empty lists mean everything."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    release: str = Field(default="latest", description="A release version, or latest")
    level: Literal["table", "incidents"] = "table"
    geo_codes: tuple[str, ...] = Field(default=(), description="Unit codes at any level")
    first_month: str | None = Field(default=None, pattern=MONTH_PATTERN)
    last_month: str | None = Field(default=None, pattern=MONTH_PATTERN)
    offence_codes: tuple[str, ...] = Field(
        default=(), description="Offence codes (table: any level; incidents: groups)"
    )
    format: Literal["csv", "parquet", "geojson"] = "csv"

    @model_validator(mode="after")
    def _consistent(self) -> ExtractRequest:
        if self.first_month and self.last_month and self.first_month > self.last_month:
            raise ValueError(f"empty period: {self.first_month} is after {self.last_month}")
        if self.format == "geojson" and self.level != "incidents":
            raise ValueError("GeoJSON is for the incident file (level incidents)")
        return self

    def normalised(self, version: str) -> ExtractRequest:
        """The request with the release resolved and the lists sorted, as recorded."""
        return self.model_copy(
            update={
                "release": version,
                "geo_codes": tuple(sorted(set(self.geo_codes))),
                "offence_codes": tuple(sorted(set(self.offence_codes))),
            }
        )

    def command(self) -> str:
        """The CLI command that makes this extract."""
        words = ["opencrime", "extract", "--release", self.release, "--level", self.level]
        for code in self.geo_codes:
            words += ["--geo", code]
        if self.first_month:
            words += ["--from", self.first_month]
        if self.last_month:
            words += ["--to", self.last_month]
        for code in self.offence_codes:
            words += ["--offence", code]
        words += ["--format", self.format, "--out", "EXTRACT_DIR"]
        return shlex.join(words)


def plain_request_error(error: ValidationError) -> str:
    """A request's validation error in one plain sentence per field: what is allowed, and
    what was given (pydantic's own text points at its documentation)."""
    sentences = []
    for problem in error.errors(include_url=False):
        field = ".".join(str(part) for part in problem["loc"]) or "request"
        given = problem.get("input")
        if problem["type"] == "string_pattern_mismatch":
            allowed = "a month written YYYY-MM, e.g. 2025-03"
        elif problem["type"] == "literal_error":
            allowed = f"one of {problem['ctx']['expected']}"
        elif problem["type"] == "extra_forbidden":
            sentences.append(f"{field} is not a field of an extract request")
            continue
        elif problem["type"] == "value_error":
            sentences.append(str(problem["ctx"]["error"]))
            continue
        else:
            allowed = problem["msg"].lower()
        sentences.append(f"{field} must be {allowed} (given: {given!r})")
    return "; ".join(sentences)


LIST_FIELDS = ("geo_codes", "offence_codes")  # a form's empty list may arrive as null


def extract_request(fields: Mapping[str, Any]) -> ExtractRequest:
    """The request from a form, the REST API's ``conf`` or the command line; a bad field is an
    :class:`ExtractError` naming it."""
    try:
        return ExtractRequest.model_validate(
            {
                name: tuple(value or ()) if name in LIST_FIELDS else value
                for name, value in fields.items()
            }
        )
    except ValidationError as error:
        raise ExtractError(plain_request_error(error)) from None


def extract_folder(extracts_dir: Path, request: ExtractRequest) -> Path:
    """Where an extract of ``request`` lands: named by the request, so asking again finds it."""
    return extracts_dir / fingerprint(request.model_dump(mode="json"))[:16]


def resolve_release(dataset_dir: Path, release: str) -> str:
    if release == "latest":
        pointer = latest(dataset_dir)
        if pointer is None:
            raise ExtractError(f"no release has been published in {dataset_dir}")
        return str(pointer["version"])
    if release not in versions(dataset_dir):
        known = ", ".join(versions(dataset_dir)) or "none"
        raise ExtractError(f"release {release!r} does not exist (published: {known})")
    return release


def _months_in(months: list[str], first: str | None, last: str | None) -> list[str]:
    return [m for m in months if (first is None or m >= first) and (last is None or m <= last)]


def select_table(counts: pd.DataFrame, request: ExtractRequest, months: list[str]) -> pd.DataFrame:
    """Rows of the aggregate table: chosen units, months, and years wholly inside the period."""
    chosen = _months_in(months, request.first_month, request.last_month)
    whole_years = {
        year
        for year in {m[:4] for m in months}
        if all(m in chosen for m in months if m[:4] == year)
    }
    keep = counts["period"].isin(chosen) | counts["period"].isin(whole_years)
    if request.geo_codes:
        keep &= counts["geo_code"].isin(request.geo_codes)
    if request.offence_codes:
        keep &= counts["offence_code"].isin(request.offence_codes)
    return counts[keep].reset_index(drop=True)


def select_incidents(
    points: gpd.GeoDataFrame, request: ExtractRequest, units: gpd.GeoDataFrame
) -> gpd.GeoDataFrame:
    """Points in the chosen months and groups whose published location lies in the units.

    The published location is a cell centroid, not where the incident happened: a point near a
    border may stand in the neighbouring unit. That is the release's own generalisation.
    """
    months = points["month"].drop_duplicates().sort_values().tolist()
    keep = points["month"].isin(_months_in(months, request.first_month, request.last_month))
    if request.offence_codes:
        keep &= points["offence_group"].astype(str).isin(request.offence_codes)
    if request.geo_codes:
        chosen = units[units["code"].isin(request.geo_codes)]
        keep &= points.geometry.intersects(chosen.union_all())
    return points[keep].reset_index(drop=True)


def check_request(request: ExtractRequest, counts: pd.DataFrame, months: list[str]) -> None:
    """Refuse codes and periods the release does not have, before any work."""
    unknown = sorted(set(request.geo_codes) - set(counts["geo_code"]))
    if unknown:
        raise ExtractError(f"unknown unit code(s) in this release: {unknown}")
    unknown = sorted(set(request.offence_codes) - set(counts["offence_code"]))
    if unknown:
        raise ExtractError(f"unknown offence code(s) in this release: {unknown}")
    if not _months_in(months, request.first_month, request.last_month):
        raise ExtractError(
            f"the period {request.first_month or '…'}–{request.last_month or '…'} has no month "
            f"in this release ({months[0]}–{months[-1]})"
        )


def check_point_offences(
    request: ExtractRequest, points: pd.DataFrame, sensitive: list[int]
) -> None:
    """Refuse offence codes the incident file cannot hold: it is cut by offence group, and
    sensitive offences are never points."""
    never = sorted(set(request.offence_codes) & {str(code) for code in sensitive})
    if never:
        raise ExtractError(
            f"offence code(s) {never} are sensitive: they are never published as points, only "
            "counted from the district level up (use level table)"
        )
    groups = set(points["offence_group"].astype(str))
    types = sorted(set(request.offence_codes) - groups)
    if types:
        raise ExtractError(
            f"the incident file is cut by offence group, and {types} are not groups of it: "
            "use their group's code, or level table for counts by type"
        )


def make_extract(
    dataset_dir: Path, request: ExtractRequest, out_dir: Path, citation_title: str
) -> dict[str, Any]:
    """Write ``extract.<format>`` and ``extract.json`` into ``out_dir``; return the record."""
    version = resolve_release(dataset_dir, request.release)
    request = request.normalised(version)
    folder = dataset_dir / version
    manifest = folder / MANIFEST
    months: list[str] = read_json(manifest)["data_months"]
    counts = pd.read_parquet(folder / "counts.parquet")
    check_request(request, counts, months)
    if request.level == "incidents":
        points = gpd.read_parquet(folder / "incidents.parquet")
        units = _unit_areas(gpd.read_parquet(folder / "municipalities.parquet"))
        outside = sorted(set(request.geo_codes) - set(units["code"]))
        if outside:
            raise ExtractError(
                f"the incident file is cut by municipality or district; not one: {outside}"
            )
        check_point_offences(request, points, read_json(manifest).get("sensitive_offences", []))
    out_dir.mkdir(parents=True, exist_ok=True)
    data = out_dir / f"extract.{request.format}"
    if request.level == "table":
        rows = select_table(counts, request, months)
        (write_csv if request.format == "csv" else write_parquet)(rows, data)
    else:
        rows = select_incidents(points, request, units)
        if request.format == "geojson":
            write_geojson(rows.drop(columns=["lon", "lat"]), data)
        elif request.format == "csv":
            write_csv(pd.DataFrame(rows.drop(columns="geometry")), data)
        else:
            write_parquet(pd.DataFrame(rows.drop(columns="geometry")), data)
    key = fingerprint(request.model_dump(mode="json"))[:12]
    record = {
        "request": request.model_dump(mode="json"),
        "source": {
            "dataset": dataset_dir.name,
            "release": version,
            "manifest_sha256": sha256_file(manifest),
        },
        "file": {"path": data.name, "rows": len(rows), "sha256": sha256_file(data)},
        "command": request.command(),
        "citation": f"{citation_title}, release {version}, extract {key} ({request.command()})",
    }
    write_json_atomic(out_dir / "extract.json", record)
    return record


def _unit_areas(areas: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Municipality polygons, and each district as the union of its municipalities."""
    districts = areas.dissolve(by="district_code", as_index=False)[["district_code", "geometry"]]
    frames = [
        areas[["code", "geometry"]],
        districts.rename(columns={"district_code": "code"}),
    ]
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=areas.crs)


EXTRACT_KEY = r"^[0-9a-f]{16}$"  # the folder name extract_folder gives a request


def describe_extracts(extracts_dir: Path, newest: int = 20) -> list[dict[str, Any]]:
    """The ``newest`` extracts made in ``extracts_dir``, newest first: each one's folder name
    (``key``), its record (``extract.json``) and its file's name."""
    records = sorted(
        (p for p in extracts_dir.glob("*/extract.json") if re.match(EXTRACT_KEY, p.parent.name)),
        key=lambda p: (p.stat().st_mtime, p.parent.name),
        reverse=True,
    )
    return [{"key": p.parent.name, **read_json(p)} for p in records[:newest]]
