"""
### Extract: a reproducible slice of a published release, for journalists

Trigger it with the form (**Trigger DAG → with config**): pick the release (`latest` or a version
such as `2025-03.1`), the level (`table`: aggregate counts; `incidents`: k-anonymous points),
unit codes, the period, offence codes and the format. The same request can come from the REST
API (`POST /api/v2/dags/extract/dagRuns` with these fields in `conf`) or the command line
(`opencrime extract …`): all three give the same bytes.

The extract only selects rows the release published; it never adds hidden cells up. It lands in
`extracts/<request hash>/` under the data root, with `extract.json`: the request, the release and
its manifest hash, the file's SHA-256, the command that reproduces it, and a citation; download
it from **Browse → Releases → Extracts**. A bad request (unknown code, empty period, missing
release, a type or sensitive offence asked of the points) fails the task at once with the
reason.
"""

# TaskFlow passes XComArgs where the task functions declare their resolved types.
# mypy: disable-error-code="arg-type"

from __future__ import annotations

import pendulum
from airflow.sdk import Param, dag, get_current_context
from opencrime_airflow.config import DEFAULT_ARGS, TAGS_PIPELINE
from opencrime_airflow.settings import task_settings
from opencrime_airflow.tasks import step

from transforms.domain.periods import MONTH_PATTERN


@dag(
    dag_id="extract",
    description="A reproducible slice of a published release, for journalists",
    schedule=None,
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    default_args=DEFAULT_ARGS,
    tags=[TAGS_PIPELINE, "extract"],
    doc_md=__doc__,
    params={
        "release": Param(
            "latest",
            type="string",
            title="Release",
            description="latest, or a published version such as 2025-03.1",
        ),
        "level": Param(
            "table",
            enum=["table", "incidents"],
            values_display={
                "table": "table: counts by unit, period and offence",
                "incidents": "incidents: the k-anonymous incident points",
            },
            title="What to cut",
        ),
        "geo_codes": Param(
            [],
            type=["null", "array"],
            items={"type": "string"},
            title="Units",
            description="Municipality, district or region codes, one per line; empty: all "
            "(look a code up with `opencrime codes --search NAME`)",
        ),
        "first_month": Param(
            None,
            type=["null", "string"],
            pattern=MONTH_PATTERN,
            title="From month",
            description="YYYY-MM; empty: the release's first month",
        ),
        "last_month": Param(
            None,
            type=["null", "string"],
            pattern=MONTH_PATTERN,
            title="To month",
            description="YYYY-MM; empty: the release's last month",
        ),
        "offence_codes": Param(
            [],
            type=["null", "array"],
            items={"type": "string"},
            title="Offences",
            description="Offence codes, one per line; empty: all. Incidents are cut by "
            "offence group; sensitive offences are never points.",
        ),
        "format": Param(
            "csv",
            enum=["csv", "parquet", "geojson"],
            title="Format",
            description="geojson is for incidents only",
        ),
    },
)
def extract() -> None:
    @step()
    def make_extract() -> dict:
        """Cut the requested slice of the release; a bad request fails at once with the reason."""
        from transforms.publish import extract as extracts

        settings = task_settings()
        request = extracts.extract_request(get_current_context()["params"])
        out = extracts.extract_folder(settings.data_root / "extracts", request)
        record = extracts.make_extract(
            settings.releases_dir / settings.dataset_id, request, out, settings.dataset_title
        )
        print(f"extract: {out / record['file']['path']} ({record['file']['rows']} rows)")
        print(f"download: Browse → Releases → Extracts, opencrime/extracts/{out.name}/")
        print(f"reproduce with: {record['command']}")
        return record | {"folder": str(out)}

    make_extract()


extract()
