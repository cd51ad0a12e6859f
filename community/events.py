"""The platform-neutral activity event every adapter and importer produces."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from community.clean import (
    CONTRIBUTION_KIND_LENGTH,
    EVENT_ID_LENGTH,
    ID_PREFIX,
    NAME_LENGTH,
    PLATFORM_ID_LENGTH,
    clean_name,
    fit_id,
)


class ActivityKind(enum.StrEnum):
    """What a member did; the writer turns each kind into rollup counts."""

    MESSAGE = "message"
    REPLY = "reply"
    THREAD_STARTED = "thread_started"
    REACTION_GIVEN = "reaction_given"
    REACTION_RECEIVED = "reaction_received"
    REACTION_REMOVED = "reaction_removed"
    MEMBER_JOINED = "member_joined"
    MEMBER_LEFT = "member_left"
    CONTRIBUTION_LOGGED = "contribution_logged"


class Platform(enum.StrEnum):
    """Where a space lives."""

    DISCORD = "discord"
    SLACK = "slack"
    DEMO = "demo"
    IMPORT = "import"


# Kinds that count as a member posting something (a message, a reply, a new thread).
POSTING_KINDS = frozenset({ActivityKind.MESSAGE, ActivityKind.REPLY, ActivityKind.THREAD_STARTED})
# Kinds that say something about membership rather than engagement.
MEMBERSHIP_KINDS = frozenset({ActivityKind.MEMBER_JOINED, ActivityKind.MEMBER_LEFT})


class EventError(ValueError):
    """An ActivityEvent that cannot be right (naive time, missing target, empty id)."""


@dataclass(frozen=True, slots=True)
class ActivityEvent:
    """One thing a member did, stripped of message text.

    Platform ids stay strings. ``event_id`` is unique within a space: a replay, a platform
    retry or a re-import of the same event carries the same id and is a no-op downstream.
    ``target_member_id`` is whom the action was aimed at (the member replied to, the author
    of the message reacted to, the member thanked). ``parent_event_id`` is the event a reply
    answers, so a reply to a question can be told from other replies.
    """

    platform: Platform
    space_id: str
    event_id: str
    kind: ActivityKind
    member_id: str
    occurred_at: datetime
    channel_id: str | None = None
    target_member_id: str | None = None
    parent_event_id: str | None = None
    is_question: bool = False
    is_thanks: bool = False
    member_name: str | None = None
    member_is_bot: bool = False
    space_name: str | None = None
    channel_name: str | None = None
    contribution_kind: str | None = None

    def __post_init__(self) -> None:
        # Runs for every imported event: the common case (UTC, all ids present) is tested first.
        tz = self.occurred_at.tzinfo
        if tz is not UTC and (tz is None or self.occurred_at.utcoffset() is None):
            raise EventError(f"event {self.event_id!r}: occurred_at must be timezone-aware")
        if not (self.space_id and self.event_id and self.member_id):
            for name in ("space_id", "event_id", "member_id"):
                if not getattr(self, name):
                    raise EventError(f"event {self.event_id!r}: {name} must not be empty")
        if self.kind is ActivityKind.REACTION_RECEIVED and self.target_member_id is None:
            # A received reaction is credited to the target; without one it means nothing.
            raise EventError(f"event {self.event_id!r}: reaction_received needs target_member_id")
        # Every string is made storable here, once (see community.clean); most already are.
        m, c, s, t = self.member_name, self.channel_name, self.space_name, self.target_member_id
        h, p, k = self.channel_id, self.parent_event_id, self.contribution_kind
        if not (
            self.space_id.isprintable()
            and self.member_id.isprintable()
            and self.event_id.isprintable()
            and len(self.space_id) <= PLATFORM_ID_LENGTH
            and len(self.member_id) <= PLATFORM_ID_LENGTH
            and len(self.event_id) <= EVENT_ID_LENGTH
            and (m is None or (m.isprintable() and len(m) <= NAME_LENGTH))
            and (c is None or (c.isprintable() and len(c) <= NAME_LENGTH))
            and (s is None or (s.isprintable() and len(s) <= NAME_LENGTH))
            and (t is None or (t.isprintable() and len(t) <= PLATFORM_ID_LENGTH))
            and (h is None or (h.isprintable() and len(h) <= PLATFORM_ID_LENGTH))
            and (p is None or (p.isprintable() and len(p) <= EVENT_ID_LENGTH))
            and (k is None or (k.isprintable() and len(k) <= CONTRIBUTION_KIND_LENGTH))
        ):
            self._make_storable()

    def _make_storable(self) -> None:
        """Clean names and fit ids to their columns (the rare event that needs it)."""
        fixed = {
            "member_name": clean_name(self.member_name),
            "channel_name": clean_name(self.channel_name),
            "space_name": clean_name(self.space_name),
            "contribution_kind": clean_name(self.contribution_kind, CONTRIBUTION_KIND_LENGTH),
            "space_id": fit_id(self.space_id, PLATFORM_ID_LENGTH),
            "member_id": fit_id(self.member_id, PLATFORM_ID_LENGTH),
            "event_id": fit_id(self.event_id, EVENT_ID_LENGTH, keep=ID_PREFIX),
        }
        for name in ("channel_id", "target_member_id"):
            value = getattr(self, name)
            fixed[name] = None if value is None else fit_id(value, PLATFORM_ID_LENGTH)
        parent = self.parent_event_id
        fixed["parent_event_id"] = (
            None if parent is None else fit_id(parent, EVENT_ID_LENGTH, keep=ID_PREFIX)
        )
        for name, value in fixed.items():
            if value != getattr(self, name):
                object.__setattr__(self, name, value)  # frozen: set once, while being built

    @property
    def occurred_utc(self) -> datetime:
        """The event time in UTC."""
        return self.occurred_at.astimezone(UTC)

    @property
    def helps_other(self) -> bool:
        """Whether this is a reply aimed at another member (the core helping signal)."""
        return (
            self.kind is ActivityKind.REPLY
            and not self.is_thanks
            and self.target_member_id is not None
            and self.target_member_id != self.member_id
        )


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def day_number(moment: datetime) -> int:
    """Days since 1970-01-01 in UTC: the rollup bucket, portable across SQLite and PostgreSQL."""
    if moment.tzinfo is None:
        raise EventError("day_number needs a timezone-aware datetime")
    return (moment.astimezone(UTC) - EPOCH).days


def day_start(day: int) -> datetime:
    """The UTC midnight that starts a rollup day."""
    return EPOCH + timedelta(days=day)
