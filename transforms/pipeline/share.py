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
import tempfile
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa

from transforms.contracts.deliveries import delivered, log_delivery
from transforms.contracts.package import PackagePoints, package_cells, package_points
from transforms.contracts.register import Contract, active_contracts, list_contracts, open_register
from transforms.contracts.seal import seal
from transforms.domain.counting import Cube, period_dimension, sensitive_nodes
from transforms.pipeline.common import country_parameters
from transforms.pipeline.publish.audit import staged_requirements
from transforms.pipeline.publish.inputs import (
    CUBE_COLUMNS,
    NO_PREVIOUS_RELEASE,
    ReleaseContext,
    build_release_cube,
    load_context,
    previous_knowledge,
    release_years,
    year_incidents,
)
from transforms.pipeline.publish.validate import points_view, sensitive_code_parameters
from transforms.plumbing.errors import PermanentFailure
from transforms.plumbing.settings import Settings
from transforms.plumbing.storage import read_json, write_bytes_atomic
from transforms.privacy.kanon import point_classes
from transforms.privacy.policy import TierRules, load_policy
from transforms.privacy.tables import published_group_cells
from transforms.publish.folder import MANIFEST, latest, versions
from transforms.publish.geojson import write_point_geojson
from transforms.validation import (
    great_expectations_imported_meanwhile,
    require,
    validate,
    validation_view,
)

PACKAGE_SUFFIX = ".ocp"
SHOWN, WITHHELD = "shown", "withheld"  # one status for every cell not shown, whatever why
PACKAGE_COUNT_COLUMNS = ["geo_code", "period", "offence_code", "count", "status"]


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
    files, cost = package_files(settings, contract, version, manifest)
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
        "tier_rules": load_policy(settings.policy_path)[0]
        .tier(contract.tier)
        .model_dump(mode="json"),
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


def package_files(
    settings: Settings, contract: Contract, version: str, manifest: dict[str, Any]
) -> tuple[dict[str, bytes], dict[str, Any]]:
    """The package's files, checked by their suites, and what the package gives and what
    protecting others costs it (for the operator: never in a release).

    - ``counts.csv``: every cell of the contract's territory, its count where the package shows
      it, else ``withheld``; ``;``-separated UTF-8 with BOM (Czech Excel).
    - ``incidents.geojson``: the k-anonymous points of the cells it shows, at the tier's grid
      and k (``transforms.contracts.package.package_points``), a feature per class.
    """
    dataset_dir = settings.releases_dir / settings.dataset_id
    ctx = load_context(settings, years=(), columns=CUBE_COLUMNS)
    if manifest["inputs"]["incident_partitions"] != ctx.inputs["months"]:
        raise ShareRefused(
            f"the canonical months changed since release {version}: packages are made from a "
            "release's own inputs, so publish first and share that release"
        )
    if ctx.inputs["policy_sha256"] != manifest["policy"]["sha256"]:
        raise ShareRefused(
            f"the disclosure policy changed since release {version}: a package is made under "
            "its release's policy, so publish under the new one first and share that release"
        )
    tier = ctx.policy.tier(contract.tier)
    older = [v for v in versions(dataset_dir) if v < version]
    counts, points = [], []
    cost: dict[str, Any] = dict.fromkeys(
        ["cells", "shown", "shown_beyond_public", "withheld_for_others", "point_records"], 0
    )
    cost |= {"point_records_left_out": 0, "months_sharing_a_public_class": 0}
    cost |= {"points_by_level": {}, "public_points_by_level": {}}
    for year in release_years(ctx):
        year_ctx = load_context(settings, years=[year], shapes=True)
        cube = build_release_cube(year_ctx, year)
        previous = previous_knowledge(year_ctx, cube, older[-1]) if older else NO_PREVIOUS_RELEASE
        public = staged_requirements(year_ctx, cube, dataset_dir / version, previous)
        hidden = public.hidden
        cells = package_cells(
            cube, year_ctx.policy, tier, contract.units, hidden, public.required, public.known,
            public.outside.sums,
        )  # fmt: skip
        inside = np.flatnonzero(cells.territory & public.table)
        cost["cells"] += len(inside)
        cost["shown"] += int(cells.shown[inside].sum())
        cost["shown_beyond_public"] += int((cells.shown & hidden)[inside].sum())
        cost["withheld_for_others"] += int(cells.withheld_for_others[inside].sum())
        counts.append(_territory_counts(cube, inside, cells.shown))
        placed = _year_points(year_ctx, year, cube, tier, hidden, cells.shown)
        points.append(placed.points.points)
        loss = placed.points.counts
        cost["point_records"] += sum(loss.records_by_level.values())
        cost["point_records_left_out"] += loss.suppressed_records
        cost["months_sharing_a_public_class"] += len(placed.shared_months)
        for level, n in loss.records_by_level.items():
            cost["points_by_level"][level] = cost["points_by_level"].get(level, 0) + n
        for level, n in placed.public_levels.items():
            cost["public_points_by_level"][level] = cost["public_points_by_level"].get(level, 0) + n
    table = pd.concat(counts, ignore_index=True)
    classes = point_classes(pa.Table.from_pandas(pd.concat(points, ignore_index=True)))
    _check_package(settings, ctx, contract, tier, table, classes)
    files = {"counts.csv": _counts_csv(table), "incidents.geojson": _points_geojson(classes)}
    return files, cost


