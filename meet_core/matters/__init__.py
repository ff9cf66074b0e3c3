"""Legal matters: meetings collected by id or saved search, S3 legal holds placed and
released per matter, and signed export bundles anyone can verify offline (docs/compliance.md)."""
