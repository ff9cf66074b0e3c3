-- The Dagster instance gets its own database beside the app's (`meet`).
CREATE DATABASE dagster OWNER meet;
