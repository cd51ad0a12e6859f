"""Event records: ActivityEvents as the writer takes them, plain tuples built once per event.

A record is cheap to build, to pickle from an import's reader process to the writer, and to
unpack; the writer (storage.writer.batch) works on records only. This module imports no SQLAlchemy,
so a reader process stays light.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from community.events import EPOCH, ActivityEvent, ActivityKind, Platform

# An event as the writer takes it (see event_record): the fields of an ActivityEvent in a plain
# tuple, its time as UTC text in SQLite's storage format plus its day number, and its two flags
# as 0 or 1: sqlite3 binds an int as it is, but looks for an adapter for every bool (about 0.4
# microseconds each, a tenth of an import's writing time).
EVENT_FIELDS = (
    "platform",
    "space_id",
    "event_id",
    "kind",
    "member_id",
    "occurred",
    "day",
    "channel_id",
    "target_member_id",
    "parent_event_id",
    "is_question",
    "is_thanks",
    "member_name",
    "member_is_bot",
    "space_name",
    "channel_name",
)


def event_record(ev: ActivityEvent) -> tuple:
    """EV as the writer's event record, in EVENT_FIELDS order."""
    return event_records((ev,))[0]


def event_records(events: Iterable[ActivityEvent]) -> list[tuple]:
    """EVENTS as the writer's event records (see event_record), in order."""
    records = []
    append = records.append
    last = when = day = None
    for ev in events:
        occurred = ev.occurred_at
        # Runs per imported event, so cheap forms: the time as SQLAlchemy's SQLite DateTime
        # stores it (UTC isoformat without its "+00:00"), and day_number as the UTC date's
        # ordinal counted from 1970-01-01's. A message's reactions share its datetime, so
        # the last one converted is reused: formatting it is most of a record's cost.
        if occurred is not last:
            last = occurred
            if occurred.tzinfo is not UTC:
                occurred = occurred.astimezone(UTC)
            when = occurred.isoformat(" ", "microseconds")[:26]
            day = occurred.toordinal() - _EPOCH_ORDINAL
        append(
            (
                _PLATFORMS[ev.platform],
                ev.space_id,
                ev.event_id,
                _KINDS[ev.kind],
                ev.member_id,
                when,
                day,
                ev.channel_id,
                ev.target_member_id,
                ev.parent_event_id,
                1 if ev.is_question else 0,
                1 if ev.is_thanks else 0,
                ev.member_name,
                ev.member_is_bot,
                ev.space_name,
                ev.channel_name,
            )
        )
    return records


def time_text(moment: datetime) -> str:
    """A stored time as a record's UTC text, to compare with records'."""
    return moment.astimezone(UTC).isoformat(" ", "microseconds")[:26]


def record_time(text: str) -> datetime:
    """A record's UTC text back as an aware datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# Plain str values: an enum member would pickle as a call to its class.
_PLATFORMS = {platform: platform.value for platform in Platform}
_KINDS = {kind: kind.value for kind in ActivityKind}
_EPOCH_ORDINAL = EPOCH.toordinal()
