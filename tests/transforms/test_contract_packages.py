"""A contract's package shows its territory's figures at its tier, and nothing that narrows a
hidden cell of another place for a recipient who also holds the public release."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import assume, given, settings
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
    Cube,
    build_cube,
    geography_dimension,
    offence_dimension,
    period_dimension,
)
from transforms.privacy.cells import (
    NOTHING_KNOWN,
    PUBLISHED_CODE,
    KnownCells,
    attack_targets,
    below_sensitive_level,
    known_closure,
)
from transforms.privacy.kanon import protect_incidents
from transforms.privacy.outside import NO_OUTSIDE_SUMS
from transforms.privacy.suppression import ProtectionFailed, protect

TIER = POLICY.tier("municipal")


@st.composite
def earlier_releases(draw: st.DrawFn, cube: Cube) -> KnownCells:
    """Cells an earlier release showed that today's hides (a suppression pattern changes as
    counts grow): some of the cells the policy would hide with nothing known, never a sensitive
    offence below the level it is published from."""
    first = protect(cube, POLICY).codes != PUBLISHED_CODE
    candidates = np.flatnonzero(first & ~below_sensitive_level(cube, POLICY))
    if not len(candidates):
        return NOTHING_KNOWN
    picked = draw(st.lists(st.sampled_from(candidates.tolist()), max_size=6, unique=True))
    cells = np.array(sorted(picked), dtype=np.int64)
    return KnownCells(cells, cube.count[cells])


@SLOW
@given(st.data())
def test_a_package_narrows_no_hidden_cell_of_another_place(data: st.DataObject) -> None:
    """The recipient holds every release so far and its package: no hidden cell of another
    place that earlier releases do not already give away is narrower than the public audit
    required, by an LP apart from the audit's."""
    cube = data.draw(cubes(max_count=6))
    towns = [c for c in cube.geo.codes if cube.geo.level[c] == "municipality"]
    units = data.draw(st.sampled_from([*towns, *(c for c in cube.geo.codes if c.startswith("D"))]))
    earlier = data.draw(earlier_releases(cube))
    try:
        protection = protect(cube, POLICY, earlier)
    except ProtectionFailed:  # the release is refused: no package is made from it
        assume(False)
    public_hidden = protection.codes != PUBLISHED_CODE
    package = package_cells(
        cube, POLICY, TIER, [units], public_hidden, protection.required_width, earlier
    )
    # only its territory, at its tier: no sensitive offence below the district, no small count
    assert not (package.shown & ~package.territory).any()
    assert not (package.shown & ~tier_allows(cube, POLICY, TIER)).any()
    assert not (package.shown & below_sensitive_level(cube, POLICY)).any()
    # the recipient's attack: every release's cells, and the package's, as published
    hidden = public_hidden & ~package.shown
    hidden[earlier.cells] = False
    given = known_closure(cube, earlier)
    _, protected = attack_targets(public_hidden, protection.required_width, given)
    others = [int(c) for c in protected if not package.territory[c]]
    for cell in others[:15]:
        width = whole(*plain_interval(cube, hidden, NO_OUTSIDE_SUMS, cell))
        assert width >= protection.required_width[cell], cell


def test_a_district_package_gives_away_no_cell_of_its_one_district_region() -> None:
    """D0 is its region's only district: the region's and the country's cells are sums of D0's
    alone, and so is a year of months. Found by the random attack: the country's shop thefts of
    the year (hidden, protected) followed from the months D0's package showed. Every protected
    cell above D0 keeps its width for D0's recipient, by the independent LP."""
    leaves = {("000000", "2025-02", "2"): 3, ("000000", "2025-03", "45"): 2,
              ("000001", "2025-02", "2"): 1, ("000001", "2025-02", "44"): 3,
              ("000001", "2025-02", "45"): 1, ("000001", "2025-03", "45"): 1}  # fmt: skip
    months = ["2025-01", "2025-02", "2025-03"]
    cube = build_cube(
        pd.DataFrame([k for k, n in leaves.items() for _ in range(n)],
                     columns=["geo", "period", "offence"]),
        geography_dimension(geography([2])),
        period_dimension(months),
        offence_dimension(TYPES, PARENT, SENSITIVE),
    )  # fmt: skip
    protection = protect(cube, POLICY)
    public_hidden = protection.codes != PUBLISHED_CODE
    package = package_cells(cube, POLICY, TIER, ["D0"], public_hidden, protection.required_width)
    hidden = public_hidden & ~package.shown
    _, protected = attack_targets(public_hidden, protection.required_width, NOTHING_KNOWN)
    above = [int(c) for c in protected if not package.territory[c]]
    assert above  # the country's year of shop thefts among them
    for cell in above:
        width = whole(*plain_interval(cube, hidden, NO_OUTSIDE_SUMS, cell))
        assert width >= protection.required_width[cell], cube.keys(np.array([cell]))
    # and the package still shows what the public release shows of D0
    public = package.territory & ~public_hidden & tier_allows(cube, POLICY, TIER)
    assert package.shown[public].all()


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
