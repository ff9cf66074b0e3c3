"""``python -m meet_core.archive``: serve the embedded S3 server (see embedded.main)."""

from meet_core.archive.embedded import main

main()
