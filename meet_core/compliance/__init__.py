"""Compliance: the meeting ledger, violations, audit digests, verification, the daily
report and webhooks to XOMA. See docs/compliance.md.

Modules (import what you need; this package root stays light for the API's sake):

* ``rules`` - the ledger rules as plain functions (facts in, verdict out)
* ``facts`` / ``ledger`` / ``violations`` - gather facts, store verdicts and violations
* ``objects`` - S3 look at archived objects (existence, size, checksum, lock)
* ``digests`` / ``verify`` - CloudTrail-style digests and ``meet-archive audit verify``
* ``report`` / ``chart`` - CSV, Parquet and HTML report
* ``outbox`` / ``signing`` / ``delivery`` - webhooks: enqueue, sign, deliver
"""

from meet_core.compliance.outbox import EVENT_TYPES, enqueue_event
from meet_core.compliance.service_levels import ServiceLevels

__all__ = ["EVENT_TYPES", "ServiceLevels", "enqueue_event"]
