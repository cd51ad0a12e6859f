"""Tiers: passive, active, hero. Pure rules over a member's windowed statistics.

The statistics come from two places that must agree: SQL over the daily rollups for a whole
community (storage), and `stats_from_history` here for one member's raw history (tests and
explanations). The rules that turn statistics into a tier live only here.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

COUNT_FIELDS = (
    "messages",
    "questions",
    "replies",
    "answers",
    "thanks_received",
    "reactions_given",
    "reactions_received",
    "threads_started",
    "contributions",
    "accepted_answers",
)
# Rollup column -> weight name in TierPolicy.weights.
WEIGHT_OF = {
    "messages": "message",
    "questions": "question",
    "replies": "reply",
    "answers": "answer",
    "thanks_received": "thanks_received",
    "reactions_given": "reaction_given",
    "reactions_received": "reaction_received",
    "threads_started": "thread_started",
    "contributions": "contribution",
    "accepted_answers": "accepted_answer",
}
TREND_DAYS = 28  # "recent" is the last four weeks, compared with the four before


class Tier(enum.StrEnum):
    """The three kinds of community member."""

    PASSIVE = "passive"
    ACTIVE = "active"
    HERO = "hero"

    @property
    def rank(self) -> int:
        """Order of tiers: passive < active < hero."""
        return _RANK[self]


_RANK = {Tier.PASSIVE: 0, Tier.ACTIVE: 1, Tier.HERO: 2}


class Trend(enum.StrEnum):
    """Direction of a member's engagement over the last weeks."""

    RISING = "rising"
    STEADY = "steady"
    FALLING = "falling"


@dataclass(frozen=True, slots=True)
class TierPolicy:
    """Thresholds and weights; built from the [tiers] settings."""

    window_days: int = 90
    decay_floor: float = 0.5
    active_score: float = 20.0
    active_min_weeks: int = 2
    active_min_helped: int = 1
    hero_score: float = 120.0
    hero_min_weeks: int = 8
    hero_min_helped: int = 10
    demotion_evaluations: int = 2
    demote_below: float = 0.9
    promotion_grace_days: int = 14
    # Days a member is shown at risk before a demotion can happen: one staff digest cycle.
    demotion_notice_days: int = 7
    candidate_ratio: float = 0.6
    # Platforms whose spaces get a staff digest: there a demotion also waits until one listed
    # the member (not a setting: resolved from the staff channels and [digest] enabled).
    staff_digest_platforms: frozenset[str] = frozenset()
    weights: Mapping[str, float] = field(
        default_factory=lambda: {
            "message": 0.5,
            "question": 0.5,
            "reply": 2.0,
            "answer": 4.0,
            "thanks_received": 3.0,
            "reaction_given": 0.1,
            "reaction_received": 0.2,
            "thread_started": 1.0,
            "contribution": 15.0,
            "accepted_answer": 4.0,
        }
    )

    @property
    def window_weeks(self) -> int:
        """How many weeks the window spans (the '12' in 'active 11 of 12 weeks')."""
        return math.ceil(self.window_days / 7)

    def weight(self, count_field: str) -> float:
        """Points for one unit of a rollup count."""
        return float(self.weights.get(WEIGHT_OF[count_field], 0.0))

    def decay(self, age_days: int) -> float:
        """How much an action AGE_DAYS old counts: 1 today, decay_floor at the window's edge."""
        return 1.0 - (1.0 - self.decay_floor) * (age_days / self.window_days)


@dataclass(frozen=True, slots=True)
class MemberStats:
    """One member's figures over the trailing window ending today."""

    score: float = 0.0
    active_weeks: int = 0
    helped_members: int = 0
    answers: int = 0
    replies: int = 0
    thanks_received: int = 0
    contributions: int = 0
    messages: int = 0
    accepted_answers: int = 0
    recent_score: float = 0.0
    prior_score: float = 0.0
    recent_replies: int = 0
    last_active_day: int | None = None


def earned_tier(stats: MemberStats, policy: TierPolicy) -> Tier:
    """The tier the figures alone earn, before hysteresis."""
    if (
        stats.score >= policy.hero_score
        and stats.active_weeks >= policy.hero_min_weeks
        and stats.helped_members >= policy.hero_min_helped
    ):
        return Tier.HERO
    if (
        stats.score >= policy.active_score
        and stats.active_weeks >= policy.active_min_weeks
        and stats.helped_members >= policy.active_min_helped
    ):
        return Tier.ACTIVE
    return Tier.PASSIVE


@dataclass(frozen=True, slots=True)
class Requirement:
    """One requirement of a tier's bar: what is measured, what is needed, what the member has."""

    name: str
    needed: float
    have: float

    def met(self, share: float = 1.0) -> bool:
        """Whether the member has at least SHARE of what is needed."""
        return self.have >= self.needed * share

    def shortfall(self) -> str:
        """'helped 7 of 10 members needed', in the requirement's own words."""
        if self.name == "score":
            have = f"{self.have:.0f}"
            if float(have) >= self.needed:  # 19.96 of 20 is short, so it must not read "20 of 20"
                have = f"{min(self.have, self.needed - 0.05):.1f}"
            return f"score {have} of {self.needed:.0f} needed"
        if self.name == "weeks":
            return f"active {self.have:.0f} of {self.needed:.0f} weeks needed"
        return f"helped {self.have:.0f} of {self.needed:.0f} members needed"


