"""Quiet members: who went silent on their own clock, and what staff need to reach out.

The flag lifecycle is stated here, once: which members the daily scan watches (`watched`),
what it does to a live flag (`next_status`) and whom it flags (`opens_flag`). The scan in
`storage/quiet.py` is the same concept at the storage layer: SQL narrows 100,000 members to
the few the rules need to see, then calls these; tests/storage/test_quiet_lifecycle.py checks
the SQL against them on generated histories.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from community.events import day_number
from community.tiers import Tier


class FlagStatus(enum.StrEnum):
    """Where a quiet flag is in its life."""

    OPEN = "open"
    SNOOZED = "snoozed"
    RETURNED = "returned"
    DISMISSED = "dismissed"
    EXPIRED = "expired"


# Flags that still ask staff for something.
LIVE_STATUSES = frozenset({FlagStatus.OPEN, FlagStatus.SNOOZED})


@dataclass(frozen=True, slots=True)
class QuietPolicy:
    """Built from the [quiet] settings."""

    min_days: int = 14
    cadence_multiple: float = 3.0
    expiry_days: int = 60

    def lookback_days(self, window_days: int) -> int:
        """How far back the scan looks for a member's active days: two tier windows."""
        return 2 * window_days


def usual_gap(active_days: Sequence[int]) -> float | None:
    """Mean gap in days between distinct active days, or None with fewer than two."""
    distinct = sorted(set(active_days))
    if len(distinct) < 2:
        return None
    return (distinct[-1] - distinct[0]) / (len(distinct) - 1)


def gap_from_span(first_day: int, last_day: int, active_day_count: int) -> float | None:
    """The same mean gap from the figures SQL can aggregate: first, last, how many days."""
    if active_day_count < 2:
        return None
    return (last_day - first_day) / (active_day_count - 1)


def quiet_threshold(gap: float | None, policy: QuietPolicy) -> float:
    """Days of silence after which a member with this usual gap counts as quiet."""
    if gap is None:
        return float(policy.min_days)
    return max(float(policy.min_days), policy.cadence_multiple * gap)


def is_quiet(silent_days: float, gap: float | None, policy: QuietPolicy) -> bool:
    """Whether a member silent for SILENT_DAYS, with their usual GAP, has gone quiet."""
    return silent_days > quiet_threshold(gap, policy)


# Tiers whose members the scan watches; a member demoted from one lately is watched as well.
WATCHED_TIERS = frozenset({Tier.ACTIVE.value, Tier.HERO.value})


def watched(
    *,
    tier: str | None,
    demoted_from_watched_at: datetime | None,
    is_staff: bool,
    is_bot: bool,
    has_left: bool,
    away_until: datetime | None,
    now: datetime,
    policy: QuietPolicy,
) -> bool:
    """Whether the scan considers a member at all (TIER None: never classified).

    People, still here and not away, who hold an active or hero tier, or who were demoted from
    one within the expiry period (their tier fell while they went quiet).
    """
    if tier is None or is_staff or is_bot or has_left:
        return False
    if away_until is not None and away_until > now:
        return False
    if tier in WATCHED_TIERS:
        return True
    return demoted_from_watched_at is not None and demoted_from_watched_at > now - timedelta(
        days=policy.expiry_days
    )


def flag_tier(tier: str) -> str:
    """The tier a new flag records: a member demoted while quiet was active before."""
    return tier if tier in WATCHED_TIERS else Tier.ACTIVE.value


@dataclass(frozen=True, slots=True)
class LiveFlag:
    """A flag the scan finds open or snoozed."""

    status: FlagStatus
    opened_at: datetime
    snoozed_until: datetime | None = None


def next_status(
    flag: LiveFlag, last_active_day: int | None, now: datetime, policy: QuietPolicy
) -> FlagStatus | None:
    """What the scan does to a live flag; None leaves it as it is.

    RETURNED: the member was active on or after the day it opened. EXPIRED: it has been open
    for the expiry period. OPEN: a snooze that ran out (the member is listed again).
    """
    if last_active_day is not None and last_active_day >= day_number(flag.opened_at):
        return FlagStatus.RETURNED
    if flag.opened_at <= now - timedelta(days=policy.expiry_days):
        return FlagStatus.EXPIRED
    if (
        FlagStatus(flag.status) is FlagStatus.SNOOZED
        and flag.snoozed_until is not None
        and flag.snoozed_until <= now
    ):
        return FlagStatus.OPEN
    return None


