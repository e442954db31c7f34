"""Steps of the ``publish`` DAG, a module per step: ``inputs`` (what a release is computed from,
and ``check_policy``), ``stage`` (``build_tables``), ``audit``, ``validate``
(``validate_tables``), ``write`` (``write_release``) and ``operations`` (``mirror_release``,
the freshness check); ``staged`` is the staging folder they share."""
