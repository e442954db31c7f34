"""Primary suppression: small counts are hidden and marked, never faked, and rates follow."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from transforms.privacy.policy import PolicyError, load_policy
from transforms.privacy.suppression import PUBLISHED, SUPPRESSED_PRIMARY, protect_table

POLICY, _ = load_policy(Path(__file__).resolve().parents[3] / "policy" / "disclosure.yaml")


def table(counts: list[int], populations: list[int]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "geo_code": [f"{i:06d}" for i in range(len(counts))],
            "count": counts,
            "population": pd.array(populations, dtype="Int64"),
        }
    )


@given(st.lists(st.tuples(st.integers(0, 50), st.integers(0, 100_000)), min_size=1, max_size=60))
def test_no_published_count_below_the_threshold(cells: list[tuple[int, int]]) -> None:
    counts, populations = zip(*cells, strict=True)
    out = protect_table(table(list(counts), list(populations)), POLICY)
    published = out[out["status"] == PUBLISHED]
    threshold = POLICY.aggregates.primary_threshold
    assert not published["count"].between(1, threshold - 1).any()
    assert out.loc[out["status"] != PUBLISHED, "count"].isna().all()
    assert out.loc[out["status"] != PUBLISHED, "rate_per_1000"].isna().all()
    # nothing lost: every true count is either published as it is or marked suppressed
    true = pd.Series(counts)
    assert (out["count"].fillna(-1).eq(true) | out["status"].eq(SUPPRESSED_PRIMARY)).all()


def test_zero_is_published_and_rates_need_a_population() -> None:
    out = protect_table(table([0, 1, 10, 10], [1000, 1000, 1000, 100]), POLICY)
    assert out["status"].tolist() == [PUBLISHED, SUPPRESSED_PRIMARY, PUBLISHED, PUBLISHED]
    assert out["count"].tolist()[0] == 0 and pd.isna(out["count"].tolist()[1])
    assert out["rate_per_1000"].tolist()[2] == pytest.approx(10.0)
    assert pd.isna(out["rate_per_1000"].tolist()[3])  # population under the policy's minimum


def test_an_invalid_policy_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "policy.yaml"
    bad.write_text(
        "id: x\nversion: '1'\naggregates: {primary_threshold: 0}\n"
        "rates: {per: 1000, min_population: 0}\ntime: {granularity: month}\n"
    )
    with pytest.raises(PolicyError, match="primary_threshold"):
        load_policy(bad)
