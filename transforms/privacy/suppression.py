"""Cell suppression for aggregate tables.

Suppressed cells keep their row with an empty ``count`` and a ``status`` saying why: a reader can
tell a hidden value from a zero, and no fake value is ever published.
"""

from __future__ import annotations

import pandas as pd

from transforms.privacy.policy import DisclosurePolicy

PUBLISHED = "published"
SUPPRESSED_PRIMARY = "suppressed_primary"
SUPPRESSED_SECONDARY = "suppressed_secondary"
STATUSES = (PUBLISHED, SUPPRESSED_PRIMARY, SUPPRESSED_SECONDARY)


def primary_suppression_mask(counts: pd.Series, policy: DisclosurePolicy) -> pd.Series:
    """True where a count is small enough to identify someone: 1 .. threshold-1."""
    threshold = policy.aggregates.primary_threshold
    return (counts >= 1) & (counts < threshold)


def protect_table(table: pd.DataFrame, policy: DisclosurePolicy) -> pd.DataFrame:
    """The publishable table: ``count`` emptied where suppressed, ``status`` and rates added.

    ``table`` holds the true ``count`` and the unit's ``population``; the result never does for a
    suppressed cell.
    """
    suppressed = primary_suppression_mask(table["count"], policy)
    out = table.copy()
    out["status"] = pd.Series(PUBLISHED, index=out.index, dtype="str").where(
        ~suppressed, SUPPRESSED_PRIMARY
    )
    out["count"] = out["count"].astype("Int64").mask(suppressed)
    rate_ok = (~suppressed) & (out["population"] >= policy.rates.min_population).fillna(False)
    rate = out["count"].astype("Float64") * policy.rates.per / out["population"].astype("Float64")
    out["rate_per_1000"] = rate.round(2).where(rate_ok)
    columns = [c for c in out.columns if c not in ("status", "population", "rate_per_1000")]
    at = columns.index("count") + 1
    return out[[*columns[:at], "status", *columns[at:], "population", "rate_per_1000"]]
