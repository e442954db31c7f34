"""The portal's unit pages and national map, written in ``write_release``'s side process from
the staged counts while the main process writes the national files."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from transforms.pipeline.publish.staged import POINT_CLASSES, count_tables_by_year
from transforms.plumbing.timing import Stages
from transforms.privacy.policy import DisclosurePolicy
from transforms.publish.areas import AREA_FILES, unit_areas
from transforms.publish.geoparquet import spatially_sorted
from transforms.publish.national_map import MapIndex, write_national_map
from transforms.publish.unit_pages import UnitContext, write_unit_files
from transforms.publish.units import UnitFiguresBuilder

# what the pages and the map read of the point classes
CLASS_COLUMNS = ["month", "lon", "lat", "offence_group", "offence_group_name", "records"]


@dataclass(frozen=True)
class UnitPortal:
    """What the portal's unit pages and national map need, sent to the side process."""

    staged: Path  # the staged tables
    months: dict[str, str]
    geography: gpd.GeoDataFrame
    shapes: dict[str, np.ndarray]  # each level's simplified polygons (``area_shapes``)
    offence_parents: dict[str, str]
    offence_names: dict[str, tuple[str, str]]  # (Czech, English), for the pages
    policy: DisclosurePolicy
    title: str
    version: str
    # municipality code -> its police units' pages (``police_figures.police_unit_links``)
    police_units: dict[str, list[tuple[str, str]]] = field(default_factory=dict)


def write_unit_portal(
    task: UnitPortal, target: Path
) -> tuple[MapIndex, list[tuple[str, float, float]]]:
    """The unit pages, their CSVs and the national map's data, from the staged counts (in
    ``write_release``'s side process, while the main one writes the national files); what the
    map offers and the stage timings."""
    stages = Stages()
    with stages("unit figures from the staged counts"):
        builder = UnitFiguresBuilder()
        for _year, counts in count_tables_by_year(task.staged, task.months):
            builder.add(counts)
        figures = builder.build()
    maps = {
        level: spatially_sorted(unit_areas(task.geography, task.shapes[level], level))
        for level in AREA_FILES
    }
    classes = pq.read_table(task.staged / POINT_CLASSES, columns=CLASS_COLUMNS).to_pandas()
    with stages("write unit pages"):
        write_unit_files(
            target,
            UnitContext(
                figures=figures,
                parents=unit_parents(task.geography),
                offence_parents=task.offence_parents,
                offence_names=task.offence_names,
                policy=task.policy,
                title=task.title,
                version=task.version,
                maps=maps,
                points=newest_month(classes),
                police_units=task.police_units,
            ),
        )
    with stages("write the national map's data"):
        national_map = write_national_map(
            target,
            figures,
            maps["municipality"],
            classes,
            task.policy.rates,
            task.offence_names,
        )
    return national_map, stages.rows


def unit_parents(geography: gpd.GeoDataFrame) -> dict[str, str | None]:
    """Each unit's code -> the code of the unit above it."""
    return {
        str(code): None if pd.isna(parent) else str(parent)
        for code, parent in zip(geography["code"], geography["parent_code"], strict=True)
    }


def newest_month(classes: pd.DataFrame) -> pd.DataFrame:
    """The point classes of the release's newest month (what a unit's map shows)."""
    return classes[classes["month"] == classes["month"].max()].reset_index(drop=True)
