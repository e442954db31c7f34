"""A contract's package shows its territory's figures at its tier, and nothing that narrows a
hidden cell of another place for a recipient who also holds the public release."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.transforms.privacy.strategies import (
    PARENT,
    POLICY,
    SENSITIVE,
    SLOW,
    TYPES,
    cubes,
    geography,
)
from tests.transforms.privacy.test_kanon import GROUPS, MUNICIPALITIES, incident_sets
from tests.transforms.privacy.test_kanon import SENSITIVE as SENSITIVE_TYPES
from tests.transforms.privacy.test_outside import plain_interval, whole
from transforms.contracts.package import package_cells, package_points, tier_allows
from transforms.domain.counting import (
    build_cube,
    geography_dimension,
    offence_dimension,
    period_dimension,
)
from transforms.privacy.cells import (
    NOTHING_KNOWN,
    PUBLISHED_CODE,
    attack_targets,
    below_sensitive_level,
)
from transforms.privacy.kanon import protect_incidents
from transforms.privacy.outside import NO_OUTSIDE_SUMS
from transforms.privacy.suppression import protect

TIER = POLICY.tier("municipal")


@SLOW
@given(st.data())
def test_a_package_narrows_no_hidden_cell_of_another_place(data: st.DataObject) -> None:
    cube = data.draw(cubes(max_count=6))
    towns = [c for c in cube.geo.codes if cube.geo.level[c] == "municipality"]
    units = data.draw(st.sampled_from([*towns, *(c for c in cube.geo.codes if c.startswith("D"))]))
    protection = protect(cube, POLICY)
    public_hidden = protection.codes != PUBLISHED_CODE
    package = package_cells(cube, POLICY, TIER, [units], public_hidden, protection.required_width)
    # only its territory, at its tier: no sensitive offence below the district, no small count
    assert not (package.shown & ~package.territory).any()
    assert not (package.shown & ~tier_allows(cube, POLICY, TIER)).any()
    assert not (package.shown & below_sensitive_level(cube, POLICY)).any()
    # the recipient's attack: the public release's cells, and the package's, as published
    hidden = public_hidden & ~package.shown
    _, protected = attack_targets(public_hidden, protection.required_width, NOTHING_KNOWN)
    others = [int(c) for c in protected if not package.territory[c]]
    for cell in others[:15]:
        width = whole(*plain_interval(cube, hidden, NO_OUTSIDE_SUMS, cell))
        assert width >= protection.required_width[cell], cell


def test_a_towns_own_count_that_hides_its_neighbours_is_withheld() -> None:
    """District D0 of two towns publishes its shop thefts (5); town A's 4 were hidden only so
    that town B's 1 cannot be worked out. A's package may not show the 4: 5 − 4 = B's 1."""
    counts = {("000000", "44"): 4, ("000001", "44"): 1, ("000000", "45"): 7,
              ("000001", "45"): 6}  # fmt: skip
    rows = [(g, "2025-01", o) for (g, o), n in counts.items() for _ in range(n)]
    cube = build_cube(
        pd.DataFrame(rows, columns=["geo", "period", "offence"]),
        geography_dimension(geography([2])),
        period_dimension(["2025-01"]),
        offence_dimension(TYPES, PARENT, SENSITIVE),
    )
    protection = protect(cube, POLICY)
    public_hidden = protection.codes != PUBLISHED_CODE
    keys = cube.keys(np.arange(len(cube.count)))
    cell = {k: i for i, k in enumerate(keys.itertuples(index=False, name=None))}
    town_a = cell[("000000", "2025-01", "44")]
    assert public_hidden[town_a] and public_hidden[cell[("000001", "2025-01", "44")]]
    package = package_cells(
        cube, POLICY, TIER, ["000000"], public_hidden, protection.required_width
    )
    assert not package.shown[town_a] and package.withheld_for_others[town_a]
    # what the public release shows of the town, the package shows too
    public = package.territory & ~public_hidden & tier_allows(cube, POLICY, TIER)
    assert (package.shown[public]).all()
    # B's own package shows nothing of A's either, and not its own 1 (under the threshold)
    b = package_cells(cube, POLICY, TIER, ["000001"], public_hidden, protection.required_width)
    assert not b.shown[cell[("000001", "2025-01", "44")]]
    assert not (b.shown & ~b.territory).any()


def _cells(incidents: pd.DataFrame, towns: set[str]) -> pd.DataFrame:
    """The (municipality, month, group) cells of ``towns`` that hold a record, as shown."""
    cells = incidents[incidents["municipality_code"].isin(towns)]
    return cells[["municipality_code", "reported_month", "offence_group"]].drop_duplicates()


@settings(max_examples=60, deadline=None)
@given(incident_sets())
def test_a_packages_points_tell_nothing_of_a_public_class_with_a_neighbours_records(
    incidents: pd.DataFrame,
) -> None:
    """Liberec's package places its own records on the tier's finer grid with its smaller k.
    Its recipient also holds the public point file: wherever a public class holds records of
    Liberec and of its neighbour, Liberec's package has no point of that month and group, so
    the recipient cannot count its own records out of the class and learn the neighbour's."""
    towns = set(MUNICIPALITIES["code"])
    public = protect_incidents(
        incidents, MUNICIPALITIES, POLICY, SENSITIVE_TYPES, GROUPS, _cells(incidents, towns),
        with_municipality=True,
    ).points  # fmt: skip
    package = package_points(
        incidents, MUNICIPALITIES, POLICY, TIER, (frozenset(SENSITIVE_TYPES), GROUPS),
        _cells(incidents, towns), _cells(incidents, {"563889"}),
    )  # fmt: skip
    points = package.points.points
    inside = public["municipality_code"] == "563889"
    per_class = inside.groupby([public["cell_code"], public["month"], public["offence_group"]])
    mixed = per_class.any() & ~per_class.all()
    shared = {(m, g) for _, m, g in mixed[mixed].index}
    assert package.shared_months == shared
    placed = set(zip(points["month"].astype(str), points["offence_group"], strict=True))
    assert not placed & shared
    # every class holds the tier's k, nothing sensitive, and only the territory's records:
    # those of the months not shared, each placed or counted as left out
    sizes = points.groupby(["cell_code", "month", "offence_group"]).size()
    assert (sizes >= TIER.incidents.k).all()
    assert not points["offence_group"].isin([500]).any()
    own = incidents[
        (incidents["municipality_code"] == "563889") & (incidents["offence_code"] != 501)
    ]
    own = own.drop_duplicates(["incident_id", "offence_group"])
    months = zip(own["reported_month"], own["offence_group"], strict=True)
    kept = [(m, g) not in shared for m, g in months]
    loss = package.points.counts
    assert sum(loss.records_by_level.values()) + loss.suppressed_records == sum(kept)
    # a municipality-level point is the town's own
    at_town = points[points["level"].astype(str) == "municipality"]
    assert set(at_town["cell_code"].astype(str)) <= {"563889"}
