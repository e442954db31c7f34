"""The police open-data loader on the real formats: monthly zip, GeoJSON, code lists."""

from __future__ import annotations

import json
import pickle
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from testdata.formats import code_list_csvs, code_list_jsons, police_month_zip, zip_bytes
from transforms.domain.countries import CZECHIA
from transforms.domain.periods import Month
from transforms.domain.quarantine import Reason, concat_quarantine
from transforms.sources import czech_police as cp
from transforms.sources.czech_police import canonical as canonical_step
from transforms.sources.czech_police import screening
from transforms.sources.text import SchemaError

JANUARY = Month(2025, 1)
HEADER = "id,x,y,mp,date,state,relevance,types"


def everywhere(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """A locator that puts every point in municipality 563889."""
    return np.full(len(lon), "563889", dtype=object)


def month_zip(*lines: str, header: str = HEADER) -> bytes:
    return police_month_zip(JANUARY, ("\n".join([header, *lines]) + "\n").encode())


def run(data: bytes, locate=everywhere) -> tuple[pd.DataFrame, pd.DataFrame, cp.PoliceDownload]:
    download = cp.read_month_zip(data, JANUARY)
    canonical, quarantine = cp.canonicalise(
        download.records, download.code_lists, JANUARY, CZECHIA, locate
    )
    accepted = canonical["source_row"].nunique()
    assert accepted + quarantine["source_row"].nunique() == download.records.input_rows
    return canonical, quarantine, download


def test_sample_month_parses_with_its_own_code_lists(sample_dir: Path) -> None:
    canonical, quarantine, download = run((sample_dir / "police" / "202501.zip").read_bytes())
    assert download.members == ["202501.csv", "relevance.csv", "states.csv", "types.csv"]
    assert len(canonical) > 1000
    assert canonical["reported_month"].eq("2025-01").all()
    assert set(quarantine["reason"]) == {
        "malformed_line",
        "unknown_offence_code",
        "swapped_axes",
        "bad_date",
        "date_outside_interval",
        "duplicate_record",
    }


def test_screened_in_one_process_and_finished_in_another_is_canonicalised(
    sample_dir: Path,
) -> None:
    """A history batch screens a month in its helper and finishes it in the task: the same
    canonical rows and the same quarantine, in the same order, as one call."""
    download = cp.read_month_zip((sample_dir / "police" / "202501.zip").read_bytes(), JANUARY)
    records, codes = download.records, download.code_lists

    def west_only(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        return np.where(lon < np.median(lon), "563889", None).astype(object)

    whole = cp.canonicalise(records, codes, JANUARY, CZECHIA, west_only, {1: "2024-12"})
    screened = pickle.loads(pickle.dumps(cp.screen(records, codes, JANUARY, CZECHIA)))
    for _ in range(2):  # finishing leaves the screened rows as they were
        parts = cp.finish(screened, codes, JANUARY, west_only, {1: "2024-12"})
        for got, expected in zip(parts, whole, strict=True):
            pd.testing.assert_frame_equal(got, expected)
    assert (whole[1]["reason"] == "outside_geography").any()


def test_columns_are_read_by_header_not_position() -> None:
    reordered = "types,date,y,x,id,state,relevance,mp"
    canonical, quarantine, _ = run(
        month_zip("44,2025-01-05 10:30:00,50.7671,15.0562,123,2,4,false", header=reordered)
    )
    assert quarantine.empty
    row = canonical.iloc[0]
    assert (row["incident_id"], row["offence_code"], row["lon"], row["lat"]) == (
        123,
        44,
        15.0562,
        50.7671,
    )


def test_reported_time_is_prague_local_and_sets_the_month() -> None:
    # 00:30 on 1 February in Prague is 23:30 UTC on 31 January: the month is local.
    canonical, quarantine, _ = run(
        month_zip(
            "1,15.05,50.76,false,2025-01-31 23:30:00,2,4,44",
            "2,15.05,50.76,false,2025-02-01 00:30:00,2,4,44",
        )
    )
    assert canonical["incident_id"].tolist() == [1]
    assert str(canonical["reported_at"].iloc[0]) == "2025-01-31 22:30:00+00:00"
    assert quarantine["reason"].tolist() == ["date_outside_interval"]


# the police's form with any two digits in each field: impossible days, months and hours too
police_times = st.builds(
    "{:04d}-{:02d}-{:02d} {:02d}:{:02d}:{:02d}".format,
    st.integers(1000, 9999),
    st.integers(0, 99),
    st.integers(0, 99),
    st.integers(0, 99),
    st.integers(0, 99),
    st.integers(0, 99),
)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        police_times
        | st.sampled_from(
            [
                "2024-02-29 12:00:00",
                "2025-03-30 02:30:00",
                "2025-10-26 02:30:00",
                "2025-04-31 10:00:00",
            ]
        ),
        min_size=1,
        max_size=40,
    )
)
def test_police_times_are_read_as_pandas_reads_them(texts: list[str]) -> None:
    """Arrow reads the police's own form (half the time): the same instants, and the same
    values refused (31 April, 25:00, a leap second), as pandas' parser."""
    values = pd.Series(texts, index=np.arange(len(texts)) * 2, dtype="str")
    # pandas 3 rolls a second of 60 over into the next minute; a police record with one is
    # refused (the police never write a leap second), so the oracle refuses it too
    leap = values.str[-2:].astype(int) >= 60
    expected = (
        pd.to_datetime(values.where(~leap), format="%Y-%m-%d %H:%M:%S", errors="coerce")
        .dt.tz_localize("Europe/Prague", ambiguous=False, nonexistent="shift_forward")
        .dt.tz_convert("Europe/Prague")
    )
    read = screening._parse_local_time(values, "Europe/Prague")
    # microseconds, as canonical times are; pandas gives seconds when every value is missing
    assert read.dtype == "datetime64[us, Europe/Prague]" or read.isna().all()
    pd.testing.assert_series_equal(read, expected, check_dtype=False)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.none()
        | st.text(alphabet="0123456789", max_size=20)
        | st.text(alphabet=st.sampled_from(list("0123456789 -+.e\n٣１²")), max_size=20)
        | st.text(max_size=6),
        max_size=30,
    )
)
def test_whole_numbers_are_told_apart_as_the_regex_tells_them(texts: list[str | None]) -> None:
    """The whole-number check without a regex accepts exactly what ``^[0-9]{1,18}$`` accepts:
    ASCII digits only (not other scripts' digits, not superscripts), one to eighteen of them;
    missing values stay missing."""
    import pyarrow as pa
    import pyarrow.compute as pc

    text = pa.array(texts, type=pa.string())
    assert screening._whole_number(text).to_pylist() == (
        pc.match_substring_regex(text, r"^[0-9]{1,18}$").to_pylist()
    )


