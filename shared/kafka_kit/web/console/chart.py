"""A lag-over-time line as SVG geometry: drawn by the template, no chart library needed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from kafka_kit.lag.history import LagPoint

__all__ = ["LagChart", "lag_chart"]


@dataclass(frozen=True)
class LagChart:
    """An SVG polyline of total lag (``points``) in a ``width`` by ``height`` box."""

    width: int
    """The box's width (px)."""
    height: int
    """The box's height (px)."""
    points: str
    """The polyline's points."""
    area: str
    """The filled area under it."""
    max_lag: int
    """The lag at the top of the box."""
    span_s: float
    """Seconds from the first sample to the last."""
    samples: int
    """How many samples."""
    latest: int
    """The newest sample's lag."""


def lag_chart(series: Sequence[LagPoint], width: int = 640, height: int = 140) -> LagChart:
    """Scale the samples to the box: time left to right, lag bottom (0) to top (the maximum).

    Args:
        series: A group's samples, oldest first.
        width: The box's width (px).
        height: The box's height (px).
    """
    if not series:
        return LagChart(width, height, "", "", 0, 0.0, 0, 0)
    first, last = series[0].at_ms, series[-1].at_ms
    span_ms = max(last - first, 1)
    top = max(*(p.total for p in series), 1)
    pad = 2  # keep the line's stroke inside the box at the edges
    xy = [
        (
            round(pad + (p.at_ms - first) / span_ms * (width - 2 * pad), 1)
            if len(series) > 1
            else width - pad,
            round(height - pad - p.total / top * (height - 2 * pad), 1),
        )
        for p in series
    ]
    line = " ".join(f"{x},{y}" for x, y in xy)
    area = f"{xy[0][0]},{height} {line} {xy[-1][0]},{height}"
    return LagChart(
        width=width,
        height=height,
        points=line,
        area=area,
        max_lag=max(p.total for p in series),
        span_s=(last - first) / 1000,
        samples=len(series),
        latest=series[-1].total,
    )
