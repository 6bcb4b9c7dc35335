"""What one proxied request's routing event will record, filled in as the request goes."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Trace:
    fields: dict[str, Any] = field(default_factory=dict)
    started: float = field(default_factory=time.perf_counter)
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)

    def __post_init__(self) -> None:
        self.fields["id"] = self.request_id  # the routing event's id: logs name it

    def set(self, **values: Any) -> None:
        self.fields.update(values)

    def route_headers(self) -> dict[str, str]:
        """What the client is told of the route taken (x-brainrouter-*)."""
        f = self.fields
        return {
            "x-brainrouter-route": str(f.get("upstream", "")),
            "x-brainrouter-model": str(f.get("model", "")),
            "x-brainrouter-fallback": "true" if f.get("fallback") else "false",
        }
