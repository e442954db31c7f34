"""Byte reproducibility: the same inputs, code and policy give byte-identical release files."""

from __future__ import annotations

import hashlib
from pathlib import Path

from transforms.periods import Month


def run_pipeline(root: Path, data_in: Path) -> Path:
    from transforms.pipeline import geography, incidents, release
    from transforms.settings import get_settings

    settings = get_settings(data_root=root, data_in=data_in)
    snapshots = geography.snapshot_boundary_inputs(settings)
    staged = geography.stage_geography(settings, snapshots)
    geography.validate_geography(settings, staged["version"], "second-run")
    geography.promote_geography(settings, staged["version"])
    for month in (Month(2025, 1), Month(2025, 2), Month(2025, 3)):
        snapshot = incidents.fetch_police_month(settings, month)
        key = incidents.stage_police_month(settings, month, snapshot, "second-run")["key"]
        incidents.validate_police_month(settings, month, key, "second-run")
        incidents.commit_police_month(settings, month, key)
    release.check_policy(settings)
    tables = release.stage_release_tables(settings)
    release.audit_release_tables(settings, tables["staged"])
    release.validate_release_tables(settings, tables["staged"], "second-run")
    return Path(release.write_release(settings, tables["staged"], "second-run")["path"])


def digests(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_a_second_run_into_another_root_gives_the_same_bytes(
    pipeline_run, sample_dir: Path, tmp_path: Path
) -> None:
    first = Path(pipeline_run["release"]["path"])
    second = run_pipeline(tmp_path / "root", sample_dir)
    assert first.name == second.name
    before, after = digests(first), digests(second)
    assert sorted(before) == sorted(after)
    differing = sorted(name for name in before if before[name] != after[name])
    assert differing == []
