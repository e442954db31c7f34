"""A page and a download for every unit: "how safe is my town?".

``units/<level>-<code>.html`` shows the unit's published figures by offence for any month or
year of the release, a trend chart of every month with the same month a year earlier and the
12-month rolling sum, the units like it (:func:`transforms.publish.units.peer_groups`) and a
map of it, its neighbours and the newest month's incident classes. ``units/<level>-<code>.csv``
holds the same figures for Excel in a Czech locale (UTF-8 with BOM, ``;``), offences down,
periods across. ``units/search.js`` lists every unit for the search box.

What they tell: the table's own cells (a hidden one says "skryto" and only the reason every
hidden cell shares), sums of published cells only (a rolling sum over a hidden month is not
drawn), rates and ranks of published counts, and the point classes the release publishes.
Nothing here is computed from a hidden count.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import shapely

from transforms.domain.counting import NONSENSITIVE
from transforms.privacy.policy import DisclosurePolicy
from transforms.publish.charts import trend_svg
from transforms.publish.codes import LEVELS_CS
from transforms.publish.feedback_form import feedback_form
from transforms.publish.geojson import page_geometries
from transforms.publish.language import (
    LANGUAGE_SCRIPT,
    attribute,
    both,
    both_text,
    option,
    switch,
)
from transforms.publish.units import (
    ABSENT,
    HIDDEN,
    SIZE_BANDS,
    UnitFigures,
    peer_groups,
    populations,
    rolling_sums,
    year_earlier,
)

UNITS_FOLDER = "units"
SEARCH_INDEX = f"{UNITS_FOLDER}/search.js"
HIDDEN_WORD = ("skryto", "hidden")
HIDDEN_REASON = (
    "Skryto: malý počet, nebo skryto, aby malé počty nešlo dopočítat z ostatních údajů.",
    "Hidden: a small count, or hidden so that small counts cannot be worked out from the others.",
)


def unit_path(level: str, code: str, suffix: str = "html") -> str:
    """A unit's page (or download) relative to the release folder."""
    return f"{UNITS_FOLDER}/{level}-{code}.{suffix}"


@dataclass(frozen=True)
class UnitContext:
    """What every unit's page shares: the release's figures and the units' relations."""

    figures: UnitFigures
    parents: dict[str, str | None]  # unit code -> the code of the unit above it
    offence_parents: dict[str, str]  # offence type code -> its group's code
    policy: DisclosurePolicy
    title: str
    version: str
    maps: dict[str, gpd.GeoDataFrame]  # level -> published areas (code, name, geometry)
    points: pd.DataFrame  # the newest month's point classes: lon, lat, offence group, records
    # municipality code -> its police units' pages in the police statistics: (href, name)
    police_units: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    # offence code -> (Czech, English) name; without one, the table's name in both
    offence_names: dict[str, tuple[str, str]] = field(default_factory=dict)


def write_unit_files(folder: Path, context: UnitContext) -> int:
    """Every unit's page and CSV, and the search index; returns how many units."""
    # plain writes, not one fsync per file: the folder is a release's staging folder, which
    # becomes the release only once complete
    (folder / UNITS_FOLDER).mkdir(parents=True, exist_ok=True)
    pages = _Pages(context)
    for u, (level, code) in enumerate(zip(pages.levels, pages.codes, strict=True)):
        (folder / unit_path(level, code, "csv")).write_bytes(pages.csv(u))
        (folder / unit_path(level, code)).write_bytes(pages.page(u).encode("utf-8"))
    search = search_index(context.figures, context.parents)
    (folder / SEARCH_INDEX).write_bytes(search.encode("utf-8"))
    return len(pages.codes)


