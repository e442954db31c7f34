"""The police's code lists (offence types, states, relevance), from CSV or the national JSON
form; a download's records are always read with its own lists, as ``states`` changes between
releases."""

from __future__ import annotations

import csv
import io
import json
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from transforms.sources.text import SchemaError, decode

CODE_LIST_NAMES = ("types", "states", "relevance")


# State labels (normalised: lower case, no diacritics) that mean "not an offence that happened".
_EXCLUDED_STATE_MARKERS = ("skutek se nestal", "neni trestnym cinem", "fingovan")


@dataclass(frozen=True)
class OffenceTypes:
    """The ``types`` hierarchy: every code, its name and its root (the offence group)."""

    names: dict[int, str]
    parent: dict[int, int | None]
    names_en: dict[int, str] = field(default_factory=dict)  # where the list gives them

    def group_of(self, code: int) -> int:
        seen = set()
        while (up := self.parent.get(code)) is not None and code not in seen:
            seen.add(code)
            code = up
        return code

    def ancestors(self, code: int) -> set[int]:
        found, current = set(), self.parent.get(code)
        while current is not None and current not in found:
            found.add(current)
            current = self.parent.get(current)
        return found


@dataclass(frozen=True)
class PoliceCodeLists:
    types: OffenceTypes
    states: dict[int, str]
    relevance: dict[int, str]

    @property
    def excluded_states(self) -> frozenset[int]:
        """States whose label says the act did not happen, was no offence, or was made up."""
        return frozenset(
            code
            for code, label in self.states.items()
            if any(marker in _normalise(label) for marker in _EXCLUDED_STATE_MARKERS)
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "types": [
                {"code": c, "name": self.types.names[c], "parent": self.types.parent.get(c)}
                | ({"name_en": self.types.names_en[c]} if c in self.types.names_en else {})
                for c in sorted(self.types.names)
            ],
            "states": [{"code": c, "label": lbl} for c, lbl in sorted(self.states.items())],
            "relevance": [{"code": c, "label": lbl} for c, lbl in sorted(self.relevance.items())],
        }


def _normalise(label: str) -> str:
    stripped = unicodedata.normalize("NFKD", label).encode("ascii", "ignore").decode()
    return " ".join(stripped.lower().split())


def _first_present(columns: list[str], candidates: tuple[str, ...], what: str) -> str:
    for name in candidates:
        if name in columns:
            return name
    raise SchemaError(f"code list {what}: none of the columns {candidates} found in {columns}")


def _int_or_none(value: object) -> int | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    text = str(value).strip()
    if text in ("", "NA", "nan", "None", "null"):
        return None
    return int(float(text))


def read_code_list_csv(data: bytes, kind: str) -> pd.DataFrame:
    """A code-list CSV as ``code, label[, parent]`` (types: parent is the nearest given parent)."""
    frame = pd.read_csv(io.BytesIO(decode(data).text_bytes), dtype="str", keep_default_na=False)
    frame.columns = [c.strip().lower() for c in frame.columns]
    columns = list(frame.columns)
    code_col = _first_present(columns, ("id", "kod", "code"), kind)
    label_col = _first_present(columns, ("name", "label", "nazev", "popis"), kind)
    out = pd.DataFrame(
        {
            "code": [_int_or_none(v) for v in frame[code_col].tolist()],
            "label": frame[label_col].str.strip(),
        }
    )
    if kind == "types":
        # parent_id3 if given, else parent_id2, else parent_id1: the nearest ancestor.
        parents = [c for c in ("parent_id3", "parent_id2", "parent_id1") if c in columns]
        if not parents:
            raise SchemaError(f"code list types: no parent_id columns in {columns}")
        given = zip(*([_int_or_none(v) for v in frame[c].tolist()] for c in parents), strict=True)
        out["parent"] = [next((v for v in row if v is not None), None) for row in given]
    if out["code"].isna().any():
        raise SchemaError(f"code list {kind}: a row has no code")
    return out


def read_code_list_json(data: bytes, kind: str) -> pd.DataFrame:
    """The national code-list JSON form ``{"polozky": [{"kod", "nazev": {"cs"}, ...}]}``."""
    try:
        items = json.loads(decode(data).text_bytes)["polozky"]
    except (json.JSONDecodeError, KeyError, TypeError) as error:
        raise SchemaError(f"code list {kind}: not the 'polozky' code-list JSON ({error})") from None
    rows = []
    for item in items:
        name = item.get("nazev")
        label = name.get("cs") if isinstance(name, dict) else name
        english = name.get("en") if isinstance(name, dict) else None
        parent = next(
            (
                _int_or_none(item[k])
                for k in ("parent_id3", "parent_id2", "parent_id1", "nadrazena_polozka")
                if _int_or_none(item.get(k)) is not None
            ),
            None,
        )
        rows.append(
            {
                "code": _int_or_none(item.get("kod")),
                "label": str(label).strip(),
                "parent": parent,
                "label_en": str(english).strip() if english else None,
            }
        )
    frame = pd.DataFrame(rows, columns=["code", "label", "parent", "label_en"])
    return frame if kind == "types" else frame[["code", "label"]]


def code_lists_from_frames(frames: dict[str, pd.DataFrame]) -> PoliceCodeLists:
    missing = [k for k in CODE_LIST_NAMES if k not in frames and k != "relevance"]
    if missing:
        raise SchemaError(f"the download has no code list(s) {missing}: cannot join codes")
    types = frames["types"]
    relevance = frames.get("relevance", pd.DataFrame({"code": [], "label": []}))
    return PoliceCodeLists(
        types=OffenceTypes(
            names={int(c): str(n) for c, n in zip(types["code"], types["label"], strict=True)},
            parent={
                int(c): (None if pd.isna(p) else int(p))
                for c, p in zip(types["code"], types["parent"], strict=True)
            },
            names_en={
                int(c): str(n)
                for c, n in zip(
                    types["code"], types.get("label_en", [None] * len(types)), strict=True
                )
                if isinstance(n, str) and n
            },
        ),
        states={
            int(c): str(n)
            for c, n in zip(frames["states"]["code"], frames["states"]["label"], strict=True)
        },
        relevance={
            int(c): str(n) for c, n in zip(relevance["code"], relevance["label"], strict=True)
        },
    )


# The project's English names of the police's offence types, for a code list without them
TYPE_NAMES_EN = Path(__file__).with_name("type_names_en.csv")


def english_type_names(types: Iterable[Mapping[str, Any]]) -> dict[int, str]:
    """Each type's English name: the code list's own (``name_en``), else the project's
    translation where the list still gives the Czech name it translates (a renamed code keeps
    no stale English name). Types with neither have none."""
    with TYPE_NAMES_EN.open(encoding="utf-8", newline="") as file:
        ours = {
            int(r["code"]): (r["name_cs"], r["name_en"])
            for r in csv.DictReader(file, delimiter=";")
        }
    found: dict[int, str] = {}
    for t in types:
        code = int(t["code"])
        if t.get("name_en"):
            found[code] = str(t["name_en"])
        elif code in ours and ours[code][0] == t["name"]:
            found[code] = ours[code][1]
    return found
