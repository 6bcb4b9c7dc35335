"""From a raw linear prediction to the gain the strong model brings: one monotone map per kind
of prompt, fitted by train.py on records the model did not train on."""

from __future__ import annotations

import bisect
from collections.abc import Sequence

CALIBRATION_SLOPE = 0.05


def calibrate(raw: float, knots_raw: Sequence[float], knots_gain: Sequence[float]) -> float:
    """A raw prediction through a monotone calibration map (knots to interpolate between),
    plus a sliver of the raw value: prompts on one flat step keep their order, and a threshold
    can still be placed between them (`brainrouter calibrate` needs that)."""
    if raw <= knots_raw[0]:
        gain = knots_gain[0]
    elif raw >= knots_raw[-1]:
        gain = knots_gain[-1]
    else:
        i = bisect.bisect_right(knots_raw, raw)
        x0, x1, y0, y1 = knots_raw[i - 1], knots_raw[i], knots_gain[i - 1], knots_gain[i]
        gain = y0 + (y1 - y0) * (raw - x0) / (x1 - x0) if x1 > x0 else y1
    return gain + CALIBRATION_SLOPE * raw
