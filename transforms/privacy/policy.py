"""The disclosure policy as a typed, validated object, loaded from ``policy/disclosure.yaml``."""

from __future__ import annotations

import hashlib
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError


class PolicyError(ValueError):
    """The policy file is missing, malformed or internally inconsistent."""


class AggregateRules(BaseModel):
    model_config = ConfigDict(extra="forbid")
    primary_threshold: int = Field(ge=1, description="counts 1..threshold-1 are suppressed")


class RateRules(BaseModel):
    model_config = ConfigDict(extra="forbid")
    per: int = Field(gt=0)
    min_population: int = Field(ge=0)


class TimeRules(BaseModel):
    model_config = ConfigDict(extra="forbid")
    granularity: str = Field(pattern="^month$")


class DisclosurePolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    version: str
    aggregates: AggregateRules
    rates: RateRules
    time: TimeRules


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
