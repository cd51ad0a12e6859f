"""What the read side hands to the CLI and the chat commands: plain, platform-neutral records."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, is_dataclass
from datetime import date, datetime

from community.goals import GoalProgress
from community.outreach import OutreachStats
from community.quiet import QuietContext
from community.tiers import Trend


@dataclass(frozen=True, slots=True)
class MemberRef:
    """Who a row is about."""

    id: int
    platform_id: str
    name: str


@dataclass(frozen=True, slots=True)
class TierRow:
    """A member with their tier and its reasons."""

    member: MemberRef
    tier: str
    score: float
    reasons: str
    since: datetime
    pinned: bool = False


@dataclass(frozen=True, slots=True)
class Candidate:
    """A hero candidate or a rising active, ranked, with reasons and trend."""

    member: MemberRef
    tier: str
    score: float
    share_of_hero_bar: float
    trend: Trend
    reasons: str
    pinned: bool = False


@dataclass(frozen=True, slots=True)
class AtRiskRow:
    """A member whose next evaluations would demote them: what they miss, and from when."""

    member: MemberRef
    tier: str
    falls_to: str
    missing: tuple[str, ...]
    below_count: int
    earliest: date
    score: float

    @property
    def summary(self) -> str:
        """'hero → active from 2026-03-02: helped 8 of 10 members needed'."""
        return f"{self.tier} → {self.falls_to} from {self.earliest:%Y-%m-%d}: " + "; ".join(
            self.missing
        )


@dataclass(frozen=True, slots=True)
class QuietEntry:
    """An open quiet flag with the context for a help-first message."""

    flag_id: int
    member: MemberRef
    status: str
    opened_at: datetime
    context: QuietContext

    @property
    def summary(self) -> str:
        """The reasons, strongest first."""
        return self.context.summary()


@dataclass(frozen=True, slots=True)
class MemberProfile:
    """Everything staff may see about one member."""

    member: MemberRef
    is_staff: bool
    is_bot: bool
    joined_at: datetime | None
    left_at: datetime | None
    away_until: datetime | None
    tier: str | None
    reasons: str | None
    recognized_hero: bool
    last_active: datetime | None
    tier_history: list[tuple[datetime, str | None, str]] = field(default_factory=list)
    open_flag: QuietEntry | None = None
    pinned: bool = False
    # (when, role, added or removed, reason), newest first: roles Pulse gave on the platform.
    role_history: list[tuple[datetime, str, str, str]] = field(default_factory=list)
    at_risk: AtRiskRow | None = None


def to_jsonable(value):
    """Turn view records (dataclasses, datetimes, enums) into JSON-ready data."""
    if isinstance(value, QuietEntry):
        # A flag's JSON carries its stored context and the summary staff read.
        value = {
            "flag_id": value.flag_id,
            "member": value.member,
            "status": value.status,
            "opened_at": value.opened_at,
            "context": value.context.to_json(),
            "summary": value.summary,
        }
    elif is_dataclass(value):
        data = {f.name: getattr(value, f.name) for f in fields(value)}
        # Derived figures scripts want as much as the stored ones.
        for name in _DERIVED.get(type(value), ()):
            data[name] = getattr(value, name)
        value = data
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, date):  # datetimes too
        return value.isoformat()
    return value


_DERIVED = {OutreachStats: ("decided", "rate"), GoalProgress: ("on_track",)}
