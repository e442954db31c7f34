"""The download portal: a page per release and an index of all releases, in Czech and English.

Plain files that work opened from disk, from any static server or from object storage: no
request leaves the page (the map library is vendored, the polygons are loaded by a script tag,
not ``fetch``, so ``file://`` works too). The national map colours the release's municipality
polygons by the period, offence and measure chosen, with a legend and the month's point classes
(:mod:`transforms.publish.national_map`), and says what it drew (``#map-summary``).
"""

from __future__ import annotations

import html
import json
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from transforms.domain.licences import Licence, SourceTerms, restricting
from transforms.plumbing.storage import write_bytes_atomic
from transforms.privacy.policy import DisclosurePolicy
from transforms.publish.contents import ReleaseFile
from transforms.publish.language import (
    LANGUAGE_SCRIPT,
    LANGUAGE_STYLE,
    attribute,
    both,
    both_text,
    option,
    switch,
)
from transforms.publish.national_map import MapIndex
from transforms.publish.unit_pages import HIDDEN_REASON

ASSETS = Path(__file__).parent / "portal_assets"
# the index of all releases (it lives outside every release, so it has no assets/portal.css)
STYLE = (
    """
body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.3rem;
text-align:left;vertical-align:top}code{font-size:.85em;word-break:break-all}
#map{height:28rem;border:1px solid #ccc;background:#f4f4f2}
"""
    + LANGUAGE_STYLE
)


def _e(text: object) -> str:
    return html.escape(str(text))


def _size(n: int) -> str:
    if n < 1000:
        return f"{n:,} B"
    value, unit = n / 1000, "kB"
    for larger in ("MB", "GB"):
        if value < 1000:
            break
        value, unit = value / 1000, larger
    return f"{value:,.1f} {unit}"


def policy_in_words(policy: DisclosurePolicy) -> list[tuple[str, str]]:
    """The policy's rules as (Czech, English) sentences."""
    small = policy.aggregates.primary_threshold - 1
    sensitive = policy.sensitive.threshold - 1
    level_cs = {"district": "okresů", "region": "krajů", "country": "celé země"}.get(
        policy.sensitive.min_geo_level, policy.sensitive.min_geo_level
    )
    return [
        (
            f"Počty 1 až {small} se nezveřejňují; nula se zveřejňuje.",
            f"Counts of 1 to {small} are not published; zero is.",
        ),
        (
            f"Citlivé trestné činy (sexuální, domácí násilí, na dětech, obchod s lidmi) mají "
            f"vlastní údaje (SENSITIVE) až od úrovně {level_cs} výše, počty 1 až {sensitive} "
            "skryté, nikdy jako body. Ostatní údaje (NONSENSITIVE, skupiny, druhy) je na žádné "
            "úrovni neobsahují.",
            f"Sensitive offences (sexual, domestic violence, against children, trafficking) "
            f"have figures of their own (SENSITIVE) from {policy.sensitive.min_geo_level} level "
            f"up only, counts 1 to {sensitive} hidden, never as points. The other figures "
            "(NONSENSITIVE, groups, types) leave them out at every level.",
        ),
        (
            "Další buňky jsou skryty, aby skryté hodnoty nešlo dopočítat ani zúžit ze všeho, co "
            "je zveřejněno (i z dřívějších vydání a z bodů); skrytá buňka říká jen „skryto“. "
            "Každé vydání prověřuje audit (útok lineárním programováním).",
            "More cells are hidden so hidden values cannot be worked out or narrowed from "
            "anything published (earlier releases and the points included); a hidden cell says "
            "only 'suppressed'. Every release is checked by an audit (a linear-programming "
            "attack).",
        ),
        (
            f"Body událostí jen ve středech buněk, kde je alespoň {policy.incidents.k} záznamů, "
            "a jen z obcí, měsíců a skupin, jejichž počet je zveřejněn; bez přesného času a bez "
            "identifikátorů.",
            f"Incident points only at the centres of cells holding at least "
            f"{policy.incidents.k} records, and only from municipalities, months and groups "
            "whose count is published; no exact time, no identifiers.",
        ),
    ]


def protection_cost_rows(audit: dict[str, Any]) -> list[tuple[str, str, str]]:
    """The release's public cost of protection as (Czech, English, value) rows."""
    cost = audit.get("protection_cost") or {}
    headline = cost.get("headline_totals_hidden", {})
    groups = cost.get("group_totals_hidden", {})

    def percent(value: object) -> str:
        return "–" if value is None else f"{float(str(value)):.1%}"

    return [
        (
            "Skryté souhrny obce / okresu / kraje / země",
            "Hidden headline totals: municipality / district / region / country",
            " / ".join(
                percent(headline.get(g)) for g in ("municipality", "district", "region", "country")
            ),
        ),
        (
            "Skryté souhrny skupin: okres / kraj",
            "Hidden offence-group totals: district / region",
            " / ".join(percent(groups.get(g)) for g in ("district", "region")),
        ),
    ]


