"""The routing proxy: OpenAI, Anthropic and Responses endpoints in front of a cloud and a local
upstream, with `auto` deciding between them. The daemon serves it (proxy/routes.py); as a
library, `Brainrouter` decides and sends without the daemon (proxy/library.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["Answer", "Brainrouter", "BrainrouterError", "Choice"]

if TYPE_CHECKING:
    from proxy.library import Answer, Brainrouter, BrainrouterError, Choice


def __getattr__(name: str) -> Any:
    # Lazy: `import proxy.something` inside the daemon must not import the library's parts.
    if name in __all__:
        from proxy import library

        return getattr(library, name)
    raise AttributeError(f"module 'proxy' has no attribute {name!r}")
