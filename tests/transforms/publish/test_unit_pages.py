"""Each unit's page and download: what a municipality reads about itself, and that nothing on
them is computed from a hidden count."""

from __future__ import annotations

import csv
import io
from itertools import pairwise
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import PROJECT
from transforms.privacy.policy import RateRules, load_policy
from transforms.publish.national_map import map_offences, write_national_map
from transforms.publish.unit_pages import UnitContext, write_unit_files
from transforms.publish.units import (
    ABSENT,
    HIDDEN,
    UnitFiguresBuilder,
    rolling_sums,
    year_earlier,
)

RULES = RateRules(per=1000, min_population=500)


def months_of(first_year: int, count: int) -> list[str]:
    return [f"{first_year + i // 12}-{i % 12 + 1:02d}" for i in range(count)]


def brute_rolling(months: list[str], values: list[int]) -> list[int]:
    where = dict(zip(months, values, strict=True))
    out = []
    for month in months:
        y, m = int(month[:4]), int(month[5:])
        window = [f"{y + (m - 1 - k) // 12}-{(m - 1 - k) % 12 + 1:02d}" for k in range(12)]
        cells = [where.get(w, ABSENT) for w in window]
        if ABSENT in cells:
            out.append(ABSENT)
        elif HIDDEN in cells:
            out.append(HIDDEN)
        else:
            out.append(sum(cells))
    return out


@given(
    st.lists(st.one_of(st.integers(0, 50), st.just(HIDDEN)), min_size=1, max_size=40),
    st.sets(st.integers(0, 39), max_size=5),
)
def test_a_rolling_sum_is_shown_only_where_all_twelve_months_are_published(
    values: list[int], gaps: set[int]
) -> None:
    """A sum over a hidden month would tell what the table hides: it is hidden too; a month
    the release lacks leaves no sum."""
    months = [m for i, m in enumerate(months_of(2015, len(values))) if i not in gaps]
    kept = [v for i, v in enumerate(values) if i not in gaps]
    if not months:
        return
    got = rolling_sums(months, np.array(kept)).tolist()
    assert got == brute_rolling(months, kept)


def test_the_same_month_a_year_earlier() -> None:
    months = months_of(2020, 14)
    values = np.arange(14)
    values[1] = HIDDEN
    earlier = year_earlier(months, values).tolist()
    assert earlier[:12] == [ABSENT] * 12
    assert earlier[12] == 0 and earlier[13] == HIDDEN


def test_rates_only_for_published_counts_of_units_big_enough() -> None:
    counts = np.array([10, HIDDEN, 0])
    assert np.allclose(RULES.rates(counts, np.array(2000.0)), [5.0, np.nan, 0.0], equal_nan=True)
    assert np.isnan(RULES.rates(counts, np.array(499.0))).all()
    assert np.isnan(RULES.rates(counts, np.array(np.nan))).all()


def counts_table(rows: list[tuple[str, str, str, str, int | None, str]]) -> pa.Table:
    """A counts table's columns the unit figures read, text dictionary-encoded as stored."""
    frame = pd.DataFrame(
        rows, columns=["geo_level", "geo_code", "period", "offence_code", "count", "status"]
    )
    frame["geo_name"] = frame["geo_code"].map(lambda c: f"unit {c}")
    frame["offence_level"] = frame["offence_code"].map(
        lambda c: {"NONSENSITIVE": "total", "1": "group"}.get(c, "type")
    )
    frame["offence_name"] = frame["offence_code"]
    frame["population"] = 1000
    frame["count"] = frame["count"].astype("Int64")
    table = pa.Table.from_pandas(frame, preserve_index=False)
    for name in ("geo_level", "geo_code", "period", "offence_code", "status", "geo_name"):
        index = table.schema.get_field_index(name)
        table = table.set_column(index, name, table[name].dictionary_encode())
    return table


