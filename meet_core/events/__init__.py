"""Event-driven ingestion: Workspace Events delivered through Pub/Sub (docs/pipeline.md)."""
