"""The disclosure policy as a typed, validated object, loaded from ``policy/disclosure.yaml``.

A policy that is inconsistent in itself (k < 2, a threshold under 1, grid levels out of order) is
refused when loaded; one that names offence codes the police code list does not know is refused by
:func:`check_against_code_list` before any table is built.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from transforms.plumbing.errors import PermanentFailure

GEO_LEVELS = ("municipality", "district", "region", "country")
PUBLIC_TIER = "public"


class PolicyError(PermanentFailure, ValueError):
    """The policy file is missing, malformed or internally inconsistent."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class IncidentRules(_Strict):
    k: int = Field(ge=2, description="minimum size of every published class")
    grid_levels_m: tuple[int, ...] = Field(min_length=1)
    municipality_fallback: bool = True

    @model_validator(mode="after")
    def _ascending(self) -> IncidentRules:
        levels = self.grid_levels_m
        if any(size <= 0 for size in levels) or list(levels) != sorted(set(levels)):
            raise ValueError(f"grid_levels_m must be positive and ascending, got {list(levels)}")
        return self


class AggregateRules(_Strict):
    primary_threshold: int = Field(ge=1, description="counts 1..threshold-1 are suppressed")
    protection_width: int | None = Field(default=None, ge=1)
    hidden_min_width: int = Field(
        default=1, ge=1, description="interval every other hidden non-zero cell must keep"
    )


class SensitiveRules(_Strict):
    threshold: int = Field(ge=1)
    min_geo_level: Literal["municipality", "district", "region", "country"]
    codes: tuple[int, ...] = ()
    name_patterns: tuple[str, ...] = ()


class RateRules(_Strict):
    per: int = Field(gt=0)
    min_population: int = Field(ge=0)

    def rates(self, counts: np.ndarray, population: np.ndarray) -> np.ndarray:
        """Offences per ``per`` inhabitants, rounded to 2 decimals, as a release publishes them:
        only for published counts (negative: hidden or none) of units with at least
        ``min_population`` inhabitants, NaN elsewhere. ``population`` broadcasts against
        ``counts`` (NaN: unknown)."""
        people = np.asarray(population, dtype=np.float64)
        allowed = (people >= self.min_population) & (people > 0) & (counts >= 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(allowed, np.round(counts * self.per / people, 2), np.nan)


class TimeRules(_Strict):
    granularity: Literal["month"]
    release_lag_months: int = Field(default=1, ge=0)
    retention_years: int = Field(default=15, ge=1)


PARTY_LEVELS = ("municipality", "district", "region")  # who can sign a data-sharing contract


class TierAggregates(_Strict):
    primary_threshold: int = Field(ge=1, description="counts 1..threshold-1 are suppressed")
    secondary_suppression: bool


class TierRules(_Strict):
    """What a data-sharing contract of this tier gives its party, for its own territory only.
    The sensitive offences' rules are the public ones in every tier: no tier can relax them."""

    description: str = Field(min_length=1)
    parties: tuple[Literal["municipality", "district", "region"], ...] = Field(min_length=1)
    incidents: IncidentRules
    aggregates: TierAggregates


class DisclosurePolicy(_Strict):
    id: str = Field(min_length=1)
    version: str = Field(min_length=1)
    incidents: IncidentRules
    aggregates: AggregateRules
    sensitive: SensitiveRules
    rates: RateRules
    time: TimeRules
    # data-sharing contracts' tiers by name; "public" is the rules above
    tiers: dict[str, TierRules] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> DisclosurePolicy:
        if self.sensitive.threshold < self.aggregates.primary_threshold:
            raise ValueError(
                "sensitive.threshold must not be lower than aggregates.primary_threshold"
            )
        if PUBLIC_TIER in self.tiers:
            raise ValueError(f"tier '{PUBLIC_TIER}' is the policy's own rules: name it otherwise")
        for name, tier in self.tiers.items():
            if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
                raise ValueError(f"tier name '{name}': lower-case letters, digits and _ only")
            if tier.aggregates.secondary_suppression:
                raise ValueError(
                    f"tier '{name}': secondary_suppression: true is not built (a package "
                    "withholds only what protects other places: docs/disclosure-policy.md)"
                )
            if tier.aggregates.primary_threshold > self.sensitive.threshold:
                raise ValueError(
                    f"tier '{name}': aggregates.primary_threshold above sensitive.threshold "
                    "would hide ordinary counts the sensitive rule publishes"
                )
        return self

    def tier(self, name: str) -> TierRules:
        """A contract tier by name; a clear error for one the policy does not define."""
        if name not in self.tiers:
            known = ", ".join(sorted(self.tiers)) or "none"
            raise PolicyError(
                f"policy {self.id} {self.version} has no tier '{name}' (its tiers: {known})"
            )
        return self.tiers[name]

    def threshold(self, sensitive: bool) -> int:
        return self.sensitive.threshold if sensitive else self.aggregates.primary_threshold

    def protection_width(self, sensitive: bool) -> int:
        return self.aggregates.protection_width or self.threshold(sensitive)


def load_policy(path: Path) -> tuple[DisclosurePolicy, bytes]:
    """The policy and its exact bytes (published with every release, hashed in the manifest)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise PolicyError(f"disclosure policy not found at {path}") from None
    try:
        return DisclosurePolicy.model_validate(yaml.safe_load(raw)), raw
    except (yaml.YAMLError, ValidationError) as error:
        raise PolicyError(f"disclosure policy {path} is invalid:\n{error}") from None


def policy_sha256(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def _plain(text: str) -> str:
    stripped = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return " ".join(stripped.lower().split())


def named_sensitive(policy: DisclosurePolicy, names: Mapping[str, str]) -> frozenset[str]:
    """The codes whose name matches one of the policy's sensitive name patterns (another
    code list's, such as the police's TSK codes)."""
    patterns = [re.compile(re.escape(_plain(p))) for p in policy.sensitive.name_patterns]
    return frozenset(
        c for c, name in names.items() if any(p.search(_plain(name)) for p in patterns)
    )


def sensitive_codes(
    policy: DisclosurePolicy, names: Mapping[int, str], parent: Mapping[int, int | None]
) -> frozenset[int]:
    """Every offence code the policy makes sensitive: listed, named, or below one of those."""
    patterns = [re.compile(re.escape(_plain(p))) for p in policy.sensitive.name_patterns]
    marked = set(policy.sensitive.codes) | {
        code for code, name in names.items() if any(p.search(_plain(name)) for p in patterns)
    }
    sensitive = set()
    for code in names:
        current: int | None = code
        seen: set[int] = set()
        while current is not None and current not in seen:
            if current in marked:
                sensitive.add(code)
                break
            seen.add(current)
            current = parent.get(current)
    return frozenset(sensitive)


def check_against_code_list(policy: DisclosurePolicy, names: Mapping[int, str]) -> None:
    """Refuse a policy that lists offence codes the code list does not know."""
    unknown = sorted(set(policy.sensitive.codes) - set(names))
    if unknown:
        raise PolicyError(
            f"policy {policy.id} {policy.version} lists sensitive offence code(s) {unknown} "
            "that are not in the police code list of the data: fix policy/disclosure.yaml"
        )