def test_figures_hold_published_counts_and_only_the_status_of_hidden_ones() -> None:
    builder = UnitFiguresBuilder()
    builder.add(
        counts_table(
            [
                ("municipality", "1", "2025-01", "NONSENSITIVE", 7, "published"),
                ("municipality", "1", "2025-01", "5", None, "suppressed"),
                ("municipality", "1", "2025", "NONSENSITIVE", 7, "published"),
                ("district", "9", "2025-01", "SENSITIVE", 12, "published"),
            ]
        )
    )
    figures = builder.build()
    assert figures.periods == ["2025-01", "2025"]  # months, then years
    unit = list(figures.units["code"]).index("1")
    sensitive = figures.offence_index("SENSITIVE")
    assert figures.counts[unit, figures.offence_index("5"), 0] == HIDDEN
    assert figures.counts[unit, figures.offence_index("NONSENSITIVE")].tolist() == [7, 7]
    assert figures.counts[unit, sensitive].tolist() == [ABSENT, ABSENT]  # no row at its level


@settings(max_examples=25, deadline=None)
@given(st.data())
def test_figures_do_not_depend_on_how_the_table_is_split(data) -> None:
    """The figures are the same whether the counts come as one table or as parts of any rows
    (a Parquet file's row groups split a year anywhere)."""
    frame = data.draw(small_counts(months_of(2024, data.draw(st.integers(1, 14)))))
    rows = list(frame.itertuples(index=False, name=None))
    cuts = sorted(data.draw(st.lists(st.integers(0, len(rows)), max_size=4)))
    whole, parts = UnitFiguresBuilder(), UnitFiguresBuilder()
    whole.add(counts_table(rows))
    for start, end in pairwise([0, *cuts, len(rows)]):
        if end > start:
            parts.add(counts_table(rows[start:end]))
    one, split = whole.build(), parts.build()
    order = [list(split.units["code"]).index(c) for c in one.units["code"]]
    offences = [[o.code for o in split.offences].index(o.code) for o in one.offences]
    assert one.periods == split.periods
    assert (split.counts[order][:, offences] == one.counts).all()


def test_every_unit_of_the_counts_table_has_a_page_and_a_csv(release: Path) -> None:
    counts = pq.read_table(release / "counts.parquet", columns=["geo_level", "geo_code"])
    units = counts.to_pandas().drop_duplicates()
    for level, code in zip(units["geo_level"], units["geo_code"], strict=True):
        assert (release / "units" / f"{level}-{code}.html").exists()
        assert (release / "units" / f"{level}-{code}.csv").exists()


def read_as_czech_excel(path: Path) -> list[list[str]]:
    """As Excel in a Czech locale reads a CSV: a UTF-8 byte order mark, fields split on ';'."""
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "no BOM: Excel would read the file as cp1250"
    return list(csv.reader(io.StringIO(raw[3:].decode("utf-8")), delimiter=";"))


def test_a_units_csv_holds_exactly_its_rows_of_the_counts_table(release: Path) -> None:
    """Every figure of the per-unit file is the national table's; a hidden cell reads
    'skryto'; periods across, offences down, for Excel in a Czech locale."""
    counts = pq.read_table(release / "counts.parquet").to_pandas()
    code = "535419"  # Mladá Boleslav
    rows = read_as_czech_excel(release / "units" / f"municipality-{code}.csv")
    header, body = rows[0], rows[1:]
    assert header[:3] == ["úroveň / level", "kód / code", "trestná činnost / offence"]
    mine = counts[(counts["geo_level"] == "municipality") & (counts["geo_code"] == code)]
    assert len(body) == mine["offence_code"].nunique()
    for row in body:
        for period, text in zip(header[3:], row[3:], strict=True):
            cell = mine[(mine["offence_code"] == row[1]) & (mine["period"] == period)].iloc[0]
            expected = "skryto" if cell["status"] == "suppressed" else str(int(cell["count"]))
            assert text == expected, (row[1], period)
    assert "Vloupání do bytu" in {row[2] for row in body}


def test_a_page_shows_what_the_table_publishes_for_its_rates(release: Path) -> None:
    """The rates a page carries are the table's rate_per_1000 column, to the cent."""
    import json
    import re

    counts = pq.read_table(release / "counts.parquet").to_pandas()
    page = (release / "units" / "municipality-535419.html").read_text(encoding="utf-8")
    data = json.loads(re.search(r'id="unit-data">(.*?)</script>', page, re.S).group(1))
    mine = counts[counts["geo_code"] == "535419"].set_index(["offence_code", "period"])
    checked = 0
    for (code, level, *_names), rate_row in zip(data["offences"], data["rates"], strict=True):
        if level == "type":
            continue
        for period, text in zip(data["periods"], rate_row.split(","), strict=True):
            published = mine.loc[(code, period), "rate_per_1000"]
            assert (text == "") == pd.isna(published)
            if text:
                assert float(text) == pytest.approx(float(published)), (code, period)
                checked += 1
    assert checked > 0


