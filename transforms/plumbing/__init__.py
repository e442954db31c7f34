"""What the pipeline runs on, whatever the data: files written atomically and hashed
(``storage``, ``snapshot``), processes and their memory (``workers``, ``timing``), array
helpers (``arrays``, ``columns``), settings, and which failures a retry cannot heal (``errors``)."""
