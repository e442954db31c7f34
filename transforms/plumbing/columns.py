"""Building text columns of many rows from few distinct values."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa


def text_column(values: Sequence[str | None] | np.ndarray, index: np.ndarray) -> Any:
    """``values[index]`` as a pandas string column (``None`` missing), taken in Arrow: no Python
    object per row.

    A cube of 9 million cells has a few thousand distinct codes: pandas turning an object array
    of them into its string dtype would take most of the counting's time."""
    return pd.array(pa.array(values, type=pa.string()).take(pa.array(index)), dtype="str")


def category_column(values: Sequence[str | None] | np.ndarray, index: np.ndarray) -> Any:
    """``values[index]`` as pandas categories (``None`` missing): each distinct value once and a
    small integer per row. What a file writer stores as dictionary pages without hashing every
    row's text again (:class:`transforms.plumbing.storage.ParquetAppender`)."""
    codes, distinct = pd.factorize(np.asarray(values, dtype=object))
    return pd.Categorical.from_codes(codes[index], categories=pd.Index(distinct, dtype="str"))


def with_text_decoded(table: pa.Table) -> pa.Table:
    """``table`` with each dictionary-encoded column spelled out (its pandas metadata kept), in
    Arrow, quicker than pandas turning categories into text."""
    return table.cast(without_dictionaries(table.schema))


def without_dictionaries(schema: pa.Schema) -> pa.Schema:
    """``schema`` with each dictionary-encoded field as its values' type (metadata kept)."""
    return pa.schema(
        [
            field.with_type(field.type.value_type) if pa.types.is_dictionary(field.type) else field
            for field in schema
        ],
        metadata=schema.metadata,
    )