def small_context(frame: pd.DataFrame) -> UnitContext:
    """The pages' context for a small counts table (:func:`small_counts`): three square
    municipalities side by side in one district."""
    table = counts_table(list(frame.itertuples(index=False, name=None)))
    builder = UnitFiguresBuilder()
    builder.add(table)
    squares = [shapely.box(14 + i * 0.1, 50, 14.1 + i * 0.1, 50.1) for i in range(3)]
    maps = {
        "municipality": gpd.GeoDataFrame(
            {
                "code": [f"M{i}" for i in range(3)],
                "name": ["Aš", "Brno", "Cheb"],
                "population": [400, 1200, 5000],
            },
            geometry=squares,
            crs="EPSG:4326",
        ),
        "district": gpd.GeoDataFrame(
            {"code": ["D1"], "name": ["Okres"]}, geometry=[shapely.box(14, 50, 14.3, 50.1)]
        ),
    }
    return UnitContext(
        figures=builder.build(),
        parents={"M0": "D1", "M1": "D1", "M2": "D1", "D1": "CZ", "CZ": None},
        offence_parents={},
        policy=load_policy(PROJECT / "policy" / "disclosure.yaml")[0],
        title="test",
        version="2025-01.1",
        maps=maps,
        points=pd.DataFrame(
            {"lon": [14.05], "lat": [50.05], "offence_group_name": ["KRÁDEŽE"], "records": [5]}
        ),
    )


@settings(max_examples=25, deadline=None)
@given(st.data())
def test_pages_and_downloads_do_not_depend_on_hidden_counts(tmp_path_factory, data) -> None:
    """Whatever a hidden cell's true count, every unit file and every file of the national map
    is the same bytes: the pages, the charts, the sums, the ranks, the CSV and the map's
    figures are made from published cells only."""
    months = months_of(2023, data.draw(st.integers(1, 15)))
    frame = data.draw(small_counts(months))
    hidden = frame["status"] == "suppressed"
    outputs = []
    for leaked in (False, True):
        shown = frame.copy()
        # a leak would leave the true count in a hidden cell's row; the table writes none
        shown["count"] = shown["count"].where(~hidden | leaked, pd.NA)
        folder = tmp_path_factory.mktemp("units")
        context = small_context(shown)
        write_unit_files(folder, context)
        write_national_map(
            folder,
            context.figures,
            context.maps["municipality"],
            pd.DataFrame(
                {"month": months[:1], "lon": [14.05], "lat": [50.05], "offence_group": [1]}
                | {"records": [5]}
            ),
            context.policy.rates,
        )
        outputs.append(
            {p.name: p.read_bytes() for sub in ("units", "map") for p in (folder / sub).iterdir()}
        )
    assert outputs[0] == outputs[1]
    offered = [context.figures.offences[i].code for i in map_offences(context.figures)]
    assert offered == ["NONSENSITIVE", "1"]  # all offences and the group, not the type
    # a page and a CSV per unit, the search index; the map's areas, each period's figures and
    # the month with points
    assert len(outputs[0]) == 2 * 5 + 1 + 1 + len(months) + len({m[:4] for m in months}) + 1


@st.composite
def small_counts(draw, months: list[str]) -> pd.DataFrame:
    """A small counts table: a country, a district and three municipalities, a total and two
    types, every month and each year, some cells hidden."""
    units = [("country", "CZ"), ("district", "D1"), *(("municipality", f"M{i}") for i in range(3))]
    periods = months + sorted({m[:4] for m in months})
    rows = []
    for level, code in units:
        for period in periods:
            for offence in ("NONSENSITIVE", "1", "2"):
                count = draw(st.integers(0, 30))
                hidden = draw(st.booleans()) if offence != "NONSENSITIVE" else count in (1, 2)
                rows.append(
                    (level, code, period, offence, count, "suppressed" if hidden else "published")
                )
    frame = pd.DataFrame(
        rows, columns=["geo_level", "geo_code", "period", "offence_code", "count", "status"]
    )
    frame["count"] = frame["count"].astype("Int64")
    return frame
