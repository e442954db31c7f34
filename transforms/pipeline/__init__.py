"""The pipeline's steps, one function per DAG task: read from the data root, call the pure
transforms, write the result, return a small JSON-able summary (what Airflow keeps as XCom).

A module per DAG, named after it: ``boundaries``, ``police_incidents``, ``police_history``, and
the ``publish`` package (a module per step of that DAG). ``common`` holds what they share. Nothing
here imports Airflow: every step runs in a plain Python process or test. Each step is
idempotent: outputs live in folders named by the hash of their inputs, and readers follow small
pointer files that are replaced atomically only after validation passed.
"""
