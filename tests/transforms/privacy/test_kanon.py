"""The k-anonymous incident file, checked with a plain pandas group-by on random incident sets."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.transforms.privacy.strategies import POLICY
from transforms.privacy.kanon import cell_code, protect_incidents

MUNICIPALITIES = gpd.GeoDataFrame(
    {"code": ["563889", "563510"]},
    geometry=[shapely.box(14.95, 50.70, 15.12, 50.82), shapely.box(15.12, 50.68, 15.25, 50.78)],
    crs="EPSG:4326",
)
GROUPS = {1: "násilná", 35: "krádeže", 97: "přestupky", 500: "citlivá"}
SENSITIVE = {501}  # the only type of group 500


@st.composite
def incident_sets(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(0, 400))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    hotspots = rng.uniform([14.96, 50.69], [15.24, 50.81], size=(draw(st.integers(1, 6)), 2))
    spot = rng.integers(0, len(hotspots), n)
    spread = draw(st.sampled_from([0.0005, 0.003, 0.02]))
    lon = np.clip(hotspots[spot, 0] + rng.normal(0, spread, n), 14.951, 15.249)
    lat = np.clip(hotspots[spot, 1] + rng.normal(0, spread, n), 50.681, 50.819)
    offence = rng.choice([4, 44, 99, 501], size=n, p=[0.2, 0.4, 0.3, 0.1])
    group = np.select([offence == 4, offence == 44, offence == 99], [1, 35, 97], 500)
    return pd.DataFrame(
        {
            "incident_id": np.arange(n) + 1000,
            "offence_code": offence,
            "offence_group": group,
            "reported_month": rng.choice(["2025-01", "2025-02"], size=n),
            "lon": lon,
            "lat": lat,
            "municipality_code": np.where(lon < 15.12, "563889", "563510"),
        }
    )


@settings(max_examples=60, deadline=None)
@given(incident_sets())
def test_every_class_holds_k_and_nothing_sensitive_or_exact_leaks(incidents: pd.DataFrame) -> None:
    result = protect_incidents(incidents, MUNICIPALITIES, POLICY, SENSITIVE, GROUPS)
    points = result.points
    # (c) every (cell, month, category) class has at least k rows, missing values as their own
    sizes = points.groupby(["cell_code", "month", "offence_group"], dropna=False).size()
    assert (sizes >= POLICY.incidents.k).all()
    # (d) sensitive offences never appear at point level
    assert not points["offence_group"].isin([500]).any()
    # no identifier, no time, no true coordinate
    assert set(points.columns) == {
        "cell_code",
        "level",
        "month",
        "offence_group",
        "offence_group_name",
        "lon",
        "lat",
    }
    true_points = set(zip(incidents["lon"].round(6), incidents["lat"].round(6), strict=True))
    assert not (set(zip(points["lon"], points["lat"], strict=True)) & true_points)
    # every record is published, suppressed or removed as sensitive: nothing silently lost
    loss = result.counts.internal_report()
    non_sensitive = incidents[incidents["offence_code"] != 501]
    assert loss["records_of_published_cells"] == len(non_sensitive)
    assert loss["records_in_hidden_cells"] == 0  # every cell counts as published here
    assert len(points) + loss["suppressed_records"] == loss["records_of_published_cells"]
    assert loss["sensitive_rows_removed"] == int((incidents["offence_code"] == 501).sum())
    assert sum(loss["records_by_level"].values()) == len(points)
    # what a release says of the points is a function of the published cells' records alone
    assert "sensitive_rows_removed" not in result.loss
    assert "records_in_hidden_cells" not in result.loss


@settings(max_examples=40, deadline=None)
@given(incident_sets(), st.integers(0, 2**32 - 1))
def test_only_records_of_published_cells_become_points(incidents: pd.DataFrame, seed: int) -> None:
    """A cell the table hides has no point: its records are left out before any class is
    formed, so no point bounds a hidden count; the other cells' points are unchanged."""
    keys = incidents[["municipality_code", "reported_month", "offence_group"]].drop_duplicates()
    published = keys.sample(frac=0.5, random_state=seed % 1000) if len(keys) else keys
    result = protect_incidents(incidents, MUNICIPALITIES, POLICY, SENSITIVE, GROUPS, published)
    shown = set(published.astype(str).itertuples(index=False, name=None))
    in_shown = np.array(
        [
            (str(m), str(p), str(g)) in shown
            for m, p, g in zip(
                incidents["municipality_code"],
                incidents["reported_month"],
                incidents["offence_group"],
                strict=True,
            )
        ],
        dtype=bool,
    )
    alone = protect_incidents(
        incidents[in_shown], MUNICIPALITIES, POLICY, SENSITIVE, GROUPS, published
    )
    pd.testing.assert_frame_equal(result.points, alone.points)
    loss = result.counts.internal_report()
    sensitive = incidents["offence_code"] == 501
    assert loss["records_in_hidden_cells"] == int((~in_shown & ~sensitive.to_numpy()).sum())