class _Pages:
    """What the pages share, worked out once: the offence order, the rows as text, the peers,
    the trails, each level's areas as GeoJSON geometries and their neighbours."""

    def __init__(self, context: UnitContext) -> None:
        figures = context.figures
        self.context = context
        self.figures = figures
        self.levels = list(figures.units["level"])
        self.codes = list(figures.units["code"])
        self.names = list(figures.units["name"])
        self.populations = list(figures.units["population"])
        self.order = offence_order(figures, context.offence_parents)
        self.offence_names = {
            o.code: context.offence_names.get(o.code, (o.name, o.name)) for o in figures.offences
        }
        ordered = figures.counts[:, self.order, :]
        self.present = (ordered != ABSENT).any(axis=2)
        joined = _joined(ordered, {",": "", ";": HIDDEN_WORD[0]})  # the CSV is Czech
        self.text_rows, self.csv_rows = joined[","], joined[";"]
        people = populations(figures.units)[:, None, None]
        self.rates = context.policy.rates.rates(ordered, people)
        self.rate_rows = _joined_rates(self.rates)
        self.peers = peer_groups(figures, context.parents, context.policy.rates)
        self.maps = {level: _AreaIndex(areas) for level, areas in context.maps.items()}
        # the newest month's point classes, as a page writes them, found by their coordinates
        points = context.points
        self.point_lon = points["lon"].to_numpy(dtype=float)
        self.point_lat = points["lat"].to_numpy(dtype=float)
        self.point_rows: list[list[object]] = [
            [round(float(x), 5), round(float(y), 5), str(name), int(records)]
            for x, y, name, records in zip(
                self.point_lon,
                self.point_lat,
                points["offence_group_name"],
                points["records"],
                strict=True,
            )
        ]
        self.newest = figures.periods.index(
            figures.months[-1] if figures.months else figures.periods[-1]
        )
        by_code = {
            c: (lvl, n) for lvl, c, n in zip(self.levels, self.codes, self.names, strict=True)
        }
        self.trails = {c: _trail(by_code, context.parents, c) for c in self.codes}

    def rows(self, u: int) -> list[int]:
        """The positions in :attr:`order` of the offences the unit's level has."""
        return np.flatnonzero(self.present[u]).tolist()

    def csv(self, u: int) -> bytes:
        return unit_csv(self.figures, self.order, self.rows(u), self.csv_rows[u])

    def page(self, u: int) -> str:
        return unit_page(self, u)


class _AreaIndex:
    """One level's published areas: each one's GeoJSON geometry, bounds and neighbours."""

    def __init__(self, areas: gpd.GeoDataFrame) -> None:
        geometries = np.asarray(areas.geometry.values)
        self.codes = [str(c) for c in areas["code"]]
        self.names = [str(n) for n in areas["name"]]
        self.position = {c: i for i, c in enumerate(self.codes)}
        self.bounds = shapely.bounds(geometries)
        self.geojson = page_geometries(geometries)
        left, right = shapely.STRtree(geometries).query(geometries, predicate="intersects")
        self.neighbours: list[list[int]] = [[] for _ in self.codes]
        for a, b in zip(left.tolist(), right.tolist(), strict=True):
            if a != b:
                self.neighbours[a].append(b)


def offence_order(figures: UnitFigures, offence_parents: dict[str, str]) -> list[int]:
    """Offences as a page lists them: the totals, then each group followed by its types."""

    def code_key(code: str) -> tuple[int, str]:
        return (int(code), "") if code.isdigit() else (-1, code)

    offences = figures.offences
    totals = [i for i, o in enumerate(offences) if o.level == "total"]
    totals.sort(key=lambda i: offences[i].code != NONSENSITIVE)
    groups = sorted(
        (i for i, o in enumerate(offences) if o.level == "group"),
        key=lambda i: code_key(offences[i].code),
    )
    order = list(totals)
    placed = set(order)
    for g in groups:
        order.append(g)
        types = [
            i
            for i, o in enumerate(offences)
            if o.level == "type" and offence_parents.get(o.code) == offences[g].code
        ]
        order.extend(sorted(types, key=lambda i: code_key(offences[i].code)))
    placed = set(order)
    order.extend(i for i in range(len(offences)) if i not in placed)
    return order


