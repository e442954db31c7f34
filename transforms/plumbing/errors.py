"""Which failures a retry can heal.

A network outage or a database lock may be gone a minute later; a validation verdict, a damaged
local file or a bad request is the same on every try. Errors of the second kind carry
:class:`PermanentFailure`, so the orchestrator fails them at once (the Airflow plugin's task
decorator does) and the user reads the message, which says what to change, without waiting
through retries.
"""

from __future__ import annotations


class PermanentFailure(Exception):
    """A failure that the same inputs and settings raise again: fix something, then re-run."""
