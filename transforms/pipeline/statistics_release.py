"""Steps of the ``publish_statistics`` DAG: the police's own statistics as a second dataset.

A release (``releases/<dataset>-police-statistics/<YYYY-MM.N>/``) holds every committed month's
figures per police unit, district directorate and region: each month's own figures (the report
minus the previous month's) and the year to date (the month's report), by TSK code, with the
population each unit covers, the crime index and the share solved (``domain.crime_index``), and
the units' polygons with the newest year to date. Manifest, checksums, data package and DCAT-AP-CZ
record as the incident release has them.

What it tells: the police's own published figures, sums of them, public populations and the
police's public polygons. Every figure is a linear combination of the reports the incident
release's audit already takes readers to hold (``privacy.police_figures``), so it adds nothing a
reader of both datasets did not have (``docs/disclosure-policy.md``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from transforms.domain.crime_index import (
    indicators,
    named_population,
    population_by_level,
    with_directorates,
)
from transforms.domain.licences import release_licence
from transforms.domain.periods import Month
from transforms.domain.police_crosswalk import to_current_units
from transforms.domain.police_overlay import unit_population
from transforms.domain.police_statistics import code_range, monthly_figures, widest_code
from transforms.pipeline.boundaries import current_geography_version, load_units
from transforms.pipeline.common import InputMissing, code_version, docs_dir, source_terms
from transforms.pipeline.police_districts import CROSSWALK, POPULATION, units_folder
from transforms.pipeline.police_statistics import partition_folder
from transforms.pipeline.publish.inputs import catalogue_publisher
from transforms.pipeline.publish.police_figures import (
    police_inputs,
    statistics_dataset_id,
    unit_shares,
)
from transforms.plumbing.settings import Settings
from transforms.plumbing.storage import (
    FinishedFileDigests,
    fingerprint,
    read_json,
    write_geoparquet,
    write_json_atomic,
    write_parquet,
)
from transforms.privacy.policy import GEO_LEVELS, load_policy, named_sensitive
from transforms.publish.catalogue import dataset_record
from transforms.publish.contents import ReleaseFile
from transforms.publish.csv import write_csv
from transforms.publish.datapackage import data_package
from transforms.publish.folder import publish_release
from transforms.publish.geojson import write_geojson
from transforms.publish.police_pages import write_police_pages
from transforms.publish.tiles import write_pmtiles
from transforms.sources.police_reports import COUNT_MEASURES
from transforms.validation import gate, validate

SOURCES = ("police_statistics", "police_districts", "boundaries", "population")
COLUMNS = [
    "code", "name", "level", "parent_code", "period_type", "period", "tsk_code", "tsk_name",
    "is_subtotal", "found", "solved", "found_under_investigation", "damage_total_thousand_czk",
    "damage_secured_thousand_czk", "population", "crime_index", "share_solved", "revised",
    "estimated", "excludes_sensitive",
]  # fmt: skip
# the reports' measures a release publishes: counts, the damage (thousand CZK, to the crown)
PUBLISHED_MEASURES = ["found", "solved", "found_under_investigation", "damage_total_thousand_czk",
                      "damage_secured_thousand_czk"]  # fmt: skip
TITLE = {"cs": "Statistika kriminality Policie ČR", "en": "Police of the Czech Republic crime "
         "statistics"}  # fmt: skip
DESCRIPTION = {
    "cs": "Zjištěné a objasněné trestné činy podle taktickostatistické klasifikace (TSK) za "
    "obvodní oddělení, územní odbory a kraje, po měsících a od začátku roku, s počtem obyvatel, "
    "indexem kriminality (na 10 000 obyvatel) a podílem objasněných; hranice oddělení.",
    "en": "Offences found and solved by tactical-statistical classification (TSK) per police "
    "unit, district directorate and region, by month and year to date, with population, the "
    "crime index (per 10,000 inhabitants) and the share solved; the units' boundaries.",
}
FILES = [
    ReleaseFile(
        "figures",
        "figures.csv",
        "Statistika po útvarech (CSV)",
        "Figures by police unit (CSV)",
        "Figures by unit, period and TSK code.",
        schema="police_statistics.schema.json",
    ),
    ReleaseFile(
        "figures-parquet",
        "figures.parquet",
        "Statistika po útvarech (Parquet)",
        "Figures by police unit (Parquet)",
        "The same table as figures.csv.",
        columns="police_statistics.schema.json",
    ),
    ReleaseFile(
        "police-units",
        "police_units.geojson",
        "Hranice útvarů (GeoJSON)",
        "Police unit boundaries (GeoJSON)",
        "Units, directorates and regions with the newest year to date of all offences.",
        columns="police_units.schema.json",
    ),
    ReleaseFile(
        "police-units-tiles",
        "police_units.pmtiles",
        "Hranice útvarů (vektorové dlaždice PMTiles)",
        "Police unit boundaries (PMTiles vector tiles)",
        "The same units as vector tiles for web maps, zoom 5 to 11.",
    ),
    ReleaseFile(
        "police-units-parquet",
        "police_units.parquet",
        "Hranice útvarů (GeoParquet)",
        "Police unit boundaries (GeoParquet)",
        "The same as police_units.geojson.",
        columns="police_units.schema.json",
    ),
]


def statistics_release_inputs(settings: Settings) -> dict[str, Any]:
    police = police_inputs(settings)
    if police is None:
        raise InputMissing("no police statistics: run 'police_districts' and 'police_statistics'")
    return {
        **police,
        "geography": current_geography_version(settings),
        "code": code_version(),
        "sources": [t.to_json() for t in source_terms(settings, SOURCES)],
    }


def stage_statistics_tables(settings: Settings) -> dict[str, Any]:
    """The release's tables, staged under ``runs/publish_statistics/<inputs>/``."""
    inputs = statistics_release_inputs(settings)
    key = fingerprint(inputs)[:16]
    staged = settings.runs_dir / "publish_statistics" / key
    staged.mkdir(parents=True, exist_ok=True)
    folders = [partition_folder(settings, Month.parse(m), k) for m, k in inputs["months"].items()]
    cumulative = pd.concat(
        [pd.read_parquet(f / "cumulative.parquet") for f in folders], ignore_index=True
    )
    units = gpd.read_parquet(units_folder(settings, inputs["units"]) / "police_units.parquet")
    geography = load_units(settings, inputs["geography"])
    people = unit_population(
        unit_shares(settings, inputs["units"], inputs["geography"]),
        dict(zip(geography["code"], geography["population"], strict=True)),
    )
    people_by_unit = {str(k): float(v) for k, v in people.items()}
    beside_units = units_folder(settings, inputs["units"])
    named = beside_units / POPULATION
    unmatched: list[str] = []
    if named.exists():  # the publisher's own population per unit wins where its name matches
        people_by_unit, unmatched = named_population(units, pd.read_parquet(named), people_by_unit)
    crosswalk_path = beside_units / CROSSWALK
    crosswalk = pd.read_parquet(crosswalk_path) if crosswalk_path.exists() else None
    policy, _ = load_policy(settings.policy_path)
    leaves = cumulative.loc[~cumulative["is_subtotal"]].drop_duplicates("tsk_code", keep="last")
    sensitive = named_sensitive(
        policy, dict(zip(leaves["tsk_code"], leaves["tsk_name"], strict=True))
    )
    figures = statistics_table(
        cumulative, units, population_by_level(units, people_by_unit), crosswalk, sensitive,
        threshold=policy.sensitive.threshold, min_level=policy.sensitive.min_geo_level,
    )  # fmt: skip
    write_parquet(figures, staged / "figures.parquet")
    report = {
        "inputs": inputs,
        "fingerprint": key,
        "rows": len(figures),
        "months": sorted(inputs["months"]),
        "population": {
            "table": named.exists(),
            "names_matching_no_unit": unmatched,
        },
        "missing_districts": {
            m: read_json(f / "report.json")["missing_districts"]
            for m, f in zip(inputs["months"], folders, strict=True)
        },
    }
    write_json_atomic(staged / "inputs.json", report)
    return {"staged": str(staged), "rows": len(figures)}


