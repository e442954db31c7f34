"""The ``share`` DAG's steps: after a public release, each active data-sharing contract gets a
package of its territory's figures at its tier, built from the same inputs, audited so that it
narrows no other place's hidden cell (``transforms.contracts.package``), sealed to its
recipient, signed, delivered to its folder and logged. One contract's failure stops only that
contract; a retry delivers what is missing and nothing twice. The public release is only read.
"""

from __future__ import annotations

import csv
import hashlib
import io
from datetime import UTC, date, datetime
from typing import Any

import numpy as np

from transforms.contracts.deliveries import delivered, log_delivery
from transforms.contracts.package import package_cells
from transforms.contracts.register import Contract, active_contracts, list_contracts, open_register
from transforms.contracts.seal import seal
from transforms.pipeline.publish.audit import staged_requirements
from transforms.pipeline.publish.inputs import (
    CUBE_COLUMNS,
    NO_PREVIOUS_RELEASE,
    build_release_cube,
    load_context,
    previous_knowledge,
    release_years,
)
from transforms.plumbing.errors import PermanentFailure
from transforms.plumbing.settings import Settings
from transforms.plumbing.storage import read_json, write_bytes_atomic
from transforms.publish.folder import MANIFEST, latest, versions

PACKAGE_SUFFIX = ".ocp"
SHOWN, WITHHELD = "shown", "withheld"  # one status for every cell not shown, whatever why


class ShareRefused(PermanentFailure, RuntimeError):
    """A package that cannot be made as asked: says why and what to do."""


def contracts_to_share(settings: Settings, on: date | None = None) -> list[str]:
    """The ids of the contracts active today (one mapped task each); the others are named in
    the task's log with their state (expired, revoked, not yet valid): nothing goes to them."""
    engine = open_register(settings.contracts_db_url)
    day = on or datetime.now(UTC).date()
    active = active_contracts(engine, day)
    for contract in list_contracts(engine):
        if contract not in active:
            print(f"contract {contract.id}: {contract.state(day)}, nothing delivered")
    return [c.id for c in active]


def share_with(settings: Settings, contract_id: str) -> dict[str, Any]:
    """Build, seal, deliver and log the newest release's package for one contract; nothing
    when it was delivered already (a retry) or the contract is no longer active."""
    engine = open_register(settings.contracts_db_url)
    contract = next((c for c in list_contracts(engine) if c.id == contract_id), None)
    if contract is None:
        raise ShareRefused(f"no contract {contract_id} in the register")
    dataset_dir = settings.releases_dir / settings.dataset_id
    pointer = latest(dataset_dir)
    if pointer is None:
        raise ShareRefused("no public release yet: run the publish DAG first")
    version = str(pointer["version"])
    today = datetime.now(UTC).date()
    if not contract.active_on(today):
        return {"contract": contract.id, "release": version, "skipped": contract.state(today)}
    done = delivered(engine, contract.id, version)
    if done is not None:
        return {"contract": contract.id, "release": version, "skipped": "delivered already"}
    manifest = read_json(dataset_dir / version / MANIFEST)
    counts, cost = package_counts(settings, contract, version, manifest)
    files = {"counts.csv": counts}
    about = {
        "contract": {
            "id": contract.id,
            "party": contract.party_code,
            "party_name": contract.party_name,
            "tier": contract.tier,
            "units": list(contract.units),
            "valid_to": contract.valid_to.isoformat(),
        },
        "release": version,
        "policy": manifest["policy"],
    }
    key = _signing_key(settings)
    package = seal(files, about, contract.public_key, key)
    target = settings.deliveries_root / contract.id / f"{version}{PACKAGE_SUFFIX}"
    write_bytes_atomic(target, package)
    entry = log_delivery(
        engine,
        contract_id=contract.id,
        release=version,
        policy_sha256=str(manifest["policy"]["sha256"]),
        package_sha256=hashlib.sha256(package).hexdigest(),
        target=str(target),
    )
    return {
        "contract": contract.id,
        "release": version,
        "delivered": str(target),
        "log_entry": entry.seq,
        **cost,
    }


def package_counts(
    settings: Settings, contract: Contract, version: str, manifest: dict[str, Any]
) -> tuple[bytes, dict[str, int]]:
    """``counts.csv`` of the package: every cell of the contract's territory, its count where
    the package shows it, else ``withheld``; ``;``-separated UTF-8 with BOM (Czech Excel).
    With what the package gives and what protecting others costs it, for the operator: cells
    shown, of them hidden in the public release, and withheld to protect other places."""
    dataset_dir = settings.releases_dir / settings.dataset_id
    ctx = load_context(settings, years=(), columns=CUBE_COLUMNS)
    if manifest["inputs"]["incident_partitions"] != ctx.inputs["months"]:
        raise ShareRefused(
            f"the canonical months changed since release {version}: packages are made from a "
            "release's own inputs, so publish first and share that release"
        )
    tier = ctx.policy.tier(contract.tier)
    older = [v for v in versions(dataset_dir) if v < version]
    rows = io.StringIO()
    writer = csv.writer(rows, delimiter=";", lineterminator="\r\n")
    writer.writerow(["geo_code", "period", "offence_code", "count", "status"])
    cost = {"cells": 0, "shown": 0, "shown_beyond_public": 0, "withheld_for_others": 0}
    for year in release_years(ctx):
        year_ctx = load_context(settings, years=[year], columns=CUBE_COLUMNS)
        cube = build_release_cube(year_ctx, year)
        previous = previous_knowledge(year_ctx, cube, older[-1]) if older else NO_PREVIOUS_RELEASE
        public = staged_requirements(year_ctx, cube, dataset_dir / version, previous)
        table, hidden = public.table, public.hidden
        cells = package_cells(
            cube, year_ctx.policy, tier, contract.units, hidden, public.required, public.known,
            public.outside.sums,
        )  # fmt: skip
        inside = np.flatnonzero(cells.territory & table)
        cost["cells"] += len(inside)
        cost["shown"] += int(cells.shown[inside].sum())
        cost["shown_beyond_public"] += int((cells.shown & hidden)[inside].sum())
        cost["withheld_for_others"] += int(cells.withheld_for_others[inside].sum())
        keys = cube.keys(inside)
        for (g, p, o), cell in zip(keys.itertuples(index=False, name=None), inside, strict=True):
            shown = bool(cells.shown[cell])
            count = int(cube.count[cell]) if shown else ""
            writer.writerow([g, p, o, count, SHOWN if shown else WITHHELD])
    return ("\ufeff" + rows.getvalue()).encode("utf-8"), cost


def _signing_key(settings: Settings) -> str:
    path = settings.publisher_signing_key_file
    if path is None or not path.is_file():
        raise ShareRefused(
            "OPENCRIME_PUBLISHER_SIGNING_KEY_FILE is not set or not a file: make the publisher's "
            "pair with `opencrime contracts keygen --signing --out FILE` and set it"
        )
    return path.read_text().strip()
