"""The form on every unit page that reports a problem with a published figure to the police
(``POST /opencrime/api/feedback``, README "Feedback to the police").

It posts when the portal is served beside the Airflow api-server (the plugin serves the release
at ``/opencrime/files/<version>/``, so the intake is three folders up from a unit page); opened
from disk, from a copy elsewhere or without scripts, it says where a report goes instead. It
shows no figure: its choices are the release's months and the offence groups of the unit's
table, which the page shows already.
"""

from __future__ import annotations

import html

from transforms.publish.language import attribute, both, option

INTAKE = "../../../api/feedback"  # from files/<version>/units/<page>.html to /opencrime/
COUNTS = "../../../api/feedback/counts"  # how many reports about a unit were made, answered
FEEDBACK_SCRIPT = "../assets/feedback.js"
KINDS = [
    ("misplaced", "místo neodpovídá", "the place is wrong"),
    ("missing", "něco chybí", "something is missing"),
    ("wrong_offence", "jiný druh činu", "a different offence"),
    ("wrong_count", "počet nesedí", "the count is wrong"),
    ("other", "jiné", "other"),
]


def feedback_form(
    version: str, code: str, months: list[str], groups: list[tuple[str, str, str]]
) -> str:
    """The form of unit ``code`` in release ``version``: ``months`` newest first, ``groups``
    as (code, Czech name, English name)."""
    e = html.escape
    month_options = "\n".join(f'<option value="{e(m)}">{e(m)}</option>' for m in months)
    group_options = "\n".join(
        [option("", "(všechny)", "(all)"), *(option(c, cs, en) for c, cs, en in groups)]
    )
    kind_options = "\n".join(option(value, cs, en) for value, cs, en in KINDS)
    return f"""<h2>{TEXTS["heading"]}</h2>
<p id="feedback-counts" data-counts="{COUNTS}?unit={e(code)}" hidden></p>
<form id="feedback" data-release="{e(version)}" data-unit="{e(code)}" data-intake="{INTAKE}" hidden>
<p><label for="feedback-month">{TEXTS["month"]}</label>
<select id="feedback-month">
{month_options}
</select>
<label for="feedback-group">{TEXTS["group"]}</label>
<select id="feedback-group">
{group_options}
</select>
<label for="feedback-kind">{TEXTS["kind"]}</label>
<select id="feedback-kind">
{kind_options}
</select></p>
<p><label for="feedback-class">{TEXTS["point_class"]}</label>
<input id="feedback-class" maxlength="64" size="34" {TEXTS["cell_code"]}></p>
<p><label for="feedback-text">{TEXTS["text"]}</label><br>
<textarea id="feedback-text" maxlength="2000" rows="4" cols="60" required></textarea></p>
<p class="note">{TEXTS["note"]}</p>
<p><button type="submit">{TEXTS["send"]}</button></p>
<p id="feedback-status" role="status"></p>
</form>
<p id="feedback-elsewhere">{TEXTS["elsewhere"]}</p>
<script src="{FEEDBACK_SCRIPT}"></script>"""


TEXTS = {
    "heading": both("Nahlásit problém s údaji", "Report a problem with these figures"),
    "month": both("Měsíc", "Month"),
    "group": both("Skupina", "Group"),
    "kind": both("Co nesedí", "What is wrong"),
    "point_class": both("Třída bodů z mapy (nepovinné)", "Point class from the map (optional)"),
    "cell_code": attribute("placeholder", "kód buňky", "cell code"),
    "text": both("Popis", "Description"),
    "note": both(
        "Text dostane jen příslušný policejní útvar a nezveřejňuje se. Nepište osobní údaje: "
        "e-maily, telefony, rodná čísla a SPZ se před uložením odstraní.",
        "Only the police unit responsible reads the text; it is never published. Write no "
        "personal data: e-mail addresses, phone numbers, birth numbers and plates are removed "
        "before it is kept.",
    ),
    "send": both("Odeslat", "Send"),
    "elsewhere": both(
        "Podněty přijímá server, na kterém portál běží vedle Airflow (adresa "
        "<code>…/opencrime/api/feedback</code>, README „Feedback to the police“). Tato kopie "
        "je otevřená odjinud: pošlete je vydavateli na tuto adresu.",
        "Reports go to the server the portal runs on beside Airflow (address "
        "<code>…/opencrime/api/feedback</code>, README “Feedback to the police”). This copy is "
        "opened elsewhere: send them to the publisher at that address.",
    ),
}
