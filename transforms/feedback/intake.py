"""A posted report, checked against the release it names and screened, ready to be stored.

Every refusal is a sentence a reporter can act on (an unknown unit, a month the release does
not hold); nothing refused is stored.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from transforms.contracts.register import Contract
from transforms.feedback.contract_proof import ProofRefused, check_proof
from transforms.feedback.screening import (
    MAX_TEXT,
    ReportIn,
    clean_text,
    fingerprint,
    redact,
)
from transforms.plumbing.errors import PermanentFailure
from transforms.plumbing.storage import read_json
from transforms.publish.folder import MANIFEST, VERSION


class ReportRefused(PermanentFailure, ValueError):
    """A report that cannot be taken: says why."""


@dataclass(frozen=True)
class ReleaseCodes:
    """What a report may name of one release: read once per release (releases never change)."""

    version: str
    units: frozenset[str]
    months: frozenset[str]
    offence_codes: frozenset[str]
    point_classes: frozenset[tuple[str, str, str]]  # (cell_code, month, offence_group)


@functools.lru_cache(maxsize=8)
def release_codes(folder: Path) -> ReleaseCodes:
    codes = pd.read_csv(folder / "codes.csv", dtype=str, keep_default_na=False)
    points = pq.read_table(
        folder / "incidents.parquet", columns=["cell_code", "month", "offence_group"]
    )
    classes = zip(
        points["cell_code"].to_pylist(),
        points["month"].to_pylist(),
        (str(g) for g in points["offence_group"].to_pylist()),
        strict=True,
    )
    return ReleaseCodes(
        folder.name,
        frozenset(codes.loc[codes["kind"] == "unit", "code"]),
        frozenset(read_json(folder / MANIFEST)["data_months"]),
        frozenset(codes.loc[codes["kind"] == "offence", "code"]),
        frozenset(classes),
    )


@dataclass(frozen=True)
class ScreenedReport:
    report: ReportIn
    text: str  # cleaned and redacted: what is stored
    redacted: dict[str, int]  # what was taken out, by mark
    fingerprint: str  # equal for reports that are one (folded together)


def release_folder(dataset_dir: Path, version: str) -> Path:
    folder = dataset_dir / version
    if not VERSION.match(version) or not (folder / MANIFEST).is_file():
        raise ReportRefused(f"there is no release {version}: name one the portal shows")
    return folder


def screen(report: ReportIn, codes: ReleaseCodes) -> ScreenedReport:
    """``report`` checked against ``codes`` (its release's), its text cleaned and redacted."""
    if report.unit not in codes.units:
        raise ReportRefused(f"release {codes.version} has no unit {report.unit}")
    if report.month not in codes.months:
        held = ", ".join(sorted(codes.months))
        raise ReportRefused(f"release {codes.version} holds {held}, not {report.month}")
    if report.offence_group is not None and report.offence_group not in codes.offence_codes:
        raise ReportRefused(f"release {codes.version} has no offence {report.offence_group}")
    if report.point_class is not None:
        wanted = (report.point_class, report.month, report.offence_group or "")
        if wanted not in codes.point_classes:
            raise ReportRefused(
                f"release {codes.version} has no point class {report.point_class} in "
                f"{report.month} for offence group {report.offence_group or '(none given)'}"
            )
    text, found = redact(clean_text(report.text))
    if not text:
        raise ReportRefused("the text is empty once markup is removed: say what is wrong")
    if len(text) > MAX_TEXT:
        raise ReportRefused(f"the text is {len(text):,} characters long: at most {MAX_TEXT:,}")
    return ScreenedReport(report, text, found, fingerprint(report, text))


def verified_contract(
    report: ReportIn,
    contracts: list[Contract],
    publisher_private: str | None,
    now: datetime | None = None,
) -> str | None:
    """The contract a report comes from, once its proof holds (None: an anonymous report);
    :class:`ProofRefused` for a contract that is not active or a proof that does not hold."""
    if report.contract is None and report.proof is None:
        return None
    day = (now or datetime.now(UTC)).date()
    contract = next((c for c in contracts if c.id == report.contract), None)
    if contract is None or not contract.active_on(day) or report.proof is None:
        raise ProofRefused(
            f"no active contract {report.contract} with a proof: send a contract's reports "
            "with `opencrime feedback send --contract ID --key KEY`"
        )
    if publisher_private is None:
        raise ProofRefused("this server takes no contract's reports (no publisher key is set)")
    check_proof(report.model_dump(mode="json"), report.proof, contract.public_key,
                publisher_private, now)  # fmt: skip
    return contract.id
