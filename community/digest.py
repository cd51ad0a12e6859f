"""The two weekly digests as data: one that celebrates the community, one that informs staff.

The community digest is public: it names only members who are welcomed, thanked or recognized,
never a quiet member, and carries no staff-only figure (tiers, scores, quiet flags, outreach,
goals). `compose_community` enforces the naming rule whatever the queries handed it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from community.goals import GoalProgress
from community.outcomes import HelpHealth
from community.outreach import OutreachStats
from community.tiers import Tier
from community.views import AtRiskRow, Candidate, MemberRef, QuietEntry


class Audience:
    """Who a digest is for (the value is stored with each digest run)."""

    COMMUNITY = "community"
    STAFF = "staff"
    ALL = (COMMUNITY, STAFF)


@dataclass(frozen=True, slots=True)
class SpaceRef:
    """The community a digest is for, as the adapters know it."""

    id: int
    platform: str
    platform_id: str
    name: str | None

    @property
    def label(self) -> str:
        """The name, or platform:id."""
        return self.name or f"{self.platform}:{self.platform_id}"


@dataclass(frozen=True, slots=True)
class Period:
    """The week a digest covers: START inclusive, END exclusive."""

    start: datetime
    end: datetime

    @property
    def label(self) -> str:
        """'The 7 days to Nov 23, 2026' (UTC)."""
        days = round((self.end - self.start) / timedelta(days=1))
        return f"The {days} days to {self.end:%b %d, %Y}"


@dataclass(frozen=True, slots=True)
class ShoutOut:
    """A member who helped others this week, with what they did."""

    member: MemberRef
    answers: int
    replies: int
    thanks: int

    def summary(self) -> str:
        """'answered 5 questions, thanked 3 times'."""
        parts = []
        if self.answers:
            parts.append(f"answered {_plural(self.answers, 'question')}")
        elif self.replies:
            parts.append(f"helped with {_plural(self.replies, 'reply', 'replies')}")
        if self.thanks:
            parts.append(f"thanked {_plural(self.thanks, 'time')}")
        return ", ".join(parts) or "helped out"


@dataclass(frozen=True, slots=True)
class ChannelRow:
    """A channel and how much happened in it this week."""

    name: str
    posts: int
    members: int


@dataclass(frozen=True, slots=True)
class ThreadRow:
    """A thread (a started topic) and the replies it drew this week."""

    channel: str | None
    starter: MemberRef
    replies: int
    started_at: datetime


@dataclass(frozen=True, slots=True)
class CommunityDigest:
    """What the community channel gets each week."""

    space_name: str
    period: Period
    new_members: tuple[MemberRef, ...] = ()
    shout_outs: tuple[ShoutOut, ...] = ()
    new_heroes: tuple[MemberRef, ...] = ()
    busiest_channels: tuple[ChannelRow, ...] = ()
    busiest_threads: tuple[ThreadRow, ...] = ()
    questions_answered: int = 0

    def named_members(self) -> set[int]:
        """Every member this digest names (what privacy tests check against)."""
        named = {m.id for m in self.new_members} | {m.id for m in self.new_heroes}
        named |= {s.member.id for s in self.shout_outs}
        named |= {t.starter.id for t in self.busiest_threads}
        return named


def compose_community(
    space_name: str,
    period: Period,
    *,
    new_members: Iterable[MemberRef],
    shout_outs: Iterable[ShoutOut],
    new_heroes: Iterable[MemberRef],
    busiest_channels: Iterable[ChannelRow],
    busiest_threads: Iterable[ThreadRow],
    questions_answered: int,
    hidden: Collection[int],
) -> CommunityDigest:
    """Build the community digest, leaving out every member in HIDDEN (quiet, away, left)."""
    return CommunityDigest(
        space_name=space_name,
        period=period,
        new_members=tuple(m for m in new_members if m.id not in hidden),
        shout_outs=tuple(s for s in shout_outs if s.member.id not in hidden),
        new_heroes=tuple(m for m in new_heroes if m.id not in hidden),
        busiest_channels=tuple(busiest_channels),
        busiest_threads=tuple(t for t in busiest_threads if t.starter.id not in hidden),
        questions_answered=questions_answered,
    )


@dataclass(frozen=True, slots=True)
class TierMove:
    """A member moving between tiers."""

    member: MemberRef
    from_tier: str | None
    to_tier: str
    at: datetime

    @property
    def is_promotion(self) -> bool:
        """Moving up (a first assignment counts as coming from passive)."""
        return Tier(self.to_tier).rank > Tier(self.from_tier or Tier.PASSIVE).rank

    @property
    def label(self) -> str:
        """'passive → active'."""
        return f"{self.from_tier or Tier.PASSIVE.value} → {self.to_tier}"


def split_moves(moves: Iterable[TierMove]) -> tuple[tuple[TierMove, ...], tuple[TierMove, ...]]:
    """Conversions (moves up) and demotions (moves down), each in time order."""
    ordered = sorted(moves, key=lambda m: (m.at, m.member.id))
    up = tuple(m for m in ordered if m.is_promotion)
    down = tuple(m for m in ordered if not m.is_promotion and m.from_tier is not None)
    return up, down


@dataclass(frozen=True, slots=True)
class UnansweredQuestion:
    """A question nobody else replied to."""

    member: MemberRef
    channel: str | None
    asked_at: datetime


@dataclass(frozen=True, slots=True)
class WeeklyTierCounts:
    """Members active in each week, by the tier they held at the week's end (for the chart)."""

    week_starts: tuple[date, ...]
    counts: Mapping[str, tuple[int, ...]]


@dataclass(frozen=True, slots=True)
class StaffDigest:
    """What the staff channel gets each week."""

    space_name: str
    period: Period
    tiers_now: Mapping[str, int]
    tiers_before: Mapping[str, int]
    conversions: tuple[TierMove, ...] = ()
    demotions: tuple[TierMove, ...] = ()
    quiet: tuple[QuietEntry, ...] = ()
    quiet_total: int = 0
    hero_candidates: tuple[Candidate, ...] = ()
    at_risk: tuple[AtRiskRow, ...] = ()
    unanswered: tuple[UnansweredQuestion, ...] = ()
    unanswered_total: int = 0
    outreach_week: OutreachStats | None = None
    outreach_quarter: OutreachStats | None = None
    goals: tuple[GoalProgress, ...] = ()
    health: HelpHealth | None = None
    weekly_active: WeeklyTierCounts | None = field(default=None, compare=False)

    def tier_change(self, tier: str) -> int:
        """Members in TIER now minus a week ago."""
        return self.tiers_now.get(tier, 0) - self.tiers_before.get(tier, 0)


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n} {word if n == 1 else (plural or word + 's')}"