def _joined(counts: np.ndarray, separators: dict[str, str]) -> dict[str, list[list[str]]]:
    """Each unit's rows of ``counts`` (units × offences × periods) as text, the periods joined
    by a separator, a hidden cell written as the text ``separators`` gives for it."""
    flat = pa.array(counts.reshape(-1))
    numbers, hidden = pc.cast(flat, pa.string()), pc.equal(flat, HIDDEN)
    return {
        separator: _rows_as_text(pc.if_else(hidden, hidden_text, numbers), counts.shape, separator)
        for separator, hidden_text in separators.items()
    }


def _joined_rates(values: np.ndarray) -> list[list[str]]:
    """Each unit's rows of rates (units × offences × periods, NaN: none) as text, the periods
    joined by commas."""
    flat = pa.array(values.reshape(-1), from_pandas=True)  # NaN -> null
    return _rows_as_text(pc.fill_null(pc.cast(flat, pa.string()), ""), values.shape, ",")


def _rows_as_text(text: pa.Array, shape: tuple[int, ...], separator: str) -> list[list[str]]:
    """``text`` (a units × offences × periods array, flattened) as each unit's rows, the
    periods joined by ``separator``: one pass in Arrow, not a Python string per number."""
    units, offences, periods = shape
    offsets = pa.array(np.arange(0, units * offences * periods + 1, periods, dtype=np.int32))
    rows = pc.binary_join(pa.ListArray.from_arrays(offsets, text), separator).to_pylist()
    return [rows[u * offences : (u + 1) * offences] for u in range(units)]


def unit_csv(figures: UnitFigures, order: list[int], present: list[int], rows: list[str]) -> bytes:
    """A unit's figures for Excel in a Czech locale: UTF-8 with BOM, ``;``, offences down and
    periods across; a hidden cell reads "skryto"."""

    def quoted(text: str) -> str:
        return '"' + text.replace('"', '""') + '"' if any(c in text for c in ';"\n') else text

    header = ";".join(
        ["úroveň / level", "kód / code", "trestná činnost / offence", *figures.periods]
    )
    lines = [header]
    for k in present:
        offence = figures.offences[order[k]]
        lines.append(
            ";".join([LEVELS_CS[offence.level], offence.code, quoted(offence.name), rows[k]])
        )
    return ("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-8")


def _map_data(pages: _Pages, u: int) -> dict[str, object]:
    """The unit's map: it, its neighbours (each with a link) and the newest month's point
    classes inside its bounds; the country's: its regions."""
    level, code = pages.levels[u], pages.codes[u]
    shown_level = "region" if level == "country" else level
    areas = pages.maps.get(shown_level)
    if areas is None or (level != "country" and code not in areas.position):
        return {}
    if level == "country":
        shown = list(range(len(areas.codes)))
    else:
        own = areas.position[code]
        shown = [own, *areas.neighbours[own]]
    features = [
        {
            "type": "Feature",
            "properties": {
                "name": areas.names[i],
                "own": areas.codes[i] == code,
                "href": f"{shown_level}-{areas.codes[i]}.html",
            },
            "geometry": areas.geojson[i],
        }
        for i in shown
    ]
    points: list[list[object]] = []
    if level != "country" and len(pages.point_rows):
        minx, miny, maxx, maxy = areas.bounds[shown[0]]
        lon, lat = pages.point_lon, pages.point_lat
        inside = np.flatnonzero((lon >= minx) & (lon <= maxx) & (lat >= miny) & (lat <= maxy))
        points = [pages.point_rows[i] for i in inside.tolist()]
    return {"areas": {"type": "FeatureCollection", "features": features}, "points": points}