def licence_section(licence: Licence, sources: Sequence[SourceTerms]) -> str:
    """What reusers must credit, and, for a non-commercial release, which input makes it so."""
    credits = "\n".join(
        f"<li>{_e(t.attribution)}"
        + (f' (<a href="{_e(t.url)}">{_e(t.url)}</a>)' if t.url else "")
        + f", {_e(t.licence)}</li>"
        for t in sources
    )
    closed = restricting(sources, licence)
    why = (
        ""
        if licence.is_open
        else "<p>"
        + both(
            "<strong>Jen pro nekomerční užití.</strong> Tato data nejsou otevřená: zdroj "
            + ", ".join(_e(t.attribution) for t in closed)
            + " je poskytován pod nekomerční licencí, a odvozená data nemohou být otevřenější.",
            "<strong>Non-commercial use only.</strong> These data are not open: their source "
            + ", ".join(_e(t.attribution) for t in closed)
            + " is licensed for non-commercial use, and data derived from it cannot be more "
            "open.",
        )
        + "</p>"
    )
    return (
        f"<p>{both_text('Při užití uveďte zdroje:', 'When reusing, credit the sources:')}</p>\n"
        f'<ul id="sources">\n{credits}\n</ul>\n{why}'
    )


def write_release_page(
    folder: Path,
    *,
    title: str,
    version: str,
    months: Sequence[str],
    licence: Licence,
    sources: Sequence[SourceTerms],
    policy: DisclosurePolicy,
    audit: dict[str, Any],
    changes: Sequence[str],
    files: Sequence[ReleaseFile],
    digest: Callable[[Path], str],
    browse: Sequence[tuple[str, str, str]] = (),
    national_map: MapIndex,
    changelog: dict[str, Any],
) -> None:
    """``index.html`` of one release and the vendored map library.

    The data files among ``files`` are offered for download, with their SHA-256 (``digest``);
    ``browse``: the (level, code, name) of the units whose pages the front page links (the
    country and its regions); every unit is found by the search box. ``national_map``: what
    the map's selectors offer (its data: ``national_map.write_national_map``).
    """
    copy_assets(folder)
    rows = "\n".join(
        f'<tr><td><a href="{_e(f.path)}" download>{_e(f.path)}</a></td>'
        f"<td>{both_text(f.title_cs, f.title_en)}</td>"
        f"<td>{_size((folder / f.path).stat().st_size)}</td>"
        f"<td><code>{digest(folder / f.path)}</code></td></tr>"
        for f in files
        if f.is_data
    )
    rules = "\n".join(f"<li>{both_text(cs, en)}</li>" for cs, en in policy_in_words(policy))
    changed = "\n".join(f"<li>{_e(line)}</li>" for line in changes) + "".join(
        f"\n<li>{both_text(cs, en)}</li>" for cs, en in changelog_lines(changelog)
    )
    cost = "\n".join(
        f"<tr><td>{both_text(cs, en)}</td><td>{_e(value)}</td></tr>"
        for cs, en, value in protection_cost_rows(audit)
    )
    browse_links = " · ".join(
        f'<a href="units/{_e(level)}-{_e(code)}.html">{_e(name)}</a>'
        for level, code, name in browse
    )
    last_month = max(months)
    suppressed, cells = int(audit.get("suppressed", 0)), int(audit.get("cells", 0))
    hidden = both(
        f"{suppressed:,} z {cells:,} buněk skryto", f"{suppressed:,} of {cells:,} cells suppressed"
    )
    verdict = both("prošel", "passed") if audit.get("passed") else both("NEPROŠEL", "FAILED")
    page = f"""<!doctype html>
<html lang="cs">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(title)} – {_e(version)}</title>
<link rel="stylesheet" href="assets/leaflet/leaflet.css">
<link rel="stylesheet" href="assets/portal.css">
</head>
<body>
{switch()}
<p><a href="../index.html">{both("Všechna vydání", "All releases")}</a></p>
<h1>{_e(title)}</h1>
<p>{both("Vydání", "Release")} <strong>{_e(version)}</strong>, data {_e(min(months))} –
{_e(last_month)}. Licence: <a href="{_e(licence.url)}">{_e(licence.id)}</a>.</p>
{search_section("")}
<p>{both("Procházet:", "Browse:")} {browse_links}</p>
{licence_section(licence, sources)}
<h2>{both("Mapa", "Map")}</h2>
{map_section(national_map, policy)}
<h2>{both("Soubory", "Files")}</h2>
<p>{both("Kontrolní součty", "Checksums")}: <a href="SHA256SUMS">SHA256SUMS</a>,
<a href="manifest.json">manifest.json</a>, <a href="datapackage.json">datapackage.json</a>,
{both("katalogizační záznam", "catalogue record")}
<a href="catalog/dataset.jsonld">DCAT-AP-CZ</a>.</p>
<table class="files"><thead><tr><th>{both("soubor", "file")}</th>
<th>{both("obsah", "contents")}</th><th>{both("velikost", "size")}</th><th>SHA-256</th></tr>
</thead><tbody>
{rows}
</tbody></table>
<h2>{both("Ochrana obětí", "Protecting victims")}</h2>
<p>{both("Pravidla", "Rules")}: <a href="disclosure-policy.yaml">disclosure-policy.yaml</a>;
audit: <a href="audit.json">audit.json</a> ({verdict};
{hidden}).</p>
<ul>
{rules}
</ul>
<table><thead><tr><th>{both("co ochrana stojí", "what protection costs")}</th><th></th></tr>
</thead>
<tbody>
{cost}
</tbody></table>
<h2>{both("Co se změnilo", "What changed")}</h2>
<ul>
{changed}
</ul>
<p>{both("Každý změněný údaj", "Every changed figure")}:
<a href="changes.csv" download>changes.csv</a>.</p>
{revised_section(version)}
<p>{both("Ověření dat", "Validation")}:
<a href="validation/data_docs/index.html">Great Expectations Data Docs</a>.</p>
<script src="units/search.js"></script>
<script src="assets/search.js"></script>
<script src="assets/leaflet/leaflet.js"></script>
<script src="map/areas.js"></script>
<script src="assets/national-map.js"></script>
<script src="assets/revised.js"></script>
</body>
</html>
"""
    write_bytes_atomic(folder / "index.html", page.encode("utf-8"))


