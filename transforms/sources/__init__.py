"""Source loaders: each turns one provider's raw bytes into the project's canonical tables.

A module (or package) per provider and format: the police's records (``czech_police``, or the
same archive written from a police database by ``police_sql``), boundaries in any OGR format
(``boundaries``), population (``czso``), the police's own statistics and districts
(``police_reports``, ``police_districts``), and what they share (``text``: exact delimited
text; ``http``: downloads). A loader for another country's police sits beside the Czech one:
it yields the canonical incident schema (``czech_police.CANONICAL_COLUMNS``), and the country's
bounds and code patterns are a ``countries.CountryProfile``.
"""