def statistics_table(
    cumulative: pd.DataFrame,
    units: pd.DataFrame,
    population: dict[str, float],
    crosswalk: pd.DataFrame | None = None,
    sensitive: frozenset[str] = frozenset(),
    threshold: int = 1,
    min_level: str = "district",
) -> pd.DataFrame:
    """The release's table: :func:`figures_table` of the reports, where each ``sensitive`` TSK
    code of a year is published only from :func:`sensitive_levels`' level up (never for the
    units). Below it, the code has no row and every range that holds it is summed from its
    other codes (``excludes_sensitive``)."""
    full = figures_table(cumulative, units, population, crosswalk)
    if not sensitive:
        return full.assign(excludes_sensitive=False)
    from_level = sensitive_levels(full, sensitive, threshold, min_level)
    year = full["period"].str[:4]
    withheld_at: dict[frozenset[str], list[tuple[str, str]]] = {}
    for place in {*zip(full["level"], year, strict=True)}:
        level, y = place
        withheld = frozenset(
            code for code in sensitive
            if (code, y) not in from_level or _rank(level) < _rank(from_level[(code, y)])
        )  # fmt: skip
        withheld_at.setdefault(withheld, []).append(place)
    parts = []
    for withheld, places in withheld_at.items():
        table = full
        if withheld:
            table = figures_table(
                without_sensitive(cumulative, withheld), units, population, crosswalk
            )
        rows = pd.Series(list(zip(table["level"], table["period"].str[:4], strict=True)))
        table = table[rows.isin(places).to_numpy()].copy()
        ranges = {c for c in table["tsk_code"].unique() if "-" in c and _holds(c, withheld)}
        table["excludes_sensitive"] = table["tsk_code"].isin(ranges)
        table["tsk_name"] = table["tsk_name"].where(
            ~table["excludes_sensitive"], table["tsk_name"] + " – bez citlivých / excl. sensitive"
        )
        parts.append(table)
    return _ordered(pd.concat(parts, ignore_index=True))


