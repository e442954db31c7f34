"""Point vector tiles, read back by GDAL's own PMTiles/MVT reader (an independent decoder)."""

from __future__ import annotations

import gzip
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pmtiles.reader import MmapSource, Reader, all_tiles

from transforms.publish import tiles
from transforms.publish.tiles import MAX_TILE_BYTES, MAX_TILE_FEATURES, write_point_pmtiles

CLUSTER_BY = ["month", "offence_group"]


def _classes(n: int, seed: int, spread: float = 1.0) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    lon = 15.5 + rng.uniform(-3, 3, n) * spread
    lat = 49.8 + rng.uniform(-1, 1, n) * spread
    frame = pd.DataFrame(
        {
            "cell_code": [f"CRS3035RES1000mN{i}E{i}" for i in range(n)],
            "month": rng.choice(["2022-01", "2022-02", "2022-03"], n),
            "offence_group": rng.integers(1, 4, n),
            "records": rng.integers(3, 40, n),
        }
    )
    return gpd.GeoDataFrame(frame, geometry=shapely.points(lon, lat), crs=4326)


def _write(frame: gpd.GeoDataFrame, path: Path, min_zoom: int = 5, max_zoom: int = 14) -> Path:
    write_point_pmtiles(
        frame, path, "incidents", min_zoom, max_zoom, cluster_by=CLUSTER_BY, summed="records"
    )
    return path


def _read(path: Path, zoom: int) -> gpd.GeoDataFrame:
    return pyogrio.read_dataframe(path, layer="incidents", ZOOM_LEVEL=str(zoom))


def test_deepest_zoom_keeps_every_point_its_properties_and_place(tmp_path) -> None:
    frame = _classes(500, seed=1)
    back = _read(_write(frame, tmp_path / "p.pmtiles"), 14).sort_values("cell_code")
    expected = frame.sort_values("cell_code").to_crs(3857)
    assert back["cell_code"].tolist() == expected["cell_code"].tolist()
    assert back["month"].tolist() == expected["month"].tolist()
    for column in ["offence_group", "records"]:  # MVT numbers, read back as reals
        assert back[column].astype(int).tolist() == expected[column].tolist()
    assert (back["points"] == 1).all()
    # one tile unit at zoom 14 is 40,075 km / 2^14 / 4096 ≈ 0.6 m
    distance = shapely.distance(back.geometry.values, expected.geometry.values)
    assert float(distance.max()) < 1.0


@given(seed=st.integers(0, 10_000), n=st.integers(1, 300), spread=st.sampled_from([1e-4, 0.1, 1]))
@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_every_zoom_accounts_for_every_record_of_every_group(tmp_path, seed, n, spread) -> None:
    frame = _classes(n, seed, spread)
    path = _write(frame, tmp_path / f"p{seed}.pmtiles", 3, 12)
    expected = frame.groupby(CLUSTER_BY)["records"].sum()
    for zoom in (3, 7, 12):
        back = _read(path, zoom)
        got = back.groupby(CLUSTER_BY)["records"].sum()
        assert got.to_dict() == {(m, float(g)): float(r) for (m, g), r in expected.items()}
        assert int(back["points"].sum()) == n
        clustered = back["points"] > 1
        assert back.loc[clustered, "cell_code"].isna().all()  # a cluster names no single cell


def test_dense_tiles_are_clustered_under_the_limits(tmp_path) -> None:
    frame = _classes(3 * MAX_TILE_FEATURES, seed=2, spread=0.05)
    path = _write(frame, tmp_path / "dense.pmtiles", 5, 12)
    with path.open("rb") as handle:
        reader = Reader(MmapSource(handle))
        sizes = {}
        for (zoom, _x, _y), data in all_tiles(MmapSource(handle)):
            sizes[zoom] = max(sizes.get(zoom, 0), len(gzip.decompress(data)))
        assert (reader.header()["min_zoom"], reader.header()["max_zoom"]) == (5, 12)
    assert max(sizes.values()) <= MAX_TILE_BYTES
    low = _read(path, 5)
    assert len(low) <= MAX_TILE_FEATURES
    assert int(low["records"].sum()) == int(frame["records"].sum())
    assert len(_read(path, 12)) > len(low)  # detail comes back as one zooms in


def test_same_points_in_any_order_give_the_same_bytes(tmp_path) -> None:
    frame = _classes(2_000, seed=3, spread=0.3)
    shuffled = frame.sample(frac=1, random_state=7).reset_index(drop=True)
    first = _write(frame, tmp_path / "a.pmtiles").read_bytes()
    assert first == _write(shuffled, tmp_path / "b.pmtiles").read_bytes()


def test_no_points_give_a_readable_empty_archive(tmp_path) -> None:
    path = _write(_classes(0, seed=0), tmp_path / "empty.pmtiles")
    with path.open("rb") as handle:
        reader = Reader(MmapSource(handle))
        assert reader.header()["addressed_tiles_count"] == 0
        assert reader.metadata()["vector_layers"][0]["id"] == "incidents"


