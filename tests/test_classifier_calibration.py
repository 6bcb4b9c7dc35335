"""The per-kind calibration map of the learned router."""

from __future__ import annotations

import pytest

from proxy.classifier.calibration import CALIBRATION_SLOPE, calibrate


def test_calibration_interpolates_clips_and_keeps_order() -> None:
    knots_raw, knots_gain = [0.0, 0.2, 0.6], [0.0, 0.0, 1.0]
    assert calibrate(0.4, knots_raw, knots_gain) == pytest.approx(0.5 + 0.4 * CALIBRATION_SLOPE)
    assert calibrate(-5.0, knots_raw, knots_gain) == pytest.approx(-5 * CALIBRATION_SLOPE)
    assert calibrate(9.0, knots_raw, knots_gain) == pytest.approx(1 + 9 * CALIBRATION_SLOPE)
    # on a flat step the raw order survives, so rankings within a kind do not collapse
    assert calibrate(0.05, knots_raw, knots_gain) < calibrate(0.15, knots_raw, knots_gain)
