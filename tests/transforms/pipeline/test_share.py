"""The share step on the demo's release: a contracted town gets its own figures, sealed to its
key; the public release stays byte for byte as it was; a retry delivers nothing twice, and a
target that cannot be written stops only its own contract."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pytest

from transforms.contracts.deliveries import check_log, read_log
from transforms.contracts.keys import generate_key_pair, generate_signing_pair
from transforms.contracts.register import add_contract, new_contract, open_register, units_of
from transforms.contracts.seal import open_package
from transforms.pipeline.boundaries import load_current_units
from transforms.pipeline.share import contracts_to_share, share_with
from transforms.plumbing.settings import get_settings
from transforms.privacy.policy import load_policy


def test_a_contracted_town_gets_its_own_figures_and_the_public_release_is_untouched(
    pipeline_run, tmp_path: Path
) -> None:
    base = pipeline_run["settings"]
    publisher = generate_signing_pair()
    (tmp_path / "publisher.key").write_text(publisher.private)
    settings = get_settings(
        data_root=base.data_root,
        data_in=base.data_in,
        contracts_db=f"sqlite:///{tmp_path / 'contracts.db'}",
        deliveries_dir=tmp_path / "deliveries",
        publisher_signing_key_file=tmp_path / "publisher.key",
    )
    release = Path(pipeline_run["release"]["path"])
    before = {p.name: p.read_bytes() for p in (release / "SHA256SUMS", release / "manifest.json")}
    engine = open_register(settings.contracts_db_url)
    geography = units_of(load_current_units(settings))
    today = datetime.now(UTC).date()
    recipients = {}
    for contract_id, party in (("liberec", "563889"), ("boleslav", "535419")):
        recipients[contract_id] = generate_key_pair()
        add_contract(
            engine,
            new_contract(
                contract_id=contract_id, party=party, tier="municipal",
                key=recipients[contract_id].public, valid_from=date(today.year, 1, 1),
                valid_to=date(today.year, 12, 31), contact="prevence@example.cz",
                policy=load_policy(settings.policy_path)[0], geography=geography,
            ),
        )  # fmt: skip
    assert contracts_to_share(settings) == ["boleslav", "liberec"]

    # the second town's folder cannot be made: its delivery fails, the first one's does not
    (settings.deliveries_root).mkdir(parents=True)
    (settings.deliveries_root / "boleslav").write_text("in the way")
    with pytest.raises(OSError):
        share_with(settings, "boleslav")
    done = share_with(settings, "liberec")
    print(done)  # what the package gives, for the record
    package = Path(done["delivered"]).read_bytes()
    opened = open_package(package, recipients["liberec"].private, publisher.public, today)
    rows = list(csv.DictReader(io.StringIO(opened.files["counts.csv"].decode("utf-8-sig")),
                               delimiter=";"))  # fmt: skip
    assert {r["geo_code"] for r in rows} == {"563889"}  # its own territory only
    assert {r["status"] for r in rows} <= {"shown", "withheld"}
    assert any(r["status"] == "shown" for r in rows)
    assert all(r["count"] == "" for r in rows if r["status"] == "withheld")
    assert opened.manifest["contract"]["id"] == "liberec"
    # its points: classes of at least the tier's k, finer than the public file places them
    features = json.loads(opened.files["incidents.geojson"])["features"]
    assert features and min(f["properties"]["records"] for f in features) >= 3
    fine = ["250m", "500m", "1000m", "2000m"]
    package_fine = sum(done["points_by_level"].get(level, 0) for level in fine)
    assert package_fine > sum(done["public_points_by_level"].get(level, 0) for level in fine)
    assert opened.manifest["release"] == release.name
    assert opened.manifest["tier_rules"]["incidents"]["k"] == 3  # the rules it was made under

    # the retry: the first is not delivered twice, the second now is
    (settings.deliveries_root / "boleslav").unlink()
    assert share_with(settings, "liberec")["skipped"] == "delivered already"
    assert "delivered" in share_with(settings, "boleslav")
    log = read_log(engine)
    assert [e.contract_id for e in log] == ["liberec", "boleslav"] and check_log(log) == []

    # the public release is as it was, and holds no package
    assert {p: (release / p).read_bytes() for p in before} == before
    assert not list(release.rglob("*.ocp"))


def test_an_expired_or_revoked_contract_gets_nothing(pipeline_run, tmp_path: Path, capsys) -> None:
    from transforms.contracts.register import revoke_contract

    base = pipeline_run["settings"]
    settings = get_settings(
        data_root=base.data_root,
        data_in=base.data_in,
        contracts_db=f"sqlite:///{tmp_path / 'contracts.db'}",
        deliveries_dir=tmp_path / "deliveries",
    )
    engine = open_register(settings.contracts_db_url)
    geography = units_of(load_current_units(settings))
    policy = load_policy(settings.policy_path)[0]
    key = generate_key_pair().public
    for contract_id, party, first, last in (
        ("old", "563889", date(2020, 1, 1), date(2020, 12, 31)),
        ("ended", "535419", date(2020, 1, 1), date(2099, 12, 31)),
    ):
        add_contract(engine, new_contract(
            contract_id=contract_id, party=party, tier="municipal", key=key, valid_from=first,
            valid_to=last, contact="x@example.cz", policy=policy, geography=geography,
        ))  # fmt: skip
    revoke_contract(engine, "ended", "the town left the programme")
    assert contracts_to_share(settings) == []
    said = capsys.readouterr().out
    assert "contract old: expired, nothing delivered" in said
    assert "contract ended: revoked, nothing delivered" in said
    assert share_with(settings, "ended")["skipped"] == "revoked"  # a task started before
    assert not settings.deliveries_root.exists() and read_log(engine) == []


def test_the_package_suite_refuses_another_places_cell_and_a_small_count() -> None:
    """The suite a package must pass before it is sealed: a cell outside the territory, a
    count under the tier's threshold and a sensitive offence of a municipality are refused,
    each named."""
    from transforms.validation import validate, validation_view

    counts = pd.DataFrame(
        {
            "geo_code": ["563889", "563889", "535419", "563889"],
            "geo_level": ["municipality"] * 4,
            "period": ["2025-01"] * 4,
            "offence_code": ["44", "45", "44", "SENSITIVE"],
            "count": pd.array([7, 1, 9, 3], dtype="Int64"),
            "status": ["shown"] * 4,
            "sensitive": ["no", "no", "no", "yes"],
        }
    )
    report = validate(
        validation_view(counts),
        "contract_package",
        get_settings().expectations_dir,
        parameters={
            "territory": ["563889"],
            "periods": ["2025", "2025-01"],
            "small_counts": [1, 2],
            "small_sensitive_counts": list(range(1, 10)),
            "sensitive_codes_at_municipality": ["SENSITIVE"],
            "sensitive_codes_at_district": [],
            "sensitive_codes_at_region": [],
        },
    )
    assert not report.success
    failed = "\n".join(report.failures)
    for column in ("geo_code", "count", "offence_code"):
        assert column in failed
