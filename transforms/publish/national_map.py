"""The release page's national map: every municipality coloured by a chosen period's figure for
all offences or one offence group, as a count or a rate, and the chosen month's point classes.

Written as scripts under ``map/``, loaded by ``<script>`` tags so the page works from disk as
well as over HTTP: ``areas.js`` (the polygons once, in a fixed order), ``figures-<period>.js``
(per period, the figure of every municipality for each offence, in that order) and
``points-<month>.js`` (the month's point classes with their ``records``). A page loads only the
period and month it shows, so a decade's release stays quick to open.

What they tell: the municipality rows of the counts table (a hidden cell is ``null``, never a
number), the rates the table publishes (:meth:`RateRules.rates`, the same rule) and the point
classes of ``incidents.parquet``. Nothing here is computed from a hidden count.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from transforms.domain.counting import NONSENSITIVE
from transforms.plumbing.storage import write_bytes_atomic
from transforms.privacy.policy import RateRules
from transforms.publish.geojson import page_geometries
from transforms.publish.units import ABSENT, HIDDEN, UnitFigures, populations

MAP_FOLDER = "map"
ALL_OFFENCES = ("Všechny trestné činy (bez citlivých)", "All offences (except sensitive ones)")


@dataclass(frozen=True)
class MapIndex:
    """What the page's selectors offer: periods (months, then years), offences (code, Czech
    name, English name), the months with point classes."""

    periods: list[str]
    offences: list[tuple[str, str, str]]
    point_months: list[str]

    def config(self) -> dict[str, object]:
        """What the page's script reads: the folder, the choices, the code of all offences (the
        first) and each offence's name by code (a point's popup names its group)."""
        return {
            "folder": MAP_FOLDER,
            "periods": self.periods,
            "offences": self.offences,
            "pointMonths": self.point_months,
            "allOffences": self.offences[0][0],
            "groupNames": {code: [cs, en] for code, cs, en in self.offences},
        }


def map_offences(figures: UnitFigures) -> list[int]:
    """The offences a municipality's row has: all offences the table counts there, then each
    offence group, by code."""
    municipal = (figures.units["level"] == "municipality").to_numpy()
    present = (figures.counts[municipal] != ABSENT).any(axis=(0, 2)) if municipal.any() else []
    groups = [
        i
        for i, o in enumerate(figures.offences)
        if o.level == "group" and len(present) and present[i]
    ]
    groups.sort(key=lambda i: int(figures.offences[i].code))
    return [figures.offence_index(NONSENSITIVE), *groups]


def write_national_map(
    folder: Path,
    figures: UnitFigures,
    municipalities: gpd.GeoDataFrame,
    point_classes: pd.DataFrame,
    rates: RateRules,
    names: Mapping[str, tuple[str, str]] | None = None,
) -> MapIndex:
    """``map/`` of the release in ``folder``; returns what its selectors offer. ``names``: each
    offence's (Czech, English) name (without one, the table's name in both)."""
    target = folder / MAP_FOLDER
    target.mkdir(parents=True, exist_ok=True)
    codes = [str(c) for c in municipalities["code"]]
    write_bytes_atomic(target / "areas.js", _script("OPENCRIME_MAP_AREAS", _areas(municipalities)))
    row_of = {
        code: i
        for i, (level, code) in enumerate(
            zip(figures.units["level"], figures.units["code"], strict=True)
        )
        if level == "municipality"
    }
    rows = np.array([row_of.get(code, -1) for code in codes])
    offences = map_offences(figures)
    population = populations(municipalities)
    # municipality × offence shown × period, taken once (the whole table is a decade's 400 MB)
    shown = figures.counts[np.maximum(rows, 0)[:, None], np.asarray(offences)[None, :], :]
    shown[rows < 0] = HIDDEN
    # each period's file lists the offences by code
    by_code = sorted((figures.offences[o].code, k) for k, o in enumerate(offences))
    for p, period in enumerate(figures.periods):
        counts = shown[:, :, p]
        rate = rates.rates(counts, population[:, None])
        by_offence = {
            kind: "{"
            + ",".join(
                f"{json.dumps(code)}:{_numbers(values[:, k], missing[:, k])}" for code, k in by_code
            )
            + "}"
            for kind, values, missing in (
                ("count", counts, counts < 0),
                ("rate", rate, np.isnan(rate)),
            )
        }
        text = "{" + ",".join(f'"{kind}":{body}' for kind, body in sorted(by_offence.items())) + "}"
        write_bytes_atomic(
            target / f"figures-{period}.js", _entry_text("OPENCRIME_MAP_FIGURES", period, text)
        )
    point_months = []
    for month, classes in point_classes.groupby("month", sort=True):
        point_months.append(str(month))
        points = [
            [round(float(x), 5), round(float(y), 5), int(group), int(records)]
            for x, y, group, records in zip(
                classes["lon"],
                classes["lat"],
                classes["offence_group"],
                classes["records"],
                strict=True,
            )
        ]
        write_bytes_atomic(
            target / f"points-{month}.js", _entry("OPENCRIME_MAP_POINTS", str(month), points)
        )
    labels = [
        ALL_OFFENCES
        if figures.offences[o].code == NONSENSITIVE
        else (names or {}).get(figures.offences[o].code, (figures.offences[o].name,) * 2)
        for o in offences
    ]
    return MapIndex(
        list(figures.periods),
        [(figures.offences[o].code, *label) for o, label in zip(offences, labels, strict=True)],
        point_months,
    )


def _areas(municipalities: gpd.GeoDataFrame) -> dict[str, object]:
    geometries = page_geometries(np.asarray(municipalities.geometry.values))
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {
                    "code": str(code),
                    "name": str(name),
                    "href": f"units/municipality-{code}.html",
                },
                "geometry": geometry,
            }
            for code, name, geometry in zip(
                municipalities["code"], municipalities["name"], geometries, strict=True
            )
        ],
    }


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def _script(name: str, value: object) -> bytes:
    return f"window.{name} = {_json(value)};\n".encode()


def _entry(name: str, key: str, value: object) -> bytes:
    """A script adding ``value`` under ``key`` to ``window[name]``: one file per period."""
    return _entry_text(name, key, _json(value))


def _entry_text(name: str, key: str, json_text: str) -> bytes:
    return f"(window.{name} = window.{name} || {{}})[{json.dumps(key)}] = {json_text};\n".encode()


def _numbers(values: np.ndarray, missing: np.ndarray) -> str:
    """``values`` as a JSON array, ``missing`` ones as ``null``: converted and encoded in C
    (a decade's periods hold 10 million values; a Python loop over them took 20 s)."""
    items = values.astype(object)
    items[missing] = None
    return json.dumps(items.tolist(), separators=(",", ":"))