def _charts(
    figures: UnitFigures, u: int, rows: list[int], names: dict[str, tuple[str, str]]
) -> str:
    """Each row's monthly chart (with the same month a year earlier) and, once the release
    has twelve months, its 12-month rolling sum; the first shown, the others chosen.
    ``names``: each offence's (Czech, English) name (``_Pages.offence_names``)."""
    months = figures.months
    monthly = figures.counts[u, rows, : len(months)].astype(np.int64)
    earlier = year_earlier(months, monthly)
    sums = rolling_sums(months, monthly)
    figures_html = []
    for k, row in enumerate(rows):
        offence = figures.offences[row]
        cs, en = names[offence.code]
        chart = trend_svg(
            months,
            [
                (("měsíc", "month"), monthly[k], "line-now"),
                (("o rok dříve", "a year earlier"), earlier[k], "line-before"),
            ],
            (f"{cs}: měsíční počty", f"{en}: monthly counts"),
        )
        if (sums[k] == ABSENT).all():
            chart += (
                "<p>"
                + both(
                    "Součet 12 měsíců: vydání má méně než 12 měsíců.",
                    "12-month sum: the release has fewer than 12 months.",
                )
                + "</p>"
            )
        else:
            chart += trend_svg(
                months,
                [(("12 měsíců", "12 months"), sums[k], "line-sum")],
                (f"{cs}: součet 12 měsíců", f"{en}: 12-month rolling sum"),
            )
        figures_html.append(
            f'<figure class="trend" data-offence="{html.escape(offence.code)}"'
            f"{'' if k == 0 else ' hidden'}>{chart}</figure>"
        )
    return "\n".join(figures_html)


