"""Google's own discovery documents (shipped in google-api-python-client): scopes per method."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import googleapiclient.discovery_cache

DOCUMENTS = Path(googleapiclient.discovery_cache.__file__).parent / "documents"
API_DOCUMENTS = {
    "calendar": "calendar.v3.json",
    "meet": "meet.v2.json",
    "drive": "drive.v3.json",
    "people": "people.v1.json",
    "directory": "admin.directory_v1.json",  # method ids: directory.users.get, …
    "workspaceevents": "workspaceevents.v1.json",
    "pubsub": "pubsub.v1.json",
}


@functools.cache
def document(api: str) -> dict[str, Any]:
    return json.loads((DOCUMENTS / API_DOCUMENTS[api]).read_text())


def _methods(resources: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for resource in resources.values():
        for method in resource.get("methods", {}).values():
            found[method["id"]] = method
        found.update(_methods(resource.get("resources", {})))
    return found


@functools.cache
def methods(api: str) -> dict[str, dict[str, Any]]:
    """Method id (e.g. ``calendar.events.insert``) -> its discovery description."""
    return _methods(document(api)["resources"])


def method_scopes(method_id: str) -> frozenset[str]:
    api = method_id.split(".", 1)[0]
    return frozenset(methods(api)[method_id].get("scopes", ()))
