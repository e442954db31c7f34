"""The DCAT-AP-CZ records a local open-data catalogue (LKOD) serves for NKOD.

The dataset is a series (``<dataset>/catalog/series.jsonld``, rewritten with each release) and
each release a dataset record that is part of it (``<release>/catalog/dataset.jsonld``), with a
distribution per data file, vector tiles included. IRIs are built from the address the releases
are served at (``OPENCRIME_PUBLIC_BASE_URL``, no default: a record must not point at a
placeholder), so a municipality that mirrors the release folder only changes that setting.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
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
EU_FILE_TYPES = {"csv": "CSV", "parquet": "PARQUET", "geojson": "GEOJSON", "pmtiles": "BIN"}
# a type IANA has not registered is catalogued as plain bytes (its title names the format)
CATALOGUE_MEDIA_TYPES = {"pmtiles": "application/octet-stream"}
NO_PERSONAL_DATA = "https://data.gov.cz/podmínky-užití/neobsahuje-osobní-údaje/"
NO_SUI_GENERIS = (
    "https://data.gov.cz/podmínky-užití/není-chráněna-zvláštním-právem-pořizovatele-databáze/"
)


@dataclass(frozen=True)
class Publisher:
    """Who publishes the dataset, and whom to write to about it."""

    base_url: str  # where the releases folder is served, https
    iri: str  # the organisation in the public-administration register (RPP)
    name: str
    contact_name: str | None = None
    contact_email: str | None = None

    def dataset_url(self, dataset_id: str) -> str:
        return f"{self.base_url.rstrip('/')}/{dataset_id}"

    def series_iri(self, dataset_id: str) -> str:
        return f"{self.dataset_url(dataset_id)}/catalog/series.jsonld"

    def contact_point(self) -> dict[str, Any]:
        if not self.contact_email:
            return {}
        return {
            "kontaktní_bod": {
                "typ": "Organizace",
                "jméno": {"cs": self.contact_name or self.name},
                "e-mail": f"mailto:{self.contact_email}",
            }
        }


TITLE = {"cs": "Kriminalita v Česku", "en": "Crime in Czechia"}
DESCRIPTION = {
    "cs": (
        "Trestné činy evidované Policií ČR podle obcí, okresů, krajů a celé země, po měsících "
        "a za rok, podle druhu a skupiny; malé počty jsou skryty a body zobecněny do buněk s "
        "nejméně k záznamy (zveřejněná pravidla a audit v balíčku)."
    ),
    "en": (
        "Offences recorded by the Police of the Czech Republic by municipality, district, "
        "region and country, by month and year, by type and group; small counts are "
        "suppressed and points generalised to cells of at least k records (the published "
        "policy and audit are part of the release)."
    ),
}


def _common(publisher: Publisher, months: Sequence[str]) -> dict[str, Any]:
    """What the series and each of its releases say alike."""
    first, last = Month.parse(min(months)), Month.parse(max(months))
    return {
        "poskytovatel": publisher.iri,
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
    } | publisher.contact_point()


def series_record(
    *, publisher: Publisher, dataset_id: str, months: Sequence[str]
) -> dict[str, Any]:
    """The dataset series every release belongs to: ``months`` are those of all its releases.
    The latest release's portal page documents it."""
    return {
        "@context": CONTEXT,
        "iri": publisher.series_iri(dataset_id),
        "typ": "Datová sada",
        "název": TITLE,
        "popis": DESCRIPTION,
        **_common(publisher, months),
        "dokumentace": f"{publisher.dataset_url(dataset_id)}/latest/",
    }


def dataset_record(
    *,
    publisher: Publisher,
    dataset_id: str,
    version: str,
    months: Sequence[str],
    licence_url: str,
    author: str,
    files: Sequence[ReleaseFile],
    title: Mapping[str, str] = TITLE,
    description: Mapping[str, str] = DESCRIPTION,
) -> dict[str, Any]:
    """A DCAT-AP-CZ "Datová sada" for one release (``base_url``/``dataset_id``/``version``/…),
    part of the dataset's series; ``title``, ``description``: the dataset's (Czech, English)."""
    release = f"{publisher.dataset_url(dataset_id)}/{version}"
    return {
        "@context": CONTEXT,
        "iri": f"{release}/catalog/dataset.jsonld",
        "typ": "Datová sada",
        "název": {
            "cs": f"{title['cs']}, vydání {version}",
            "en": f"{title['en']}, release {version}",
        },
        "popis": dict(description),
        **_common(publisher, months),
        "dokumentace": f"{release}/datapackage.json",
        "je_součástí": publisher.series_iri(dataset_id),
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
        "typ_média": f"{IANA}/{CATALOGUE_MEDIA_TYPES.get(item.format, MEDIA_TYPES[item.format])}",
    }
