"""One folder per area, each with its assets, sensors and checks (as in
dagster-io/dagster-open-platform); ``meet_pipeline.definitions`` merges them."""
