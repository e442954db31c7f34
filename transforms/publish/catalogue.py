"""The release's DCAT-AP-CZ record: what a local open-data catalogue (LKOD) serves for NKOD.

One dataset record per release, with a distribution per data file in a catalogued format. IRIs
are built from the address the releases are served at (``OPENCRIME_PUBLIC_BASE_URL``), so a
municipality that mirrors the release folder only changes that setting.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from transforms.domain.periods import Month
from transforms.publish.contents import MEDIA_TYPES, ReleaseFile

CONTEXT = (
    "https://ofn.gov.cz/dcat-ap-cz-rozhraní-katalogů-otevřených-dat/2024-05-28/kontexty/"
    "rozhraní-katalogů-otevřených-dat.jsonld"
)
EU = "http://publications.europa.eu/resource/authority"
IANA = "http://www.iana.org/assignments/media-types"
# EU file-type authority codes: a file in another format is not listed as a distribution
EU_FILE_TYPES = {"csv": "CSV", "parquet": "PARQUET", "geojson": "GEOJSON"}
NO_PERSONAL_DATA = "https://data.gov.cz/podmínky-užití/neobsahuje-osobní-údaje/"
NO_SUI_GENERIS = (
    "https://data.gov.cz/podmínky-užití/není-chráněna-zvláštním-právem-pořizovatele-databáze/"
)


def dataset_record(
    *,
    base_url: str,
    dataset_id: str,
    version: str,
    publisher_iri: str,
    months: Sequence[str],
    licence_url: str,
    author: str,
    files: Sequence[ReleaseFile],
) -> dict[str, Any]:
    """A DCAT-AP-CZ "Datová sada" for one release (``base_url``/``dataset_id``/``version``/…)."""
    release = f"{base_url.rstrip('/')}/{dataset_id}/{version}"
    first, last = Month.parse(min(months)), Month.parse(max(months))
    return {
        "@context": CONTEXT,
        "iri": f"{release}/catalog/dataset.jsonld",
        "typ": "Datová sada",
        "název": {
            "cs": f"Kriminalita v Česku, vydání {version}",
            "en": f"Crime in Czechia, release {version}",
        },
        "popis": {
            "cs": (
                "Trestné činy evidované Policií ČR podle obcí, okresů, krajů a celé země, "
                "po měsících a za rok, podle druhu a skupiny; malé počty jsou skryty a body "
                "zobecněny do buněk s nejméně k záznamy (zveřejněná pravidla a audit v balíčku)."
            ),
            "en": (
                "Offences recorded by the Police of the Czech Republic by municipality, "
                "district, region and country, by month and year, by type and group; small "
                "counts are suppressed and points generalised to cells of at least k records "
                "(the published policy and audit are part of the release)."
            ),
        },
        "poskytovatel": publisher_iri,
        "téma": [f"{EU}/data-theme/JUST"],
        "periodicita_aktualizace": f"{EU}/frequency/MONTHLY",
        "klíčové_slovo": {
            "cs": ["kriminalita", "trestné činy", "bezpečnost", "obce"],
            "en": ["crime", "offences", "public safety", "municipalities"],
        },
        "prvek_rúian": ["https://linked.cuzk.cz/resource/ruian/stat/1"],
        "geografické_území": [f"{EU}/country/CZE"],
        "časové_pokrytí": {
            "typ": "Časový interval",
            "začátek": first.first_day.isoformat(),
            "konec": (last.next().first_day - timedelta(days=1)).isoformat(),
        },
        "časové_rozlišení": "P1M",
        "dokumentace": f"{release}/datapackage.json",
        "distribuce": [
            _distribution(release, item, licence_url, author)
            for item in files
            if item.format in EU_FILE_TYPES
        ],
    }


def _distribution(release: str, item: ReleaseFile, licence_url: str, author: str) -> dict[str, Any]:
    url = f"{release}/{item.path}"
    return {
        "iri": f"{release}/catalog/dataset.jsonld#{item.path}",
        "typ": "Distribuce",
        "název": {"cs": item.title_cs, "en": item.title_en},
        "podmínky_užití": {
            "typ": "Specifikace podmínek užití",
            "autorské_dílo": licence_url,
            "autor": {"cs": author},
            "databáze_jako_autorské_dílo": licence_url,
            "autor_databáze": {"cs": author},
            "databáze_chráněná_zvláštními_právy": NO_SUI_GENERIS,
            # disclosure control is what makes this true: see the policy in the release
            "osobní_údaje": NO_PERSONAL_DATA,
        },
        "přístupové_url": url,
        "soubor_ke_stažení": url,
        "formát": f"{EU}/file-type/{EU_FILE_TYPES[item.format]}",
        "typ_média": f"{IANA}/{MEDIA_TYPES[item.format]}",
    }
