"""Who is calling: the authenticated API key, its role and its client."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from meet_api.lib.context import current_request_id
from meet_core.db.models import Role


@dataclass(frozen=True, slots=True)
class Principal:
    key_id: str
    key_name: str
    role: Role
    client_id: str
    client_name: str

    @property
    def actor(self) -> str:
        """The audit ``actor`` of everything this key does."""
        return f"api_key:{self.key_id}"

    @property
    def sees_all_clients(self) -> bool:
        # XOMA's service keys see their own client's meetings; admins and auditors see all.
        return self.role != Role.SERVICE

    def audit_context(self, **extra: Any) -> dict[str, Any]:
        """The payload fields every audit event of a request carries."""
        return {
            "client_id": self.client_id,
            "client": self.client_name,
            "key_id": self.key_id,
            "role": str(self.role),
            "request_id": current_request_id(),
            **extra,
        }
