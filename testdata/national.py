"""A synthetic country of the Czech shape (6,258 municipalities, RÚIAN-like polygons, a
heavy-tailed population) and a decade of its incidents: the benchmarks' inputs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from testdata.formats import KROVAK, RELEVANCE, STATES, TYPE_WEIGHTS, population_table
from transforms.domain.geography import WGS84
from transforms.domain.periods import Month
from transforms.privacy.police_figures import PoliceFigures

# The Czech Republic's lon/lat extent, for national-size synthetic geographies (benchmarks).
NATIONAL_EXTENT = (12.09, 48.55, 18.86, 51.06)


NATIONAL_MUNICIPALITIES = 6258


MEAN_VERTICES = 265  # per municipality polygon in RÚIAN


def random_seeds(
    rng: np.random.Generator, count: int, extent: tuple[float, float, float, float]
) -> np.ndarray:
    x0, y0, x1, y1 = extent
    return rng.uniform([x0, y0], [x1, y1], size=(count, 2))


def voronoi_units(
    seeds: np.ndarray, extent: tuple[float, float, float, float], vertices: int = MEAN_VERTICES
) -> np.ndarray:
    """A tiling of ``extent`` (WGS84): the Voronoi cells of ``seeds``, densified to about
    ``vertices`` vertices each, so that point-in-polygon costs what real boundaries cost."""
    box = shapely.box(*extent)
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=box))
    cells = shapely.intersection(cells, box)
    return shapely.segmentize(cells, float(np.median(shapely.length(cells))) / vertices)


def country_hierarchy(municipalities: int, seed: int = 1) -> pd.DataFrame:
    """A Czech-shaped unit hierarchy for the disclosure benchmark: 77 districts and 14 regions
    per 6,258 municipalities, a heavy-tailed population (one city of 1.3 million)."""
    rng = np.random.default_rng(seed)
    regions = max(1, round(14 * municipalities / 6258))
    districts = max(regions, round(77 * municipalities / 6258))
    rows: list[tuple[str, str, str | None]] = [("CZ", "country", None)]
    rows += [(f"R{r:02d}", "region", "CZ") for r in range(regions)]
    rows += [(f"D{d:03d}", "district", f"R{d % regions:02d}") for d in range(districts)]
    rows += [
        (f"{500000 + m:06d}", "municipality", f"D{m % districts:03d}")
        for m in range(municipalities)
    ]
    geography = pd.DataFrame(rows, columns=["code", "level", "parent_code"])
    people = np.maximum(50, (rng.pareto(1.05, municipalities) + 1) * 180).astype(int)
    people[0] = 1_300_000
    geography["population"] = np.concatenate([[0] * (1 + regions + districts), people])
    return geography


def offence_tree() -> tuple[dict[int, str], dict[int, int | None]]:
    """12 groups of 8 types, plus two sensitive types (rape, domestic violence) in group 1."""
    roots = [1, 13, 18, 35, 54, 55, 63, 79, 80, 84, 96, 97]
    names: dict[int, str] = {r: f"group {r}" for r in roots}
    parent: dict[int, int | None] = {r: None for r in roots}
    code = 200
    for r in roots:
        for _ in range(8):
            names[code], parent[code] = f"type {code}", r
            code += 1
    names[6], parent[6] = "Znásilnění", 1
    names[7], parent[7] = "Týrání osoby žijící ve společném obydlí", 1
    return names, parent


def offence_records(
    geography: pd.DataFrame,
    names: dict[int, str],
    parent: dict[int, int | None],
    per_year: float,
    seed: int = 2,
) -> pd.DataFrame:
    """``per_year`` offences over a year (geo, period, offence), by population, with a gamma
    mix of types and monthly seasonality."""
    rng = np.random.default_rng(seed)
    municipalities = geography[geography["level"] == "municipality"]
    leaves = [c for c in names if c not in set(parent.values())]
    weights = rng.gamma(0.6, 1.0, len(leaves))
    weights[[leaves.index(6), leaves.index(7)]] = 0.05
    weights /= weights.sum()
    share = municipalities["population"].to_numpy() / municipalities["population"].sum()
    frames = []
    for month in range(1, 13):
        seasonal = 1 + 0.15 * np.sin((month - 4) / 12 * 2 * np.pi)
        n = rng.poisson(per_year / 12 * seasonal)
        frames.append(
            pd.DataFrame(
                {
                    "geo": rng.choice(municipalities["code"].to_numpy(), size=n, p=share),
                    "period": f"2025-{month:02d}",
                    "offence": rng.choice(np.array(leaves).astype(str), size=n, p=weights),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def police_statistics(
    geography: pd.DataFrame,
    offences: pd.DataFrame,
    parent: dict[int, int | None],
    unit_size: int = 14,
    split_share: float = 0.05,
    seed: int = 3,
) -> PoliceFigures:
    """The police's statistics for the benchmark country, as the real ones meet the cube: each
    district's municipalities in units of about ``unit_size`` (real units hold about 14), a
    ``split_share`` of municipalities reaching into the next unit (their records counted in
    the first), and a TSK code per type, or per two types, or for both sensitive types, each
    counting exactly its types; reports cumulated from January."""
    rng = np.random.default_rng(seed)
    towns = geography[geography["level"] == "municipality"].sort_values(["parent_code", "code"])
    unit_of: dict[str, str] = {}
    members: dict[str, list[str]] = {}
    for district, codes in towns.groupby("parent_code")["code"]:
        for k, town in enumerate(codes):
            unit = f"{district}-{k // unit_size:03d}"
            unit_of[town] = unit
            members.setdefault(unit, []).append(town)
    within = {u: set(ts) for u, ts in members.items()}
    touching = {u: set(ts) for u, ts in members.items()}
    units = sorted(members)
    for town in rng.choice(towns["code"].to_numpy(), int(split_share * len(towns)), replace=False):
        first = unit_of[town]
        nxt = units[(units.index(first) + 1) % len(units)]
        if nxt.split("-")[0] == first.split("-")[0]:  # a neighbour in the same district
            within[first].discard(town)
            touching[nxt].add(town)
    leaves = sorted(c for c in parent if c not in set(parent.values()))
    tsk_of: dict[str, str] = {}
    for k, leaf in enumerate(t for t in leaves if parent[t] != 1 or t >= 200):
        tsk_of[str(leaf)] = str(300 + (k if k % 3 else k - 1))  # every third code counts two
    for leaf in (6, 7):
        tsk_of[str(leaf)] = "201"
    counted = offences.assign(
        unit_code=offences["geo"].map(unit_of),
        tsk_code=offences["offence"].astype(str).map(tsk_of),
        month=offences["period"],
    )
    monthly = counted.groupby(["unit_code", "tsk_code", "month"]).size().rename("found")
    grid = pd.MultiIndex.from_product(
        [units, sorted(set(tsk_of.values())), sorted(offences["period"].unique())],
        names=["unit_code", "tsk_code", "month"],
    )
    reports = monthly.reindex(grid, fill_value=0).groupby(level=[0, 1]).cumsum().reset_index()
    by_code: dict[str, set[str]] = {}
    for offence, code in tsk_of.items():
        by_code.setdefault(code, set()).add(offence)
    return PoliceFigures(
        reports[["unit_code", "month", "tsk_code", "found"]],
        {u: frozenset(ts) for u, ts in within.items()},
        {u: frozenset(ts) for u, ts in touching.items()},
        {c: frozenset(o) for c, o in by_code.items()},
        frozenset(by_code),
    )


# The performance benchmarks' country: national-size layers and police months, vectorised.


def national_boundaries(seed: int = 11) -> dict[str, gpd.GeoDataFrame]:
    """RÚIAN-like layers ``vusc``/``okresy``/``obce`` in S-JTSK for 6,258 municipalities of about
    265 vertices each (Voronoi cells), 77 districts and 14 regions."""
    rng = np.random.default_rng(seed)
    municipalities = voronoi_units(
        random_seeds(rng, NATIONAL_MUNICIPALITIES, NATIONAL_EXTENT), NATIONAL_EXTENT
    )
    centres = shapely.get_coordinates(shapely.centroid(municipalities))
    district_seeds = random_seeds(rng, 77, NATIONAL_EXTENT)
    region_seeds = random_seeds(rng, 14, NATIONAL_EXTENT)
    district_of = np.argmin(
        np.hypot(*(centres[:, None, :] - district_seeds[None, :, :]).transpose(2, 0, 1)), axis=1
    )
    region_of = np.argmin(
        np.hypot(*(district_seeds[:, None, :] - region_seeds[None, :, :]).transpose(2, 0, 1)),
        axis=1,
    )
    obce = gpd.GeoDataFrame(
        {
            "kod": [f"{500000 + i}" for i in range(len(municipalities))],
            "nazev": [f"Obec {i}" for i in range(len(municipalities))],
            "okres_kod": [f"{3100 + d}" for d in district_of],
        },
        geometry=municipalities,
        crs=WGS84,
    )
    okresy = obce[["okres_kod", "geometry"]].dissolve(by="okres_kod", as_index=False)
    okresy = okresy.rename(columns={"okres_kod": "kod"})[["kod", "geometry"]]
    okresy["nazev"] = "Okres " + okresy["kod"]
    okresy["vusc_kod"] = [f"{20 + region_of[int(k) - 3100]}" for k in okresy["kod"]]
    okresy["nuts_lau"] = "CZ" + okresy["kod"]
    vusc = okresy[["vusc_kod", "geometry"]].dissolve(by="vusc_kod", as_index=False)
    vusc = vusc.rename(columns={"vusc_kod": "kod"})[["kod", "geometry"]]
    vusc["nazev"] = "Kraj " + vusc["kod"]

    def native(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        """In S-JTSK on a centimetre grid, valid, as the RÚIAN files are."""
        frame = frame.to_crs(KROVAK)
        frame["geometry"] = shapely.make_valid(shapely.set_precision(frame.geometry.values, 0.01))
        return frame

    return {
        "vusc": native(vusc[["kod", "nazev", "geometry"]]),
        "okresy": native(okresy[["kod", "nazev", "vusc_kod", "nuts_lau", "geometry"]]),
        "obce": native(obce),
    }


def national_population(codes: Sequence[str], seed: int = 12) -> np.ndarray:
    """Heavy-tailed municipal populations (most villages a few hundred, a few large cities)."""
    rng = np.random.default_rng(seed)
    return np.maximum(50, (rng.pareto(1.05, len(codes)) + 1) * 180).astype(int)


def seasonal_month_sizes(months: Sequence[Month], total: int) -> np.ndarray:
    """``total`` incidents spread over ``months`` with the summer peak police data show."""
    weight = np.array([1 + 0.15 * np.sin((m.month - 4) / 12 * 2 * np.pi) for m in months])
    sizes = np.floor(total * weight / weight.sum()).astype(np.int64)
    sizes[: total - int(sizes.sum())] += 1
    return sizes


def month_records(
    month: Month, incidents: int, placement: Placement, first_id: int, rng: np.random.Generator
) -> pd.DataFrame:
    """One police month, vectorised: ``incidents`` incidents placed by population around the
    municipalities' centres (normal, so some fall in neighbours or, at the edges, abroad); the
    offence mix of ``TYPE_WEIGHTS``; 4 % of incidents carry a second type (a second row with the
    same id), as police records do."""
    people = placement.people
    where = rng.choice(len(people), size=incidents, p=people / people.sum())
    lon = rng.normal(placement.centres[where, 0], placement.spread[where])
    lat = rng.normal(placement.centres[where, 1], placement.spread[where] * 0.64)
    types = np.array(list(TYPE_WEIGHTS))
    weights = np.array(list(TYPE_WEIGHTS.values()))
    days = (month.next().first_day - month.first_day).days
    minute = rng.integers(0, days * 24 * 60, incidents)
    stamp = pd.to_datetime(month.first_day) + pd.to_timedelta(minute, unit="min")
    ids = first_id + np.cumsum(rng.integers(1, 6, incidents))
    frame = pd.DataFrame(
        {
            "id": ids.astype(str),
            "x": np.char.mod("%.6f", lon),
            "y": np.char.mod("%.6f", lat),
            "mp": np.where(rng.random(incidents) < 0.1, "true", "false"),
            "date": stamp.strftime("%Y-%m-%d %H:%M:%S"),
            "state": rng.choice([s[0] for s in STATES], incidents, p=[s[2] for s in STATES]),
            "relevance": rng.choice(
                [r[0] for r in RELEVANCE], incidents, p=[r[2] for r in RELEVANCE]
            ),
            "types": rng.choice(types, incidents, p=weights / weights.sum()),
        }
    )
    second = frame[rng.random(incidents) < 0.04].copy()
    second["types"] = rng.choice(types, len(second), p=weights / weights.sum())
    second = second[second["types"] != frame.loc[second.index, "types"]]
    return pd.concat([frame, second]).sort_index(kind="stable").reset_index(drop=True)


@dataclass(frozen=True)
class Placement:
    """Where a synthetic country's incidents happen: per municipality, its centre (lon/lat), a
    spread in degrees and its population."""

    centres: np.ndarray
    spread: np.ndarray
    people: np.ndarray


def write_national_inputs(data_in: Path) -> Placement:
    """The boundaries (``boundaries/national.gpkg``) and population (``population/130149.csv``)
    of the national-size country, in the folders the pipeline reads."""
    import pyogrio

    for folder in ("boundaries", "population", "police"):
        (data_in / folder).mkdir(parents=True, exist_ok=True)
    layers = national_boundaries()
    for name, frame in layers.items():
        pyogrio.write_dataframe(
            frame, data_in / "boundaries" / "national.gpkg", layer=name, driver="GPKG"
        )
    codes = layers["obce"]["kod"].tolist()
    people = national_population(codes)
    (data_in / "population" / "130149.csv").write_bytes(population_table(codes, people))
    obce = layers["obce"].to_crs(WGS84).geometry.values
    return Placement(
        shapely.get_coordinates(shapely.centroid(obce)), np.sqrt(shapely.area(obce)) / 3, people
    )
