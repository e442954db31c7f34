"""What the pipeline needs to know about a country: bounds, native CRS, time zone.

One profile per country; the Czech one is the first. Nothing else in the code names a country.
"""

from __future__ import annotations

from dataclasses import dataclass

from transforms.domain.licences import SourceTerms


@dataclass(frozen=True)
class CountryProfile:
    code: str
    name: str
    timezone: str
    # Generous WGS84 bounding box (lon_min, lat_min, lon_max, lat_max), degrees.
    bbox: tuple[float, float, float, float]
    native_crs: str
    # Extent of the native projected CRS inside the country, metres: how a file in the wrong CRS
    # is recognised.
    native_extent: tuple[float, float, float, float]
    # Where the published data come from: each source's licence and the attribution it asks,
    # unless the input folder or the settings declare other terms (domain.licences)
    sources: tuple[SourceTerms, ...] = ()


CZECHIA = CountryProfile(
    code="CZ",
    name="Česko",
    timezone="Europe/Prague",
    bbox=(12.05, 48.50, 18.90, 51.10),
    native_crs="EPSG:5514",  # S-JTSK / Krovak East North: negative coordinates
    native_extent=(-910_000.0, -1_250_000.0, -420_000.0, -920_000.0),
    sources=(
        SourceTerms(
            "police",
            # the police publish their point data for non-commercial use
            "CC-BY-NC-4.0",
            "Policie České republiky: Mapa kriminality, open data",
            "https://kriminalita.policie.gov.cz/",
        ),
        SourceTerms(
            "boundaries",
            "CC-BY-4.0",
            "ČÚZK: Registr územní identifikace, adres a nemovitostí (RÚIAN)",
            "https://nahlizenidokn.cuzk.cz/StahniAdresniMistaRUIAN.aspx",
        ),
        SourceTerms(
            "population",
            "CC-BY-4.0",
            "Český statistický úřad: Počet obyvatel v obcích",
            "https://csu.gov.cz/",
        ),
        # no open licence is stated for these: non-commercial until the operator declares
        # other terms (sources.json)
        SourceTerms(
            "police_statistics",
            "CC-BY-NC-4.0",
            "Policie České republiky: Statistický výkaz č. 1 – kriminalita",
            "https://www.policie.gov.cz/",
        ),
        SourceTerms(
            "police_districts",
            "CC-BY-NC-4.0",
            "Policie České republiky: hranice územních odborů a obvodních oddělení",
            "https://www.policie.gov.cz/",
        ),
    ),
)

PROFILES = {CZECHIA.code: CZECHIA}