def _territory_counts(cube: Cube, cells: np.ndarray, shown: np.ndarray) -> pd.DataFrame:
    keys = cube.keys(cells)
    o = np.unravel_index(cells, cube.shape)[2]
    geo_level = {code: cube.geo.level[code] for code in set(keys["geo_code"])}
    is_shown = shown[cells]
    return pd.DataFrame(
        {
            "geo_code": keys["geo_code"].astype(str),
            "geo_level": keys["geo_code"].map(geo_level).astype(str),
            "period": keys["period"].astype(str),
            "offence_code": keys["offence_code"].astype(str),
            "count": pd.array(np.where(is_shown, cube.count[cells], 0), dtype="Int64"),
            "status": np.where(is_shown, SHOWN, WITHHELD),
            "sensitive": np.where(sensitive_nodes(cube.offence)[o], "yes", "no"),
        }
    ).assign(count=lambda f: f["count"].mask(~is_shown))


def _year_points(
    ctx: ReleaseContext,
    year: str,
    cube: Cube,
    tier: TierRules,
    public_hidden: np.ndarray,
    shown: np.ndarray,
) -> PackagePoints:
    assert isinstance(ctx.geography, gpd.GeoDataFrame), "loaded with its shapes"
    groups = {c: n for c, n in ctx.type_names.items() if ctx.type_parent.get(c) is None}
    return package_points(
        year_incidents(ctx, year),
        ctx.geography[ctx.geography["level"] == "municipality"],
        ctx.policy,
        tier,
        (ctx.sensitive, groups),
        published_group_cells(cube, ~public_hidden),
        published_group_cells(cube, shown),
    )


def _check_package(
    settings: Settings,
    ctx: ReleaseContext,
    contract: Contract,
    tier: TierRules,
    counts: pd.DataFrame,
    classes: pd.DataFrame,
) -> None:
    """The package's suites: ``contract_package`` on its counts (its territory only, the
    tier's thresholds, sensitive offences only where the policy allows them) and the public
    point file's ``published_points`` on its points with the tier's k. A package that fails
    is not sealed: the contract's task fails with the suite's sentences."""
    policy = ctx.policy
    territory = sorted(set(counts["geo_code"]) | set(contract.units))
    with great_expectations_imported_meanwhile():
        view = validation_view(counts)
    require(
        validate(
            view,
            "contract_package",
            settings.expectations_dir,
            parameters={
                "territory": territory,
                "periods": list(period_dimension(ctx.months).codes),
                "small_counts": list(range(1, tier.aggregates.primary_threshold)),
                "small_sensitive_counts": list(range(1, policy.sensitive.threshold)),
            }
            | sensitive_code_parameters(policy, ctx.sensitive),
        )
    )
    sensitive_groups = sorted(c for c in ctx.sensitive if ctx.type_parent.get(c) is None)
    require(
        validate(
            validation_view(points_view(classes), ["level", "offence_group_name"]),
            "published_points",
            settings.expectations_dir,
            parameters=country_parameters()
            | {"k": tier.incidents.k, "sensitive_groups": sensitive_groups},
        )
    )


def _counts_csv(counts: pd.DataFrame) -> bytes:
    rows = io.StringIO()
    writer = csv.writer(rows, delimiter=";", lineterminator="\r\n")
    writer.writerow(PACKAGE_COUNT_COLUMNS)
    for row in counts[PACKAGE_COUNT_COLUMNS].itertuples(index=False, name=None):
        writer.writerow(["" if pd.isna(value) else value for value in row])
    return ("\ufeff" + rows.getvalue()).encode("utf-8")


def _points_geojson(classes: pd.DataFrame) -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "incidents.geojson"
        write_point_geojson(pa.Table.from_pandas(classes, preserve_index=False), path)
        return path.read_bytes()


def _signing_key(settings: Settings) -> str:
    path = settings.publisher_signing_key_file
    if path is None or not path.is_file():
        raise ShareRefused(
            "OPENCRIME_PUBLISHER_SIGNING_KEY_FILE is not set or not a file: make the publisher's "
            "pair with `opencrime contracts keygen --signing --out FILE` and set it"
        )
    return path.read_text().strip()
