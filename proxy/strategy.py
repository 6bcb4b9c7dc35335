"""How `auto` weighs what the router says (K-9's priorities), applied after the classifier:

- `balanced`: the router's decision as it is;
- `cost`: local unless the router is sure the request needs the strong model (its score at
  least halfway from the threshold to 1);
- `quality`: the cloud unless the router is sure the request is fine locally (its score at
  most half the threshold);
- `latency`: whichever upstream able to serve had the lower recent time to first byte
  (an exponentially weighted average, measured live per upstream; one not measured yet is
  tried first, so both get measured).

Pure: the time to first byte of each upstream comes in as a function."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

Strategy = Literal["balanced", "cost", "quality", "latency"]
Route = Literal["local", "cloud"]
SURE = 0.5  # how far from the threshold towards certainty counts as sure


def apply(
    strategy: Strategy,
    route: Route,
    score: float | None,
    threshold: float,
    first_byte_ms: Callable[[Route], float | None],
    able: Callable[[Route], bool],
) -> tuple[Route, str | None]:
    """The route, and why the strategy changed it (None when it did not)."""
    if strategy == "cost" and route == "cloud" and score is not None:
        sure = threshold + (1 - threshold) * SURE
        if score < sure:
            return (
                "local",
                f"strategy cost: score {score:.2f} < {sure:.2f}, not sure it needs the cloud",
            )
    if strategy == "quality" and route == "local" and score is not None:
        sure = threshold * SURE
        if score > sure:
            return (
                "cloud",
                f"strategy quality: score {score:.2f} > {sure:.2f}, not sure local will do",
            )
    if strategy == "latency":
        candidates: list[Route] = [r for r in ("local", "cloud") if able(r)]
        if len(candidates) == 2:
            measured = {r: first_byte_ms(r) for r in candidates}
            fastest = min(candidates, key=lambda r: measured[r] or 0.0)
            if fastest != route:
                shown = ", ".join(
                    f"{r} {'not measured' if measured[r] is None else f'{measured[r]:.0f} ms'}"
                    for r in candidates
                )
                return fastest, f"strategy latency: first byte {shown}"
    return route, None


class Ewma:
    """An exponentially weighted moving average: recent values count most."""

    def __init__(self, weight: float = 0.3) -> None:
        self.weight = weight
        self.value: float | None = None

    def add(self, sample: float) -> None:
        self.value = (
            sample if self.value is None else self.value + self.weight * (sample - self.value)
        )
