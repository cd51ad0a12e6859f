"""When a recurring job was due: wall-clock slots in a timezone, across daylight-saving changes.

The scheduler fires jobs, but whether a run is due, late or already done is decided from these
slots, so a process that starts late (or a second process) reaches the same answer.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

EPOCH_DATE = date(1970, 1, 1)


class Weekday(enum.IntEnum):
    """Days of the week, numbered as `date.weekday()` numbers them."""

    MONDAY = 0
    TUESDAY = 1
    WEDNESDAY = 2
    THURSDAY = 3
    FRIDAY = 4
    SATURDAY = 5
    SUNDAY = 6


@dataclass(frozen=True, slots=True)
class Slot:
    """One due moment of a recurring job and the local date it belongs to."""

    at: datetime
    local_date: date

    @property
    def day(self) -> int:
        """The local date as days since 1970-01-01 (the key a daily run is claimed under)."""
        return (self.local_date - EPOCH_DATE).days

    @property
    def week_start(self) -> int:
        """The Monday of the slot's ISO week, as days since 1970-01-01 (a weekly run's key)."""
        return self.day - self.local_date.weekday()


def _at(local_date: date, at: time, tz: ZoneInfo) -> datetime:
    # A wall time skipped by a spring-forward change resolves to the same instant as one hour
    # later would (fold=0 keeps the earlier offset); normalizing to UTC makes that instant real.
    return datetime.combine(local_date, at, tzinfo=tz).astimezone(UTC)


def latest_weekly_slot(now: datetime, weekday: Weekday, at: time, tz: ZoneInfo) -> Slot:
    """The most recent WEEKDAY at AT (wall time in TZ) at or before NOW."""
    if now.tzinfo is None:
        raise ValueError("latest_weekly_slot needs a timezone-aware now")
    local_today = now.astimezone(tz).date()
    candidate = local_today - timedelta(days=(local_today.weekday() - weekday) % 7)
    moment = _at(candidate, at, tz)
    if moment > now:
        candidate -= timedelta(days=7)
        moment = _at(candidate, at, tz)
    return Slot(at=moment, local_date=candidate)


def latest_daily_slot(now: datetime, at: time, tz: ZoneInfo) -> Slot:
    """The most recent AT (wall time in TZ) at or before NOW."""
    if now.tzinfo is None:
        raise ValueError("latest_daily_slot needs a timezone-aware now")
    candidate = now.astimezone(tz).date()
    moment = _at(candidate, at, tz)
    if moment > now:
        candidate -= timedelta(days=1)
        moment = _at(candidate, at, tz)
    return Slot(at=moment, local_date=candidate)


def is_due(slot: Slot, now: datetime, grace: timedelta) -> bool:
    """Whether a run for SLOT may still happen at NOW: its time came and grace has not run out."""
    return slot.at <= now <= slot.at + grace
