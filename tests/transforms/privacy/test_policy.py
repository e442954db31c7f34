"""The disclosure policy: the shipped one is valid; inconsistent ones are refused before any run."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from transforms.privacy.policy import (
    PolicyError,
    check_against_code_list,
    load_policy,
    sensitive_codes,
)

SHIPPED = Path(__file__).resolve().parents[3] / "policy" / "disclosure.yaml"


def variant(tmp_path: Path, change) -> Path:
    document = yaml.safe_load(SHIPPED.read_text())
    change(document)
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True))
    return path


def test_shipped_policy_defaults() -> None:
    policy, raw = load_policy(SHIPPED)
    assert policy.incidents.k == 5
    assert policy.incidents.grid_levels_m == (250, 500, 1000, 2000, 5000)
    assert policy.aggregates.primary_threshold == 3
    assert policy.sensitive.threshold == 10
    assert policy.protection_width(False) == 3 and policy.protection_width(True) == 10
    assert policy.sensitive.min_geo_level == "district"
    assert raw == SHIPPED.read_bytes()
    municipal = policy.tier("municipal")
    assert municipal.incidents.k == 3 and not municipal.aggregates.secondary_suppression
    with pytest.raises(PolicyError, match=r"no tier 'county'.*municipal"):
        policy.tier("county")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["incidents"].update(k=1), "k"),
        (lambda d: d["aggregates"].update(primary_threshold=0), "primary_threshold"),
        (lambda d: d["incidents"].update(grid_levels_m=[500, 250]), "ascending"),
        (lambda d: d["sensitive"].update(threshold=2), "sensitive.threshold"),
        (lambda d: d["sensitive"].update(min_geo_level="street"), "min_geo_level"),
        (lambda d: d.update(unknown_rule=True), "unknown_rule"),
        (lambda d: d["time"].update(granularity="day"), "granularity"),
        # contract tiers: none may be called public, relax the sensitive rules or hide more
        # than the sensitive threshold would show
        (lambda d: d["tiers"].update(public=d["tiers"]["municipal"]), "tier 'public'"),
        (lambda d: d["tiers"]["municipal"].update(sensitive={"threshold": 1}), "sensitive"),
        (lambda d: d["tiers"]["municipal"]["incidents"].update(k=1), "k"),
        (
            lambda d: d["tiers"]["municipal"]["aggregates"].update(primary_threshold=11),
            "above sensitive.threshold",
        ),
        (lambda d: d["tiers"]["municipal"].update(parties=["street"]), "parties"),
        (
            lambda d: d["tiers"]["municipal"]["aggregates"].update(secondary_suppression=True),
            "secondary_suppression: true is not built",
        ),
        (lambda d: d["tiers"].update({"Municipal!": d["tiers"]["municipal"]}), "tier name"),
    ],
)
def test_inconsistent_policies_are_refused(tmp_path: Path, change, message: str) -> None:
    with pytest.raises(PolicyError, match=message):
        load_policy(variant(tmp_path, change))


def test_unknown_sensitive_code_is_refused(tmp_path: Path) -> None:
    policy, _ = load_policy(variant(tmp_path, lambda d: d["sensitive"].update(codes=[6, 4242])))
    with pytest.raises(PolicyError, match=r"\[4242\]"):
        check_against_code_list(policy, {6: "Znásilnění", 7: "Týrání"})


def test_sensitive_codes_by_name_and_below() -> None:
    policy, _ = load_policy(SHIPPED)
    names = {
        1: "NÁSILNÁ TRESTNÁ ČINNOST",
        6: "Znásilnění",
        60: "Znásilnění dítěte (podtyp)",
        7: "Týrání osoby žijící ve společném obydlí",
        8: "Pohlavní zneužití",
        9: "Obchodování s lidmi",
        35: "KRÁDEŽE",
        44: "Krádež v obchodě",
    }
    parent = {1: None, 6: 1, 60: 6, 7: 1, 8: 1, 9: 1, 35: None, 44: 35}
    assert sensitive_codes(policy, names, parent) == {6, 60, 7, 8, 9}
