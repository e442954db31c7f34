"""Which licence a release may carry: the most open one every input's licence allows.

Each source declares its licence and the attribution it requires (``SourceTerms``). Creative
Commons licences are sets of conditions (BY: attribution; SA: share alike; NC: non-commercial);
a work derived from several inputs carries every condition of any of them, so the release's
licence is the one whose conditions are their union: CC BY 4.0 where every input is CC BY or
CC0, CC BY-NC 4.0 as soon as one input is non-commercial. A non-commercial release is not open
data (the Open Definition excludes the clause), and the portal says so and which input makes it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from transforms.plumbing.errors import PermanentFailure


@dataclass(frozen=True)
class Licence:
    id: str  # SPDX identifier
    title: str
    url: str
    conditions: frozenset[str]

    @property
    def is_open(self) -> bool:
        """Open in the Open Definition's sense: anyone may reuse it, commercially too."""
        return "NC" not in self.conditions


LICENCES = {
    licence.id: licence
    for licence in (
        Licence(
            "CC0-1.0",
            "Creative Commons Zero v1.0 Universal",
            "https://creativecommons.org/publicdomain/zero/1.0/",
            frozenset(),
        ),
        Licence(
            "CC-BY-4.0",
            "Creative Commons Attribution 4.0 International",
            "https://creativecommons.org/licenses/by/4.0/",
            frozenset({"BY"}),
        ),
        Licence(
            "CC-BY-SA-4.0",
            "Creative Commons Attribution-ShareAlike 4.0 International",
            "https://creativecommons.org/licenses/by-sa/4.0/",
            frozenset({"BY", "SA"}),
        ),
        Licence(
            "CC-BY-NC-4.0",
            "Creative Commons Attribution-NonCommercial 4.0 International",
            "https://creativecommons.org/licenses/by-nc/4.0/",
            frozenset({"BY", "NC"}),
        ),
        Licence(
            "CC-BY-NC-SA-4.0",
            "Creative Commons Attribution-NonCommercial-ShareAlike 4.0 International",
            "https://creativecommons.org/licenses/by-nc-sa/4.0/",
            frozenset({"BY", "NC", "SA"}),
        ),
    )
}


class UnknownLicence(PermanentFailure, ValueError):
    """A source declares a licence this project cannot combine."""


@dataclass(frozen=True)
class SourceTerms:
    """What a source allows and asks: its licence (an SPDX id of :data:`LICENCES`), the
    attribution a reuser must give, and where the source is described."""

    source: str  # police, boundaries, population
    licence: str
    attribution: str
    url: str = ""

    def to_json(self) -> dict[str, str]:
        return {
            "source": self.source,
            "licence": self.licence,
            "attribution": self.attribution,
            "url": self.url,
        }


def licence(licence_id: str) -> Licence:
    try:
        return LICENCES[licence_id]
    except KeyError:
        known = ", ".join(LICENCES)
        raise UnknownLicence(f"unknown licence {licence_id!r}: use one of {known}") from None


def release_licence(terms: Iterable[SourceTerms]) -> Licence:
    """The most open licence every input allows: the union of their conditions."""
    conditions = frozenset().union(*(licence(t.licence).conditions for t in terms))
    return next(entry for entry in LICENCES.values() if entry.conditions == conditions)


def restricting(terms: Iterable[SourceTerms], chosen: Licence) -> list[SourceTerms]:
    """The inputs whose licence makes the release non-commercial (none for an open one)."""
    if chosen.is_open:
        return []
    return [t for t in terms if "NC" in licence(t.licence).conditions]


TERM_FIELDS = ("licence", "attribution", "url")


def merged_terms(
    defaults: Iterable[SourceTerms], *overrides: Mapping[str, Mapping[str, Any]]
) -> list[SourceTerms]:
    """``defaults`` (a country's sources), each replaced by the terms an override declares
    for it, later overrides winning: the input folder's (``sources.json``), then the settings'.
    A declaration replaces the whole entry: other data come with their own attribution and
    address, never with the default provider's."""
    merged = {t.source: t.to_json() for t in defaults}
    for override in overrides:
        for source, fields in override.items():
            declared = {k: str(v) for k, v in dict(fields).items() if k in TERM_FIELDS}
            merged[source] = {**declared, "source": source}
    terms = []
    for source, fields in sorted(merged.items()):
        missing = [k for k in ("licence", "attribution") if not fields.get(k)]
        if missing:
            raise UnknownLicence(f"source {source!r} declares no {' and no '.join(missing)}")
        licence(fields["licence"])  # refused here, before any table is built, if unknown
        terms.append(SourceTerms(**fields))
    return terms
