"""Meetings area: provisioning retries, conference reconciliation, attendance."""
