"""Figures at many moments in one statement equal the same figures read one moment at a time.

The staff digest reads tier counts "then and now", 12 weeks of chart data and each goal at nine
weekly points. Those reads now serve every moment in one statement; the per-moment queries
they replaced are kept below as the reference, and both run on the demo community (14 weeks of
tier history, members who left, one imported member without a join date) copied into each
backend, with a few rows added for the rules' corners.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import and_, delete, exists, func, insert, or_, select, update

from community.digest import WeeklyTierCounts
from community.events import day_number, day_start
from community.goals import GoalMetric
from community.outcomes import helper_concentration
from community.tiers import Tier
from storage.copy import copy_database
from storage.engine import create_engine
from storage.goals import MONTH, goal_moments, goal_samples, goal_value
from storage.members import eligible_members
from storage.models import DailyRollup, Member, Space, TierAssignment, TierChange
from storage.tier_changes import WEEK, tier_counts_at_moments, weekly_active_by_tier


# The per-moment queries the one-statement reads replaced: the reference.
def _first_changes_after(space_id: int, moment: datetime):
    firsts = (
        select(TierChange.member_id, func.min(TierChange.changed_at).label("at"))
        .where(TierChange.space_id == space_id, TierChange.changed_at > moment)
        .group_by(TierChange.member_id)
        .subquery()
    )
    return (
        select(TierChange.member_id, func.max(TierChange.from_tier).label("from_tier"))
        .join(
            firsts,
            and_(TierChange.member_id == firsts.c.member_id, TierChange.changed_at == firsts.c.at),
        )
        .group_by(TierChange.member_id)
        .subquery()
    )


async def _rewind(conn, counts: dict[str, int], prior_query) -> dict[str, int]:
    for from_tier, now_tier, n in await conn.execute(prior_query):
        counts[now_tier] -= n
        counts[from_tier or Tier.PASSIVE.value] += n
    return counts


async def reference_tier_counts_at(conn, space_id: int, moment: datetime) -> dict[str, int]:
    present = (
        eligible_members(space_id),
        or_(Member.left_at.is_(None), Member.left_at > moment),
        or_(Member.joined_at.is_(None), Member.joined_at <= moment),
    )
    counts = dict.fromkeys((t.value for t in Tier), 0)
    rows = await conn.execute(
        select(TierAssignment.tier, func.count())
        .join(Member, Member.id == TierAssignment.member_id)
        .where(TierAssignment.space_id == space_id, *present)
        .group_by(TierAssignment.tier)
    )
    counts.update(dict(rows.all()))
    prior = _first_changes_after(space_id, moment)
    return await _rewind(
        conn,
        counts,
        select(prior.c.from_tier, TierAssignment.tier, func.count())
        .join(TierAssignment, TierAssignment.member_id == prior.c.member_id)
        .join(Member, Member.id == prior.c.member_id)
        .where(*present)
        .group_by(prior.c.from_tier, TierAssignment.tier),
    )


async def reference_weekly(conn, space_id: int, end: datetime, weeks: int = 12):
    r = DailyRollup
    starts, per_tier = [], {t.value: [] for t in Tier}
    for back in range(weeks - 1, -1, -1):
        week_end = end - back * WEEK
        last = day_number(week_end)
        engaged = and_(r.day >= last - 7, r.day < last, or_(r.messages > 0, r.contributions > 0))
        active = select(r.member_id).distinct().where(r.space_id == space_id, engaged).subquery()
        tier = func.coalesce(TierAssignment.tier, Tier.PASSIVE.value)
        counts = dict.fromkeys((t.value for t in Tier), 0)
        rows = await conn.execute(
            select(tier, func.count())
            .select_from(active)
            .join(Member, Member.id == active.c.member_id)
            .outerjoin(TierAssignment, TierAssignment.member_id == active.c.member_id)
            .where(eligible_members(space_id))
            .group_by(tier)
        )
        counts.update(dict(rows.all()))
        prior = _first_changes_after(space_id, week_end)
        was_active = exists().where(r.member_id == prior.c.member_id, engaged)
        await _rewind(
            conn,
            counts,
            select(prior.c.from_tier, TierAssignment.tier, func.count())
            .join(TierAssignment, TierAssignment.member_id == prior.c.member_id)
            .join(Member, Member.id == prior.c.member_id)
            .where(eligible_members(space_id), was_active)
            .group_by(prior.c.from_tier, TierAssignment.tier),
        )
        starts.append(day_start(last - 7).date())
        for name, values in per_tier.items():
            values.append(counts[name])
    return WeeklyTierCounts(
        week_starts=tuple(starts), counts={k: tuple(v) for k, v in per_tier.items()}
    )


async def reference_concentration(conn, space_id: int, at: datetime) -> float | None:
    first, last = day_number(at - MONTH), day_number(at - timedelta(microseconds=1))
    rows = await conn.execute(
        select(DailyRollup.member_id, func.sum(DailyRollup.answers))
        .join(Member, Member.id == DailyRollup.member_id)
        .where(
            DailyRollup.space_id == space_id,
            DailyRollup.day >= first,
            DailyRollup.day <= last,
            Member.is_bot.is_(False),
        )
        .group_by(DailyRollup.member_id)
    )
    concentration = helper_concentration(n for _, n in rows)
    return None if concentration is None else float(concentration)


@pytest.fixture
async def demo_world(engine, demo_db):
    """The demo community in ENGINE's database, with the corners the rules must get right."""
    source = create_engine(f"sqlite+aiosqlite:///{demo_db[0]}")
    try:
        await copy_database(source, engine)
    finally:
        await source.dispose()
    async with engine.begin() as conn:
        space_id = (await conn.execute(select(Space.id))).scalar_one()
        last = (await conn.execute(select(func.max(TierChange.changed_at)))).scalar_one()
        changed = (
            await conn.execute(
                select(TierChange.member_id, TierChange.changed_at, TierChange.from_tier)
                .where(TierChange.from_tier.is_not(None))
                .order_by(TierChange.changed_at, TierChange.id)
            )
        ).all()
        # Two changes stored at the same moment: the member held the highest-named tier.
        member, at, from_tier = changed[0]
        other = Tier.HERO.value if from_tier != Tier.HERO.value else Tier.ACTIVE.value
        await conn.execute(
            insert(TierChange).values(
                space_id=space_id, member_id=member, from_tier=other, to_tier=from_tier,
                score=0.0, reasons="tie", changed_at=at,
            )
        )  # fmt: skip
        # A member whose tier changed but who has no assignment now (rewinds skip them).
        await conn.execute(delete(TierAssignment).where(TierAssignment.member_id == changed[1][0]))
        # A member with changes who joined mid-history and one who left mid-history.
        await conn.execute(
            update(Member)
            .where(Member.id == changed[2][0])
            .values(joined_at=changed[2][1] - timedelta(days=3))
        )
        await conn.execute(
            update(Member)
            .where(Member.id == changed[3][0])
            .values(left_at=changed[3][1] + timedelta(days=5))
        )
    return space_id, last


