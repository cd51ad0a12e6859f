import random
import tempfile
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, update

from community.events import ActivityKind, day_number
from community.quiet import FlagStatus, QuietPolicy
from community.tiers import DayCounts, TierPolicy, stats_from_history
from storage import models
from storage.engine import create_engine
from storage.figures import window_stats
from storage.migrate import upgrade
from storage.privacy import forget_member, purge_activities
from storage.profiles import member_profile
from storage.quiet import quiet_count, quiet_list, scan_quiet, set_flag_status
from storage.reclassify import reclassify
from storage.spaces import resolve_space
from storage.tiers import hero_candidates, tier_counts
from tests.factories import KEY, T0, ev, helper_history, ingest

POLICY = TierPolicy()
QUIET = QuietPolicy()
NOW = T0 + timedelta(days=120)


def random_history(seed: int, members: int = 12, n: int = 400):
    """Random but plausible events: questions, answers, thanks, reactions over 150 days."""
    rng = random.Random(seed)
    names = [f"m{i}" for i in range(members)]
    events, questions = [], []
    for i in range(n):
        who = rng.choice(names)
        at = T0 + timedelta(days=rng.uniform(-30, 120))
        roll = rng.random()
        if roll < 0.3:
            e = ev("message", who, at=at, event_id=f"h{seed}-{i}", is_question=rng.random() < 0.5)
            questions.append(e)
        elif roll < 0.7 and questions:
            q = rng.choice(questions)
            e = ev("reply", who, at=at, event_id=f"h{seed}-{i}", target_member_id=q.member_id,
                   parent_event_id=q.event_id, is_thanks=rng.random() < 0.15)  # fmt: skip
        elif roll < 0.85:
            e = ev("reaction_given", who, at=at, event_id=f"h{seed}-{i}",
                   target_member_id=rng.choice(names))  # fmt: skip
        else:
            e = ev("thread_started", who, at=at, event_id=f"h{seed}-{i}")
        events.append(e)
    return events


def pure_stats(events, member: str, today: int):
    """The pure path: rebuild one member's daily counts from raw events, as the writer would."""
    by_id = {e.event_id: e for e in events}
    days: dict[int, dict[str, int]] = {}
    helped = []
    credited: set[tuple[str, str]] = set()  # (helper, thread): one answer each
    thanked: set[tuple[str, str]] = set()  # (thanker, thread): thanks count once

    def bump(d, field, by=1):
        days.setdefault(d, {}).setdefault(field, 0)
        days[d][field] += by

    for e in events:
        d = day_number(e.occurred_at)
        other = e.target_member_id is not None and e.target_member_id != e.member_id
        if e.member_id == member:
            if e.kind in (ActivityKind.MESSAGE, ActivityKind.REPLY, ActivityKind.THREAD_STARTED):
                bump(d, "messages")
                if e.is_question:
                    bump(d, "questions")
                if e.kind is ActivityKind.THREAD_STARTED:
                    bump(d, "threads_started")
                if e.helps_other:
                    bump(d, "replies")
                    helped.append((e.target_member_id, d))
                    parent = by_id.get(e.parent_event_id)
                    key = (e.member_id, e.parent_event_id)
                    asked = parent is not None and parent.is_question
                    if asked and parent.member_id == e.target_member_id and key not in credited:
                        credited.add(key)
                        bump(d, "answers")
            if e.kind is ActivityKind.REACTION_GIVEN:
                bump(d, "reactions_given")
        if e.target_member_id == member and other:
            if e.kind is ActivityKind.REACTION_GIVEN:
                bump(d, "reactions_received")
            if e.is_thanks and e.kind in (ActivityKind.REPLY, ActivityKind.MESSAGE):
                key = (e.member_id, e.parent_event_id)
                if e.parent_event_id is None or key not in thanked:
                    thanked.add(key)
                    bump(d, "thanks_received")
    return stats_from_history([DayCounts(d, c) for d, c in days.items()], helped, today, POLICY)


async def member_ids(engine) -> dict[str, int]:
    async with engine.connect() as conn:
        return dict((await conn.execute(select(models.Member.platform_id, models.Member.id))).all())


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_sql_path_and_pure_path_agree(engine, seed):
    events = random_history(seed)
    await ingest(engine, events)
    today = day_number(NOW)
    ids = await member_ids(engine)
    async with engine.connect() as conn:
        space = await resolve_space(conn, None)
        sql = await window_stats(conn, space, today, POLICY)
    for member, row_id in ids.items():
        expected = pure_stats(events, member, today)
        got = sql.get(row_id)
        if got is None:
            assert expected.score == 0
            assert expected.last_active_day is None
            continue
        assert got.score == pytest.approx(expected.score, abs=1e-6), member
        assert (got.active_weeks, got.helped_members, got.answers, got.replies) == (
            expected.active_weeks, expected.helped_members, expected.answers, expected.replies,
        ), member  # fmt: skip
        assert got.thanks_received == expected.thanks_received
        assert got.recent_score == pytest.approx(expected.recent_score, abs=1e-6)
        assert got.last_active_day == expected.last_active_day


