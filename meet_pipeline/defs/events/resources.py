"""How the pipeline learns of meetings: Workspace Events through Pub/Sub, or polling."""

import dagster as dg
from pydantic import Field


class EventsResource(dg.ConfigurableResource):
    """``MEET_INGESTION``, ``MEET_EVENTS_TOPIC``, ``MEET_EVENTS_SUBSCRIPTION`` and the intake
    sensor's bounds (docs/pipeline.md)."""

    ingestion: str = Field(default="polling", description="MEET_INGESTION: events or polling")
    topic: str | None = Field(default=None, description="MEET_EVENTS_TOPIC")
    subscription: str | None = Field(default=None, description="MEET_EVENTS_SUBSCRIPTION")
    batch_size: int = Field(default=100, description="messages per Pub/Sub pull")
    max_batches: int = Field(default=10, description="pulls per sensor tick at most")

    @property
    def enabled(self) -> bool:
        return self.ingestion == "events" and bool(self.subscription and self.topic)
