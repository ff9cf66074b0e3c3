"""Compliance area: ledger, attestation, report, audit digests, checks, webhooks."""
