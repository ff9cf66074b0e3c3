"""What every API handler gets besides the request: the state, the Meet world, the clock."""

from __future__ import annotations

from dataclasses import dataclass

from .simulation import World
from .store import Store
from .wire import Request


@dataclass
class Context:
    store: Store
    world: World
    organizer_domain: str

    def now(self) -> float:
        return self.store.clock.now()

    def page_size(self, request: Request, parameter: str = "pageSize") -> int:
        """The page size asked for, capped by the sandbox's (small) maximum."""
        settings = self.store.settings
        asked = request.int_arg(parameter, None, minimum=0)
        size = asked or int(settings["default_page_size"])
        return max(1, min(size, int(settings["max_page_size"])))
