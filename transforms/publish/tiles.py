"""Vector tiles of points: MVT (spec 2.1) tiles in one PMTiles v3 archive, for web maps.

GDAL's MVT driver stages every feature of every zoom in SQLite and re-encodes any tile over its
size limit; on a national year of incident classes that took two minutes. Points need none of
that machinery: each point is quantised once to web-mercator tile coordinates at the deepest zoom,
and each shallower zoom drops low bits. A tile is then a sort and a few byte joins.

Dense tiles are clustered, as tippecanoe's ``--cluster-densest-as-needed`` does: within a tile,
points that share the ``cluster_by`` properties and fall into the same bin of 2^s × 2^s tile units
become one feature at their weighted centre, with the ``summed`` property added up and the number
of points merged in ``points``. The bin grows only in tiles that would otherwise exceed
``MAX_TILE_FEATURES`` features or ``MAX_TILE_BYTES`` bytes, so the deepest zoom keeps every point
where it is. A point alone in its bin keeps all its properties; a cluster carries only
``cluster_by``, ``summed`` and ``points``.

The same rows give the same bytes: no clock, sorted keys and values, gzip without a timestamp.
"""

from __future__ import annotations

import gzip
import json
import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pmtiles.tile import Compression, TileType, serialize_directory, serialize_header, zxy_to_tileid
from pmtiles.writer import Writer

from transforms.plumbing.arrays import sorted_unique

EXTENT = 4096  # tile units per tile side (the MVT default)
EXTENT_BITS = 12
MAX_TILE_FEATURES = 20_000
MAX_TILE_BYTES = 500_000  # uncompressed: the usual limit of map renderers (and GDAL's default)
POINTS = "points"  # the property holding how many input points a feature stands for


@dataclass(frozen=True)
class Tile:
    zoom: int
    x: int
    y: int
    mvt: bytes  # uncompressed MVT


def write_point_pmtiles(
    frame: gpd.GeoDataFrame,
    path: Path,
    layer: str,
    min_zoom: int,
    max_zoom: int,
    *,
    cluster_by: Sequence[str],
    summed: str,
) -> None:
    """``frame``: points in EPSG:4326, one row per feature at the deepest zoom."""
    tiles = sorted(
        (zxy_to_tileid(t.zoom, t.x, t.y), t.mvt)
        for t in point_tiles(frame, layer, min_zoom, max_zoom, cluster_by=cluster_by, summed=summed)
    )
    bounds = frame.total_bounds if len(frame) else np.array([-180.0, -85.0, 180.0, 85.0])
    header = _header(bounds, min_zoom, max_zoom)
    metadata = _metadata(frame, layer, bounds, min_zoom, max_zoom, cluster_by, summed)
    path.unlink(missing_ok=True)
    with path.open("wb") as handle:
        if not tiles:  # the pmtiles writer needs a tile to find the zooms
            _write_empty_archive(handle, header, metadata)
            return
        writer = Writer(handle)
        for tile_id, mvt in tiles:
            writer.write_tile(tile_id, gzip.compress(mvt, compresslevel=6, mtime=0))
        writer.finalize(header, metadata)


def point_tiles(
    frame: gpd.GeoDataFrame,
    layer: str,
    min_zoom: int,
    max_zoom: int,
    *,
    cluster_by: Sequence[str],
    summed: str,
) -> Iterator[Tile]:
    if frame.crs is None or frame.crs.to_epsg() != 4326:
        raise ValueError("point tiles are cut from WGS84 (EPSG:4326) coordinates")
    if len(frame) == 0:
        return
    x, y = _deepest_units(frame.geometry.values, max_zoom)
    properties = frame.drop(columns=frame.geometry.name).reset_index(drop=True)
    properties[POINTS] = 1
    group = _group_codes(properties, cluster_by)
    weight = properties[summed].to_numpy(np.int64)
    columns = _Columns(properties, summed)
    kept = frozenset([*cluster_by, summed, POINTS])
    for zoom in range(max_zoom, min_zoom - 1, -1):
        drop = max_zoom - zoom
        zx, zy = x >> drop, y >> drop
        tile = ((zx >> EXTENT_BITS) << zoom) | (zy >> EXTENT_BITS)
        points = _Points(tile, zx & (EXTENT - 1), zy & (EXTENT - 1), group, weight)
        yield from _zoom_tiles(zoom, points, columns, layer, kept)