# the police's levels as the policy's geography levels: a unit is finer than a district
AS_GEO_LEVEL = {"unit": "municipality", "district": "district", "region": "region"}


def _rank(level: str) -> int:
    """A police level's place among the policy's geography levels, finest first."""
    return GEO_LEVELS.index(AS_GEO_LEVEL[level])


def sensitive_levels(
    figures: pd.DataFrame, sensitive: frozenset[str], threshold: int, min_level: str
) -> dict[tuple[str, str], str]:
    """For each sensitive code and year, the finest level (from the policy's ``min_level``)
    at which every directorate's every figure of that year (months and year to date, found and
    solved) is 0 or at least ``threshold``: the code is published there and above. A year
    with no such level is absent: the code is published nowhere that year.

    Below that level every figure of the code is withheld, so a withheld figure is one share
    of its published parent's (any split among the siblings fits every published figure), and
    the parent is 0 or at least the threshold. Every level above the chosen one passes too (a
    sum of such figures does, unless a revision made a month negative)."""
    levels = [lv for lv in ("district", "region") if _rank(lv) >= GEO_LEVELS.index(min_level)]
    rows = figures[figures["tsk_code"].isin(sensitive)]
    small = pd.Series(False, index=rows.index)
    for measure in ("found", "solved"):
        value = rows[measure].astype("Float64")
        small |= (value.notna() & (value != 0) & (value < threshold)).to_numpy(dtype=bool)
    failing = {
        (str(c), str(y), str(lv))
        for c, y, lv in zip(
            rows.loc[small, "tsk_code"], rows.loc[small, "period"].str[:4],
            rows.loc[small, "level"], strict=True,
        )
    }  # fmt: skip
    years = sorted(figures["period"].str[:4].unique())
    chosen: dict[tuple[str, str], str] = {}
    for code in sensitive:
        for y in years:
            for level in reversed(levels):  # coarsest first: every level above must pass too
                if (code, y, level) in failing:
                    break
                chosen[(code, y)] = level
    return chosen


def _holds(code_range_text: str, codes: frozenset[str]) -> bool:
    low, high = code_range(code_range_text)
    return any(low <= int(c) <= high for c in codes)


def without_sensitive(cumulative: pd.DataFrame, sensitive: frozenset[str]) -> pd.DataFrame:
    """The reports without the sensitive leaf codes, each range that holds one summed again
    from the leaves left in it."""
    leaves = cumulative[~cumulative["is_subtotal"] & ~cumulative["tsk_code"].isin(sensitive)]
    ranges = cumulative[cumulative["is_subtotal"]]
    measures = [m for m in COUNT_MEASURES if m in cumulative.columns]
    parts = [leaves]
    for code, rows in ranges.groupby("tsk_code", sort=False):
        if not _holds(str(code), sensitive):
            parts.append(rows)
            continue
        low, high = code_range(str(code))
        inside = leaves[leaves["tsk_code"].astype(int).between(low, high)]
        sums = inside.groupby(["month", "unit_code"])[measures].sum()
        again = rows.set_index(["month", "unit_code"])
        again[measures] = sums.reindex(again.index).fillna(0).astype(again[measures].dtypes)
        parts.append(again.reset_index()[rows.columns])
    return pd.concat(parts, ignore_index=True)


