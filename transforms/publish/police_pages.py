"""The police statistics release's pages: a list of units and a page per unit, directorate and
region with its trend, its crime index and how it compares.

Built from the release's own ``figures`` table only (the police's figures, their sums and the
public populations), so a page shows nothing the table does not. Static HTML with inline SVG
(``publish.charts``): no script, no network, and the same table gives the same bytes.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from transforms.domain.police_statistics import widest_code
from transforms.publish.charts import trend_svg

LEVEL_NAMES = {
    "unit": "obvodní oddělení / police unit",
    "district": "územní odbor / district directorate",
    "region": "krajské ředitelství / regional directorate",
}
STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:60rem;margin:1rem auto;padding:0 1rem}"
    "table{border-collapse:collapse}td,th{padding:.2rem .6rem;border-bottom:1px solid #ddd;"
    "text-align:right}td:first-child,th:first-child{text-align:left}"
    ".chart{width:100%;height:auto}.chart .s0{stroke:#b2182b}.chart .s1{stroke:#2166ac}"
    ".chart .s2{stroke:#999}"
)


def page_path(code: str) -> str:
    return f"units/{code}.html"


def write_police_pages(figures: pd.DataFrame, folder: Path, version: str) -> int:
    """``index.html`` and ``units/<code>.html`` for every unit, directorate and region."""
    total = figures[figures["tsk_code"] == widest_code(figures["tsk_code"].unique())]
    months = sorted(total.loc[total["period_type"] == "month", "period"].unique())
    newest_year = total.loc[total["period_type"] == "year_to_date", "period"].max()
    year = total[(total["period_type"] == "year_to_date") & (total["period"] == newest_year)]
    units = year.drop_duplicates("code").set_index("code")
    (folder / "units").mkdir(parents=True, exist_ok=True)
    for code in units.index:
        page = unit_page(code, units, total, figures, months, str(newest_year), version)
        (folder / page_path(code)).write_text(page, encoding="utf-8")
    (folder / "index.html").write_text(index_page(units, str(newest_year), version), "utf-8")
    return len(units)


def unit_page(
    code: str,
    units: pd.DataFrame,
    total: pd.DataFrame,
    figures: pd.DataFrame,
    months: list[str],
    year: str,
    version: str,
) -> str:
    me: dict[Any, Any] = units.loc[code].to_dict()  # one row: codes are unique in a year
    chain = [code]
    while isinstance(parent := units.loc[chain[-1], "parent_code"], str) and parent in units.index:
        chain.append(parent)
    monthly = total[total["period_type"] == "month"].set_index(["code", "period"])
    series = []
    for number, c in enumerate(chain):
        values = np.array([_value(monthly, (c, m), "crime_index") for m in months])
        # a month without a figure breaks the line (publish.charts reads negatives so)
        name = str(units.loc[c, "name"])
        series.append(((name, name), np.nan_to_num(values, nan=-1.0), f"s{number}"))
    # these pages have no script: the chart's Czech title carries the English too
    title = (
        f"Index kriminality po měsících / crime index by month: {me['name']}",
        f"Crime index by month: {me['name']}",
    )
    chart = trend_svg(months, series, title)
    rows = "".join(
        f"<tr><td>{m}</td><td>{_text(_value(monthly, (code, m), 'found'))}</td>"
        f"<td>{_text(_value(monthly, (code, m), 'crime_index'), 2)}</td>"
        f"<td>{_text(_value(monthly, (code, m), 'share_solved'), 4)}</td></tr>"
        for m in months
    )
    trail = " › ".join(
        f'<a href="{html.escape(c)}.html">{html.escape(str(units.loc[c, "name"]))}</a>'
        for c in reversed(chain[1:])
    )
    peers = units[units["level"] == me["level"]]
    siblings = peers[peers["parent_code"] == me["parent_code"]]
    by_code = figures[
        (figures["code"] == code)
        & (figures["period_type"] == "year_to_date")
        & (figures["period"] == year)
        & ~figures["is_subtotal"]
    ]
    codes = "".join(
        f"<tr><td>{html.escape(str(r.tsk_code))} {html.escape(str(r.tsk_name))}</td>"
        f"<td>{_text(r.found)}</td><td>{_text(r.crime_index, 2)}</td></tr>"
        for r in by_code.itertuples()
    )
    return _document(
        f"{me['name']} ({code})",
        version,
        f'<p><a href="../index.html">Všechny útvary / all units</a>{" › " + trail if trail else ""}'
        f"</p><h1>{html.escape(str(me['name']))} <small>{code}</small></h1>"
        f"<p>{LEVEL_NAMES[str(me['level'])]}; obyvatel / population "
        f"{_text(me['population'])}</p>"
        f'<p id="index">Index kriminality {year} (zjištěné skutky na 10 000 obyvatel) / crime '
        f'index (offences found per 10,000 inhabitants): <strong data-value="'
        f'{_text(me["crime_index"], 2)}">{_text(me["crime_index"], 2)}</strong>; '
        f"zjištěno / found {_text(me['found'])}; objasněno / share solved "
        f"{_text(me['share_solved'], 4)}</p>"
        f'<p id="open-and-damage">v šetření ke dni výkazu / under investigation on the '
        f"report's date {_text(me['found_under_investigation'])}; škoda / damage "
        f"{_text(me['damage_total_thousand_czk'], 3)} tis. Kč / thousand CZK, z toho zajištěno "
        f"/ of it secured {_text(me['damage_secured_thousand_czk'], 3)}</p>"
        f'<p id="rank">{_rank(me, siblings, "v nadřízeném útvaru / within its directorate")} '
        f"{_rank(me, peers, 'v Česku / in the country')}</p>"
        f"<h2>Vývoj / trend</h2>{chart}"
        f'<table id="months"><tr><th>měsíc / month</th><th>zjištěno / found</th>'
        f"<th>index</th><th>objasněno / share solved</th></tr>{rows}</table>"
        f"<h2>Podle TSK / by TSK code, {year}</h2>"
        f"<table><tr><th>TSK</th><th>zjištěno / found</th><th>index</th></tr>{codes}</table>",
    )


def index_page(units: pd.DataFrame, year: str, version: str) -> str:
    rows = "".join(
        f'<tr><td><a href="{page_path(str(c))}">{html.escape(str(r["name"]))}</a></td>'
        f"<td>{c}</td><td>{html.escape(LEVEL_NAMES[str(r['level'])].split(' / ')[1])}</td>"
        f"<td>{_text(r['population'])}</td><td>{_text(r['crime_index'], 2)}</td></tr>"
        for c, r in units.sort_values(["level", "name"]).iterrows()
    )
    return _document(
        "Statistika kriminality po útvarech / police statistics by unit",
        version,
        f"<h1>Statistika kriminality Policie ČR / police crime statistics, {version}</h1>"
        f"<p>Index kriminality {year}: zjištěné skutky na 10 000 obyvatel / crime index: "
        'offences found per 10,000 inhabitants. Data: <a href="figures.csv">figures.csv</a>, '
        '<a href="police_units.geojson">police_units.geojson</a>.</p>'
        f'<table id="units"><tr><th>útvar / unit</th><th>kód / code</th><th>úroveň / level</th>'
        f"<th>obyvatel / population</th><th>index {year}</th></tr>{rows}</table>",
        prefix="",
    )


def _rank(me: dict[Any, Any], peers: pd.DataFrame, where: str) -> str:
    rated = peers["crime_index"].dropna()
    if pd.isna(me["crime_index"]) or len(rated) < 2:
        return ""
    place = int((rated > me["crime_index"]).sum()) + 1
    return f"Pořadí / rank {place} z / of {len(rated)} {where} (1 = nejvyšší / highest)."


def _value(frame: pd.DataFrame, key: tuple[str, str], column: str) -> float:
    """The figure, or NaN where the table has none."""
    if key not in frame.index:
        return float("nan")
    value: Any = frame.at[key, column]
    return float("nan") if value is None or pd.isna(value) else float(value)


def _text(value: Any, decimals: int = 0) -> str:
    """A figure as the page shows it; a dash where the table has none."""
    if value is None or pd.isna(value):
        return "–"
    return f"{float(value):,.{decimals}f}".replace(",", " ")


def _document(title: str, version: str, body: str, prefix: str = "../") -> str:
    return (
        '<!doctype html>\n<html lang="cs"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)} – {html.escape(version)}</title>"
        f"<style>{STYLE}</style></head>\n<body>{body}"
        f'<p><small>Vydání / release {html.escape(version)}; <a href="{prefix}manifest.json">'
        "manifest</a></small></p></body></html>\n"
    )