def requirements(tier: Tier, stats: MemberStats, policy: TierPolicy) -> list[Requirement]:
    """The requirements of TIER's bar against STATS (none for passive)."""
    if tier is Tier.HERO:
        bars = (policy.hero_score, policy.hero_min_weeks, policy.hero_min_helped)
    elif tier is Tier.ACTIVE:
        bars = (policy.active_score, policy.active_min_weeks, policy.active_min_helped)
    else:
        return []
    score, weeks, helped = bars
    return [
        Requirement("score", float(score), stats.score),
        Requirement("weeks", float(weeks), float(stats.active_weeks)),
        Requirement("helped", float(helped), float(stats.helped_members)),
    ]


def missing(tier: Tier, stats: MemberStats, policy: TierPolicy) -> list[str]:
    """Each requirement of TIER's full bar that STATS miss, with by how much."""
    return [r.shortfall() for r in requirements(tier, stats, policy) if not r.met()]


def holds(tier: Tier, stats: MemberStats, policy: TierPolicy) -> bool:
    """Whether STATS stay at or above the demotion line (demote_below of every requirement)."""
    return all(r.met(policy.demote_below) for r in requirements(tier, stats, policy))


def trend(recent: float, prior: float) -> Trend:
    """Rising, steady or falling, from the last four weeks against the four before."""
    if recent > prior * 1.25 and recent - prior >= 2:
        return Trend.RISING
    if recent < prior * 0.75 and prior - recent >= 2:
        return Trend.FALLING
    return Trend.STEADY


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n} {word if n == 1 else (plural or word + 's')}"


def reasons(
    tier: Tier,
    stats: MemberStats,
    policy: TierPolicy,
    contribution_kinds: Mapping[str, int] | None = None,
    earned: Tier | None = None,
) -> str:
    """Why a member holds a tier, with numbers: 'hero: active 11 of 13 weeks, helped 23 ...'."""
    parts = [f"active {stats.active_weeks} of {policy.window_weeks} weeks"]
    if stats.helped_members:
        parts.append(f"helped {_plural(stats.helped_members, 'member')}")
    if stats.answers:
        accepted = f" ({stats.accepted_answers} accepted)" if stats.accepted_answers else ""
        parts.append(f"answered {_plural(stats.answers, 'question')}{accepted}")
    if stats.thanks_received:
        parts.append(f"thanked {_plural(stats.thanks_received, 'time')}")
    kinds = contribution_kinds or {}
    for kind, n in sorted(kinds.items(), key=lambda item: (-item[1], item[0])):
        parts.append(f"{_plural(n, kind)} logged")
    if stats.contributions and not kinds:
        parts.append(f"{_plural(stats.contributions, 'contribution')} logged")
    if not stats.helped_members and stats.messages:
        parts.append(f"{_plural(stats.messages, 'message')}")
    parts.append(f"score {stats.score:.0f}")
    text = f"{tier.value}: " + ", ".join(parts)
    if earned is not None and earned.rank < tier.rank:
        gaps = "; ".join(missing(tier, stats, policy))
        text += f" (figures now say {earned.value}: {gaps}; kept until the drop is sustained)"
    return text


def change_reasons(
    from_tier: Tier | None,
    to_tier: Tier,
    stats: MemberStats,
    policy: TierPolicy,
    contribution_kinds: Mapping[str, int] | None = None,
    earned: Tier | None = None,
) -> str:
    """Why a member moved: the new tier's reasons, and for a demotion the bar they fell below."""
    text = reasons(to_tier, stats, policy, contribution_kinds, earned=earned)
    if from_tier is not None and to_tier.rank < from_tier.rank:
        gaps = "; ".join(missing(from_tier, stats, policy))
        text += f" (below the {from_tier.value} bar: {gaps})"
    return text


@dataclass(frozen=True, slots=True)
class DayCounts:
    """One day of one member's rollup counts (what the pure path works from)."""

    day: int
    counts: Mapping[str, int]

    def engaged(self) -> bool:
        """Whether the member posted or contributed that day (reactions alone do not count)."""
        return self.counts.get("messages", 0) > 0 or self.counts.get("contributions", 0) > 0


def in_window(day: int, today: int, policy: TierPolicy) -> bool:
    """Whether DAY falls inside the trailing window ending TODAY."""
    return today - policy.window_days < day <= today


def stats_from_history(
    days: Iterable[DayCounts],
    helped: Iterable[tuple[str, int]],
    today: int,
    policy: TierPolicy,
) -> MemberStats:
    """Compute a member's window statistics in pure Python from daily counts and help replies.

    HELPED holds (member helped, day) pairs, one per reply to another member.
    """
    score = recent = prior = 0.0
    weeks: set[int] = set()
    totals = dict.fromkeys(COUNT_FIELDS, 0)
    recent_replies = 0
    last_active: int | None = None
    for entry in days:
        if entry.engaged():
            last_active = entry.day if last_active is None else max(last_active, entry.day)
        if not in_window(entry.day, today, policy):
            continue
        age = today - entry.day
        points = sum(policy.weight(f) * entry.counts.get(f, 0) for f in COUNT_FIELDS)
        score += points * policy.decay(age)
        for f in COUNT_FIELDS:
            totals[f] += entry.counts.get(f, 0)
        if age < TREND_DAYS:
            recent += points
            recent_replies += entry.counts.get("replies", 0)
        elif age < 2 * TREND_DAYS:
            prior += points
        if entry.engaged():
            weeks.add(age // 7)
    helped_members = {member for member, day in helped if in_window(day, today, policy)}
    return MemberStats(
        score=max(score, 0.0),
        active_weeks=len(weeks),
        helped_members=len(helped_members),
        answers=totals["answers"],
        replies=totals["replies"],
        thanks_received=totals["thanks_received"],
        contributions=totals["contributions"],
        messages=totals["messages"],
        accepted_answers=totals["accepted_answers"],
        recent_score=max(recent, 0.0),
        prior_score=max(prior, 0.0),
        recent_replies=recent_replies,
        last_active_day=last_active,
    )
