"""``python -m meet_sandbox.s3``: serve the embedded S3 server (see embedded.main)."""

from meet_sandbox.s3.embedded import main

main()
