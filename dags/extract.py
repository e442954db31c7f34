"""
### Extract: a reproducible slice of a published release, for journalists

Trigger it with the form (**Trigger DAG → with config**): pick the release (`latest` or a version
such as `2025-03.1`), the level (`table`: aggregate counts; `incidents`: k-anonymous points),
unit codes, the period, offence codes and the format. The same request can come from the REST
API (`POST /api/v2/dags/extract/dagRuns` with these fields in `conf`) or the command line
(`opencrime extract …`): all three give the same bytes.

The extract only selects rows the release published; it never adds hidden cells up. It lands in
`extracts/<request hash>/` under the data root, with `extract.json`: the request, the release and
its manifest hash, the file's SHA-256, the command that reproduces it, and a citation. A bad
request (unknown code, empty period, missing release) fails the first task with the reason.
"""

# TaskFlow passes XComArgs where the task functions declare their resolved types.
# mypy: disable-error-code="arg-type"

from __future__ import annotations

import pendulum
from airflow.sdk import Param, dag, get_current_context, task
from opencrime_airflow.config import DEFAULT_ARGS, MONTH_PATTERN, TAGS_PIPELINE, task_settings


@dag(
    dag_id="extract",
    schedule=None,
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    default_args=DEFAULT_ARGS,
    tags=[TAGS_PIPELINE, "extract"],
    doc_md=__doc__,
    params={
        "release": Param("latest", type="string", description="latest, or a version"),
        "level": Param("table", enum=["table", "incidents"], description="What to cut"),
        "geo_codes": Param(
            [], type="array", items={"type": "string"}, description="Unit codes; empty: all"
        ),
        "first_month": Param(None, type=["null", "string"], pattern=MONTH_PATTERN),
        "last_month": Param(None, type=["null", "string"], pattern=MONTH_PATTERN),
        "offence_codes": Param(
            [], type="array", items={"type": "string"}, description="Offence codes; empty: all"
        ),
        "format": Param("csv", enum=["csv", "parquet", "geojson"]),
    },
)
def extract() -> None:
    @task
    def make_extract() -> dict:
        from airflow.sdk.exceptions import AirflowFailException
        from pydantic import ValidationError

        from transforms.publish.extract import ExtractError, ExtractRequest, make_extract
        from transforms.storage import fingerprint

        settings = task_settings()
        params = get_current_context()["params"]
        try:
            request = ExtractRequest(
                release=params["release"],
                level=params["level"],
                geo_codes=tuple(params["geo_codes"]),
                first_month=params["first_month"],
                last_month=params["last_month"],
                offence_codes=tuple(params["offence_codes"]),
                format=params["format"],
            )
            key = fingerprint(request.model_dump(mode="json"))[:16]
            out = settings.data_root / "extracts" / key
            record = make_extract(
                settings.releases_dir / settings.dataset_id, request, out, settings.dataset_title
            )
        except (ExtractError, ValidationError) as error:
            # a bad request stays bad: fail at once, without the retries meant for outages
            raise AirflowFailException(f"bad extract request: {error}") from None
        print(f"extract: {out / record['file']['path']} ({record['file']['rows']} rows)")
        print(f"reproduce with: {record['command']}")
        return record | {"folder": str(out)}

    make_extract()


extract()