def _deepest_units(points: Any, zoom: int) -> tuple[np.ndarray, np.ndarray]:
    """Web-mercator positions in tile units at ``zoom`` (int64, origin top left)."""
    lon, lat = shapely.get_x(points), shapely.get_y(points)
    lat = np.clip(lat, -85.0511287798, 85.0511287798)
    scale = float(EXTENT << zoom)
    x = (lon + 180.0) / 360.0 * scale
    y = (1.0 - np.arcsinh(np.tan(np.radians(lat))) / np.pi) / 2.0 * scale
    top = (EXTENT << zoom) - 1
    return np.clip(x, 0, top).astype(np.int64), np.clip(y, 0, top).astype(np.int64)


def _group_codes(properties: pd.DataFrame, cluster_by: Sequence[str]) -> np.ndarray:
    """One integer per distinct combination of the ``cluster_by`` values."""
    if not cluster_by:
        return np.zeros(len(properties), dtype=np.int64)
    factorized = [pd.factorize(properties[c], sort=True) for c in cluster_by]
    if np.prod([len(uniques) + 1.0 for _, uniques in factorized]) < 2.0**62:
        # the combinations as one mixed-radix number (missing first, as -1 sorts): the same
        # order as the rows of codes, sorted in one pass over integers
        combined = np.zeros(len(properties), dtype=np.int64)
        for codes, uniques in factorized:
            combined = combined * (len(uniques) + 1) + (codes.astype(np.int64) + 1)
        return sorted_unique(combined, return_inverse=True)[1].astype(np.int64)
    codes = np.column_stack([codes for codes, _ in factorized]).astype(np.int64)
    return np.unique(codes, axis=0, return_inverse=True)[1].reshape(-1).astype(np.int64)


def _zoom_tiles(
    zoom: int, points: _Points, columns: _Columns, layer: str, kept: frozenset[str]
) -> Iterator[Tile]:
    shift = _bin_shifts(points.tile, points.x, points.y, points.group)
    pending = np.arange(len(points.tile))
    while len(pending):
        features = _cluster(points, pending, shift[pending])
        tiles, messages = _encode_tiles(features, columns, layer, kept)
        too_big = np.array([len(m) > MAX_TILE_BYTES for m in messages], dtype=bool)
        # a tile already at one bin per group is kept as it is: nothing coarser exists
        too_big &= features.shift_of_tile < EXTENT_BITS
        for tile_id, message, big in zip(tiles.tolist(), messages, too_big.tolist(), strict=True):
            if not big:
                yield Tile(zoom, tile_id >> zoom, tile_id & ((1 << zoom) - 1), message)
        # coarser bins for the tiles over the byte limit, then again: a step quarters the bins,
        # so a tile k times too large takes about log4(k) steps at once
        over = np.array([len(m) / MAX_TILE_BYTES for m in messages])[too_big]
        steps = np.maximum(1, np.floor(np.log(over) / np.log(4))).astype(np.int64)
        in_tile = np.searchsorted(tiles[too_big], points.tile[pending])
        big = np.isin(points.tile[pending], tiles[too_big])
        pending = pending[big]
        shift[pending] = np.minimum(shift[pending] + steps[in_tile[big]], EXTENT_BITS)


@dataclass(frozen=True)
class _Points:
    """The points at one zoom: tile number (x << zoom | y), position in the tile, cluster
    group and weight (the summed property)."""

    tile: np.ndarray
    x: np.ndarray
    y: np.ndarray
    group: np.ndarray
    weight: np.ndarray


