"""The pipeline's steps, one function per DAG task: read from the data root, call the pure
transforms, write the result, return a small JSON-able summary (what Airflow keeps as XCom).

One module per DAG: ``geography`` (boundaries), ``incidents`` (police_incidents), ``release``
(publish). Nothing here imports Airflow: every step runs in a plain Python process or test. Each
step is idempotent: outputs live in folders named by the hash of their inputs, and readers follow
small pointer files that are replaced atomically only after validation passed.
"""
