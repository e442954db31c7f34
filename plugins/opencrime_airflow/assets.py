"""The Assets the DAGs produce and consume: one name per dataset, used by every DAG."""

from __future__ import annotations

from airflow.sdk import Asset

GEOGRAPHY = Asset(name="opencrime_geography", uri="opencrime://canonical/geography")
INCIDENTS = Asset(name="opencrime_incidents", uri="opencrime://canonical/incidents")
RELEASE = Asset(name="opencrime_release", uri="opencrime://releases")
POLICE_UNITS = Asset(name="opencrime_police_units", uri="opencrime://canonical/police_districts")
POLICE_STATISTICS = Asset(
    name="opencrime_police_statistics", uri="opencrime://canonical/police_statistics"
)
