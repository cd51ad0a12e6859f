"""Small builders for events in tests."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from community.events import ActivityEvent, ActivityKind, Platform

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
_ids = itertools.count(1)


def ev(
    kind: ActivityKind | str = ActivityKind.MESSAGE,
    member: str = "alice",
    *,
    at: datetime | None = None,
    days: float = 0,
    event_id: str | None = None,
    space: str = "g1",
    channel: str | None = "c1",
    **kwargs,
) -> ActivityEvent:
    """An event with sensible defaults; DAYS shifts it from T0."""
    return ActivityEvent(
        platform=kwargs.pop("platform", Platform.DISCORD),
        space_id=space,
        event_id=event_id or f"e{next(_ids)}",
        kind=ActivityKind(kind),
        member_id=member,
        occurred_at=(at or T0) + timedelta(days=days),
        channel_id=channel,
        **kwargs,
    )