@dataclass(frozen=True, slots=True)
class ActiveSpan:
    """A watched member's active days in the scan's lookback: first, last, and how many."""

    first_day: int
    last_day: int
    days: int


def opens_flag(
    span: ActiveSpan,
    today: int,
    policy: QuietPolicy,
    *,
    has_live_flag: bool,
    last_closed_at: datetime | None,
) -> bool:
    """Whether the scan on TODAY flags a watched member with this SPAN of active days.

    Not while a flag of theirs is live (after this scan's closes), nor while they have not been
    active since their newest dismissed or expired flag opened (LAST_CLOSED_AT): a dismissed or
    expired member stays off the list until they return. Otherwise, when they went quiet on
    their own clock (`is_quiet`).
    """
    if has_live_flag:
        return False
    if last_closed_at is not None and span.last_day < day_number(last_closed_at):
        return False
    gap = gap_from_span(span.first_day, span.last_day, span.days)
    return is_quiet(today - span.last_day, gap, policy)


@dataclass(frozen=True, slots=True)
class QuietContext:
    """What a staff member needs to write a helpful, personal message."""

    last_seen: datetime
    silent_days: int
    usual_gap_days: float | None
    tier: str
    channels: Sequence[str] = ()
    unanswered_question_at: datetime | None = None
    helped: Sequence[str] = ()
    helped_count: int = 0

    def summary(self) -> str:
        """One line of reasons, strongest signal first."""
        parts = []
        if self.unanswered_question_at is not None:
            parts.append(f"their last question ({self.unanswered_question_at:%b %d}) got no reply")
        if self.usual_gap_days is None:
            cadence = "no regular cadence yet"
        elif round(self.usual_gap_days) <= 1:
            cadence = "usually active every day"
        else:
            cadence = f"usually active every {self.usual_gap_days:.0f} days"
        parts.append(f"silent {self.silent_days} days, {cadence}")
        parts.append(f"was {self.tier}")
        if self.channels:
            parts.append("active in " + ", ".join(f"#{c}" for c in self.channels))
        if self.helped:
            more = self.helped_count - len(self.helped)
            names = ", ".join(self.helped) + (f" and {more} more" if more > 0 else "")
            parts.append(f"used to help {names}")
        return "; ".join(parts)

    def to_json(self) -> dict:
        """A JSON-safe dict for storage with the flag."""
        return {
            "last_seen": self.last_seen.isoformat(),
            "silent_days": self.silent_days,
            "usual_gap_days": self.usual_gap_days,
            "tier": self.tier,
            "channels": list(self.channels),
            "unanswered_question_at": self.unanswered_question_at.isoformat()
            if self.unanswered_question_at
            else None,
            "helped": list(self.helped),
            "helped_count": self.helped_count,
        }

    @classmethod
    def from_json(cls, data: dict) -> QuietContext:
        """Rebuild a context stored with a flag."""
        unanswered = data.get("unanswered_question_at")
        return cls(
            last_seen=datetime.fromisoformat(data["last_seen"]),
            silent_days=int(data["silent_days"]),
            usual_gap_days=data.get("usual_gap_days"),
            tier=data["tier"],
            channels=tuple(data.get("channels", ())),
            unanswered_question_at=datetime.fromisoformat(unanswered) if unanswered else None,
            helped=tuple(data.get("helped", ())),
            helped_count=int(data.get("helped_count", 0)),
        )


@dataclass(frozen=True, slots=True)
class ScanResult:
    """What one quiet scan changed."""

    opened: int = 0
    returned: int = 0
    expired: int = 0
    reopened_from_snooze: int = 0
    flagged_member_ids: Sequence[int] = field(default_factory=tuple)
