"""Reading pulled Pub/Sub messages as Workspace CloudEvents (pure functions)."""

import base64
import json

from meet_core.events import cloudevents as ce
from meet_core.events.cloudevents import read_message
from meet_core.google.events_types import PulledMessage

SUB = "//workspaceevents.googleapis.com/subscriptions/sub-1"


def pulled(attributes: dict[str, str], data: object, *, raw: str | None = None) -> PulledMessage:
    encoded = raw if raw is not None else base64.b64encode(json.dumps(data).encode()).decode()
    return PulledMessage.from_json(
        {
            "ackId": "ack-1",
            "deliveryAttempt": 2,
            "message": {
                "messageId": "m-1",
                "attributes": attributes,
                "data": encoded,
                "publishTime": "2026-12-04T10:00:00.123456789Z",
            },
        }
    )


def test_recording_event_names_its_recording_space_and_subscription() -> None:
    event = read_message(
        pulled(
            {
                "ce-id": "e-1",
                "ce-type": ce.RECORDING_GENERATED,
                "ce-source": SUB,
                "ce-subject": "//meet.googleapis.com/spaces/abc",
                "ce-time": "2026-12-04T09:59:00Z",
                "ce-specversion": "1.0",
            },
            {"recording": {"name": "conferenceRecords/r1/recordings/x1"}},
        )
    )
    assert event.ce_id == "e-1" and event.type == ce.RECORDING_GENERATED
    assert event.resource_name == "conferenceRecords/r1/recordings/x1"
    assert event.conference_record == "conferenceRecords/r1"
    assert event.space_name == "spaces/abc"
    assert event.subscription_name == "subscriptions/sub-1"
    assert event.time is not None and event.time.minute == 59
    assert event.error is None and not event.is_lifecycle


def test_suspension_carries_its_reason_and_subscription() -> None:
    event = read_message(
        pulled(
            {"ce-id": "e-2", "ce-type": ce.SUSPENDED, "ce-source": SUB, "ce-subject": SUB},
            {"subscription": {"name": "subscriptions/sub-1", "suspensionReason": "USER_AUTHORIZATION_FAILURE"}},
        )
    )
    assert event.is_lifecycle
    assert event.suspension_reason == "USER_AUTHORIZATION_FAILURE"
    assert event.subscription_name == "subscriptions/sub-1"


def test_garbage_messages_become_unreadable_events_not_crashes() -> None:
    no_id = read_message(pulled({"ce-type": ce.CONFERENCE_ENDED}, {}))
    assert no_id.type == ce.UNREADABLE and no_id.ce_id == "pubsub:m-1"
    bad_base64 = read_message(pulled({"ce-id": "e-3", "ce-type": ce.CONFERENCE_ENDED}, None, raw="%%%"))
    assert bad_base64.resource_name is None and bad_base64.error
    not_json = read_message(
        pulled({"ce-id": "e-4", "ce-type": ce.CONFERENCE_ENDED}, None, raw=base64.b64encode(b"[1").decode())
    )
    assert not_json.error == "data is not JSON"
    wrong_shape = read_message(pulled({"ce-id": "e-5", "ce-type": ce.RECORDING_GENERATED}, {"recording": "x"}))
    assert wrong_shape.resource_name is None and "recording.name" in (wrong_shape.error or "")
    bad_time = read_message(pulled({"ce-id": "e-6", "ce-type": ce.CONFERENCE_ENDED, "ce-time": "yesterday"}, {}))
    assert bad_time.time is not None  # falls back to the publish time