def test_a_sensitive_offence_leaves_the_rest_of_its_incident_in_place() -> None:
    """Only the sensitive record is left out: the incident's other offence is counted in the
    published group cell, and its point says nothing of what else the incident held."""
    rows = pd.DataFrame(
        {
            "incident_id": [1, 1, *list(range(2, 7))],
            "offence_code": [501, 44] + [44] * 5,
            "offence_group": [500, 35] + [35] * 5,
            "reported_month": "2025-01",
            "lon": 15.0562,
            "lat": 50.7671,
            "municipality_code": "563889",
        }
    )
    result = protect_incidents(rows, MUNICIPALITIES, POLICY, SENSITIVE, GROUPS)
    assert result.points["offence_group"].tolist() == [35] * 6
    assert result.counts.sensitive_rows_removed == 1


def test_dense_points_stay_fine_and_sparse_ones_coarsen() -> None:
    dense = pd.DataFrame(
        {
            "incident_id": range(20),
            "offence_code": 44,
            "offence_group": 35,
            "reported_month": "2025-01",
            "lon": 15.0562,
            "lat": 50.7671,
            "municipality_code": "563889",
        }
    )
    lonely = dense.head(1).assign(incident_id=99, lon=15.20, lat=50.70, municipality_code="563510")
    result = protect_incidents(pd.concat([dense, lonely]), MUNICIPALITIES, POLICY, set(), GROUPS)
    assert result.points["level"].tolist() == ["250m"] * 20
    assert result.loss["suppressed_records"] == 1
    code = result.points["cell_code"].iloc[0]
    assert code.startswith("CRS3035RES250mN") and "E" in code


def test_inspire_cell_codes() -> None:
    codes = cell_code(1000, np.array([3000000.0]), np.array([4500000.0]))
    assert codes.tolist() == ["CRS3035RES1000mN3000000E4500000"]


@settings(max_examples=40, deadline=None)
@given(incident_sets())
def test_months_protected_apart_give_the_points_and_loss_of_the_whole(
    incidents: pd.DataFrame,
) -> None:
    """The release protects a decade a year at a time: sound only because no class spans two
    months, so the parts' points and losses are the whole's."""
    whole = protect_incidents(incidents, MUNICIPALITIES, POLICY, SENSITIVE, GROUPS)
    parts = [
        protect_incidents(rows, MUNICIPALITIES, POLICY, SENSITIVE, GROUPS)
        for _, rows in incidents.groupby("reported_month")
    ]
    if not parts:
        return
    joined = pd.concat([p.points for p in parts], ignore_index=True)
    columns = list(whole.points.columns)
    assert joined.sort_values(columns, ignore_index=True).equals(
        whole.points.sort_values(columns, ignore_index=True)
    )
    assert sum((p.counts for p in parts[1:]), parts[0].counts).report() == whole.loss


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from([0, 7, 2**40, 2**62 + 3, 2**63 - 1]),  # places, some far apart
            st.integers(0, 5),  # (month, group) pairs
            st.booleans(),  # still to place
        ),
        max_size=60,
    ),
    st.integers(1, 4),
)
def test_whole_classes_are_the_classes_a_group_by_counts(rows: list, k: int) -> None:
    from transforms.privacy.kanon import _whole_classes

    table = np.array(rows, dtype=np.int64).reshape(-1, 3)
    location, month_group, remaining = table[:, 0], table[:, 1], table[:, 2].astype(bool)
    frame = pd.DataFrame({"place": location, "pair": month_group})[remaining]
    sizes = frame.groupby(["place", "pair"])["place"].transform("size")
    expected = np.zeros(len(location), dtype=bool)
    expected[sizes.index[sizes >= k]] = True
    chosen = _whole_classes(location, month_group, remaining, k)
    np.testing.assert_array_equal(chosen, expected)
