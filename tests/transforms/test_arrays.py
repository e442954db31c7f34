"""``sorted_unique`` gives exactly what ``np.unique`` gives, by a sort."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from transforms.plumbing.arrays import sorted_unique

INTEGERS = hnp.arrays(
    st.sampled_from([np.int8, np.int32, np.int64, np.uint64]),
    st.integers(0, 300),
    elements=st.integers(0, 40),
)
FLOATS = hnp.arrays(
    np.float64,
    st.integers(0, 300),
    elements=st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from([0.0, -0.0, 1.5]),
)


@given(INTEGERS | FLOATS, st.booleans(), st.booleans())
def test_sorted_unique_is_numpys_unique(
    values: np.ndarray, return_inverse: bool, return_counts: bool
) -> None:
    ours = sorted_unique(values, return_inverse=return_inverse, return_counts=return_counts)
    theirs = np.unique(values, return_inverse=return_inverse, return_counts=return_counts)
    if not isinstance(theirs, tuple):
        ours, theirs = (ours,), (theirs,)
    assert len(ours) == len(theirs)
    for mine, numpy_s in zip(ours, theirs, strict=True):
        np.testing.assert_array_equal(mine, numpy_s)
        assert mine.dtype == numpy_s.dtype or mine.dtype.kind == numpy_s.dtype.kind == "i"