def _bin_shifts(
    tile: np.ndarray, local_x: np.ndarray, local_y: np.ndarray, group: np.ndarray
) -> np.ndarray:
    """Per point, the smallest bin (2^shift tile units, at most a whole tile) that keeps its
    tile under ``MAX_TILE_FEATURES`` features; all points of a tile get the same shift.

    A bin of the next size holds whole bins of this one, so a tile's features never grow with
    the shift: each crowded tile's shift is found by bisection, in four passes over its points
    instead of one per size tried."""
    shift = np.zeros(len(tile), dtype=np.int64)
    # a tile of at most MAX_TILE_FEATURES points cannot have more features: only the others
    # are binned (at the deepest zooms, none)
    tiles, points = sorted_unique(tile, return_counts=True)
    crowded = tiles[points > MAX_TILE_FEATURES]
    rows = np.flatnonzero(np.isin(tile, crowded))
    if not len(rows):
        return shift
    of_row = np.searchsorted(crowded, tile[rows])
    low = np.zeros(len(crowded), dtype=np.int64)  # the shift lies in [low, high]
    high = np.full(len(crowded), EXTENT_BITS, dtype=np.int64)
    groups = int(group.max()) + 1
    while (searching := low < high).any():
        active = searching[of_row]
        at, which = rows[active], of_row[active]
        middle = (low + high) // 2
        s = middle[which]
        bins = (tile[at] << (2 * EXTENT_BITS)) | (local_x[at] >> s) << EXTENT_BITS
        cell, cells = pd.factorize(bins | (local_y[at] >> s))
        features_of = pd.unique(cell * groups + group[at])
        feature_tile = np.searchsorted(crowded, cells[features_of // groups] >> (2 * EXTENT_BITS))
        features = np.bincount(feature_tile, minlength=len(crowded))
        fits = features <= MAX_TILE_FEATURES
        high = np.where(searching & fits, middle, high)
        low = np.where(searching & ~fits, middle + 1, low)
    shift[rows] = low[of_row]
    return shift


@dataclass(frozen=True)
class _Features:
    """Features of one zoom, sorted by tile: position, the row whose properties a lone point
    keeps (``lead``), how many points (``size``) and how much weight (``total``) each holds;
    ``tile_start`` says where each tile's features begin."""

    tile: np.ndarray
    x: np.ndarray
    y: np.ndarray
    lead: np.ndarray
    size: np.ndarray
    total: np.ndarray
    tile_start: np.ndarray
    shift_of_tile: np.ndarray


def _cluster(points: _Points, rows: np.ndarray, shift: np.ndarray) -> _Features:
    tile, group, weight = points.tile[rows], points.group[rows], points.weight[rows]
    x, y = points.x[rows], points.y[rows]
    bx, by = x >> shift, y >> shift
    # rows are ascending: a stable sort by (tile, by, bx, group) keeps them as the last key
    group_bits = max(int(group.max()).bit_length(), 1) if len(group) else 1
    tile_bits = max(int(tile.max()).bit_length(), 1) if len(tile) else 1
    if tile_bits + 2 * EXTENT_BITS + group_bits <= 63:  # the four keys as one integer
        key = (((tile << EXTENT_BITS | by) << EXTENT_BITS | bx) << group_bits) | group
        order = np.argsort(key, kind="stable")
    else:
        key = np.column_stack([tile, by, bx, group])
        order = np.lexsort((rows, group, bx, by, tile))
    key = key[order]
    changed = key[1:] != key[:-1]
    if changed.ndim > 1:  # the keys as columns
        changed = changed.any(axis=1)
    start = np.flatnonzero(np.append(True, changed))
    w = weight[order]
    total = np.add.reduceat(w, start)
    divisor = np.maximum(total, 1)
    feature_tile = tile[order][start]
    tile_start = np.flatnonzero(np.append(True, feature_tile[1:] != feature_tile[:-1]))
    return _Features(
        tile=feature_tile,
        x=np.add.reduceat(w * x[order], start) // divisor,
        y=np.add.reduceat(w * y[order], start) // divisor,
        lead=rows[order][start],
        size=np.diff(np.append(start, len(order))),
        total=total,
        tile_start=tile_start,
        shift_of_tile=shift[order][start][tile_start],
    )


class _Columns:
    """The properties, each factorised once; ``messages[k][code]`` is the encoded MVT value."""

    def __init__(self, properties: pd.DataFrame, summed: str):
        self.names = list(properties.columns)
        self.summed = summed
        self.codes: list[np.ndarray] = []
        self.messages: list[list[bytes]] = []
        for name in self.names:
            codes, uniques = pd.factorize(properties[name], sort=True)
            self.codes.append(codes.astype(np.int64))
            self.messages.append([_field_bytes(4, _value_message(v)) for v in uniques])


def _encode_tiles(
    features: _Features, columns: _Columns, layer: str, kept: frozenset[str]
) -> tuple[np.ndarray, list[bytes]]:
    """Every tile of a zoom encoded at once: the features' varints are built as one array."""
    tiles = features.tile[features.tile_start]
    tile_index = np.repeat(
        np.arange(len(tiles)), np.diff(np.append(features.tile_start, len(features.tile)))
    )
    alone = features.size == 1
    tag_keys, tag_values, value_lists = [], [], []
    base = np.zeros(len(tiles), dtype=np.int64)  # values listed so far in each tile
    for key, name in enumerate(columns.names):
        if name in (POINTS, columns.summed):
            number = features.size if name == POINTS else features.total
            codes, uniques = pd.factorize(number, sort=True)
            messages = [_field_bytes(4, _value_message(int(v))) for v in uniques]
        else:
            codes = columns.codes[key][features.lead]
            codes = np.where((codes >= 0) & (alone | (name in kept)), codes, -1)
            messages = columns.messages[key]
        local, used_tile, used_code = _tile_values(tile_index, codes, len(messages))
        tag_keys.append(np.where(codes >= 0, key, -1))
        tag_values.append(np.where(codes >= 0, base[tile_index] + local, -1))
        value_lists.append((used_tile, key, [messages[c] for c in used_code.tolist()]))
        base += np.bincount(used_tile, minlength=len(tiles))

    tags = [v for pair in zip(tag_keys, tag_values, strict=True) for v in pair]
    tags_length = np.zeros(len(features.tile), dtype=np.int64)
    for tag in tags:
        tags_length += _varint_lengths(tag, skip_negative=True)
    zx, zy = features.x * 2, features.y * 2  # zigzag of a non-negative position
    geometry_length = 1 + _varint_lengths(zx) + _varint_lengths(zy)
    feature_length = 1 + _varint_lengths(tags_length) + tags_length + 2
    feature_length += 1 + _varint_lengths(geometry_length) + geometry_length
    encoded, feature_bytes = _varint_rows(
        [
            0x12, feature_length,  # Layer.features
            0x12, tags_length, *tags,  # Feature.tags (packed; -1: no tag)
            0x18, 1,  # Feature.type = POINT
            0x22, geometry_length, 9, zx, zy,  # MoveTo(1), x, y
        ],
        len(features.tile),
    )  # fmt: skip
    tile_bytes = np.add.reduceat(feature_bytes, features.tile_start)
    ends = np.cumsum(tile_bytes)

    values_by_tile = _values_by_tile(value_lists, len(tiles))
    head = b"\x78\x02" + _field_bytes(1, layer.encode())
    keys = b"".join(_field_bytes(3, name.encode()) for name in columns.names)
    tail = keys + b"\x28" + _varint(EXTENT)
    messages = []
    for i, (end, size) in enumerate(zip(ends.tolist(), tile_bytes.tolist(), strict=True)):
        layer_message = head + encoded[end - size : end] + tail + values_by_tile[i]
        messages.append(_field_bytes(3, layer_message))
    return tiles, messages


def _tile_values(
    tile_index: np.ndarray, codes: np.ndarray, n_codes: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each present code's number in its tile's value list (codes in sorted order), and the
    (tile, code) pairs the tiles list."""
    present = codes >= 0
    width = max(n_codes, 1)
    pair = (tile_index * width + codes)[present]
    pairs = (int(tile_index[-1]) + 1) * width if len(tile_index) else 0
    if pairs <= 8 * len(codes) + (1 << 16):  # few codes (months, groups)
        used, inverse = _distinct_marked(pair, pairs)
    else:
        used, inverse = sorted_unique(pair, return_inverse=True)
    used_tile = used // width
    first = np.searchsorted(used_tile, used_tile, side="left")
    rank = np.arange(len(used)) - first
    local = np.full(len(codes), -1, dtype=np.int64)
    local[present] = rank[inverse]
    return local, used_tile, used % width


def _distinct_marked(values: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(values, return_inverse=True)`` for values in ``range(size)``, by marking
    them in an array of that size instead of sorting them."""
    seen = np.zeros(size, dtype=bool)
    seen[values] = True
    return np.flatnonzero(seen), np.cumsum(seen)[values] - 1


def _values_by_tile(
    value_lists: list[tuple[np.ndarray, int, list[bytes]]], n_tiles: int
) -> list[bytes]:
    """Each tile's Layer.values, property by property in key order, as ``_tile_values``
    numbered them."""
    parts: list[list[bytes]] = [[] for _ in range(n_tiles)]
    for used_tile, _key, messages in value_lists:
        for tile, message in zip(used_tile.tolist(), messages, strict=True):
            parts[tile].append(message)
    return [b"".join(p) for p in parts]


def _varint_lengths(values: np.ndarray, skip_negative: bool = False) -> np.ndarray:
    """The byte length of each value's varint (0 for a negative value if ``skip_negative``)."""
    v = np.asarray(values, dtype=np.int64)
    lengths = np.ones(v.shape, dtype=np.int64)
    top = int(v.max()) if v.size else 0
    for i in range(1, 10):
        if top < (1 << (7 * i)):
            break
        lengths += v >= (1 << (7 * i))
    if skip_negative:
        lengths[v < 0] = 0
    return lengths


def _varint_rows(columns: Sequence[np.ndarray | int], n: int) -> tuple[bytes, np.ndarray]:
    """``n`` rows of varints back to back, row ``r`` holding each column's value at ``r`` (an
    ``int`` column: the same value in every row) in order, negative values left out; and
    each row's length in bytes. Written a column at a time into one buffer: no array of every
    value is built."""
    lengths: list[np.ndarray | int] = [
        len(_varint(c)) if isinstance(c, int) else _varint_lengths(c, skip_negative=True)
        for c in columns
    ]
    row_bytes = np.zeros(n, dtype=np.int64)
    for length in lengths:
        row_bytes += length
    at = np.cumsum(row_bytes) - row_bytes
    out = np.empty(int(row_bytes.sum()), dtype=np.uint8)
    for column, length in zip(columns, lengths, strict=True):
        if isinstance(column, int):
            for i, byte in enumerate(_varint(column)):
                out[at + i] = byte
            at += length
            continue
        assert isinstance(length, np.ndarray)
        rows = np.flatnonzero(length > 0) if (length == 0).any() else slice(None)
        v, start, size = column[rows], at[rows], length[rows]
        out[start] = (v & 0x7F).astype(np.uint8) | ((size > 1).astype(np.uint8) << 7)
        longer = np.flatnonzero(size > 1)  # few: most values fit in one byte
        for i in range(1, int(size.max(initial=1))):
            longer = longer[size[longer] > i]
            more = (size[longer] > i + 1).astype(np.uint8) << 7
            out[start[longer] + i] = ((v[longer] >> (7 * i)) & 0x7F).astype(np.uint8) | more
        at += length
    return out.tobytes(), row_bytes


def _value_message(value: Any) -> bytes:
    if isinstance(value, bool | np.bool_):
        return b"\x38" + (b"\x01" if value else b"\x00")
    if isinstance(value, int | np.integer):
        number = int(value)
        if number >= 0:
            return b"\x28" + _varint(number)
        return b"\x30" + _varint((number << 1) ^ (number >> 63))  # zigzag
    if isinstance(value, float | np.floating):
        return b"\x19" + struct.pack("<d", float(value))
    return _field_bytes(1, str(value).encode())


def _field_bytes(field: int, payload: bytes) -> bytes:
    """A length-delimited protocol-buffer field."""
    return _varint((field << 3) | 2) + _varint(len(payload)) + payload


def _varint(n: int) -> bytes:
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _header(bounds: np.ndarray, min_zoom: int, max_zoom: int) -> dict[str, Any]:
    west, south, east, north = (round(float(v) * 1e7) for v in bounds)
    return {
        "tile_compression": Compression.GZIP,
        "tile_type": TileType.MVT,
        "min_lon_e7": west,
        "min_lat_e7": south,
        "max_lon_e7": east,
        "max_lat_e7": north,
        "center_zoom": min_zoom,
        "center_lon_e7": (west + east) // 2,
        "center_lat_e7": (south + north) // 2,
        "min_zoom": min_zoom,
        "max_zoom": max_zoom,
    }


def _metadata(
    frame: gpd.GeoDataFrame,
    layer: str,
    bounds: np.ndarray,
    min_zoom: int,
    max_zoom: int,
    cluster_by: Sequence[str],
    summed: str,
) -> dict[str, Any]:
    """TileJSON-style metadata, as GDAL and tippecanoe write it."""
    fields = {
        str(c): "Number" if pd.api.types.is_numeric_dtype(frame[c]) else "String"
        for c in frame.columns
        if c != frame.geometry.name
    }
    fields[POINTS] = "Number"
    west, south, east, north = (f"{float(v):.7f}" for v in bounds)
    return {
        "name": layer,
        "description": (
            f"Points; in dense tiles, points with the same {', '.join(cluster_by)} are merged "
            f"into one feature with '{summed}' summed and '{POINTS}' counting them"
        ),
        "version": "2",
        "minzoom": str(min_zoom),
        "maxzoom": str(max_zoom),
        "bounds": f"{west},{south},{east},{north}",
        "center": f"{(float(bounds[0]) + float(bounds[2])) / 2:.7f},"
        f"{(float(bounds[1]) + float(bounds[3])) / 2:.7f},{min_zoom}",
        "type": "overlay",
        "format": "pbf",
        "vector_layers": [
            {
                "id": layer,
                "description": "",
                "minzoom": min_zoom,
                "maxzoom": max_zoom,
                "fields": fields,
            }
        ],
    }


def _write_empty_archive(handle: Any, header: dict[str, Any], metadata: dict[str, Any]) -> None:
    root = serialize_directory([])
    packed_metadata = gzip.compress(json.dumps(metadata).encode(), mtime=0)
    header |= {
        "clustered": True,
        "internal_compression": Compression.GZIP,
        "root_offset": 127,
        "root_length": len(root),
        "metadata_offset": 127 + len(root),
        "metadata_length": len(packed_metadata),
        "tile_data_offset": 127 + len(root) + len(packed_metadata),
        "tile_data_length": 0,
    }
    handle.write(serialize_header(header))  # type: ignore[arg-type]
    handle.write(root)
    handle.write(packed_metadata)


def write_pmtiles(
    frame: gpd.GeoDataFrame, path: Path, layer: str, min_zoom: int, max_zoom: int
) -> None:
    """Vector tiles (MVT in one PMTiles archive) for web maps, written by GDAL's driver.

    The same rows give the same bytes (checked by the reproducibility test).
    """
    import pyogrio

    path.unlink(missing_ok=True)
    pyogrio.write_dataframe(
        frame,
        path,
        driver="PMTiles",
        layer=layer,
        dataset_options={"MINZOOM": str(min_zoom), "MAXZOOM": str(max_zoom), "NAME": layer},
    )