def test_points_outside_every_unit_are_quarantined() -> None:
    def nowhere(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        return np.full(len(lon), None, dtype=object)

    canonical, quarantine, _ = run(
        month_zip("1,15.05,50.76,false,2025-01-05 10:00:00,2,4,44"), locate=nowhere
    )
    assert canonical.empty
    assert quarantine["reason"].tolist() == ["outside_geography"]


def test_duplicate_id_and_type_is_quarantined_but_a_second_type_is_kept() -> None:
    canonical, quarantine, _ = run(
        month_zip(
            "1,15.05,50.76,false,2025-01-05 10:00:00,2,4,112",
            "1,15.05,50.76,false,2025-01-05 10:00:00,2,4,82",
            "1,15.05,50.76,false,2025-01-05 10:00:00,2,4,112",
        )
    )
    assert canonical["offence_code"].tolist() == [82, 112]
    assert canonical["offence_group"].tolist() == [80, 79]
    assert quarantine["reason"].tolist() == ["duplicate_record"]
    assert quarantine["source_row"].tolist() == [3]


def _finish_frame_by_frame(
    screened: cp.Screened, codes: cp.PoliceCodeLists, month: Month, locate, earlier_ids
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``finish`` as it was written first, copying the frame at each check: the oracle."""
    df = screened.rows
    q = screening.Quarantiner(screened.quarantine.source_columns, *screened.quarantine.frames)
    located = pd.Series(locate(*screened.points), index=df.index)
    df = q.split(df, located.isna(), Reason.OUTSIDE_GEOGRAPHY, canonical_step._NO_MUNICIPALITY)
    df["located_municipality"] = located[df.index].astype("str")
    if not screened.listed:
        df["offence_code"] = screened.types[df.index].astype("int64")
    else:
        lists = screened.types[df.index]
        one = lists.map(len) == 1
        df["offence_code"] = lists.where(
            one, lists[~one].map(lambda v: canonical_step._most_specific(v, codes.types))
        )
        df = df.explode("offence_code").reset_index(drop=True)
    repeated = df.duplicated(subset=["incident_id", "offence_code"], keep="first")
    duplicated = df["source_row"].isin(df.loc[repeated, "source_row"])
    df = q.split(df, duplicated, Reason.DUPLICATE_RECORD, "same id and type earlier in the file")
    first_month = pd.Series(cp.IdIndex.of(earlier_ids).first_month(df["incident_id"]), df.index)
    for earlier in sorted(first_month.dropna().unique()):
        df = q.split(
            df,
            first_month[df.index].eq(earlier),
            Reason.DUPLICATE_ACROSS_MONTHS,
            f"id already reported in {earlier}",
        )
    df = df.sort_values(["incident_id", "offence_code"], kind="stable", ignore_index=True)
    rows = np.arange(len(df))
    offence = df["offence_code"].to_numpy(dtype="int64")
    located_codes = df["located_municipality"].to_numpy(dtype=object)
    canonical = canonical_step._canonical_frame(df, rows, offence, located_codes, codes, month)
    return canonical, concat_quarantine(q.frames)


police_lines = st.lists(
    st.tuples(
        st.integers(1, 5),  # few ids: repeated pairs and ids of earlier months
        st.sampled_from(["14.9", "15.05", "15.2"]),  # west of 15.0: in no municipality
        st.sampled_from(["44", "112", "82", "35|44", "44|35", "112|82", "35"]),
    ),
    max_size=25,
)


@given(lines=police_lines, listed=st.booleans())
@settings(max_examples=80, deadline=None)
def test_finishing_row_positions_gives_what_copying_frames_gave(lines, listed) -> None:
    """Finishing follows rows as positions; the canonical rows and the quarantine, reasons
    and order included, are those of copying the frame at every check."""
    rows = [
        f"{i},{x},50.76,false,2025-01-05 10:00:00,2,4,{t if listed else t.split('|')[0]}"
        for i, x, t in lines
    ]
    download = cp.read_month_zip(month_zip(*rows), JANUARY)
    codes = download.code_lists

    def east_of_15(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        return np.where(lon >= 15.0, "563889", None).astype(object)

    earlier = {1: "2024-11", 2: "2024-12"}
    screened = cp.screen(download.records, codes, JANUARY, CZECHIA)
    got = cp.finish(screened, codes, JANUARY, east_of_15, earlier)
    expected = _finish_frame_by_frame(screened, codes, JANUARY, east_of_15, earlier)
    for g, e in zip(got, expected, strict=True):
        pd.testing.assert_frame_equal(g, e)


def test_states_that_are_no_offence_are_kept_but_not_counted() -> None:
    canonical, _, download = run(
        month_zip(
            "1,15.05,50.76,false,2025-01-05 10:00:00,2,4,44",  # neobjasněno
            "2,15.05,50.76,false,2025-01-05 10:00:00,3,4,44",  # skutek se nestal
            "3,15.05,50.76,false,2025-01-05 10:00:00,4,4,44",  # skutek není trestným činem
            "4,15.05,50.76,false,2025-01-05 10:00:00,6,4,44",  # fingovaná trestná činnost
            "5,15.05,50.76,false,2025-01-05 10:00:00,77,4,44",  # not in this download's list
        )
    )
    assert download.code_lists.excluded_states == frozenset({3, 4, 6})
    assert canonical.set_index("incident_id")["counted"].to_dict() == {
        1: True,
        2: False,
        3: False,
        4: False,
        5: True,
    }
    assert canonical.loc[canonical["incident_id"] == 5, "state_code"].iloc[0] == 77


def test_state_labels_come_from_the_same_download() -> None:
    """The states list differs between releases: a garbled list changes what is excluded."""
    members = code_list_csvs()
    members["states.csv"] = "id,label\n2,skutek se nestal\n3,neobjasněno\n".encode()
    data = zip_bytes(
        members
        | {"202501.csv": (HEADER + "\n1,15.05,50.76,false,2025-01-05 10:00:00,2,4,44\n").encode()}
    )
    canonical, _, _ = run(data)
    assert canonical["counted"].tolist() == [False]


def test_geojson_month_lists_are_exploded_without_ancestors(sample_dir: Path) -> None:
    raw = cp.read_records_geojson((sample_dir / "police" / "202501.geojson").read_bytes())
    codes = cp.code_lists_from_frames(
        {
            kind: cp.read_code_list_json(
                (sample_dir / "police" / f"{kind}.json").read_bytes(), kind
            )
            for kind in cp.CODE_LIST_NAMES
        }
    )
    canonical, quarantine = cp.canonicalise(raw, codes, JANUARY, CZECHIA, everywhere)
    assert quarantine.empty
    assert raw.input_rows == canonical["source_row"].nunique()
    # the GeoJSON lists the root too (e.g. [35, 44]); only the most specific type is counted
    roots = {c for c, p in codes.types.parent.items() if p is None}
    with_children = {p for p in codes.types.parent.values() if p is not None}
    assert not canonical["offence_code"].isin(list(roots & with_children)).any()
    # the same month from the zip has the same incidents and offences
    zipped, _, _ = run((sample_dir / "police" / "202501.zip").read_bytes())
    key = ["incident_id", "offence_code"]
    pd.testing.assert_frame_equal(
        canonical[key].reset_index(drop=True), zipped[key].reset_index(drop=True)
    )


def test_code_list_json_form(sample_dir: Path) -> None:
    states = cp.read_code_list_json(code_list_jsons()["states.json"], "states")
    assert states.set_index("code")["label"][3] == "skutek se nestal"
    with pytest.raises(SchemaError, match="polozky"):
        cp.read_code_list_json(b'{"items": []}', "states")


def test_real_police_points_parse(shared_sources: Path) -> None:
    """The 5,020 real points (police monthly GeoJSON, 2020-2022) through the record parser."""
    path = shared_sources / "crimemappingdata" / "czechia_collisions.gpkg"
    points = pyogrio.read_dataframe(path)
    assert len(points) == 5020
    with sqlite3.connect(path) as db:  # the dates exactly as stored, e.g. 2020-01-01T00:20:00.000Z
        dates = dict(db.execute("select id, date from czechia_collisions").fetchall())
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [float(g.x), float(g.y)]},
            "properties": {"id": int(i), "date": dates[int(i)], "types": [79, 112]},
        }
        for i, g in zip(points["id"], points.geometry, strict=True)
    ]
    raw = cp.read_records_geojson(
        json.dumps({"type": "FeatureCollection", "features": features}).encode()
    )
    codes = cp.code_lists_from_frames(
        {
            kind: cp.read_code_list_csv(code_list_csvs()[f"{kind}.csv"], kind)
            for kind in cp.CODE_LIST_NAMES
        }
    )
    by_month: dict[str, int] = {}
    quarantined: dict[str, int] = {}
    # a late-evening 31 December UTC record is already January in Prague: run 2023-01 too
    for month in Month(2020, 1).months_until(Month(2023, 1)):
        canonical, quarantine = cp.canonicalise(raw, codes, month, CZECHIA, everywhere)
        by_month[str(month)] = len(canonical)
        for reason, n in quarantine["reason"].value_counts().items():
            quarantined[reason] = quarantined.get(reason, 0) + n
    # every record falls in exactly one month, except the one with no date
    assert sum(by_month.values()) == 5019
    assert quarantined["missing_value"] == 37  # the null date, once per month run
    assert set(quarantined) == {"missing_value", "date_outside_interval"}
    assert points.total_bounds[0] > CZECHIA.bbox[0] and points.total_bounds[2] < CZECHIA.bbox[2]


def test_english_type_names_come_from_the_list_else_the_projects_translation() -> None:
    """A list that names a type in English (the national code-list JSON's ``nazev.en``) is
    followed; else the project's translation, but only of the Czech name it was made for: a
    type the police renamed keeps no stale English name."""
    from transforms.sources.czech_police.codes import english_type_names, read_code_list_json

    items = [
        {"kod": 19, "nazev": {"cs": "Vloupání do bytu"}, "parent_id1": 18},
        {"kod": 20, "nazev": {"cs": "Vloupání do domu", "en": "House burglary"}, "parent_id1": 18},
        {"kod": 21, "nazev": {"cs": "Vloupání do prodejny"}, "parent_id1": 18},  # renamed
        {"kod": 18, "nazev": {"cs": "KRÁDEŽE VLOUPÁNÍM"}},
    ]
    frame = read_code_list_json(json.dumps({"polozky": items}).encode(), "types")
    lists = cp.codes.code_lists_from_frames({"types": frame, "states": frame[["code", "label"]]})
    types = lists.to_json()["types"]
    assert {t["code"]: t.get("name_en") for t in types} == {
        18: None, 19: None, 20: "House burglary", 21: None
    }  # fmt: skip
    assert english_type_names(types) == {
        18: "BURGLARIES", 19: "Burglary of a flat", 20: "House burglary"
    }  # fmt: skip
