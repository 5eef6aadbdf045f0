"""Charts of the console's insights as inline SVG built on the server: no script, no
CDN, and each chart has a text alternative (title, description, and the same numbers as
a table next to it)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

WIDTH, HEIGHT, PAD = 360, 160, 20


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    value: float


@dataclass(frozen=True)
class BarChart:
    """Bars in a ``WIDTH`` x ``HEIGHT`` viewBox; ``description`` is the text alternative."""

    title: str
    description: str
    bars: list[Bar]
    peak: float
    width: int = WIDTH
    height: int = HEIGHT


def bar_chart(title: str, points: Sequence[tuple[str, float | None]], unit: str) -> BarChart:
    values = [(label, float(v or 0)) for label, v in points]
    peak = max((v for _, v in values), default=0.0)
    n = max(len(values), 1)
    step = (WIDTH - PAD) / n
    inner = HEIGHT - PAD
    bars = [
        Bar(
            x=PAD + i * step + step * 0.1,
            y=inner - (v / peak * (inner - 4) if peak else 0),
            width=max(step * 0.8, 1),
            height=(v / peak * (inner - 4) if peak else 0),
            label=label,
            value=v,
        )
        for i, (label, v) in enumerate(values)
    ]
    total = sum(v for _, v in values)
    top = max(values, key=lambda lv: lv[1], default=("", 0.0))
    description = f"{len(values)} periods, {total:g} {unit} in all" + (
        f"; most on {top[0]} ({top[1]:g})." if peak else "; none yet."
    )
    return BarChart(title=title, description=description, bars=bars, peak=peak)


def heat_level(value: int, peak: int) -> int:
    """0 (none) to 4 (the busiest hour), the heatmap cell's shade."""
    if value <= 0 or peak <= 0:
        return 0
    return min(4, 1 + int(3 * value / peak))


def percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.0f} %"