def figures_table(
    cumulative: pd.DataFrame,
    units: pd.DataFrame,
    population: dict[str, float],
    crosswalk: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Months (own figures) and years to date, per unit and summed above, with the rates. A
    unit of the reports without a polygon counts in the district directorate whose workbook
    holds it, under the report's name, without a population (the release's ``report.json`` of
    the month names it). Retired unit codes go to today's units first (``crosswalk``)."""
    if crosswalk is not None:
        keys = ["month", "unit_code", "tsk_code"]
        cumulative = to_current_units(cumulative, crosswalk, keys, list(COUNT_MEASURES))
    else:
        cumulative = cumulative.assign(estimated=False)
    reported = cumulative.drop_duplicates("unit_code", keep="last")
    unknown = reported[~reported["unit_code"].isin(units["code"])]
    units = pd.concat(
        [
            units[["code", "name", "level", "parent_code"]],
            pd.DataFrame(
                {
                    "code": unknown["unit_code"],
                    "name": unknown["unit_name"],
                    "level": "unit",
                    "parent_code": unknown["unit_code"].str[:4],
                }
            ),
        ],
        ignore_index=True,
    )
    monthly = monthly_figures(cumulative).assign(period_type="month", period=lambda f: f["month"])
    year_to_date = cumulative.assign(
        period_type="year_to_date", period=cumulative["month"].str[:4], revised=False
    )
    newest = year_to_date.groupby(["period", "unit_code"])["month"].transform("max")
    year_to_date = year_to_date[year_to_date["month"] == newest]
    parts = []
    for part in (monthly, year_to_date):
        keys = ["unit_code", "period", "tsk_code"]
        summed = with_directorates(part[[*keys, *PUBLISHED_MEASURES]], units, PUBLISHED_MEASURES)
        for flag in ("revised", "estimated"):
            flags = part.set_index(keys)[flag].astype(bool)
            summed[flag] = _flagged_above(summed, flags, units)
        parts.append(indicators(summed, population).assign(period_type=part["period_type"].iloc[0]))
    table = pd.concat(parts, ignore_index=True)
    codes = cumulative.drop_duplicates("tsk_code", keep="last").set_index("tsk_code")
    table["tsk_name"] = table["tsk_code"].map(codes["tsk_name"])
    table["is_subtotal"] = table["tsk_code"].map(codes["is_subtotal"]).astype(bool)
    named = units.set_index("code")
    table["name"] = table["code"].map(named["name"])
    table["parent_code"] = table["code"].map(named["parent_code"])
    damage = [m for m in PUBLISHED_MEASURES if m.startswith("damage")]
    table[damage] = table[damage].astype("float64").round(3)
    whole = {c: "Int64" for c in ("found", "solved", "found_under_investigation", "population")}
    return _ordered(table)[COLUMNS[:-1]].astype(whole | dict.fromkeys(damage, "Float64"))


def _ordered(table: pd.DataFrame) -> pd.DataFrame:
    return table.sort_values(
        ["period_type", "period", "level", "code", "tsk_code"],
        key=lambda c: c.map(_rank) if c.name == "level" else c,
        ignore_index=True,
    )


def _flagged_above(summed: pd.DataFrame, flags: pd.Series, units: pd.DataFrame) -> np.ndarray:
    """A directorate's or region's figure is revised (estimated) where a unit's below it is."""
    parent = dict(zip(units["code"], units["parent_code"], strict=True))
    marked = flags[flags].index
    revised: dict[tuple[str, str, str], bool] = {
        (str(u), str(p), str(t)): True
        for u, p, t in zip(
            marked.get_level_values(0),
            marked.get_level_values(1),
            marked.get_level_values(2),
            strict=True,
        )
    }
    for unit, period, tsk in list(revised):
        district = parent.get(unit)
        for above in (district, parent.get(district) if district else None):
            if above:
                revised[(above, period, tsk)] = True
    keys = zip(summed["code"], summed["period"], summed["tsk_code"], strict=True)
    return np.array([revised.get(k, False) for k in keys], dtype=bool)


