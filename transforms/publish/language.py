"""The portal's two languages: every page is Czech, with a switch to English.

Each text is written in both languages, marked with ``lang`` (a screen reader speaks each in its
own); ``assets/portal.css`` shows the one the page's ``<html lang>`` names, and
``assets/language.js`` switches it and remembers the reader's choice (also ``?lang=en`` in the
address). Where markup cannot hold two spans (an ``<option>``, an attribute, an SVG
``<title>``), the element carries the English in ``data-en…`` and the script swaps it in.
"""

from __future__ import annotations

import html

LANGUAGE_SCRIPT = "assets/language.js"
# the rules the pages' stylesheet holds too, for the index of all releases, which has none
LANGUAGE_STYLE = "html[lang=cs] .en,html[lang=en] .cs{display:none}"


def both(cs: str, en: str) -> str:
    """One text in both languages, as HTML (``cs`` and ``en`` are HTML already)."""
    return f'<span class="cs" lang="cs">{cs}</span><span class="en" lang="en">{en}</span>'


def both_text(cs: str, en: str) -> str:
    """:func:`both` of plain text."""
    return both(html.escape(cs), html.escape(en))


def option(value: str, cs: str, en: str, *, selected: bool = False) -> str:
    """An ``<option>`` whose label follows the page's language."""
    chosen = " selected" if selected else ""
    return (
        f'<option value="{html.escape(value)}" data-en="{html.escape(en)}"{chosen}>'
        f"{html.escape(cs)}</option>"
    )


def attribute(name: str, cs: str, en: str) -> str:
    """An attribute (``aria-label``, ``placeholder``, ``title``) in both languages."""
    return f'{name}="{html.escape(cs)}" data-en-{name}="{html.escape(en)}"'


def switch(script: str = LANGUAGE_SCRIPT) -> str:
    """The button that switches the page to the other language, and the script behind it
    (``script``: its address from the page). Without scripts the page stays Czech."""
    return (
        f'<script src="{html.escape(script)}"></script>\n'
        '<p class="language"><button type="button" id="language" lang="en" hidden>'
        "English</button></p>"
    )