def test_points_must_be_in_wgs84(tmp_path) -> None:
    with pytest.raises(ValueError, match="EPSG:4326"):
        _write(_classes(3, seed=0).to_crs(3857), tmp_path / "x.pmtiles")


@settings(max_examples=25, deadline=None)
@given(
    rows=st.integers(1, 300),
    distinct=st.sampled_from([3, 700]),  # 700 ** 7 overflows the packed key: the general path
    seed=st.integers(0, 10_000),
)
def test_cluster_groups_are_numbered_in_the_order_of_their_values(rows, distinct, seed) -> None:
    """Both ways of numbering the ``cluster_by`` combinations give the sorted rows' order,
    missing values first."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {f"c{i}": rng.integers(0, distinct, rows).astype(float) for i in range(7)}
    ).mask(rng.random((rows, 7)) < 0.1)
    columns = list(frame.columns)
    codes = np.column_stack([pd.factorize(frame[c], sort=True)[0] for c in columns])
    expected = np.unique(codes, axis=0, return_inverse=True)[1].reshape(-1)
    assert (tiles._group_codes(frame, columns) == expected).all()


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 400), seed=st.integers(0, 10_000), shift=st.integers(0, 12))
def test_features_are_the_same_whether_their_keys_fit_one_integer_or_not(n, seed, shift) -> None:
    """Many cluster groups do not fit the packed sort key: the general sort gives the same
    features."""
    rng = np.random.default_rng(seed)
    tile = rng.integers(0, 1 << 28, n) // rng.integers(1, 1 << 20) * 7
    points = tiles._Points(
        tile=tile,
        x=rng.integers(0, tiles.EXTENT, n),
        y=rng.integers(0, tiles.EXTENT, n),
        group=rng.integers(0, 5, n),
        weight=rng.integers(1, 9, n),
    )
    many_groups = tiles._Points(
        points.tile, points.x, points.y, points.group + (1 << 40), points.weight
    )
    rows = np.sort(rng.choice(n, size=max(1, n // 2), replace=False))
    shifts = np.full(len(rows), shift)
    packed = tiles._cluster(points, rows, shifts)
    general = tiles._cluster(many_groups, rows, shifts)
    for field in packed.__dataclass_fields__:
        assert (getattr(packed, field) == getattr(general, field)).all(), field


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 600),
    seed=st.integers(0, 10_000),
    limit=st.integers(1, 60),
    tiles_used=st.integers(1, 4),
    spread_bits=st.integers(0, 12),
)
def test_each_tile_gets_the_smallest_bin_that_fits(n, seed, limit, tiles_used, spread_bits) -> None:
    """Bisection finds, for each tile, the smallest shift whose bins give it at most the
    limit of features (distinct bin and group), or a whole tile per bin: what counting the
    features at every shift finds."""
    rng = np.random.default_rng(seed)
    tile = rng.integers(0, tiles_used, n) * 1_000_003
    x, y = (rng.integers(0, 1 << spread_bits, n) for _ in "xy")
    group = rng.integers(0, 3, n)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tiles, "MAX_TILE_FEATURES", limit)
        shifts = tiles._bin_shifts(tile, x, y, group)
    for t in np.unique(tile):
        mine = tile == t
        fitting = [
            s
            for s in range(tiles.EXTENT_BITS + 1)
            if len({*zip(x[mine] >> s, y[mine] >> s, group[mine], strict=True)}) <= limit
        ]
        assert (shifts[mine] == min([*fitting, tiles.EXTENT_BITS])).all()


@given(values=st.lists(st.integers(0, 50), max_size=200), extra=st.integers(0, 20))
def test_marking_numbers_values_as_sorting_does(values, extra) -> None:
    array = np.array(values, dtype=np.int64)
    used, inverse = tiles._distinct_marked(array, max(values, default=-1) + 1 + extra)
    expected_used, expected_inverse = np.unique(array, return_inverse=True)
    assert used.tolist() == expected_used.tolist()
    assert inverse.tolist() == expected_inverse.tolist()


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        out.append((n & 0x7F) | (0x80 if n >= 0x80 else 0))
        n >>= 7
        if not n:
            return bytes(out)


@given(
    rows=st.integers(0, 40),
    columns=st.lists(st.one_of(st.integers(0, 2**40), st.just("column")), min_size=1, max_size=6),
    seed=st.integers(0, 10_000),
)
def test_varint_rows_are_each_rows_varints_back_to_back(rows, columns, seed) -> None:
    """Every feature of a tile is written as one row of varints; a negative value (a property
    a feature does not have) is left out."""
    rng = np.random.default_rng(seed)
    values = [
        c if isinstance(c, int) else rng.integers(-3, 2 ** rng.integers(1, 62), rows)
        for c in columns
    ]
    encoded, lengths = tiles._varint_rows(values, rows)
    expected = [
        b"".join(
            _varint(int(v if isinstance(v, int) else v[r]))
            for v in values
            if (v if isinstance(v, int) else v[r]) >= 0
        )
        for r in range(rows)
    ]
    assert encoded == b"".join(expected)
    assert lengths.tolist() == [len(e) for e in expected]