async def classify(engine, when=NOW):
    async with engine.begin() as conn:
        space = await resolve_space(conn, None)
        result = await reclassify(conn, space, when, POLICY)
        scan = await scan_quiet(conn, space, when, POLICY, QUIET)
    return space, result, scan


async def test_tiers_on_a_built_community(engine):
    events = (
        helper_history("hero", weeks=12, helped=12)
        + helper_history("helper", weeks=4, helped=3)
        + [ev("member_joined", "newbie", days=100, channel=None)]
        + helper_history("staffer", weeks=12, helped=12)
        + [ev("message", "botty", days=110, member_is_bot=True) for _ in range(50)]
    )
    await ingest(engine, events)
    async with engine.begin() as conn:
        await conn.execute(
            update(models.Member)
            .where(models.Member.platform_id == "staffer")
            .values(is_staff=True)
        )
    space, _result, _ = await classify(engine)
    async with engine.connect() as conn:
        counts = await tier_counts(conn, space)
        tiers = dict(
            (
                await conn.execute(
                    select(models.Member.platform_id, models.TierAssignment.tier).join(
                        models.TierAssignment
                    )
                )
            ).all()
        )
        candidates = await hero_candidates(conn, space, POLICY, 10)
        profile = await member_profile(conn, space, "hero", NOW)
    assert tiers["hero"] == "hero"
    assert tiers["helper"] == "active"
    assert tiers["newbie"] == "passive"
    assert "staffer" not in tiers
    assert "botty" not in tiers
    assert counts["hero"] == 1
    assert [c.member.platform_id for c in candidates] == ["hero"]
    assert profile.reasons.startswith("hero: active 12 of 13 weeks, helped 12 members")
    async with engine.connect() as conn:
        changes = (await conn.execute(select(models.TierChange.to_tier))).scalars().all()
    assert sorted(changes) == ["active", "hero"]  # first passive assignments are not history


async def test_quiet_lifecycle(engine):
    # Two regular helpers; one stops 30 days before NOW after a question nobody answered.
    events = helper_history("steady", weeks=10, helped=5) + helper_history(
        "gone", weeks=8, helped=5, start_days_ago=30
    )
    last_q = ev("message", "gone", days=89.5, is_question=True, channel="c-help")
    events.append(last_q)
    events += helper_history("away", weeks=8, helped=5, start_days_ago=30)
    events += helper_history("leaver", weeks=8, helped=5, start_days_ago=30)
    events.append(ev("member_left", "leaver", days=95, channel=None))
    await ingest(engine, events)
    async with engine.begin() as conn:
        await conn.execute(
            update(models.Member)
            .where(models.Member.platform_id == "away")
            .values(away_until=NOW + timedelta(days=10))
        )
    # Classify while everyone was still active, then scan at NOW.
    await classify(engine, NOW - timedelta(days=31))
    space, _, scan = await classify(engine)
    assert scan.opened == 1
    async with engine.connect() as conn:
        entries = await quiet_list(conn, space, NOW, 10)
    assert [e.member.platform_id for e in entries] == ["gone"]
    context = entries[0].context
    assert context.unanswered_question_at == last_q.occurred_at
    assert context.silent_days == 30
    assert "c1" in context.channels
    assert context.helped_count == 5
    assert "got no reply" in entries[0].summary

    # Staff mark them away after the flag opened: off the list until the date passes.
    gone = update(models.Member).where(models.Member.platform_id == "gone")
    async with engine.begin() as conn:
        await conn.execute(gone.values(away_until=NOW + timedelta(hours=6)))
        assert await quiet_list(conn, space, NOW, 10) == []
        assert await quiet_count(conn, space, NOW) == 0
        later = NOW + timedelta(hours=7)
        assert [e.member.platform_id for e in await quiet_list(conn, space, later, 10)] == ["gone"]
        assert await quiet_count(conn, space, later) == 1
        await conn.execute(gone.values(away_until=None))

    # The next scan does not flag them twice; staff snooze, then they come back.
    _, _, again = await classify(engine, NOW + timedelta(days=1))
    assert again.opened == 0
    async with engine.begin() as conn:
        await set_flag_status(conn, entries[0].flag_id, FlagStatus.SNOOZED, NOW,
                              snoozed_until=NOW + timedelta(days=7))  # fmt: skip
        assert await quiet_list(conn, space, NOW + timedelta(days=2), 10) == []
    await ingest(engine, [ev("message", "gone", days=123)])
    _, _, back = await classify(engine, NOW + timedelta(days=4))
    assert back.returned == 1
    async with engine.connect() as conn:
        status = (await conn.execute(select(models.QuietFlag.status))).scalars().all()
    assert status == ["returned"]


