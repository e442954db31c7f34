"""The bundled sample (``sample_data/``): real names and approximate positions of towns in
northern Bohemia (Liberec, Jablonec nad Nisou, Česká Lípa, Semily and Mladá Boleslav districts);
the polygons (irregular cells grown around each town, so neighbours share jagged borders exactly
as RÚIAN units do), the populations (round figures near the real ones) and the incidents are
generated."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from testdata.formats import KROVAK, RELEVANCE, STATES, TYPE_WEIGHTS
from transforms.domain.geography import WGS84
from transforms.domain.periods import Month


@dataclass(frozen=True)
class Town:
    code: str  # RÚIAN municipality code
    name: str
    district: str  # RÚIAN district (okres) code
    lon: float
    lat: float
    population: int


REGIONS = {"78": "Liberecký kraj", "27": "Středočeský kraj"}


DISTRICTS = {  # code: (name, region code, LAU1 code)
    "3501": ("Česká Lípa", "78", "CZ0511"),
    "3502": ("Jablonec nad Nisou", "78", "CZ0512"),
    "3503": ("Liberec", "78", "CZ0513"),
    "3504": ("Semily", "78", "CZ0514"),
    "3207": ("Mladá Boleslav", "27", "CZ0207"),
}


TOWNS: tuple[Town, ...] = (
    Town("563889", "Liberec", "3503", 15.0562, 50.7671, 104000),
    Town("564010", "Chrastava", "3503", 14.9689, 50.8170, 6300),
    Town("564133", "Hrádek nad Nisou", "3503", 14.8447, 50.8528, 7700),
    Town("564028", "Frýdlant", "3503", 15.0797, 50.9214, 7400),
    Town("564095", "Hodkovice nad Mohelkou", "3503", 15.0900, 50.6660, 2900),
    Town("564001", "Český Dub", "3503", 14.9963, 50.6604, 2700),
    Town("563510", "Jablonec nad Nisou", "3502", 15.1713, 50.7243, 45000),
    Town("563633", "Tanvald", "3502", 15.3059, 50.7374, 6200),
    Town("563803", "Železný Brod", "3502", 15.2541, 50.6427, 6100),
    Town("563609", "Smržovka", "3502", 15.2461, 50.7381, 3400),
    Town("563587", "Rychnov u Jablonce nad Nisou", "3502", 15.1545, 50.6849, 2800),
    Town("561380", "Česká Lípa", "3501", 14.5376, 50.6856, 36000),
    Town("561835", "Nový Bor", "3501", 14.5557, 50.7576, 11500),
    Town("561771", "Mimoň", "3501", 14.7249, 50.6587, 6400),
    Town("561495", "Doksy", "3501", 14.6554, 50.5648, 5300),
    Town("562262", "Zákupy", "3501", 14.6458, 50.6849, 2700),
    Town("577626", "Turnov", "3504", 15.1572, 50.5874, 14500),
    Town("576964", "Semily", "3504", 15.3355, 50.6020, 8200),
    Town("577235", "Jilemnice", "3504", 15.5067, 50.6089, 5400),
    Town("535419", "Mladá Boleslav", "3207", 14.9032, 50.4113, 45000),
    Town("536041", "Mnichovo Hradiště", "3207", 14.9713, 50.5272, 8700),
    Town("535516", "Bělá pod Bezdězem", "3207", 14.8042, 50.5010, 5000),
    Town("535443", "Bakov nad Jizerou", "3207", 14.9420, 50.4823, 5200),
    Town("536059", "Kosmonosy", "3207", 14.9300, 50.4386, 5000),
)


# Offences per 1,000 inhabitants per month, roughly the national level.
MONTHLY_RATE = 4.5


def sample_boundaries(
    towns: Sequence[Town] = TOWNS, seed: int = 7, cells: int = 2500, margin_m: float = 6000
) -> dict[str, gpd.GeoDataFrame]:
    """RÚIAN-like layers ``vusc``, ``okresy``, ``obce`` in S-JTSK (EPSG:5514).

    Municipalities are unions of many small Voronoi cells, each given to its nearest town: the
    result tiles the area with no gaps or overlaps and irregular, exactly shared borders.
    """
    rng = np.random.default_rng(seed)
    centres = gpd.GeoSeries(
        shapely.points([t.lon for t in towns], [t.lat for t in towns]), crs=WGS84
    ).to_crs(KROVAK)
    cx, cy = centres.x.to_numpy(), centres.y.to_numpy()
    hull = shapely.convex_hull(shapely.multipoints(np.column_stack([cx, cy])))
    area = shapely.buffer(hull, margin_m, quad_segs=4)
    minx, miny, maxx, maxy = area.bounds
    seeds = shapely.points(rng.uniform(minx, maxx, cells), rng.uniform(miny, maxy, cells))
    seeds = seeds[shapely.contains(area, seeds)]
    voronoi = shapely.get_parts(
        shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=area)
    )
    voronoi = shapely.intersection(voronoi, area)
    centroids = shapely.centroid(voronoi)
    sx, sy = shapely.get_x(centroids), shapely.get_y(centroids)
    # weight the distance by town size so larger towns get larger territories
    weight = np.sqrt(np.array([t.population for t in towns], dtype=float)) ** 0.35
    distance = np.hypot(sx[:, None] - cx[None, :], sy[:, None] - cy[None, :]) / weight[None, :]
    owner = distance.argmin(axis=1)
    polygons = [shapely.union_all(voronoi[owner == i]) for i in range(len(towns))]
    polygons = [shapely.make_valid(shapely.set_precision(p, 0.01)) for p in polygons]
    obce = gpd.GeoDataFrame(
        {
            "kod": [t.code for t in towns],
            "nazev": [t.name for t in towns],
            "okres_kod": [t.district for t in towns],
        },
        geometry=polygons,
        crs=KROVAK,
    )
    okresy = obce.dissolve(by="okres_kod", as_index=False)[["okres_kod", "geometry"]]
    okresy = okresy.rename(columns={"okres_kod": "kod"})
    okresy["nazev"] = okresy["kod"].map(lambda c: DISTRICTS[c][0])
    okresy["vusc_kod"] = okresy["kod"].map(lambda c: DISTRICTS[c][1])
    okresy["nuts_lau"] = okresy["kod"].map(lambda c: DISTRICTS[c][2])
    vusc = okresy.dissolve(by="vusc_kod", as_index=False)[["vusc_kod", "geometry"]]
    vusc = vusc.rename(columns={"vusc_kod": "kod"})
    vusc["nazev"] = vusc["kod"].map(REGIONS)
    return {
        "vusc": vusc[["kod", "nazev", "geometry"]],
        "okresy": okresy[["kod", "nazev", "vusc_kod", "nuts_lau", "geometry"]],
        "obce": obce,
    }


def population_csv(towns: Sequence[Town] = TOWNS, reference_date: str = "2024-12-31") -> bytes:
    """ČSÚ tidy CSV (as table 130149): totals and both sexes per municipality."""
    rows: list[dict[str, object]] = []
    for index, town in enumerate(towns):
        men = town.population * 49 // 100
        for sex_code, sex_text, value in (
            ("", "", town.population),
            ("1", "muž", men),
            ("2", "žena", town.population - men),
        ):
            rows.append(
                {
                    "idhod": f"{900000 + index * 3 + len(rows) % 3}",
                    "hodnota": value,
                    "stapro_kod": "2406",
                    "pohlavi_cis": "102" if sex_code else "",
                    "pohlavi_kod": sex_code,
                    "pohlavi_txt": sex_text,
                    "vuzemi_cis": "43",
                    "vuzemi_kod": town.code,
                    "vuzemi_txt": town.name,
                    "casref_do": reference_date,
                }
            )
    return pd.DataFrame(rows).to_csv(index=False, lineterminator="\n").encode("utf-8")


def _address_points(
    municipality: shapely.Geometry, centre: tuple[float, float], n: int, rng: np.random.Generator
) -> np.ndarray:
    """Shared 'address' points, dense near the town centre: police points are snapped to such."""
    points: list[tuple[float, float]] = []
    minx, miny, maxx, maxy = municipality.bounds
    spread = max(maxx - minx, maxy - miny) / 5
    shapely.prepare(municipality)
    while len(points) < n:
        x = rng.normal(centre[0], spread, n * 2)
        y = rng.normal(centre[1], spread, n * 2)
        inside = shapely.contains_xy(municipality, x, y)
        points.extend(zip(x[inside], y[inside], strict=True))
    return np.round(np.array(points[:n]), 6)


def sample_records(
    obce_wgs84: gpd.GeoDataFrame,
    month: Month,
    seed: int,
    towns: Sequence[Town] = TOWNS,
    first_id: int = 20_300_000,
) -> pd.DataFrame:
    """One month of police records, one row per (incident, type), as text in the CSV's columns."""
    rng = np.random.default_rng(seed)
    by_code = dict(zip(obce_wgs84["kod"], obce_wgs84.geometry, strict=True))
    seasonal = 1 + 0.15 * np.sin((month.month - 4) / 12 * 2 * np.pi)
    leaf_types = np.array(list(TYPE_WEIGHTS))
    weights = np.array(list(TYPE_WEIGHTS.values()))
    weights = weights / weights.sum()
    rows = []
    next_id = first_id
    days = (month.next().first_day - month.first_day).days
    for town in towns:
        n = rng.poisson(town.population / 1000 * MONTHLY_RATE * seasonal)
        addresses = _address_points(
            by_code[town.code], (town.lon, town.lat), max(10, town.population // 40), rng
        )
        picks = addresses[rng.integers(0, len(addresses), n)]
        for lon, lat in picks:
            next_id += int(rng.integers(1, 40))
            day = int(rng.integers(1, days + 1))
            minute = int(rng.choice([0, 0, 0, 15, 30, 30, 50, int(rng.integers(0, 60))]))
            hour = int(rng.integers(0, 24))
            when = f"{month.first_day.replace(day=day)} {hour:02d}:{minute:02d}:00"
            state = int(rng.choice([s[0] for s in STATES], p=[s[2] for s in STATES]))
            relevance = int(rng.choice([r[0] for r in RELEVANCE], p=[r[2] for r in RELEVANCE]))
            mp = "true" if rng.random() < 0.1 else "false"
            types = [int(rng.choice(leaf_types, p=weights))]
            if types[0] in (112, 113) and rng.random() < 0.3:
                types.append(82)  # a collision under the influence of drugs, too
            for offence in types:
                rows.append(
                    {
                        "id": str(next_id),
                        "x": f"{lon:.6f}",
                        "y": f"{lat:.6f}",
                        "mp": mp,
                        "date": when,
                        "state": str(state),
                        "relevance": str(relevance),
                        "types": str(offence),
                    }
                )
    frame = pd.DataFrame(
        rows, columns=["id", "x", "y", "mp", "date", "state", "relevance", "types"]
    )
    return frame.sort_values(["date", "id"], kind="stable", ignore_index=True)
