"""Meet conferences on Calendar events: `createRequest` (Calendar makes the space) or attach.

Only requests made with `conferenceDataVersion=1` get here, as in Google.
"""

from __future__ import annotations

import copy
from typing import Any

from .context import Context
from .errors import bad_request
from .simulation import default_space_config
from .wire import Request

MEET_SOLUTION = {
    "key": {"type": "hangoutsMeet"},
    "name": "Google Meet",
    "iconUri": "https://fonts.gstatic.com/s/i/productlogos/meet_2020q4/v6/web-512dp/logo_meet_2020q4_color_2x_web_512dp.png",
}


def meet_conference(code: str, create_request: dict[str, Any] | None) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if create_request is not None:
        data["createRequest"] = create_request
    data.update(
        {
            "entryPoints": [
                {
                    "entryPointType": "video",
                    "uri": f"https://meet.google.com/{code}",
                    "label": f"meet.google.com/{code}",
                }
            ],
            "conferenceSolution": copy.deepcopy(MEET_SOLUTION),
            "conferenceId": code,
        }
    )
    return data


def apply_conference(
    ctx: Context, request: Request, record: dict[str, Any], wanted: Any, organizer: str
) -> None:
    """Apply `conferenceData` of a request made with conferenceDataVersion=1."""
    event = record["resource"]
    if not wanted:
        event.pop("conferenceData", None)
        event.pop("hangoutLink", None)
        record["space"] = record["request_id"] = None
        return
    create = wanted.get("createRequest")
    if create:
        key_type = (create.get("conferenceSolutionKey") or {}).get("type")
        if key_type != "hangoutsMeet":
            raise bad_request("Invalid conference type value.")
        request_id = create.get("requestId")
        if not request_id:
            raise bad_request("Missing conference request id.", reason="required")
        space = ctx.store.state["spaces"].get(record.get("space") or "")
        if space is None or record.get("request_id") != request_id:
            # A new requestId asks for a new conference; the same one keeps what Google made.
            space = ctx.world.create_space(organizer, None, default_space_config(), ctx.now())
            space["event"] = f"{record['calendar']}/{event['id']}"
            record["space"], record["request_id"] = space["id"], request_id
            record["reveal_pending"] = bool(ctx.store.settings["create_request_pending"])
        create_request = {
            "requestId": request_id,
            "conferenceSolutionKey": {"type": "hangoutsMeet"},
            "status": {"statusCode": "success"},
        }
        event["conferenceData"] = meet_conference(space["meeting_code"], create_request)
        event["hangoutLink"] = f"https://meet.google.com/{space['meeting_code']}"
        return
    code = wanted.get("conferenceId")
    solution = ((wanted.get("conferenceSolution") or {}).get("key") or {}).get("type")
    if not code or solution != "hangoutsMeet":
        raise bad_request(
            "Invalid conference data: conferenceId and conferenceSolution.key.type are required."
        )
    videos = [
        e
        for e in wanted.get("entryPoints") or []
        if e.get("entryPointType") == "video" and e.get("uri")
    ]
    if not videos:
        raise bad_request("Invalid conference data: a video entry point is required.")
    space = ctx.world.find_space(str(code))
    if space is None:
        raise bad_request(f"Invalid conference id: {code}.")
    record["space"], record["request_id"] = space["id"], None
    event["conferenceData"] = meet_conference(space["meeting_code"], None)
    event["hangoutLink"] = f"https://meet.google.com/{space['meeting_code']}"


def pending_view(event: dict[str, Any]) -> dict[str, Any]:
    """What Google answers right after a createRequest: pending, no id or entry points yet."""
    view = copy.deepcopy(event)
    create = view["conferenceData"]["createRequest"]
    create["status"] = {"statusCode": "pending"}
    view["conferenceData"] = {"createRequest": create}
    view.pop("hangoutLink", None)
    return view