async def test_dismissed_member_stays_off_until_they_return(engine):
    await ingest(engine, helper_history("gone", weeks=8, helped=5, start_days_ago=30))
    await classify(engine, NOW - timedelta(days=31))
    _space, _, scan = await classify(engine)
    assert scan.opened == 1
    async with engine.begin() as conn:
        flag_id = (await conn.execute(select(models.QuietFlag.id))).scalar_one()
        await set_flag_status(conn, flag_id, FlagStatus.DISMISSED, NOW)
    _, _, later = await classify(engine, NOW + timedelta(days=3))
    assert later.opened == 0


async def test_opting_out_leaves_other_members_quiet_contexts(engine):
    """A quiet helper's flag names whom they helped; an opted-out member must leave that list."""
    await ingest(engine, helper_history("gone", weeks=8, helped=5, start_days_ago=30))
    await classify(engine, NOW - timedelta(days=31))
    space, _, scan = await classify(engine)
    assert scan.opened == 1
    async with engine.connect() as conn:
        (before,) = await quiet_list(conn, space, NOW, 10)
    assert before.context.helped_count == 5
    victim = before.context.helped[0]
    async with engine.begin() as conn:
        assert await forget_member(conn, space, victim, KEY, NOW)
    async with engine.connect() as conn:
        (after,) = await quiet_list(conn, space, NOW, 10)
        stored = (await conn.execute(select(models.QuietFlag.context))).scalar_one()
    assert victim not in after.context.helped
    assert victim not in after.context.summary()
    assert victim not in str(stored)
    assert after.context.helped_count == 4
    assert len(after.context.helped) == 3
    # Everything else the flag said is kept.
    assert after.context.silent_days == before.context.silent_days
    assert after.context.channels == before.context.channels


async def everywhere(engine, platform_id: str) -> int:
    """How many rows in any table still point at a member with this platform id."""
    async with engine.connect() as conn:
        member = (
            await conn.execute(
                select(models.Member.id).where(models.Member.platform_id == platform_id)
            )
        ).scalar()
        if member is None:
            return 0
        total = 1
        for model, column in [
            (models.Activity, "member_id"), (models.DailyRollup, "member_id"),
            (models.HelpEdge, "helper_id"), (models.HelpEdge, "helped_id"),
            (models.TierAssignment, "member_id"), (models.QuietFlag, "member_id"),
        ]:  # fmt: skip
            total += (
                await conn.execute(select(func.count()).where(getattr(model, column) == member))
            ).scalar_one()
        return total


async def test_opt_out_forgets_and_blocks_reingestion(engine):
    events = helper_history("leaving", weeks=6, helped=4)
    await ingest(engine, events, KEY)
    space, _, _ = await classify(engine)
    async with engine.begin() as conn:
        assert await forget_member(conn, space, "leaving", KEY, NOW)
    assert await everywhere(engine, "leaving") == 0
    await ingest(engine, events, KEY)  # a re-import or a replay brings nothing back
    assert await everywhere(engine, "leaving") == 0
    async with engine.connect() as conn:
        askers = (await conn.execute(select(func.count()).select_from(models.Member))).scalar_one()
    assert askers == 4  # the members they helped are still there


async def test_retention_purge_keeps_rollups(engine):
    await ingest(engine, [ev("message", "a", days=d) for d in (0, 10, 100)])
    async with engine.begin() as conn:
        removed = await purge_activities(conn, T0 + timedelta(days=50))
    assert removed == 2
    async with engine.connect() as conn:
        messages = (await conn.execute(select(func.sum(models.DailyRollup.messages)))).scalar()
    assert messages == 3


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 10_000), st.integers(0, 11))
async def test_an_opted_out_member_appears_nowhere(seed, victim):
    events = random_history(seed, members=12, n=150)
    with tempfile.TemporaryDirectory() as tmp:
        engine = create_engine(f"sqlite:///{Path(tmp) / 'p.db'}")
        try:
            await upgrade(engine)
            await ingest(engine, events, KEY)
            await classify(engine)
            async with engine.begin() as conn:
                space = await resolve_space(conn, None)
                await forget_member(conn, space, f"m{victim}", KEY, NOW)
            await ingest(engine, events, KEY)
            await classify(engine)
            assert await everywhere(engine, f"m{victim}") == 0
            async with engine.connect() as conn:
                rows = await quiet_list(conn, space, NOW, 100)
                candidates = await hero_candidates(conn, space, POLICY, 100)
            assert all(r.member.platform_id != f"m{victim}" for r in rows + candidates)
        finally:
            await engine.dispose()