def validate_statistics_tables(settings: Settings, staged: str, run_id: str) -> dict[str, Any]:
    figures = pd.read_parquet(Path(staged) / "figures.parquet")
    report = validate(
        figures, "published_police_statistics", settings.expectations_dir,
        docs_dir(settings, "publish_statistics", run_id),
    )  # fmt: skip
    return gate([report], Path(staged))


def write_statistics_release(settings: Settings, staged: str) -> dict[str, Any]:
    """The immutable release folder, then ``latest``; nothing new for the same inputs."""
    record = read_json(Path(staged) / "inputs.json")
    inputs = record["inputs"]
    dataset_dir = settings.releases_dir / statistics_dataset_id(settings)
    dataset_dir.mkdir(parents=True, exist_ok=True)
    figures = pd.read_parquet(Path(staged) / "figures.parquet")
    terms = source_terms(settings, SOURCES)
    licence = release_licence(terms)

    def write_files(folder: Path, version: str) -> dict[str, Any]:
        write_csv(figures, folder / "figures.csv")
        write_parquet(figures, folder / "figures.parquet")
        shapes = _units_with_newest_year(settings, inputs["units"], figures)
        write_geojson(shapes, folder / "police_units.geojson")
        write_geoparquet(shapes, folder / "police_units.parquet")
        write_pmtiles(shapes, folder / "police_units.pmtiles", "police_units", 5, 11)
        pages = write_police_pages(figures, folder, version)
        digests = FinishedFileDigests()
        package = data_package(
            folder, name=statistics_dataset_id(settings), version=version,
            title=TITLE["en"], description=DESCRIPTION["en"], licence=licence,
            sources=[{"title": t.attribution, "path": t.url, "licence": t.licence} for t in terms],
            files=FILES, schemas_dir=settings.output_schemas_dir, digest=digests,
        )  # fmt: skip
        write_json_atomic(folder / "datapackage.json", package)
        (folder / "catalog").mkdir()
        write_json_atomic(
            folder / "catalog" / "dataset.jsonld",
            dataset_record(
                publisher=catalogue_publisher(settings),
                dataset_id=statistics_dataset_id(settings), version=version,
                months=record["months"], licence_url=licence.url,
                author=settings.publisher_name, files=FILES, title=TITLE,
                description=DESCRIPTION,
            ),
        )  # fmt: skip
        return {"rows": len(figures), "pages": pages}

    manifest = {
        "dataset": statistics_dataset_id(settings),
        "data_months": record["months"],
        "licence": licence.id,
        "sources": [t.to_json() for t in terms],
        "inputs": inputs,
        # a district directorate without a workbook has no figures that month (nor do the
        # region above it, whose sum would read as whole)
        "missing_districts": record["missing_districts"],
        # whether the publisher's population per unit (unit_population.csv) was used, and which
        # of its names matched no unit (those units keep the overlay's population)
        "population": record.get("population", {}),
    }
    result = publish_release(
        dataset_dir, max(record["months"]), record["fingerprint"], write_files, manifest
    )
    return {"version": result.version, "path": str(result.path), "created": result.created}


def _units_with_newest_year(
    settings: Settings, version: str, figures: pd.DataFrame
) -> gpd.GeoDataFrame:
    """The police geography with each unit's newest year to date of all its offences (the
    report's widest code) and its index."""
    shapes = gpd.read_parquet(units_folder(settings, version) / "police_units.parquet")
    years = figures[figures["period_type"] == "year_to_date"]
    newest = years[years["period"] == years["period"].max()]
    widest = widest_code(newest["tsk_code"].unique()) if len(newest) else ""
    total = newest[newest["tsk_code"] == widest].set_index("code")
    out = shapes[["code", "name", "level", "parent_code", "geometry"]].copy()
    for column in ("population", "found", "crime_index"):
        out[column] = out["code"].map(total[column])
    out = out.astype({"population": "Int64", "found": "Int64"})
    out["period"] = str(newest["period"].max()) if len(newest) else None
    out["tsk_code"] = widest
    return gpd.GeoDataFrame(out, geometry="geometry", crs=shapes.crs)
