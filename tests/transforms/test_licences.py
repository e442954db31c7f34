"""A release's licence: the most open one every input allows, and who must be credited."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from transforms.domain.licences import (
    LICENCES,
    SourceTerms,
    UnknownLicence,
    merged_terms,
    release_licence,
    restricting,
)


def terms(*licences: str) -> list[SourceTerms]:
    return [SourceTerms(f"source{i}", lic, f"Source {i}") for i, lic in enumerate(licences)]


@pytest.mark.parametrize(
    ("inputs", "released"),
    [
        (["CC-BY-4.0", "CC-BY-4.0", "CC-BY-4.0"], "CC-BY-4.0"),  # the generated sample
        (["CC0-1.0", "CC-BY-4.0"], "CC-BY-4.0"),
        (["CC-BY-NC-4.0", "CC-BY-4.0", "CC-BY-4.0"], "CC-BY-NC-4.0"),  # the real police data
        (["CC-BY-SA-4.0", "CC-BY-NC-4.0"], "CC-BY-NC-SA-4.0"),
        (["CC0-1.0"], "CC0-1.0"),
    ],
)
def test_the_release_takes_every_condition_of_its_inputs(inputs, released) -> None:
    assert release_licence(terms(*inputs)).id == released


@given(st.lists(st.sampled_from(sorted(LICENCES)), min_size=1, max_size=5))
def test_no_input_is_ever_licensed_more_narrowly_than_the_release(inputs: list[str]) -> None:
    chosen = release_licence(terms(*inputs))
    # every condition of every input holds for the release, and nothing more is added
    assert chosen.conditions == frozenset().union(*(LICENCES[i].conditions for i in inputs))
    assert chosen.is_open == all(LICENCES[i].is_open for i in inputs)
    named = {t.source for t in restricting(terms(*inputs), chosen)}
    assert named == {f"source{i}" for i, lic in enumerate(inputs) if not LICENCES[lic].is_open}


def test_a_folder_and_the_settings_override_the_country_in_that_order() -> None:
    defaults = [
        SourceTerms("police", "CC-BY-NC-4.0", "Policie ČR", "https://p"),
        SourceTerms("population", "CC-BY-4.0", "ČSÚ", "https://c"),
    ]
    folder = {"police": {"licence": "CC-BY-4.0", "attribution": "generated sample"}}
    settings = {"population": {"licence": "CC0-1.0", "attribution": "own count", "url": "u"}}
    police, population = merged_terms(defaults, folder, settings)
    # a declaration replaces the entry: the sample is not credited to the police's address
    assert police == SourceTerms("police", "CC-BY-4.0", "generated sample", "")
    assert population == SourceTerms("population", "CC0-1.0", "own count", "u")
    assert merged_terms(defaults, folder, {"police": settings["population"]})[0].attribution == (
        "own count"
    )


@pytest.mark.parametrize(
    ("declared", "message"),
    [
        ({"police": {"licence": "proprietary", "attribution": "x"}}, "unknown licence"),
        ({"weather": {"licence": "CC-BY-4.0"}}, "source 'weather' declares no attribution"),
    ],
)
def test_a_source_without_known_terms_is_refused(declared: dict, message: str) -> None:
    with pytest.raises(UnknownLicence, match=message):
        merged_terms([], declared)
