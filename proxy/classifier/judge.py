"""Stage 2 of the router: the shared GGUF model asked for one token, cloud or local."""

from __future__ import annotations

from pathlib import Path

import jinja2

import prompts
from proxy.classifier import Judge
from proxy.model_server import ModelServer

_MAX_PROMPT_CHARS = 2000


def model_judge(model: ModelServer, template: Path | None = None) -> Judge:
    rendered = jinja2.Environment(autoescape=False).from_string(
        prompts.load("classifier.md", template)
    )

    async def judge(text: str) -> float:
        probabilities = await model.choose(
            rendered.render(prompt=text[:_MAX_PROMPT_CHARS]), [" cloud", " local"]
        )
        return probabilities[" cloud"]

    return judge
