"""Text built a column at a time: each distinct value formatted once, rows joined in one
pass. What the CSV and GeoJSON writers share, so that a table of millions of cells is written
in seconds and gives the same bytes run after run."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


def encoded(values: pa.ChunkedArray) -> pa.ChunkedArray:
    """``values`` dictionary-encoded, with one dictionary."""
    return pa.chunked_array([pc.dictionary_encode(values.combine_chunks())])


def by_dictionary_value(values: pa.ChunkedArray, encode: Any) -> CodedText:
    """:func:`by_distinct_value` for a dictionary-encoded column (one, unified dictionary):
    its dictionary is already the distinct values."""
    if values.num_chunks == 0:
        return CodedText(pa.array([], type=pa.large_string()), np.zeros(0, dtype=np.int64))
    indices = pa.chunked_array([c.indices for c in values.chunks], values.type.index_type)
    return _coded(values.chunk(0).dictionary.to_pylist(), indices.combine_chunks(), encode)


def by_distinct_value(values: pd.Series, encode: Any) -> CodedText:
    """``encode`` applied to each distinct value once, then spread over the rows in Arrow
    (missing values are encoded as ``None``)."""
    if pd.api.types.is_float_dtype(values.dtype):
        # by bit pattern: 0.0 and -0.0 are one value to factorize, two to repr and json.dumps
        floats = values.to_numpy(dtype="float64", na_value=np.nan)
        missing = np.isnan(floats)
        codes, bits = pd.factorize(np.where(missing, 0, floats.view(np.int64)))
        codes[missing] = -1
        return _coded(bits.view(np.float64).tolist(), pa.array(codes, mask=missing), encode)
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    return _coded(list(uniques), pa.array(codes, mask=codes < 0), encode)


class CodedText(NamedTuple):
    """A text column kept as its distinct values and each row's position among them."""

    text: pa.Array  # large strings, no nulls
    codes: np.ndarray  # int64, one per row

    def spelled(self) -> pa.Array:
        """Each row's text."""
        return self.text.take(pa.array(self.codes))


def _coded(uniques: list[Any], positions: pa.Array, encode: Any) -> CodedText:
    """``encode`` of ``uniques[i]`` for each row whose position is ``i``; of ``None`` where the
    position is missing."""
    text = pa.array([*map(encode, uniques), encode(None)], type=pa.large_string())
    codes = positions.fill_null(len(uniques)).to_numpy(zero_copy_only=False)
    return CodedText(text, codes.astype(np.int64, copy=False))


def joined_coded(parts: Sequence[CodedText], separator: str) -> pa.Array:
    """:func:`joined` of coded columns. Neighbouring columns whose rows take few distinct
    pairs of values (a place's code, name and level; a period and its type) are joined on their
    distinct pairs and the rows then take the pair's text: joining strings row by row costs more
    than finding the pairs on integer codes (the counts CSV's 12 columns are joined as 2)."""
    blocks: list[CodedText] = []
    for part in parts:
        folded = _folded(blocks[-1], part, separator) if blocks else None
        if folded is None:
            blocks.append(part)
        else:
            blocks[-1] = folded
    return joined(*(b.spelled() for b in blocks), separator)


def _folded(left: CodedText, right: CodedText, separator: str) -> CodedText | None:
    """``left`` and ``right`` joined as one coded column, if their rows take few distinct pairs
    of values (at most half as many as there are rows); else ``None``."""
    rows, width = len(left.codes), len(right.text)
    most = max(rows // 2, 1)
    if len(left.text) > rows or width > rows:
        return None  # one side alone has more distinct values than there are rows
    keys = left.codes * width + right.codes
    if len(left.text) * width <= 4 * rows:
        # few possible pairs: found by marking them, no hashing
        seen = np.zeros(len(left.text) * width, dtype=bool)
        seen[keys] = True
        pairs = np.flatnonzero(seen)
        if len(pairs) > most:
            return None
        codes = (np.cumsum(seen) - 1)[keys]
    else:
        codes, pairs = pd.factorize(keys)
        if len(pairs) > most:
            return None
    text = joined(left.text.take(pairs // width), right.text.take(pairs % width), separator)
    return CodedText(text, codes.astype(np.int64, copy=False))


def joined(*parts: pa.Array | str) -> pa.Array:
    """Element-wise concatenation of string arrays and constants; the last part separates."""
    text = [p if isinstance(p, pa.Array) else pa.scalar(p, pa.large_string()) for p in parts]
    return pc.binary_join_element_wise(*text)


def text_bytes(text: pa.Array) -> memoryview:
    """The UTF-8 bytes of a string array's values, back to back (no nulls)."""
    offsets = np.frombuffer(text.buffers()[1], dtype=np.int64)[text.offset :]
    data = text.buffers()[2]
    if data is None:
        return memoryview(b"")
    return memoryview(data)[int(offsets[0]) : int(offsets[len(text)])]


def plain_value(value: Any) -> Any:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value
