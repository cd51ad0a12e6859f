"""Tier history for days Pulse did not evaluate: rebuilt after an import, recomputed for reads.

The daily job evaluates every member once a day, with hysteresis: a tier is kept until the
figures stay below its demotion line for `demotion_evaluations` (N) evaluations in a row and
the member has been at risk for `demotion_notice_days` (D). Without the band between that line
and the full bar the memory is short: two runs of daily evaluations that start from different
tiers agree after at most 2 x max(N - 1, D) days (tests/storage/test_history.py checks every
sequence of earned tiers). In the band a member keeps whatever tier they held, which only the
history knows; so a read `--as-of` a past day starts from the tiers the stored history gives
2 x max(N, D) days before (`stored_standings`) and replays those days, and an import, which has
no history before its span, starts from the tiers the figures alone earn. Each replayed day is
one aggregation of the window (`window_stats`, the daily job's own SQL); the rules are
`community.stability.decide`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from community.events import day_number, day_start
from community.stability import Standing, decide
from community.tiers import MemberStats, Tier, TierPolicy, change_reasons, reasons
from storage.figures import last_active_days, window_stats
from storage.locks import Job, exclusive_write
from storage.members import eligible_members
from storage.models import DailyRollup, Member, TierAssignment, TierChange
from storage.reclassify import store_assignments

log = logging.getLogger("pulse.history")

# What an import's replay must get right: the digest's 12-week chart, its goals (8 weekly
# samples, each counting the conversions of the 30 days before it) and the quiet scan's
# "demoted recently" (quiet.expiry_days, 60 by default), all ending today.
HISTORY_DAYS = 12 * 7
GOAL_HISTORY_DAYS = 8 * 7 + 30
PROGRESS_SECONDS = 5.0
_EMPTY = MemberStats()


def end_of_day(day: int) -> datetime:
    """The last second of rollup day DAY: when a replayed evaluation of it is dated."""
    return day_start(day + 1) - timedelta(seconds=1)


def warmup_days(policy: TierPolicy) -> int:
    """Days of evaluations before the first one that must be exact (see the module's note)."""
    return 2 * max(policy.demotion_evaluations, policy.demotion_notice_days)


def end_of_day_of(when: date | None) -> datetime | None:
    """The moment a replayed evaluation of day WHEN is dated, for a stored promotion."""
    if when is None:
        return None
    return datetime(when.year, when.month, when.day, 23, 59, 59, tzinfo=UTC)


@dataclass(slots=True)
class Held:
    """One member's tier after an evaluation, with the figures behind it."""

    tier: Tier
    earned: Tier
    below: int
    since: datetime | None
    stats: MemberStats
    day: int | None = None
    promoted_on: date | None = None
    pinned: bool = False
    at_risk_since: date | None = None

    @property
    def standing(self) -> Standing:
        """The tier as the rules' starting point for the next evaluation.

        No staff digest was posted on a replayed day, so replays apply the notice period alone.
        """
        return Standing(self.tier, self.below, self.promoted_on, self.pinned, self.at_risk_since)

    def figures(self, day: int) -> MemberStats:
        """The figures as of DAY: a member left untouched that day had none in the window."""
        return self.stats if self.day == day else _EMPTY


@dataclass(frozen=True, slots=True)
class Move:
    """A tier change a replayed evaluation made."""

    member_id: int
    from_tier: Tier | None
    to_tier: Tier
    at: datetime
    stats: MemberStats
    earned: Tier


async def eligible_ids(conn: AsyncConnection, space_id: int) -> set[int]:
    """Ids of the members tiers consider (not staff, not bots)."""
    return set((await conn.execute(select(Member.id).where(eligible_members(space_id)))).scalars())


async def daily_figures(
    conn: AsyncConnection, space_id: int, days: range, policy: TierPolicy
) -> AsyncIterator[tuple[int, dict[int, MemberStats]]]:
    """Each day's window statistics, in order, as the daily job computes them."""
    for day in days:
        yield day, await window_stats(conn, space_id, day, policy, last_active={})


async def prefetched_figures(
    engine: AsyncEngine, space_id: int, days: range, policy: TierPolicy
) -> AsyncIterator[tuple[int, dict[int, MemberStats]]]:
    """The same, the next day's aggregated on a second connection while this one is decided."""
    async with engine.connect() as one, engine.connect() as two:
        conns = (one, two)

        def start(n: int) -> asyncio.Future | None:
            if n >= len(days):
                return None
            return asyncio.ensure_future(
                window_stats(conns[n % 2], space_id, days[n], policy, last_active={})
            )

        pending = start(0)
        try:
            for n, day in enumerate(days):
                stats = await pending
                pending = start(n + 1)
                yield day, stats
        finally:
            if pending is not None:
                pending.cancel()
                await asyncio.gather(pending, return_exceptions=True)


async def replay(
    figures: AsyncIterator[tuple[int, dict[int, MemberStats]]],
    policy: TierPolicy,
    held: dict[int, Held],
    eligible: set[int],
    on_day=None,
) -> list[Move]:
    """Evaluate each day FIGURES gives, in order, from HELD (updated in place); the moves made.

    Nothing is written. A member absent from HELD has not been evaluated yet. Members without
    figures in the window who hold passive stay passive, so each day touches only members with
    figures or a tier.
    """
    moves: list[Move] = []
    holding = {m for m, h in held.items() if h.tier is not Tier.PASSIVE or h.below}
    unseen: Tier | None = None  # never evaluated; after the first day: evaluated passive
    async for day, stats in figures:
        at = end_of_day(day)
        for member in holding.union(m for m in stats if m in eligible):
            member_stats = stats.get(member, _EMPTY)
            old = held.get(member)
            old_tier = old.tier if old else unseen
            standing = old.standing if old else Standing(old_tier)
            decision = decide(member_stats, standing, at.date(), policy)
            moved = old_tier is not decision.tier
            held[member] = Held(
                tier=decision.tier,
                earned=decision.earned,
                below=decision.below_count,
                since=at if moved or old is None else old.since,
                stats=member_stats,
                day=day,
                promoted_on=decision.promoted_on,
                pinned=standing.pinned,
                at_risk_since=decision.at_risk_since,
            )
            if decision.tier is not Tier.PASSIVE or decision.below_count:
                holding.add(member)
            else:
                holding.discard(member)
            # As in the daily job: a first passive assignment is not news.
            if moved and not (old_tier is None and decision.tier is Tier.PASSIVE):
                moves.append(
                    Move(member, old_tier, decision.tier, at, member_stats, decision.earned)
                )
        # Every eligible member was evaluated that day: one absent from HELD held passive.
        unseen = Tier.PASSIVE
        if on_day is not None:
            on_day(day)
    return moves


async def stored_standings(
    conn: AsyncConnection, space_id: int, moment: datetime
) -> dict[int, Held]:
    """Each member's tier at MOMENT as the stored history has it: the last change at or before.

    A replay starts from these: in the band between the demotion line and the full bar a member
    keeps whatever tier they held, which only the history knows. The demotion count at MOMENT is
    not stored, so it starts at 0.
    """
    held: dict[int, Held] = {}
    rows = await conn.execute(
        select(
            TierChange.member_id, TierChange.from_tier, TierChange.to_tier, TierChange.changed_at
        )
        .where(TierChange.space_id == space_id, TierChange.changed_at <= moment)
        .order_by(TierChange.changed_at, TierChange.id)
    )
    for member, from_tier, to_tier, at in rows:
        tier = Tier(to_tier)
        up = tier.rank > (Tier(from_tier).rank if from_tier else 0)
        promoted = at.astimezone(UTC).date() if up else None
        held[member] = Held(tier, tier, 0, at, _EMPTY, promoted_on=promoted)
    pinned = await conn.execute(
        select(TierAssignment.member_id).where(
            TierAssignment.space_id == space_id, TierAssignment.pinned_at <= moment
        )
    )
    for (member,) in pinned:
        if member in held:
            held[member].pinned = True
    return {m: h for m, h in held.items() if h.tier is not Tier.PASSIVE or h.pinned}


async def tiers_as_of(
    conn: AsyncConnection, space_id: int, day: int, policy: TierPolicy
) -> dict[int, Held]:
    """Every member's tier at the end of DAY, recomputed from the rollups; nothing is written.

    Members missing from the answer held passive with no figures in the window.
    """
    days = range(day - warmup_days(policy), day + 1)
    held = await stored_standings(conn, space_id, end_of_day(days.start - 1))
    figures = daily_figures(conn, space_id, days, policy)
    await replay(figures, policy, held, await eligible_ids(conn, space_id))
    return held


@dataclass(frozen=True, slots=True)
class RebuildResult:
    """What rebuilding tier history did."""

    days: range
    changes: int
    seconds: float


async def _last_evaluation(conn: AsyncConnection, space_id: int) -> datetime | None:
    return (
        await conn.execute(
            select(func.max(TierAssignment.evaluated_at)).where(TierAssignment.space_id == space_id)
        )
    ).scalar_one_or_none()


async def _stored_state(conn: AsyncConnection, space_id: int) -> dict[int, Held]:
    rows = await conn.execute(
        select(
            TierAssignment.member_id,
            TierAssignment.tier,
            TierAssignment.earned_tier,
            TierAssignment.below_count,
            TierAssignment.since,
            TierAssignment.promoted_at,
            TierAssignment.pinned_at,
            TierAssignment.at_risk_since,
        ).where(TierAssignment.space_id == space_id)
    )
    return {
        r.member_id: Held(
            Tier(r.tier),
            Tier(r.earned_tier),
            r.below_count,
            r.since,
            _EMPTY,
            promoted_on=r.promoted_at.astimezone(UTC).date() if r.promoted_at else None,
            pinned=r.pinned_at is not None,
            at_risk_since=r.at_risk_since.astimezone(UTC).date() if r.at_risk_since else None,
        )
        for r in rows
    }


def replay_span(
    data_days: tuple[int | None, int | None],
    last_evaluated: datetime | None,
    now: datetime,
    policy: TierPolicy,
) -> range:
    """The days an import replays before the evaluation at NOW, given its first and last data days.

    Never a day already evaluated (history Pulse stored, live or by an earlier import, is kept
    as it is; newly imported older events count only in later evaluations' windows), never
    today (the evaluation at NOW is today's), and only the days the history figures show plus
    the warm-up that makes the first of them exact: each day costs one window aggregation, and
    older days change nothing a digest, a goal or the quiet scan reads. Days after the last
    event has left the window (and the demotions that follow) are skipped too: every
    evaluation there says passive and changes nothing.
    """
    first, last = data_days
    if first is None or last is None:
        return range(0)
    today = day_number(now)
    start = max(first, today - max(HISTORY_DAYS, GOAL_HISTORY_DAYS) - warmup_days(policy))
    if last_evaluated is not None:
        start = max(start, day_number(last_evaluated) + 1)
    end = min(today, last + policy.window_days + policy.demotion_evaluations + 1)
    return range(start, max(start, end))


async def rebuild_history(
    engine: AsyncEngine, space_id: int, now: datetime, policy: TierPolicy
) -> RebuildResult:
    """Replay the daily evaluations an import's span missed, storing their tier changes.

    Run before the evaluation at NOW. Each replayed day is evaluated at its last second, so the
    stored changes and tiers are those daily evaluations would have made had Pulse been
    running; quiet flags are left to the evaluation at NOW, since a flag asks staff to act and
    one opened in the past would only have expired unseen.
    """
    started = time.monotonic()
    async with engine.connect() as conn:
        last_evaluated = await _last_evaluation(conn, space_id)
        data_days = (
            await conn.execute(
                select(func.min(DailyRollup.day), func.max(DailyRollup.day)).where(
                    DailyRollup.space_id == space_id
                )
            )
        ).one()
        days = replay_span(tuple(data_days), last_evaluated, now, policy)
        if not days:
            return RebuildResult(range(0), 0, time.monotonic() - started)
        held = await _stored_state(conn, space_id) if last_evaluated is not None else {}
        eligible = await eligible_ids(conn, space_id)
        last_log = [time.monotonic()]

        def on_day(day: int) -> None:
            if time.monotonic() - last_log[0] >= PROGRESS_SECONDS:
                last_log[0] = time.monotonic()
                log.info(
                    "replaying tier history: %s (%d of %d days)",
                    f"{day_start(day):%Y-%m-%d}",
                    day - days.start + 1,
                    len(days),
                )

        figures = prefetched_figures(engine, space_id, days, policy)
        moves = await replay(figures, policy, held, eligible, on_day)
    # The space's tier lock (storage.locks): of two concurrent rebuilds, the second waits here
    # and then sees the first's evaluation below, so the replayed changes are stored once.
    async with exclusive_write(engine, Job.TIERS, space_id) as conn:
        if await _last_evaluation(conn, space_id) != last_evaluated:
            # The daily job evaluated meanwhile: its history stands, a replay would contradict it.
            return RebuildResult(range(0), 0, time.monotonic() - started)
        await _write(conn, space_id, policy, held, moves, days[-1])
    log.info(
        "tier history replayed from %s to %s: %d tier changes",
        f"{day_start(days.start):%Y-%m-%d}",
        f"{day_start(days[-1]):%Y-%m-%d}",
        len(moves),
    )
    return RebuildResult(days, len(moves), time.monotonic() - started)


async def _write(
    conn: AsyncConnection,
    space_id: int,
    policy: TierPolicy,
    held: dict[int, Held],
    moves: list[Move],
    last_day: int,
) -> None:
    evaluated_at = end_of_day(last_day)
    last_active = await last_active_days(conn, space_id, last_day)
    rows = [
        {
            "member_id": member,
            "space_id": space_id,
            "tier": h.tier.value,
            "earned_tier": h.earned.value,
            "score": round(stats.score, 4),
            "active_weeks": stats.active_weeks,
            "window_weeks": policy.window_weeks,
            "helped_members": stats.helped_members,
            "answers": stats.answers,
            "thanks_received": stats.thanks_received,
            "contributions": stats.contributions,
            "recent_score": round(stats.recent_score, 4),
            "prior_score": round(stats.prior_score, 4),
            "recent_replies": stats.recent_replies,
            "last_active_day": last_active.get(member),
            "below_count": h.below,
            "reasons": reasons(h.tier, stats, policy, earned=h.earned),
            "since": h.since or evaluated_at,
            "evaluated_at": evaluated_at,
            "promoted_at": end_of_day_of(h.promoted_on),
            "at_risk_since": end_of_day_of(h.at_risk_since),
        }
        for member, h, stats in ((m, h, h.figures(last_day)) for m, h in sorted(held.items()))
        if h.day is not None  # stored tiers the replay never touched stay as they are
    ]
    await store_assignments(conn, rows)
    changes = [
        {
            "space_id": space_id,
            "member_id": m.member_id,
            "from_tier": m.from_tier.value if m.from_tier else None,
            "to_tier": m.to_tier.value,
            "score": round(m.stats.score, 4),
            "reasons": change_reasons(m.from_tier, m.to_tier, m.stats, policy, earned=m.earned),
            "changed_at": m.at,
        }
        for m in moves
    ]
    for start in range(0, len(changes), 5000):
        await conn.execute(TierChange.__table__.insert(), changes[start : start + 5000])
