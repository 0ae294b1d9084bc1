"""Flow schedules: integrator.io's six-field cron strings, evaluated on the emulated clock.

A flow's ``schedule`` is ``"<seconds> <minute> <hour> <day of month> <month> <day of week>"`` with a
leading ``?`` for the seconds (DOCS flow.md: ``? 0 2 ? * *`` = every day at 02:00), read in the flow's
``timezone`` (UTC when absent or unknown). Each field takes ``*``, ``?``, numbers, ``a-b`` ranges,
``,`` lists and ``/n`` steps; day of week is 0-7 with 0 and 7 for Sunday (the Unix convention: which one
integrator.io uses is not documented). The seconds field is ignored: runs fire on whole minutes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["Schedule", "ScheduleError", "parse_schedule"]

_RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))
_NAMES = ("minute", "hour", "day of month", "month", "day of week")
MAX_SEARCH_MINUTES = 366 * 24 * 60


class ScheduleError(ValueError):
    """A schedule string the emulator cannot read."""


def _field(text: str, low: int, high: int, name: str) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        body, _, step_text = part.partition("/")
        step = int(step_text) if step_text.isdigit() and int(step_text) > 0 else None
        if step_text and step is None:
            raise ScheduleError(f"bad step {part!r} in the {name} field")
        if body in ("*", "?"):
            first, last = low, high
        elif "-" in body:
            left, _, right = body.partition("-")
            if not (left.isdigit() and right.isdigit()):
                raise ScheduleError(f"bad range {part!r} in the {name} field")
            first, last = int(left), int(right)
        elif body.isdigit():
            first = int(body)
            last = high if step else first
        else:
            raise ScheduleError(f"bad value {part!r} in the {name} field")
        if not (low <= first <= last <= high):
            raise ScheduleError(f"{part!r} is outside {low}-{high} in the {name} field")
        values.update(range(first, last + 1, step or 1))
    return frozenset(values)


@dataclass(frozen=True)
class Schedule:
    """A parsed schedule: the allowed minutes, hours, days, months and weekdays, and its time zone."""

    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday
    any_day: bool
    any_weekday: bool
    zone: tzinfo

    def matches(self, moment: datetime) -> bool:
        """Return True when the local minute ``moment`` is a firing time."""
        if moment.minute not in self.minutes or moment.hour not in self.hours or moment.month not in self.months:
            return False
        day_ok = moment.day in self.days
        weekday_ok = (moment.isoweekday() % 7) in self.weekdays
        if self.any_day and self.any_weekday:
            return True
        if self.any_day:
            return weekday_ok
        if self.any_weekday:
            return day_ok
        return day_ok or weekday_ok  # cron: either restricted day field matches

    def fires_between(self, after: float, until: float, limit: int) -> list[float]:
        """Return the firing times (epoch seconds) in ``(after, until]``, at most the last ``limit``."""
        start = datetime.fromtimestamp(after, timezone.utc).replace(second=0, microsecond=0) + timedelta(minutes=1)
        end = datetime.fromtimestamp(until, timezone.utc)
        found: list[float] = []
        moment = start
        steps = 0
        while moment <= end and steps < MAX_SEARCH_MINUTES:
            if self.matches(moment.astimezone(self.zone)):
                found.append(moment.timestamp())
                if len(found) > limit:
                    found.pop(0)
            moment += timedelta(minutes=1)
            steps += 1
        return found


def parse_schedule(text: str, zone_name: str | None = None) -> Schedule:
    """Return the schedule of a cron string. Raises ScheduleError naming the bad field."""
    parts = text.split()
    if len(parts) == 5:
        parts = ["?", *parts]
    if len(parts) != 6:
        raise ScheduleError(f"a schedule has 6 fields ('? minute hour day month weekday'), got {text!r}")
    fields = [_field(part, low, high, name) for part, (low, high), name in zip(parts[1:], _RANGES, _NAMES, strict=True)]
    weekdays = frozenset(day % 7 for day in fields[4])
    try:
        zone: tzinfo = ZoneInfo(zone_name) if zone_name else timezone.utc
    except (ZoneInfoNotFoundError, ValueError):
        zone = timezone.utc
    return Schedule(
        minutes=fields[0],
        hours=fields[1],
        days=fields[2],
        months=fields[3],
        weekdays=weekdays,
        any_day=parts[3] in ("*", "?"),
        any_weekday=parts[5] in ("*", "?"),
        zone=zone,
    )
