"""Inputs in the sources' exact formats: the police's monthly archive and GeoJSON, their code
lists (the roots are the police's real 12 top-level categories; the children are illustrative),
and the ČSÚ population table."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Sequence

import numpy as np
import pandas as pd

from transforms.domain.periods import Month

# RÚIAN's CRS (S-JTSK / Krovak East North), which its boundary files use
KROVAK = "EPSG:5514"


# The police's 12 top-level categories (real ids and names) and illustrative children.
OFFENCE_TYPES: tuple[tuple[int, int | None, str], ...] = (
    (1, None, "NÁSILNÁ TRESTNÁ ČINNOST"),
    (2, 1, "Vražda"),
    (3, 1, "Loupež"),
    (4, 1, "Úmyslné ublížení na zdraví"),
    (5, 1, "Nebezpečné vyhrožování"),
    (6, 1, "Znásilnění"),
    (7, 1, "Týrání osoby žijící ve společném obydlí"),
    (8, 1, "Pohlavní zneužití"),
    (13, None, "POŽÁRY, VÝBUCHY, ŽIVELNÉ POHROMY"),
    (14, 13, "Požár"),
    (18, None, "KRÁDEŽE VLOUPÁNÍM"),
    (19, 18, "Vloupání do bytu"),
    (20, 18, "Vloupání do rodinného domu"),
    (21, 18, "Vloupání do obchodu"),
    (22, 18, "Vloupání do chaty"),
    (35, None, "KRÁDEŽE"),
    (36, 35, "Krádež osobního automobilu"),
    (37, 35, "Krádež jednostopého motorového vozidla"),
    (38, 35, "Krádež věcí z automobilu"),
    (42, 35, "Krádež jízdního kola"),
    (43, 35, "Kapesní krádež"),
    (44, 35, "Krádež v obchodě"),
    (54, None, "PODVODY"),
    (55, None, "OSTATNÍ MAJETKOVÁ TRESTNÁ ČINNOST"),
    (57, 55, "Poškození cizí věci"),
    (58, 55, "Sprejerství"),
    (63, None, "OBECNĚ NEBEZPEČNÁ TRESTNÁ ČINNOST"),
    (79, None, "DOPRAVNÍ NEHODY"),
    (112, 79, "Dopravní nehoda pod vlivem alkoholu"),
    (113, 79, "Dopravní nehoda se zraněním"),
    (80, None, "TOXIKOMÁNIE"),
    (81, 80, "Nedovolená výroba a distribuce drog"),
    (82, 80, "Přechovávání drog"),
    (84, None, "TRESTNÁ ČINNOST SE ZBRANÍ"),
    (96, None, "EXTREMISMUS"),
    (97, None, "PŘESTUPKY"),
    (99, 97, "Přestupek proti majetku"),
    (100, 97, "Přestupek proti občanskému soužití"),
    (101, 97, "Přestupek v dopravě (BESIP)"),
    (102, 97, "Přestupek proti veřejnému pořádku"),
)


# Relative frequency of each leaf type in generated months.
TYPE_WEIGHTS: dict[int, float] = {
    2: 0.05,
    3: 0.6,
    4: 2.0,
    5: 1.2,
    6: 0.15,
    7: 0.3,
    8: 0.1,
    14: 1.0,
    19: 1.5,
    20: 1.0,
    21: 0.8,
    22: 0.4,
    36: 1.0,
    37: 0.5,
    38: 3.0,
    42: 2.0,
    43: 1.5,
    44: 4.0,
    54: 3.0,
    57: 3.0,
    58: 0.8,
    63: 0.3,
    112: 0.8,
    113: 1.2,
    81: 0.5,
    82: 1.0,
    84: 0.2,
    96: 0.05,
    99: 6.0,
    100: 5.0,
    101: 8.0,
    102: 3.0,
}


STATES: tuple[tuple[int, str, float], ...] = (
    (1, "zjištěn pachatel", 0.34),
    (2, "neobjasněno", 0.55),
    (3, "skutek se nestal", 0.02),
    (4, "skutek není trestným činem", 0.02),
    (5, "objasněno dodatečně", 0.06),
    (6, "fingovaná trestná činnost", 0.01),
)


RELEVANCE: tuple[tuple[int, str, float], ...] = (
    (1, "Místo zjištění", 0.02),
    (2, "Místo oznámení", 0.02),
    (3, "Místo následku", 0.08),
    (4, "Místo spáchání", 0.88),
)


def zip_bytes(members: dict[str, bytes]) -> bytes:
    """A zip whose bytes depend only on the members (fixed timestamps, sorted order)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(members):
            info = zipfile.ZipInfo(name, date_time=(2000, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, members[name])
    return buffer.getvalue()


def code_list_csvs() -> dict[str, bytes]:
    def parents(code: int, parent: int | None) -> tuple[str, str, str]:
        return ("" if parent is None else str(parent), "", "")

    types = pd.DataFrame(
        [
            {
                "id": c,
                "parent_id1": parents(c, p)[0],
                "parent_id2": "",
                "parent_id3": "",
                "name": n,
                "label": n.upper(),
            }
            for c, p, n in OFFENCE_TYPES
        ]
    )
    states = pd.DataFrame([{"id": c, "label": lbl} for c, lbl, _ in STATES])
    relevance = pd.DataFrame([{"id": c, "label": lbl} for c, lbl, _ in RELEVANCE])
    return {
        "types.csv": types.to_csv(index=False, lineterminator="\n").encode("utf-8"),
        "states.csv": states.to_csv(index=False, lineterminator="\n").encode("utf-8"),
        "relevance.csv": relevance.to_csv(index=False, lineterminator="\n").encode("utf-8"),
    }


def code_list_jsons() -> dict[str, bytes]:
    """The national code-list JSON form (``polozky``) of the same lists."""

    def document(items: list[dict[str, object]]) -> bytes:
        return json.dumps({"polozky": items}, ensure_ascii=False, indent=1).encode("utf-8")

    return {
        "types.json": document(
            [
                {"kod": c, "nazev": {"cs": n}, "popis": {"cs": n}}
                | ({"parent_id1": p} if p is not None else {})
                for c, p, n in OFFENCE_TYPES
            ]
        ),
        "states.json": document([{"kod": c, "nazev": {"cs": lbl}} for c, lbl, _ in STATES]),
        "relevance.json": document([{"kod": c, "nazev": {"cs": lbl}} for c, lbl, _ in RELEVANCE]),
    }


def records_csv(records: pd.DataFrame, extra_lines: Sequence[str] = ()) -> bytes:
    text = records.to_csv(index=False, lineterminator="\n")
    return (text + "".join(line + "\n" for line in extra_lines)).encode("utf-8")


def police_month_zip(month: Month, records_csv_bytes: bytes) -> bytes:
    return zip_bytes({f"{month.compact}.csv": records_csv_bytes, **code_list_csvs()})


def police_month_geojson(records: pd.DataFrame) -> bytes:
    """The month as the police GeoJSON: one feature per incident, ``types`` a list (with root)."""
    parent = {c: p for c, p, _ in OFFENCE_TYPES}
    features = []
    for incident_id, group in records.groupby("id", sort=False):
        first = group.iloc[0]
        types: list[int] = []
        for t in group["types"].astype(int):
            root = parent.get(t)
            types += ([root] if root is not None else []) + [t]
        features.append(
            {
                "type": "Feature",
                "geometry": {
                    "type": "Point",
                    "coordinates": [float(first["x"]), float(first["y"])],
                },
                "properties": {
                    "id": int(str(incident_id)),
                    "date": first["date"],
                    "state": int(first["state"]),
                    "relevance": int(first["relevance"]),
                    "mp": first["mp"] == "true",
                    "types": sorted(set(types)),
                },
            }
        )
    return json.dumps(
        {"type": "FeatureCollection", "features": features}, ensure_ascii=False
    ).encode("utf-8")


# The disclosure-control benchmark's country: counts only, no geometry.


def population_table(codes: Sequence[str], people: np.ndarray) -> bytes:
    """ČSÚ tidy CSV (as table 130149) with one total per municipality."""
    frame = pd.DataFrame(
        {
            "idhod": np.arange(900000, 900000 + len(codes)),
            "hodnota": people,
            "stapro_kod": "2406",
            "pohlavi_cis": "",
            "pohlavi_kod": "",
            "pohlavi_txt": "",
            "vuzemi_cis": "43",
            "vuzemi_kod": np.asarray(codes),
            "vuzemi_txt": "Obec",
            "casref_do": "2024-12-31",
        }
    )
    return frame.to_csv(index=False, lineterminator="\n").encode("utf-8")
