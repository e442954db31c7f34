"""A reader of the police statistics dataset alone cannot get a sensitive figure of 1 to 9: an
LP attack over every published figure (independent of the release code: each row is a sum of
unknown unit × month × leaf figures) on generated reports."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from transforms.pipeline.statistics_release import statistics_table
from transforms.sources.police_reports import COUNT_MEASURES

THRESHOLD = 10
UNITS = pd.DataFrame(
    [("18", "KŘP", "region", None),
     ("1801", "ÚO A", "district", "18"), ("1802", "ÚO B", "district", "18"),
     ("180110", "OOP A1", "unit", "1801"), ("180111", "OOP A2", "unit", "1801"),
     ("180210", "OOP B1", "unit", "1802")],
    columns=["code", "name", "level", "parent_code"],
)  # fmt: skip
LEAVES = {"101": "Vraždy", "201": "Znásilnění"}
RANGE = "101-290"
MONTHS = ["2025-01", "2025-02", "2025-03"]
UNIT_CODES = ["180110", "180111", "180210"]


def reports(monthly: dict[tuple[str, str, str], int]) -> pd.DataFrame:
    """Cumulative reports (the police's form) from each unit's own monthly figures."""
    rows = []
    for unit in UNIT_CODES:
        so_far = dict.fromkeys(LEAVES, 0)
        for month in MONTHS:
            for code in LEAVES:
                so_far[code] += monthly[(unit, month, code)]
            for code, name in LEAVES.items():
                rows.append((month, unit, unit, code, name, False, so_far[code]))
            rows.append((month, unit, unit, RANGE, "Celkem", True, sum(so_far.values())))
    frame = pd.DataFrame(
        rows, columns=["month", "unit_code", "unit_name", "tsk_code", "tsk_name", "is_subtotal",
                       "found"],
    )  # fmt: skip
    frame["solved"] = 0
    for measure in COUNT_MEASURES:
        if measure not in frame:
            frame[measure] = 0
    return frame


def units_below(code: str) -> list[str]:
    return [u for u in UNIT_CODES if u.startswith(code)]


def leaf_vector(row: pd.Series, index: dict[tuple[str, str, str], int]) -> np.ndarray:
    """The row as a sum of unit × month × leaf figures."""
    months = [row["period"]] if row["period_type"] == "month" else MONTHS
    low, _, high = row["tsk_code"].partition("-")
    codes = [c for c in LEAVES if int(low) <= int(c) <= int(high or low)]
    if row["excludes_sensitive"]:
        codes = [c for c in codes if c != "201"]
    vector = np.zeros(len(index))
    for unit in units_below(row["code"]):
        for month in months:
            for code in codes:
                vector[index[(unit, month, code)]] = 1
    return vector


counts = st.sampled_from([0, 0, 1, 2, 4, 9, 10, 12, 25])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(counts, min_size=18, max_size=18))
def test_no_withheld_sensitive_figure_narrows_below_the_threshold(values: list[int]) -> None:
    keys = [(u, m, c) for u in UNIT_CODES for m in MONTHS for c in LEAVES]
    monthly = dict(zip(keys, values, strict=True))
    index = {k: i for i, k in enumerate(keys)}
    table = statistics_table(
        reports(monthly), UNITS, {}, sensitive=frozenset({"201"}), threshold=THRESHOLD
    )
    published = table.dropna(subset=["found"])
    sensitive = published[published["tsk_code"] == "201"]
    assert not sensitive["found"].between(1, THRESHOLD - 1).any()
    assert not (sensitive["level"] == "unit").any()
    equations = np.array([leaf_vector(r, index) for _, r in published.iterrows()])
    totals = published["found"].to_numpy(dtype=float)
    for level in ("district", "region"):
        for code in ("18", "1801", "1802"):
            if UNITS.set_index("code").loc[code, "level"] != level:
                continue
            for month in MONTHS:
                shown = sensitive[(sensitive["code"] == code) & (sensitive["period"] == month)]
                target = np.zeros(len(index))
                for unit in units_below(code):
                    target[index[(unit, month, "201")]] = 1
                truth = target @ np.array(values)
                if len(shown) or not 1 <= truth < THRESHOLD:
                    continue
                low = linprog(target, A_eq=equations, b_eq=totals, bounds=(0, None))
                high = linprog(-target, A_eq=equations, b_eq=totals, bounds=(0, None))
                assert low.status == 0
                width = np.inf if high.status == 3 else -high.fun - low.fun
                assert width >= THRESHOLD, (code, month, truth, width)