def _moments(last: datetime) -> list[datetime]:
    """Moments over the history: exactly at the last change, just before it, and every 5.5 days."""
    spread = [last - timedelta(days=5.5 * k) for k in range(20)]
    return [*spread, last - timedelta(microseconds=1), last + timedelta(days=2)]


async def test_tier_counts_at_many_moments_equal_each_moment_alone(engine, demo_world):
    space_id, last = demo_world
    moments = _moments(last)
    async with engine.connect() as conn:
        together = await tier_counts_at_moments(conn, space_id, moments)
        alone = [await reference_tier_counts_at(conn, space_id, m) for m in moments]
    assert together == alone
    # Not vacuous: the counts move over the history, and the newest moment is today's counts.
    assert len({tuple(sorted(c.items())) for c in together}) >= 5
    assert together[0]["active"] != together[-3]["active"]


@pytest.mark.parametrize("days_back", [0, 0.3, 17.6, 40])
async def test_weekly_chart_in_one_statement_equals_the_week_by_week_reads(
    engine, demo_world, days_back
):
    space_id, last = demo_world
    end = last - timedelta(days=days_back)
    async with engine.connect() as conn:
        chart = await weekly_active_by_tier(conn, space_id, end)
        reference = await reference_weekly(conn, space_id, end)
    assert chart == reference
    assert sum(chart.counts[Tier.ACTIVE.value]) > 0
    assert sum(chart.counts[Tier.HERO.value]) > 0
    assert len(set(chart.counts[Tier.ACTIVE.value])) >= 2  # tiers at each week's end differ


@pytest.mark.parametrize(
    "metric",
    [
        GoalMetric.ACTIVE_MEMBERS,
        GoalMetric.HEROES,
        GoalMetric.CONVERSIONS_PER_MONTH,
        GoalMetric.NEWCOMER_ACTIVATION_RATE,
        GoalMetric.COHORT_RETENTION_30D,
        GoalMetric.ANSWERED_SHARE,
        GoalMetric.MEDIAN_TIME_TO_FIRST_REPLY,
        GoalMetric.HELPER_CONCENTRATION,
    ],
)
async def test_goal_samples_read_together_equal_each_moment_read_alone(engine, demo_world, metric):
    space_id, last = demo_world
    moments = goal_moments(last - timedelta(hours=7))
    async with engine.connect() as conn:
        together = await goal_samples(conn, space_id, metric, moments)
        alone = [(m, await goal_value(conn, space_id, metric, m)) for m in moments]
        if metric in (GoalMetric.ACTIVE_MEMBERS, GoalMetric.HEROES):
            # goal_value reads the same one-statement counts: check against the reference too.
            counts = [await reference_tier_counts_at(conn, space_id, m) for m in moments]
            hero = [float(c[Tier.HERO.value]) for c in counts]
            active = [float(c[Tier.ACTIVE.value]) + h for c, h in zip(counts, hero, strict=True)]
            expected = hero if metric is GoalMetric.HEROES else active
            assert [v for _, v in together] == expected
        if metric is GoalMetric.HELPER_CONCENTRATION:
            expected = [await reference_concentration(conn, space_id, m) for m in moments]
            assert [v for _, v in together] == expected
    assert together == alone
    assert len({v for _, v in together}) >= 2  # the figure moves over the eight weeks
