"""Rows the events tests need (a client and its meetings)."""

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from meet_core.db.models import ApiClient, Meeting


def add_meeting(
    sessions: sessionmaker[Session],
    meeting_id: str,
    organizer: str,
    start: datetime,
    status: str,
    *,
    space_name: str | None = None,
) -> None:
    with sessions.begin() as session:
        client = session.scalar(select(ApiClient).where(ApiClient.name == "events-tests"))
        if client is None:
            client = ApiClient(name="events-tests")
            session.add(client)
            session.flush()
        session.add(
            Meeting(
                id=meeting_id,
                client_id=client.id,
                external_id=f"x-{meeting_id}",
                title=meeting_id,
                start_time=start,
                end_time=start + timedelta(hours=1),
                organizer_email=organizer,
                status=status,
                space_name=space_name or f"spaces/{meeting_id}",
            )
        )
