"""The weekly calls chart as plain numbers for an inline SVG: no script, no CDN, prints."""

from __future__ import annotations

from dataclasses import dataclass

from reports.selectors import WeekBar

WIDTH, HEIGHT = 480, 160
TOP, BOTTOM = 18, 24  # room for the value above a bar and the date below it
GAP = 10


@dataclass(frozen=True)
class Bar:
    x: int
    y: int
    width: int
    height: int
    label_x: int
    calls: int
    start: object


def bars(weeks: list[WeekBar]) -> list[Bar]:
    if not weeks:
        return []
    highest = max(week.calls for week in weeks) or 1
    width = (WIDTH - GAP * (len(weeks) + 1)) // len(weeks)
    room = HEIGHT - TOP - BOTTOM
    result = []
    for i, week in enumerate(weeks):
        height = round(room * week.calls / highest)
        x = GAP + i * (width + GAP)
        result.append(
            Bar(
                x=x,
                y=TOP + room - height,
                width=width,
                height=height,
                label_x=x + width // 2,
                calls=week.calls,
                start=week.start,
            )
        )
    return result
