"""Synthetic inputs in the exact source formats: the bundled sample and the benchmarks' data.

Real names and approximate positions of towns in northern Bohemia (Liberec, Jablonec nad Nisou,
Česká Lípa, Semily and Mladá Boleslav districts); everything else is generated: the polygons
(irregular cells grown around each town, so neighbours share jagged borders exactly as RÚIAN units
do), the populations (round figures near the real ones), the incidents, and the code lists
(their roots are the police's real 12 top-level categories; the children are illustrative).
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from transforms.periods import Month

KROVAK = "EPSG:5514"
WGS84 = "EPSG:4326"


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

# The police's 12 top-level categories (real ids and names) and illustrative children.
OFFENCE_TYPES: tuple[tuple[int, int | None, str], ...] = (
    (1, None, "NÁSILNÁ TRESTNÁ ČINNOST"),
    (2, 1, "Vražda"),
    (3, 1, "Loupež"),
    (4, 1, "Úmyslné ublížení na zdraví"),
    (5, 1, "Nebezpečné vyhrožování"),
    (6, 1, "Znásilnění"),
    (7, 1, "Týrání osoby žijící ve společném obydlí"),
    (8, 1, "Pohlavní zneužití"),
    (13, None, "POŽÁRY, VÝBUCHY, ŽIVELNÉ POHROMY"),
    (14, 13, "Požár"),
    (18, None, "KRÁDEŽE VLOUPÁNÍM"),
    (19, 18, "Vloupání do bytu"),
    (20, 18, "Vloupání do rodinného domu"),
    (21, 18, "Vloupání do obchodu"),
    (22, 18, "Vloupání do chaty"),
    (35, None, "KRÁDEŽE"),
    (36, 35, "Krádež osobního automobilu"),
    (37, 35, "Krádež jednostopého motorového vozidla"),
    (38, 35, "Krádež věcí z automobilu"),
    (42, 35, "Krádež jízdního kola"),
    (43, 35, "Kapesní krádež"),
    (44, 35, "Krádež v obchodě"),
    (54, None, "PODVODY"),
    (55, None, "OSTATNÍ MAJETKOVÁ TRESTNÁ ČINNOST"),
    (57, 55, "Poškození cizí věci"),
    (58, 55, "Sprejerství"),
    (63, None, "OBECNĚ NEBEZPEČNÁ TRESTNÁ ČINNOST"),
    (79, None, "DOPRAVNÍ NEHODY"),
    (112, 79, "Dopravní nehoda pod vlivem alkoholu"),
    (113, 79, "Dopravní nehoda se zraněním"),
    (80, None, "TOXIKOMÁNIE"),
    (81, 80, "Nedovolená výroba a distribuce drog"),
    (82, 80, "Přechovávání drog"),
    (84, None, "TRESTNÁ ČINNOST SE ZBRANÍ"),
    (96, None, "EXTREMISMUS"),
    (97, None, "PŘESTUPKY"),
    (99, 97, "Přestupek proti majetku"),
    (100, 97, "Přestupek proti občanskému soužití"),
    (101, 97, "Přestupek v dopravě (BESIP)"),
    (102, 97, "Přestupek proti veřejnému pořádku"),
)
# Relative frequency of each leaf type in generated months.
TYPE_WEIGHTS: dict[int, float] = {
    2: 0.05,
    3: 0.6,
    4: 2.0,
    5: 1.2,
    6: 0.15,
    7: 0.3,
    8: 0.1,
    14: 1.0,
    19: 1.5,
    20: 1.0,
    21: 0.8,
    22: 0.4,
    36: 1.0,
    37: 0.5,
    38: 3.0,
    42: 2.0,
    43: 1.5,
    44: 4.0,
    54: 3.0,
    57: 3.0,
    58: 0.8,
    63: 0.3,
    112: 0.8,
    113: 1.2,
    81: 0.5,
    82: 1.0,
    84: 0.2,
    96: 0.05,
    99: 6.0,
    100: 5.0,
    101: 8.0,
    102: 3.0,
}
STATES: tuple[tuple[int, str, float], ...] = (
    (1, "zjištěn pachatel", 0.34),
    (2, "neobjasněno", 0.55),
    (3, "skutek se nestal", 0.02),
    (4, "skutek není trestným činem", 0.02),
    (5, "objasněno dodatečně", 0.06),
    (6, "fingovaná trestná činnost", 0.01),
)
RELEVANCE: tuple[tuple[int, str, float], ...] = (
    (1, "Místo zjištění", 0.02),
    (2, "Místo oznámení", 0.02),
    (3, "Místo následku", 0.08),
    (4, "Místo spáchání", 0.88),
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


def _zip_bytes(members: dict[str, bytes]) -> bytes:
    """A zip whose bytes depend only on the members (fixed timestamps, sorted order)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(members):
            info = zipfile.ZipInfo(name, date_time=(2000, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, members[name])
    return buffer.getvalue()


def code_list_csvs() -> dict[str, bytes]:
    def parents(code: int, parent: int | None) -> tuple[str, str, str]:
        return ("" if parent is None else str(parent), "", "")

    types = pd.DataFrame(
        [
            {
                "id": c,
                "parent_id1": parents(c, p)[0],
                "parent_id2": "",
                "parent_id3": "",
                "name": n,
                "label": n.upper(),
            }
            for c, p, n in OFFENCE_TYPES
        ]
    )
    states = pd.DataFrame([{"id": c, "label": lbl} for c, lbl, _ in STATES])
    relevance = pd.DataFrame([{"id": c, "label": lbl} for c, lbl, _ in RELEVANCE])
    return {
        "types.csv": types.to_csv(index=False, lineterminator="\n").encode("utf-8"),
        "states.csv": states.to_csv(index=False, lineterminator="\n").encode("utf-8"),
        "relevance.csv": relevance.to_csv(index=False, lineterminator="\n").encode("utf-8"),
    }


def code_list_jsons() -> dict[str, bytes]:
    """The national code-list JSON form (``polozky``) of the same lists."""

    def document(items: list[dict[str, object]]) -> bytes:
        return json.dumps({"polozky": items}, ensure_ascii=False, indent=1).encode("utf-8")

    return {
        "types.json": document(
            [
                {"kod": c, "nazev": {"cs": n}, "popis": {"cs": n}}
                | ({"parent_id1": p} if p is not None else {})
                for c, p, n in OFFENCE_TYPES
            ]
        ),
        "states.json": document([{"kod": c, "nazev": {"cs": lbl}} for c, lbl, _ in STATES]),
        "relevance.json": document([{"kod": c, "nazev": {"cs": lbl}} for c, lbl, _ in RELEVANCE]),
    }


def records_csv(records: pd.DataFrame, extra_lines: Sequence[str] = ()) -> bytes:
    text = records.to_csv(index=False, lineterminator="\n")
    return (text + "".join(line + "\n" for line in extra_lines)).encode("utf-8")


def police_month_zip(month: Month, records_csv_bytes: bytes) -> bytes:
    return _zip_bytes({f"{month.compact}.csv": records_csv_bytes, **code_list_csvs()})


def police_month_geojson(records: pd.DataFrame) -> bytes:
    """The month as the police GeoJSON: one feature per incident, ``types`` a list (with root)."""
    parent = {c: p for c, p, _ in OFFENCE_TYPES}
    features = []
    for incident_id, group in records.groupby("id", sort=False):
        first = group.iloc[0]
        types: list[int] = []
        for t in group["types"].astype(int):
            root = parent.get(t)
            types += ([root] if root is not None else []) + [t]
        features.append(
            {
                "type": "Feature",
                "geometry": {
                    "type": "Point",
                    "coordinates": [float(first["x"]), float(first["y"])],
                },
                "properties": {
                    "id": int(str(incident_id)),
                    "date": first["date"],
                    "state": int(first["state"]),
                    "relevance": int(first["relevance"]),
                    "mp": first["mp"] == "true",
                    "types": sorted(set(types)),
                },
            }
        )
    return json.dumps(
        {"type": "FeatureCollection", "features": features}, ensure_ascii=False
    ).encode("utf-8")


# The disclosure-control benchmark's country: counts only, no geometry.


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


def population_table(codes: Sequence[str], people: np.ndarray) -> bytes:
    """ČSÚ tidy CSV (as table 130149) with one total per municipality."""
    frame = pd.DataFrame(
        {
            "idhod": np.arange(900000, 900000 + len(codes)),
            "hodnota": people,
            "stapro_kod": "2406",
            "pohlavi_cis": "",
            "pohlavi_kod": "",
            "pohlavi_txt": "",
            "vuzemi_cis": "43",
            "vuzemi_kod": np.asarray(codes),
            "vuzemi_txt": "Obec",
            "casref_do": "2024-12-31",
        }
    )
    return frame.to_csv(index=False, lineterminator="\n").encode("utf-8")


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
