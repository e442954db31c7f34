"""Hypothesis strategies: small random cubes with real hierarchies and plenty of small counts."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from transforms.domain.counting import (
    Cube,
    build_cube,
    geography_dimension,
    offence_dimension,
    period_dimension,
)
from transforms.privacy.policy import load_policy

# the policy the project ships, as every release is made under it
POLICY, _ = load_policy(Path(__file__).resolve().parents[3] / "policy" / "disclosure.yaml")
# for properties that protect and audit a table per example
SLOW = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])

TYPES = {
    1: "násilná",
    2: "ublížení",
    3: "znásilnění",
    35: "krádeže",
    44: "v obchodě",
    45: "kapesní",
}
PARENT = {1: None, 2: 1, 3: 1, 35: None, 44: 35, 45: 35}
SENSITIVE = frozenset({3})


def geography(districts: list[int]) -> pd.DataFrame:
    rows = [("CZ", "country", None), ("R1", "region", "CZ")]
    for d, n in enumerate(districts):
        rows.append((f"D{d}", "district", "R1"))
        rows += [(f"{d}{m:05d}", "municipality", f"D{d}") for m in range(n)]
    return pd.DataFrame(rows, columns=["code", "level", "parent_code"]).assign(name="x")


@st.composite
def cubes(draw: st.DrawFn, max_count: int = 12) -> Cube:
    districts = draw(st.lists(st.integers(1, 3), min_size=1, max_size=3))
    months = ["2025-01", "2025-02", "2025-03"][: draw(st.integers(1, 3))]
    geo = geography(districts)
    municipalities = geo.loc[geo["level"] == "municipality", "code"].tolist()
    leaves = ["2", "3", "44", "45"]
    counts = draw(
        st.lists(
            st.integers(0, max_count),
            min_size=len(municipalities) * len(months) * len(leaves),
            max_size=len(municipalities) * len(months) * len(leaves),
        )
    )
    rows, i = [], 0
    for m in municipalities:
        for p in months:
            for o in leaves:
                rows += [(m, p, o)] * counts[i]
                i += 1
    base = pd.DataFrame(rows, columns=["geo", "period", "offence"])
    return build_cube(
        base,
        geography_dimension(geo),
        period_dimension(months),
        offence_dimension(TYPES, PARENT, SENSITIVE),
    )
