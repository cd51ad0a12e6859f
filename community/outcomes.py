"""Outcomes: help health, join-cohort funnels, retention and who carries the help load.

The rules and the records; `storage/health.py` and `storage/cohorts.py` gather the figures in
SQL. What counts as a question answered, and when its first reply came, is the help graph's
answering rule (`storage/helpgraph.py`), never a copy of it.
"""

from __future__ import annotations

import bisect
import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from community.events import day_number
from community.views import MemberRef

DEFAULT_UNANSWERED_HOURS = 24.0
# A question answered within this many hours counts as answered "within a day".
WITHIN_HOURS = 24.0
# Helper concentration at or below this is a warning: the help load rests on two people.
CONCENTRATION_WARNING = 2
FUNNEL_STEPS = ("posted", "asked", "helped", "active", "hero")


def rate(part: int, whole: int) -> float | None:
    """PART of WHOLE as a fraction, or None when there is nothing to divide."""
    return part / whole if whole else None


def percentile(values: Sequence[float], q: float) -> float | None:
    """The Q-th percentile (0..100) of VALUES, linearly interpolated; None when empty."""
    ordered = sorted(values)
    if not ordered:
        return None
    position = (len(ordered) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def median(values: Sequence[float]) -> float | None:
    """The median of VALUES, or None when empty."""
    return statistics.median(values) if values else None


def helper_concentration(answers: Iterable[int]) -> int | None:
    """The fewest members who gave at least half of all answers (CHAOSS Contributor Absence).

    ANSWERS holds each helper's count; None when nobody answered anything.
    """
    counts = sorted((n for n in answers if n > 0), reverse=True)
    total = sum(counts)
    if not total:
        return None
    running = 0
    for k, n in enumerate(counts, start=1):
        running += n
        if 2 * running >= total:
            return k
    return len(counts)  # pragma: no cover - the loop always reaches half


@dataclass(frozen=True, slots=True)
class AskedQuestion:
    """One question: where and when it was asked, and when another person first replied.

    CHANNEL is the channel's label for people; CHANNEL_ID tells apart channels that share
    one (two Discord channels may have the same name).
    """

    channel: str | None
    asked_at: datetime
    first_reply_at: datetime | None
    channel_id: int | None = None

    @property
    def reply_hours(self) -> float | None:
        """Hours from the question to its first reply by someone else (None: no reply)."""
        if self.first_reply_at is None:
            return None
        return max((self.first_reply_at - self.asked_at).total_seconds() / 3600, 0.0)


@dataclass(frozen=True, slots=True)
class ReplyFigures:
    """Questions asked in a channel (or everywhere) and how fast they got a first reply."""

    channel: str | None
    questions: int
    answered: int
    answered_within_day: int
    median_hours: float | None
    p90_hours: float | None
    channel_id: int | None = None

    @property
    def answered_share(self) -> float | None:
        """Share of the questions answered by the period's end."""
        return rate(self.answered, self.questions)

    @property
    def within_day_share(self) -> float | None:
        """Share of the questions answered within 24 hours."""
        return rate(self.answered_within_day, self.questions)


def reply_figures(
    channel: str | None, questions: Sequence[AskedQuestion], channel_id: int | None = None
) -> ReplyFigures:
    """The reply figures of QUESTIONS."""
    hours = [h for h in (q.reply_hours for q in questions) if h is not None]
    return ReplyFigures(
        channel=channel,
        channel_id=channel_id,
        questions=len(questions),
        answered=len(hours),
        answered_within_day=sum(1 for h in hours if h <= WITHIN_HOURS),
        median_hours=median(hours),
        p90_hours=percentile(hours, 90),
    )


@dataclass(frozen=True, slots=True)
class NeedsAttention:
    """A question still without a reply: where, when, how old (never its text: none is kept)."""

    channel: str | None
    asked_at: datetime
    age_hours: float


@dataclass(frozen=True, slots=True)
class HelperShare:
    """A member and the answers they gave in the period."""

    member: MemberRef
    answers: int
    staff: bool


@dataclass(frozen=True, slots=True)
class HelpHealth:
    """How well questions got answered over a period, and who answered them."""

    start: datetime
    end: datetime
    overall: ReplyFigures
    channels: tuple[ReplyFigures, ...]
    needs_attention: tuple[NeedsAttention, ...]
    needs_attention_total: int
    unanswered_hours: float
    answers: int
    staff_answers: int
    concentration: int | None
    # The members who together gave half the answers, busiest first (staff-only figures).
    carriers: tuple[HelperShare, ...] = ()

    @property
    def staff_share(self) -> float | None:
        """Share of the period's answers given by staff."""
        return rate(self.staff_answers, self.answers)

    @property
    def concentration_warning(self) -> bool:
        """Whether half the help rests on two people or fewer."""
        return self.concentration is not None and self.concentration <= CONCENTRATION_WARNING


def compose_health(
    start: datetime,
    end: datetime,
    questions: Sequence[AskedQuestion],
    helpers: Sequence[HelperShare],
    *,
    unanswered_hours: float = DEFAULT_UNANSWERED_HOURS,
    attention_limit: int = 10,
) -> HelpHealth:
    """Help health from the period's questions and each helper's answers."""
    # By channel id: channels that share a name keep their own figures.
    by_channel: dict[tuple[int | None, str | None], list[AskedQuestion]] = {}
    for q in questions:
        by_channel.setdefault((q.channel_id, q.channel), []).append(q)
    channels = sorted(
        (reply_figures(name, qs, channel_id) for (channel_id, name), qs in by_channel.items()),
        key=lambda f: (-f.questions, f.channel or "", f.channel_id or 0),
    )
    waiting = sorted(
        (
            NeedsAttention(q.channel, q.asked_at, (end - q.asked_at).total_seconds() / 3600)
            for q in questions
            if q.first_reply_at is None
        ),
        key=lambda n: n.asked_at,
    )
    waiting = [n for n in waiting if n.age_hours >= unanswered_hours]
    ranked = sorted(helpers, key=lambda h: (-h.answers, h.member.id))
    concentration = helper_concentration(h.answers for h in ranked)
    return HelpHealth(
        start=start,
        end=end,
        overall=reply_figures(None, questions),
        channels=tuple(channels),
        needs_attention=tuple(waiting[:attention_limit]),
        needs_attention_total=len(waiting),
        unanswered_hours=unanswered_hours,
        answers=sum(h.answers for h in ranked),
        staff_answers=sum(h.answers for h in ranked if h.staff),
        concentration=concentration,
        carriers=tuple(ranked[: concentration or 0]),
    )


def format_hours(hours: float | None) -> str:
    """'45 min', '3.0 h', '2.5 d', or 'n/a'."""
    if hours is None:
        return "n/a"
    if hours < 1:
        return f"{hours * 60:.0f} min"
    if hours < 48:
        return f"{hours:.1f} h"
    return f"{hours / 24:.1f} d"


def format_share(share: float | None) -> str:
    """'75%' or 'n/a'."""
    return "n/a" if share is None else f"{share:.0%}"


def health_lines(health: HelpHealth) -> tuple[str, ...]:
    """The headline figures, one per line, for digests and commands (staff only)."""
    o = health.overall
    return (
        f"{o.questions} questions; first reply by another member: median "
        f"{format_hours(o.median_hours)}, 90th percentile {format_hours(o.p90_hours)}",
        f"Answered within 24 h: {format_share(o.within_day_share)}; "
        f"answered at all: {format_share(o.answered_share)}",
        f"Needs attention (no reply after {health.unanswered_hours:g} h): "
        f"{health.needs_attention_total}",
        *concentration_lines(health),
    )


def concentration_lines(health: HelpHealth) -> tuple[str, ...]:
    """Who carries the help load, with the warning when it rests on two people or fewer."""
    if health.concentration is None:
        return ("Helper concentration: no answers in this period",)
    lines = [
        f"Helper concentration: {health.concentration} member"
        f"{'s' if health.concentration != 1 else ''} gave half of the "
        f"{health.answers} answers; staff gave {format_share(health.staff_share)}"
    ]
    if health.concentration_warning:
        lines.append(
            "⚠ Half of all answers come from 2 people or fewer: the help load rests on too few"
        )
    return tuple(lines)


@dataclass(frozen=True, slots=True)
class CohortMember:
    """One member of a join cohort: the day they joined and the day they reached each step."""

    joined_day: int
    steps: Mapping[str, int | None]


@dataclass(frozen=True, slots=True)
class FunnelStep:
    """How many of a cohort reached a step, and the median days it took them."""

    step: str
    count: int
    rate: float | None
    median_days: float | None


@dataclass(frozen=True, slots=True)
class CohortFunnel:
    """Members who joined (or were first seen) in one month, and how far they went."""

    month: date
    joined: int
    steps: tuple[FunnelStep, ...]

    def step(self, name: str) -> FunnelStep:
        """The step called NAME."""
        return next(s for s in self.steps if s.step == name)


def cohort_funnel(month: date, members: Sequence[CohortMember]) -> CohortFunnel:
    """The funnel of one cohort: joined → posted → asked → helped → active → hero."""
    steps = []
    for name in FUNNEL_STEPS:
        days = [
            max(m.steps[name] - m.joined_day, 0) for m in members if m.steps.get(name) is not None
        ]
        steps.append(FunnelStep(name, len(days), rate(len(days), len(members)), median(days)))
    return CohortFunnel(month=month, joined=len(members), steps=tuple(steps))


@dataclass(frozen=True, slots=True)
class RetentionRow:
    """A join cohort's size and the share of it that posted in each month from its first."""

    month: date
    size: int
    active: tuple[int, ...] = field(default=())

    @property
    def shares(self) -> tuple[float | None, ...]:
        """ACTIVE as shares of SIZE (month 0 is the join month itself)."""
        return tuple(rate(n, self.size) for n in self.active)


def month_bounds(end: datetime, months: int) -> list[datetime]:
    """The starts (UTC) of the MONTHS calendar months up to END's, then END itself."""
    year, month = end.year, end.month
    starts = []
    for _ in range(months):
        starts.append(datetime(year, month, 1, tzinfo=UTC))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return [*reversed(starts), end]


@dataclass(frozen=True, slots=True)
class CohortReport:
    """Funnels and retention for the join cohorts of several months, oldest first."""

    funnels: tuple[CohortFunnel, ...]
    retention: tuple[RetentionRow, ...]


def compose_cohorts(
    bounds: Sequence[datetime],
    members: Sequence[CohortMember],
    posted: Mapping[tuple[int, int], int],
) -> CohortReport:
    """Group cohort MEMBERS by the month they joined (BOUNDS), with POSTED from cohort_activity."""
    # Month starts only: END may fall inside a day, and that day belongs to the last month.
    days = [day_number(b) for b in bounds[:-1]]
    months = len(days)
    grouped: list[list[CohortMember]] = [[] for _ in range(months)]
    for m in members:
        index = bisect.bisect_right(days, m.joined_day) - 1
        if 0 <= index < months:
            grouped[index].append(m)
    funnels, retention = [], []
    for i, group in enumerate(grouped):
        month = bounds[i].date()
        funnels.append(cohort_funnel(month, group))
        active = tuple(posted.get((i, j), 0) for j in range(i, months))
        retention.append(RetentionRow(month=month, size=len(group), active=active))
    return CohortReport(funnels=tuple(funnels), retention=tuple(retention))


def figures_json(figures: ReplyFigures) -> dict:
    """Reply figures as JSON-ready data, shares included."""
    return {
        "channel": figures.channel,
        "questions": figures.questions,
        "answered": figures.answered,
        "answered_within_24h": figures.answered_within_day,
        "answered_share": figures.answered_share,
        "answered_within_24h_share": figures.within_day_share,
        "median_first_reply_hours": figures.median_hours,
        "p90_first_reply_hours": figures.p90_hours,
    }


def health_json(health: HelpHealth) -> dict:
    """Help health as JSON-ready data (datetimes as ISO strings)."""
    return {
        "start": health.start.isoformat(),
        "end": health.end.isoformat(),
        "overall": figures_json(health.overall),
        "channels": [figures_json(c) for c in health.channels],
        "unanswered_hours": health.unanswered_hours,
        "needs_attention_total": health.needs_attention_total,
        "needs_attention": [
            {"channel": n.channel, "asked_at": n.asked_at.isoformat(), "age_hours": n.age_hours}
            for n in health.needs_attention
        ],
        "answers": health.answers,
        "staff_answers": health.staff_answers,
        "staff_share": health.staff_share,
        "helper_concentration": health.concentration,
        "concentration_warning": health.concentration_warning,
        "carriers": [
            {
                "name": c.member.name,
                "platform_id": c.member.platform_id,
                "answers": c.answers,
                "staff": c.staff,
            }
            for c in health.carriers
        ],
    }
