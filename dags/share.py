"""
### Share: each contracted self-government's package of the newest release

Runs after every new public release (the `opencrime_release` Asset) and on demand.

1. **contracts**: the contracts of the register (`OPENCRIME_CONTRACTS_DB`, managed with
   `opencrime contracts`) active today.
2. **share_with**, one mapped task per contract, so the workers share them: the contract's
   package of the newest release, from that release's own inputs: every cell of its territory
   at its tier (docs/disclosure-policy.md, "Contract tiers"), less the cells that would narrow
   a hidden cell of another place for a recipient who also holds the public release (an audit
   of its own); sealed to the recipient's key, signed with the publisher's
   (`OPENCRIME_PUBLISHER_SIGNING_KEY_FILE`), written to `deliveries/<contract>/<release>.ocp`
   and appended to the hash-chained delivery log.

One contract's failure (its folder not writable, say) fails its own task only; the retry
delivers it, and a contract already delivered for the release is skipped, never delivered
twice. The public release is only read: its bytes are the same with or without contracts.
"""

# TaskFlow passes XComArgs where the task functions declare their resolved types.
# mypy: disable-error-code="arg-type"

from __future__ import annotations

import pendulum
from airflow.sdk import dag
from opencrime_airflow.assets import RELEASE
from opencrime_airflow.config import DEFAULT_ARGS, TAGS_PIPELINE
from opencrime_airflow.settings import task_settings
from opencrime_airflow.tasks import step


@dag(
    dag_id="share",
    description="Each contracted self-government's sealed package of the newest release",
    schedule=RELEASE,
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=[TAGS_PIPELINE, "release"],
    doc_md=__doc__,
)
def share() -> None:
    @step()
    def contracts() -> list[str]:
        """The ids of the contracts active today."""
        from transforms.pipeline import share as steps

        return steps.contracts_to_share(task_settings())

    @step()
    def share_with(contract_id: str) -> dict:
        """Build, audit, seal, deliver and log one contract's package (skipped if delivered)."""
        from transforms.pipeline import share as steps

        result = steps.share_with(task_settings(), contract_id)
        print(result)
        return result

    share_with.expand(contract_id=contracts())


share()
