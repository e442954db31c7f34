"""What a feedback report may be, and what is done to its text before it is stored.

A report is about one published figure: a release, a unit, a month, optionally an offence
group and a point class. Its codes are checked against that release; its text loses any markup
(``nh3``, ammonia's binding: tags and the content of scripts and styles) and every piece of
personal data we can recognise (e-mail addresses, phone numbers, Czech birth numbers, vehicle
registration plates), replaced by a mark that says what was there. The text is never published;
it goes, so redacted, only to the police unit the report is for.
"""

from __future__ import annotations

import functools
import hashlib
import html
import re
from enum import StrEnum
from typing import Annotated

import nh3
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

MAX_TEXT = 2000  # characters of a report's text, after cleaning
MAX_BODY_BYTES = 8 * 1024  # of a request's body: a report is a few fields and a short text


class Kind(StrEnum):
    MISPLACED = "misplaced"
    MISSING = "missing"
    WRONG_OFFENCE = "wrong_offence"
    WRONG_COUNT = "wrong_count"
    OTHER = "other"


Code = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]


class ReportIn(BaseModel):
    """A report as posted: unknown fields are refused, each field's form is checked here, its
    codes against the release by :func:`check_against_release`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    release: Annotated[str, StringConstraints(pattern=r"^\d{4}-\d{2}\.\d+$")]
    unit: Code
    month: Annotated[str, StringConstraints(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]
    offence_group: Code | None = None
    point_class: Code | None = None
    kind: Kind
    text: str = Field(min_length=1, max_length=4 * MAX_TEXT)
    # a contracted self-government's report: its contract and the proof that it holds the
    # contract's key (transforms.feedback.contract_proof)
    contract: Code | None = None
    proof: Annotated[str, StringConstraints(max_length=512)] | None = None


# Personal data, in the order they are looked for (birth numbers before phone numbers: both are
# runs of digits), each replaced by its mark; a test checks that none survives.
EMAIL = re.compile(r"[\w.+-]+\s*(?:@|\(at\)|\[at\])\s*[\w-]+(?:\s*\.\s*[\w-]+)+", re.I)
BIRTH_NUMBER = re.compile(r"(?<!\d)\d{6}\s*/\s*\d{3,4}(?!\d)")  # YYMMDD/XXX(X)
TEN_DIGITS = re.compile(r"(?<!\d)\d{10}(?!\d)")  # a birth number without its slash, if % 11 == 0
PHONE = re.compile(r"(?<![\d+])(?:(?:\+|00)\s*420[\s.-]*)?\d{3}[\s.-]*\d{3}[\s.-]*\d{3}(?!\d)")
PLATE = re.compile(r"(?<![\w])\d[A-Z][A-Z0-9][\s-]?\d{4}(?![\w])", re.I)  # 1AB 2345, 5A2-3456
LONG_NUMBER = re.compile(r"(?<!\d)\d(?:[\s./-]?\d){8,}(?!\d)")  # nine digits or more: anything
PERSONAL_DATA: list[tuple[str, re.Pattern[str]]] = [
    ("[e-mail]", EMAIL),
    ("[rodné číslo]", BIRTH_NUMBER),
    ("[rodné číslo]", TEN_DIGITS),
    ("[telefon]", PHONE),
    ("[SPZ]", PLATE),
    ("[číslo]", LONG_NUMBER),
]


def clean_text(text: str) -> str:
    """``text`` without markup (tags dropped, scripts and styles with their content), entities
    decoded back to characters, whitespace runs collapsed. Cleaned again until nothing changes,
    so markup written as entities (``&lt;script&gt;``) goes too."""
    for _ in range(5):
        stripped = nh3.clean(text, tags=set(), clean_content_tags={"script", "style"})
        plain = html.unescape(stripped)
        if plain == text:
            break
        text = plain
    return re.sub(r"\s+", " ", text).strip()


def redact(text: str) -> tuple[str, dict[str, int]]:
    """``text`` with personal data replaced by its mark, and how many of each were found."""
    found: dict[str, int] = {}

    def replace(mark: str, match: re.Match[str]) -> str:
        if match.re is TEN_DIGITS and int(match.group()) % 11:
            return match.group()  # not a birth number: a later pattern decides
        found[mark] = found.get(mark, 0) + 1
        return mark

    for mark, pattern in PERSONAL_DATA:
        text = pattern.sub(functools.partial(replace, mark), text)
    return text, found


def fingerprint(report: ReportIn, text: str) -> str:
    """Two reports of the same figure, kind and (cleaned, redacted) text, case and spacing
    aside, are one report: they are folded together."""
    key = [report.release, report.unit, report.month, report.offence_group or "",
           report.point_class or "", report.kind.value, text.casefold(),
           report.contract or ""]  # fmt: skip
    return hashlib.sha256("\x1f".join(key).encode()).hexdigest()
