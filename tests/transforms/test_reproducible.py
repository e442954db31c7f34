"""Byte reproducibility: the same inputs, code and policy give byte-identical release files."""

from __future__ import annotations

import hashlib
from pathlib import Path

from tests.sample_pipeline import run_sample
from transforms.plumbing.settings import get_settings


def digests(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_a_second_run_into_another_root_gives_the_same_bytes(
    pipeline_run, sample_dir: Path, tmp_path: Path
) -> None:
    """The second run places the points per region, as the DAG's mapped tasks do (on several
    workers): the fan-out must not change a byte of the release."""
    first = Path(pipeline_run["release"]["path"])
    settings = get_settings(data_root=tmp_path / "root", data_in=sample_dir)
    second = Path(run_sample(settings, "second-run", per_region=True)["release"]["path"])
    assert first.name == second.name
    before, after = digests(first), digests(second)
    assert sorted(before) == sorted(after)
    differing = sorted(name for name in before if before[name] != after[name])
    assert differing == []