def revised_section(version: str) -> str:
    """Where the release page lists the figures that changed in it after a report named them
    (``assets/revised.js`` fills it from the intake when the portal is served beside Airflow;
    the list is no part of the release's bytes, README "Feedback to the police")."""
    source = f"../../api/feedback/revised?release={_e(version)}"
    return f"""<div id="revised-after-report" data-revised="{source}" hidden>
<h3>{both("Opraveno po podnětu", "Corrected after a report")}</h3>
<ul></ul>
</div>"""


def changelog_lines(summary: dict[str, Any]) -> list[tuple[str, str]]:
    """The changelog's summary (``changelog.write_changes``) in words, (Czech, English)."""
    if not summary.get("compared_with"):
        return []
    cells, before = summary["cells"], summary["compared_with"]
    lines = [
        (
            f"Proti vydání {before}: opravené počty {cells['revised']:,}, nově skryté buňky "
            f"{cells['now_suppressed']:,}, nově zveřejněné {cells['now_published']:,}, nové "
            f"{cells['new']:,}, zrušené {cells['gone']:,}.",
            f"Against release {before}: {cells['revised']:,} counts revised, "
            f"{cells['now_suppressed']:,} cells now hidden, {cells['now_published']:,} now "
            f"published, {cells['new']:,} new, {cells['gone']:,} gone.",
        )
    ]
    if summary["months_with_changes"]:
        months = ", ".join(summary["months_with_changes"])
        lines.append(
            (f"Měsíce se změněnými údaji: {months}.", f"Months with changed figures: {months}.")
        )
    if summary["months_dropped"]:
        months = ", ".join(summary["months_dropped"])
        lines.append((f"Vypuštěné měsíce: {months}.", f"Months dropped: {months}."))
    if summary["years_over_other_months"]:
        years = ", ".join(summary["years_over_other_months"])
        lines.append(
            (
                f"Roční údaje sečtené za jiné měsíce než předtím: {years}.",
                f"Years now summed over other months: {years}.",
            )
        )
    return lines