def unit_page(pages: _Pages, u: int) -> str:
    """One unit's page."""
    figures, context, order = pages.figures, pages.context, pages.order
    present = pages.rows(u)
    level, code, name = pages.levels[u], pages.codes[u], pages.names[u]
    population = pages.populations[u]
    rows = pages.text_rows[u]
    chart_rows = [order[k] for k in present if figures.offences[order[k]].level != "type"]
    names = pages.offence_names
    charts = _charts(figures, u, chart_rows, names)
    chart_options = "\n".join(
        option(figures.offences[r].code, *names[figures.offences[r].code]) for r in chart_rows
    )
    data = {
        "periods": figures.periods,
        "offences": [
            [
                figures.offences[order[k]].code,
                figures.offences[order[k]].level,
                *names[figures.offences[order[k]].code],
            ]
            for k in present
        ],
        "counts": [rows[k] for k in present],
        "rates": [
            "" if figures.offences[order[k]].level == "type" else pages.rate_rows[u][k]
            for k in present
        ],
        "hiddenWord": HIDDEN_WORD,
        "hiddenReason": HIDDEN_REASON,
        "map": _map_data(pages, u),
    }
    period_options = "\n".join(
        f'<option value="{i}"{" selected" if i == pages.newest else ""}>{html.escape(p)}</option>'
        for i, p in reversed(list(enumerate(figures.periods)))
    )
    static_table = _figures_table(pages, u, present)
    offences = [figures.offences[order[k]] for k in present]
    groups = [(o.code, *names[o.code]) for o in offences if o.level == "group"]
    months = [p for p in reversed(figures.periods) if len(p) == len("YYYY-MM")]
    return PAGE.format(
        **PAGE_TEXTS,
        title=html.escape(f"{name} – {context.title}"),
        name=html.escape(name),
        level=both_text(LEVELS_CS[level], level),
        trail=pages.trails[code],
        population=f"{population:,}".replace(",", "\u00a0") if population else "–",
        csv=html.escape(f"{level}-{code}.csv"),
        version=html.escape(context.version),
        period_options=period_options,
        table=static_table,
        chart_options=chart_options,
        charts=charts,
        comparison=_comparison(pages, u),
        police=_police_units(context.police_units.get(code, [])),
        feedback=feedback_form(context.version, code, months, groups),
        data=json.dumps(data, ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/"),
    )


def _police_units(links: list[tuple[str, str]]) -> str:
    """Links to the police statistics of the units that cover the municipality."""
    if not links:
        return ""
    anchors = ", ".join(f'<a href="{html.escape(h)}">{html.escape(n)}</a>' for h, n in links)
    said = both("Policejní statistika obvodního oddělení", "The police's statistics of its unit")
    return f"<p>{said}: {anchors}</p>"


def _figures_table(pages: _Pages, u: int, present: list[int]) -> str:
    """The unit's figures for the newest month, as the page shows them before any choice."""
    figures, order, period = pages.figures, pages.order, pages.newest
    lines = []
    for k in present:
        offence = figures.offences[order[k]]
        value = int(figures.counts[u, order[k], period])
        rate = pages.rates[u, k, period]
        shown = (
            f"<abbr {attribute('title', *HIDDEN_REASON)}>{both(*HIDDEN_WORD)}</abbr>"
            if value == HIDDEN
            else ("–" if value < 0 else f"{value:,}".replace(",", "\u00a0"))
        )
        rate_text = "" if offence.level == "type" or np.isnan(rate) else f"{rate:g}"
        lines.append(
            f'<tr class="{offence.level}"><th scope="row">'
            f"{both_text(*pages.offence_names[offence.code])}</th>"
            f"<td>{shown}</td><td>{rate_text}</td></tr>"
        )
    return "\n".join(lines)


def _trail(by_code: dict[str, tuple[str, str]], parents: dict[str, str | None], code: str) -> str:
    """Links to the units above this one."""
    links = []
    parent = parents.get(code)
    while parent and parent in by_code:
        level, name = by_code[parent]
        links.append(
            f'<a href="{html.escape(level)}-{html.escape(parent)}.html">{html.escape(name)}</a>'
        )
        parent = parents.get(parent)
    return " › ".join(reversed(links))


def _comparison(pages: _Pages, u: int) -> str:
    """The units like this one, ranked by their published rate: the ten around it."""
    peers = pages.peers.get(u)
    if peers is None or len(peers.members) < 2:
        return f"<p>{both('Srovnatelné jednotky nejsou.', 'No comparable units.')}</p>"
    scope_cs, scope_en = {
        "municipality": ("obcemi kraje", "the municipalities of the region"),
        "district": ("okresy kraje", "the districts of the region"),
        "region": ("kraji", "the regions"),
    }[pages.levels[u]]
    if peers.band is not None:
        b = peers.band
        upper = f"–{SIZE_BANDS[b + 1] - 1:,}" if b + 1 < len(SIZE_BANDS) else "+"
        scope_cs = f"obcemi kraje s {SIZE_BANDS[b]:,}{upper} obyvateli".replace(",", "\u00a0")
        scope_en = f"the municipalities of the region with {SIZE_BANDS[b]:,}{upper} inhabitants"
    count = len(peers.members)
    position = (
        both(f"{peers.rank}. z {count}", f"{peers.rank} of {count}")
        if peers.rank
        else both("míra není zveřejněna", "rate not published")
    )
    start = max(0, (peers.rank or 1) - 6)
    own = ' class="own"'
    rows = "\n".join(
        f"<tr{own if m == u else ''}><td>{start + i + 1}</td>"
        f'<td><a href="{pages.levels[m]}-{pages.codes[m]}.html">'
        f"{html.escape(pages.names[m])}</a></td><td>{rate:g}</td></tr>"
        for i, (m, rate) in enumerate(
            zip(peers.members[start : start + 11], peers.rates[start : start + 11], strict=True)
        )
    )
    period = html.escape(peers.period)
    where = both(
        f"Míra trestné činnosti na 1\u00a0000 obyvatel v roce {period} mezi {scope_cs}:",
        f"Offences per 1,000 inhabitants in {period}, among {html.escape(scope_en)}:",
    )
    return (
        f'<p>{where} <strong id="rank">{position}</strong>.</p>\n'
        f"<table><thead><tr><th>{both('pořadí', 'rank')}</th><th>{both('jednotka', 'unit')}</th>"
        f"<th>{both('na 1&nbsp;000', 'per 1,000')}</th></tr></thead><tbody>\n{rows}\n"
        "</tbody></table>"
    )


def search_index(figures: UnitFigures, parents: dict[str, str | None]) -> str:
    """``units/search.js``: every unit's level, code, name and the name of the unit above it."""
    names = dict(zip(figures.units["code"], figures.units["name"], strict=True))
    rows = [
        [level, code, name, names.get(parents.get(code) or "", "")]
        for level, code, name in zip(
            figures.units["level"], figures.units["code"], figures.units["name"], strict=True
        )
    ]
    return (
        "window.OPENCRIME_UNITS = "
        + json.dumps(rows, ensure_ascii=False, separators=(",", ":"))
        + ";\n"
    )


# the page's fixed texts, in both languages
PAGE_TEXTS = {
    "switch": switch(f"../{LANGUAGE_SCRIPT}"),
    "nav_label": attribute("aria-label", "Kde jsem", "Where am I"),
    "release": both("Vydání", "Release"),
    "inhabitants": both("Obyvatel", "Inhabitants"),
    "download": both("Stáhnout pro Excel (CSV)", "Download for Excel (CSV)"),
    "offences": both("Trestná činnost", "Offences"),
    "period": both("Období", "Period"),
    "offence": both("Trestná činnost", "Offence"),
    "count": both("počet", "count"),
    "per_1000": both("na 1&nbsp;000 obyvatel", "per 1,000 inhabitants"),
    "trend": both("Vývoj", "Trend"),
    "legend": "\n".join(
        f'<span class="key {css}"></span> {both(cs, en)}'
        for css, cs, en in [
            ("line-now", "měsíc", "month"),
            ("line-before", "stejný měsíc o rok dříve", "the same month a year earlier"),
            ("line-sum", "součet 12 měsíců", "12-month sum"),
            ("hidden-mark", "skryto", "hidden"),
        ]
    ),
    "comparison_heading": both("Srovnání", "Comparison"),
    "map_heading": both("Mapa", "Map"),
    "map_label": attribute(
        "aria-label", "Mapa jednotky a sousedů", "Map of the unit and its neighbours"
    ),
    "points": both(
        "Body: třídy nejméně k záznamů v posledním měsíci.",
        "Points: classes of at least k records in the newest month.",
    ),
}

PAGE = """<!doctype html>
<html lang="cs">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="stylesheet" href="../assets/leaflet/leaflet.css">
<link rel="stylesheet" href="../assets/portal.css">
</head>
<body>
{switch}
<nav {nav_label}><a href="../index.html">{release} {version}</a>
› {trail}</nav>
<main>
<h1>{name} <small>{level}</small></h1>
<p>{inhabitants}: {population}.
<a href="{csv}" download id="unit-csv">{download}</a></p>
{police}
<h2>{offences}</h2>
<p><label for="period">{period}</label>
<select id="period">
{period_options}
</select></p>
<table id="figures"><thead><tr><th scope="col">{offence}</th>
<th scope="col">{count}</th><th scope="col">{per_1000}</th></tr>
</thead><tbody>
{table}
</tbody></table>
<h2>{trend}</h2>
<p><label for="trend-offence">{offence}</label>
<select id="trend-offence">
{chart_options}
</select></p>
<p class="legend">{legend}</p>
{charts}
<h2>{comparison_heading}</h2>
{comparison}
<h2>{map_heading}</h2>
<div id="map" class="unit-map" role="img" {map_label}></div>
<p>{points}</p>
{feedback}
</main>
<script type="application/json" id="unit-data">{data}</script>
<script src="../assets/leaflet/leaflet.js"></script>
<script src="../assets/unit.js"></script>
</body>
</html>
"""
