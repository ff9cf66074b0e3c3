"""`meet-archive demo`: the whole product on embedded defaults, playing XOMA and the people.

This package is the one place that drives both `meet_api` and `meet_pipeline`; it imports
them lazily so that `meet_core` itself never depends on either.
"""