def map_section(index: MapIndex, policy: DisclosurePolicy) -> str:
    """The national map's selectors, legend and the data they choose from."""
    months = [p for p in index.periods if len(p) == 7]
    newest = max(months) if months else index.periods[-1]
    period_options = "".join(
        f'<option value="{_e(p)}"{" selected" if p == newest else ""}>{_e(p)}</option>'
        for p in index.periods
    )
    offence_options = "".join(option(code, cs, en) for code, cs, en in index.offences)
    per_en = f"{policy.rates.per:,}"
    config = index.config() | {
        "minPopulation": policy.rates.min_population,
        "hiddenReason": HIDDEN_REASON,
    }
    per_cs = f"{policy.rates.per:,}".replace(",", "\u00a0")
    data = json.dumps(config, ensure_ascii=False, sort_keys=True).replace("</", "<\\/")
    k = policy.incidents.k
    explained = both(
        "Obce podle zvoleného období, trestné činnosti a ukazatele; šedé jsou skryté (malý "
        f"počet, nebo skryto, aby malé počty nešlo dopočítat), body jsou třídy nejméně {k} "
        "záznamů.",
        "Municipalities by the chosen period, offences and measure; grey ones are hidden (a "
        "small count, or hidden so that small counts cannot be worked out), points are classes "
        f"of at least {k} records.",
    )
    measures = option("count", "počet", "count") + option(
        "rate", f"na {per_cs} obyvatel", f"per {per_en} inhabitants"
    )
    return f"""<p>{explained}</p>
<form class="map-controls" onsubmit="return false">
<label>{both("Období", "Period")} <select id="map-period">{period_options}</select></label>
<label>{both("Trestná činnost", "Offences")}
<select id="map-offence">{offence_options}</select></label>
<label>{both("Ukazatel", "Measure")} <select id="map-measure">{measures}</select></label>
<label><input type="checkbox" id="map-points"> {both("body", "points")}</label>
</form>
<p><output id="map-summary" aria-live="polite"></output></p>
<div id="map" role="img" {attribute("aria-label", "Mapa obcí", "Map of the municipalities")}>
</div>
<ul id="map-legend" class="map-legend" {attribute("aria-label", "Legenda", "Legend")}></ul>
<script type="application/json" id="map-config">{data}</script>"""


def copy_assets(folder: Path) -> None:
    """The pages' scripts, styles and the vendored map library, into ``folder/assets``."""
    shutil.copytree(ASSETS, folder / "assets", dirs_exist_ok=True)


def search_section(base: str) -> str:
    """The search box: a unit by name (any case, with or without diacritics) or code. ``base``:
    the release folder relative to the page."""
    return f"""<section aria-labelledby="find">
<h2 id="find">{both("Najít obec, okres nebo kraj", "Find a municipality, district or region")}
</h2>
<form role="search"><label for="search">{both("Název nebo kód", "Name or code")}</label>
<input id="search" type="search" autocomplete="off" data-base="{_e(base)}"
{attribute("placeholder", "např. Mladá Boleslav", "e.g. Mladá Boleslav")}></form>
<p aria-live="polite">{both("Nalezeno", "Found")}: <output id="search-count">0</output></p>
<ul id="search-results"></ul>
</section>"""


def write_dataset_index(dataset_dir: Path, title: str, releases: Sequence[dict[str, Any]]) -> None:
    """``index.html`` listing every release, newest first (rewritten after each publish), with
    the newest release's search box."""
    newest = next((r for r in releases if r.get("latest")), None)
    assets = dataset_dir / str(newest["version"]) / "assets" if newest else None
    search = (
        search_section(f"{newest['version']}/")
        + f'\n<script src="{_e(newest["version"])}/units/search.js"></script>'
        + f'\n<script src="{_e(newest["version"])}/assets/search.js"></script>'
        if newest and (dataset_dir / str(newest["version"]) / "units" / "search.js").exists()
        else ""
    )
    # the newest release's switch: without one, the page stays Czech
    language = (
        switch(f"{newest['version']}/{LANGUAGE_SCRIPT}")
        if newest and assets is not None and (assets / "language.js").exists()
        else ""
    )
    rows = "\n".join(
        f'<tr><td><a href="{_e(r["version"])}/index.html">{_e(r["version"])}</a></td>'
        f"<td>{_e(r['first_month'])} – {_e(r['last_month'])}</td>"
        f"<td>{both('nejnovější', 'latest') if r.get('latest') else ''}</td></tr>"
        for r in sorted(releases, key=lambda r: str(r["order"]), reverse=True)
    )
    page = f"""<!doctype html>
<html lang="cs">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(title)}</title><style>{STYLE}</style></head>
<body>
{language}
<h1>{_e(title)}</h1>
<p>{
        both(
            "Každé vydání je neměnné; oprava je nové vydání.",
            "Every release is immutable; a correction is a new release.",
        )
    }</p>
<table><thead><tr><th>{both("vydání", "release")}</th><th>data</th><th></th></tr></thead><tbody>
{rows}
</tbody></table>
{search}
</body>
</html>
"""
    write_bytes_atomic(dataset_dir / "index.html", page.encode("utf-8"))
