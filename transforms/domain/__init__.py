"""The domain: places (``geography``, ``countries``), time (``periods``), what is counted and how
(``counting``), and why a source row was set aside (``quarantine``)."""
