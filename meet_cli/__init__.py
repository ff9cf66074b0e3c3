"""The ``meet-archive`` console script: the one place that may start the API, Dagster and
the sandbox side by side."""
