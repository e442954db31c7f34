"""The release's operations after writing: ``mirror_release`` to an object store and the
``release_freshness`` check."""

from __future__ import annotations

from datetime import date
from typing import Any

from transforms.domain.periods import Month
from transforms.plumbing.settings import Settings
from transforms.plumbing.storage import (
    read_json,
)
from transforms.privacy.policy import (
    load_policy,
)
from transforms.publish.folder import (
    MANIFEST,
    latest,
)


def mirror_release(settings: Settings) -> dict[str, Any] | None:
    """Copy the latest release to the release store, if one is configured."""
    from transforms.publish.object_store import mirror_latest

    if not settings.release_store:
        return None
    result = mirror_latest(
        settings.releases_dir / settings.dataset_id,
        settings.release_store,
        settings.release_store_options,
    )
    if result is None:
        return None
    return {"url": result.url, "version": result.version, "uploaded_files": result.uploaded_files}


def check_freshness(settings: Settings, today: date) -> dict[str, Any]:
    """Whether the latest release covers the months the policy says are due (see freshness)."""
    from transforms.publish.freshness import freshness

    policy, _ = load_policy(settings.policy_path)
    pointer = latest(settings.releases_dir / settings.dataset_id)
    published = None
    if pointer is not None:
        manifest = read_json(
            settings.releases_dir / settings.dataset_id / pointer["version"] / MANIFEST
        )
        published = Month.parse(max(manifest["data_months"]))
    result = freshness(
        published,
        today,
        policy.time.release_lag_months,
        settings.release_grace_days,
        Month.parse(settings.last_month) if settings.last_month else None,
    )
    if result is None:
        return {"late": False, "message": "nothing is due yet"}
    return {
        "late": result.late,
        "published": str(result.published) if result.published else None,
        "expected": str(result.expected),
        "due": result.due.isoformat(),
        "message": result.message(today),
    }
