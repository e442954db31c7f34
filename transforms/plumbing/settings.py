"""The one place where configuration is read.

Every value comes from an environment variable prefixed ``OPENCRIME_`` (inside tasks, Airflow
Variables of the same name in lower case override them: see ``opencrime_airflow.config``).
Defaults give the embedded set-up: local files under ``./data`` and the bundled ``sample_data/``.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from transforms.domain.periods import MONTH_PATTERN
from transforms.plumbing.errors import PermanentFailure

PROJECT_ROOT = Path(__file__).resolve().parents[2]

# The police's open-data hosts, newest first: the loader falls back along this list.
POLICE_BASE_URLS = (
    "https://kriminalita.policie.gov.cz/api/v2/downloads",
    "https://kriminalita.policie.cz/api/v2/downloads",
)


class PoliceSqlLayout(BaseModel):
    """Where a police database keeps the records and code lists (``OPENCRIME_POLICE_SQL_LAYOUT``,
    JSON). ``record_columns`` maps an open-data record column (``id, x, y, mp, date, state,
    relevance, types``) to the database's name for it; unlisted columns keep their own name.
    One row per incident and offence type, as in the open-data files."""

    records_table: str = "incidents"
    record_columns: dict[str, str] = Field(default_factory=dict)
    code_list_tables: dict[str, str] = Field(
        default_factory=lambda: {"types": "types", "states": "states", "relevance": "relevance"}
    )


# where a data engineer changes the quarantine limit (the task side also reads Airflow Variables)
QUARANTINE_LIMIT_SETTING = (
    "OPENCRIME_QUARANTINE_LIMIT, or the Airflow Variable opencrime_quarantine_limit"
)


class SettingMissing(PermanentFailure, ValueError):
    """A setting the step needs is not set."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OPENCRIME_", extra="ignore")

    data_root: Path = Field(
        default=PROJECT_ROOT / "data",
        description="Where snapshots, canonical tables and releases are written.",
    )
    data_in: Path | None = Field(
        default=None,
        description="A folder laid out like sample_data/. Unset: download from the police API.",
    )
    police_base_urls: tuple[str, ...] = POLICE_BASE_URLS
    # Read the months from a police database instead: the id of the Airflow Connection to it.
    police_sql_conn_id: str | None = None
    police_sql_layout: PoliceSqlLayout = Field(default_factory=PoliceSqlLayout)
    police_sql_chunk_rows: int = Field(default=50_000, ge=1)
    # Where the police's statistical reports are downloaded from when OPENCRIME_DATA_IN is unset:
    # a URL pattern with {yyyy}, {mm} and {district} (KKOO), e.g.
    # https://example.org/statistiky/{yyyy}/{mm}/a{district}__.xls; tsk_codes.csv beside it.
    police_statistics_url: str | None = Field(default=None, pattern=r"^https?://")
    # Where published releases are also copied for download: an object-store URL such as
    # s3://bucket/prefix (credentials as the store's client reads them, e.g. AWS_* variables),
    # with client options as JSON (e.g. {"endpoint_url": "https://s3.example.org"}).
    release_store: str | None = Field(default=None, pattern=r"^[a-z0-9]+://")
    release_store_options: dict[str, Any] = Field(default_factory=dict)
    dataset_id: str = Field(default="cz-crime", pattern=r"^[a-z0-9][a-z0-9-]*$")
    dataset_title: str = "Crime in Czechia: offences recorded by the police, disclosure-controlled"
    # Each source's licence and required attribution, where they differ from the country's
    # defaults and from the input folder's sources.json, as JSON: {"police": {"licence":
    # "CC-BY-4.0", "attribution": "…", "url": "…"}}. The release carries the most open licence
    # all of them allow (transforms.domain.licences).
    source_terms: dict[str, dict[str, str]] = Field(default_factory=dict)
    # Where the releases folder is served from: the IRIs of the catalogue records build on it
    # (https only, as DCAT-AP-CZ requires). No default: a release is not written until it is set,
    # rather than with records that point at a placeholder.
    public_base_url: str | None = Field(default=None, pattern=r"^https://")
    # The publisher as an organisation of the Czech public-administration register (RPP);
    # default: Police Presidium of the Czech Republic (IČO 00007064).
    publisher_iri: str = Field(
        default="https://rpp-opendata.egon.gov.cz/odrpp/zdroj/orgán-veřejné-moci/00007064",
        pattern=r"^https?://",
    )
    publisher_name: str = "Policie České republiky"
    # Whom users write to about the dataset (the catalogue records' contact point); optional.
    contact_name: str | None = None
    contact_email: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+$")
    # Why this release was made, in the publisher's words (a correction says what was wrong);
    # shown under "What changed" with the changes the pipeline detects itself.
    release_note: str = ""
    first_month: str = Field(default="2013-01", pattern=MONTH_PATTERN)
    last_month: str | None = Field(default=None, pattern=MONTH_PATTERN)
    # Days after a month falls due (policy: release_lag_months) before its release counts as
    # late; the release_freshness DAG alarms then.
    release_grace_days: int = Field(default=7, ge=0)
    # The publish DAG waits for a data officer's approval (Airflow's human-in-the-loop) before
    # it writes a release.
    require_approval: bool = False
    quarantine_limit: float = Field(
        default=0.01, ge=0, le=1, description="Largest share of quarantined rows a run may publish."
    )
    # The data-sharing contracts' register (a SQLAlchemy URL); unset: SQLite in the data root
    contracts_db: str | None = Field(default=None, pattern=r"^[a-z0-9+]+://")
    # Where contract packages are delivered (a folder per contract); unset: deliveries/ in the
    # data root. The publisher's Ed25519 signing key (base64, `opencrime contracts keygen
    # --signing`), in a file only the workers read.
    deliveries_dir: Path | None = None
    publisher_signing_key_file: Path | None = None
    # Feedback reports (kept in the same database as the contracts): at most this many from
    # one address per hour
    feedback_rate_limit: int = Field(default=10, ge=1)
    policy_path: Path = PROJECT_ROOT / "policy" / "disclosure.yaml"
    expectations_dir: Path = PROJECT_ROOT / "expectations"
    output_schemas_dir: Path = PROJECT_ROOT / "output_schemas"
    http_timeout_s: float = 60.0

    @field_validator("data_root", "data_in", mode="after")
    @classmethod
    def _absolute(cls, value: Path | None) -> Path | None:
        return value.resolve() if value is not None else None

    @cached_property
    def snapshots_dir(self) -> Path:
        return self.data_root / "snapshots"

    @cached_property
    def canonical_dir(self) -> Path:
        return self.data_root / "canonical"

    @cached_property
    def releases_dir(self) -> Path:
        return self.data_root / "releases"

    @cached_property
    def deliveries_root(self) -> Path:
        return self.deliveries_dir or self.data_root / "deliveries"

    @cached_property
    def contracts_db_url(self) -> str:
        return self.contracts_db or f"sqlite:///{self.data_root / 'contracts.db'}"

    @cached_property
    def feedback_db_url(self) -> str:
        return self.contracts_db_url  # the project's tables share one database

    @cached_property
    def feedback_secret_file(self) -> Path:
        """The key that hashes a reporter's address (made on first use, never published)."""
        return self.data_root / "feedback-secret"

    @cached_property
    def runs_dir(self) -> Path:
        """Per-run working files: staging outputs, reports, Data Docs."""
        return self.data_root / "runs"


def get_settings(**overrides: object) -> Settings:
    return Settings(**overrides)  # type: ignore[arg-type]


def settings_at(data_root: Path | None) -> Settings:
    """The settings with the data root a command was given (None: the configured one)."""
    return get_settings(**({"data_root": data_root} if data_root else {}))
