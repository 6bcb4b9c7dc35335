"""A client's request as routing and the upstreams read it: its chat view (whatever the wire
format), what the classifier scores, which harness sent it, for which project, and the
harness's kind of request (scenarios.py)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from proxy import scenarios
from proxy.events import project_dir_of
from proxy.formats import FORMATS
from proxy.harnesses import harness_of
from proxy.internal import Internal
from proxy.routing import Features, conversation_key
from proxy.scenarios import Scenario
from proxy.settings import Protocol, ScenarioSettings
from proxy.translate.responses import ToolNames


@dataclass(frozen=True)
class Incoming:
    protocol: Protocol
    body: dict[str, Any]
    headers: dict[str, str]
    chat_view: dict[str, Any]  # the request as a chat (formats/), whatever its wire format
    names: ToolNames  # the tool names the format mapped, for the answer's way back
    features: Features
    harness: str | None
    project_dir: str | None
    scenario: tuple[Scenario, str] | None  # the harness's kind of request, and why
    internal: Internal | None  # a request from inside the daemon (the review's)

    @property
    def stream(self) -> bool:
        return bool(self.body.get("stream"))

    @classmethod
    def read(
        cls,
        protocol: Protocol,
        body: dict[str, Any],
        headers: dict[str, str],
        settings: ScenarioSettings,
        internal: Internal | None = None,
    ) -> Incoming:
        chat_view, names = FORMATS[protocol].request_to_chat(body)
        features = Features.of(chat_view, conversation_key(body, chat_view, headers))
        harness = harness_of(headers.get("user-agent", ""), headers)
        return cls(
            protocol,
            body,
            headers,
            chat_view,
            names,
            features,
            harness,
            internal.project_dir if internal else project_dir_of(_system_text(chat_view)),
            # the review's own requests are no harness's scenario
            None if internal else scenarios.detect(body, chat_view, settings, headers, harness),
            internal,
        )

    def with_body(self, body: dict[str, Any]) -> Incoming:
        """The same request with another body (the privacy guard's redacted one)."""
        chat_view, names = FORMATS[self.protocol].request_to_chat(body)
        return dataclasses.replace(self, body=body, chat_view=chat_view, names=names)


def _system_text(chat_view: dict[str, Any]) -> str:
    """Where a harness says which project it works in: Claude Code in the system prompt,
    Codex in an <environment_context> user message."""
    return "\n".join(
        str(m.get("content"))
        for m in chat_view.get("messages", [])
        if m.get("role") in ("system", "developer")
        or (m.get("role") == "user" and "<environment_context>" in str(m.get("content")))
    )
