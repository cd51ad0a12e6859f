from datetime import timedelta

import pytest
from sqlalchemy import select

from community.outreach import OutreachAction, OutreachError
from storage import models
from storage.outreach import (
    dismiss,
    live_flag_id,
    mark_re_engaged,
    outreach_history,
    outreach_stats,
    reached_out,
    snooze,
)
from storage.quiet import quiet_list, scan_quiet
from tests.digest_world import NOW, POLICY, QUIET, build_world
from tests.factories import ev, ingest

QUARTER = timedelta(days=90)


async def flag_row(engine, flag_id):
    async with engine.connect() as conn:
        return (
            await conn.execute(select(models.QuietFlag).where(models.QuietFlag.id == flag_id))
        ).one()


async def test_reached_out_to_re_engaged(engine):
    world = await build_world(engine)
    sid, flag = world.space_id, world.silent_flag
    at = NOW - timedelta(days=2)
    async with engine.begin() as conn:
        record = await reached_out(conn, sid, flag, "staff-7", at)
        assert await live_flag_id(conn, sid, world.ids["silent"]) == flag
    assert record.action is OutreachAction.REACHED_OUT
    # The member leaves the quiet list while staff wait for an answer.
    async with engine.connect() as conn:
        listed = await quiet_list(conn, sid, NOW, 50)
    assert world.ids["silent"] not in {q.member.id for q in listed}
    row = await flag_row(engine, flag)
    assert (row.status, row.snoozed_until) == ("snoozed", at + timedelta(days=30))
    # A second staff member pressing the same button is refused: one reach-out, counted once.
    async with engine.begin() as conn:
        with pytest.raises(OutreachError, match="already acted on"):
            await reached_out(conn, sid, flag, "staff-8", at + timedelta(hours=1))

    # Nothing yet: pending, no rate.
    async with engine.begin() as conn:
        assert await mark_re_engaged(conn, sid, NOW) == 0
        stats = await outreach_stats(conn, sid, NOW - QUARTER, NOW, as_of=NOW)
    assert (stats.reached_out, stats.re_engaged, stats.pending, stats.rate) == (1, 0, 1, None)

    # Twelve days later the member answers someone: re-engaged, and the scan closes the flag.
    back = at + timedelta(days=12)
    await ingest(engine, [ev("reply", "silent", at=back, event_id="silent-back",
                             target_member_id="asker")])  # fmt: skip
    later = back + timedelta(days=1)
    async with engine.begin() as conn:
        assert await mark_re_engaged(conn, sid, later) == 1
        assert await mark_re_engaged(conn, sid, later) == 0  # already marked
        await scan_quiet(conn, sid, later, POLICY, QUIET)
        stats = await outreach_stats(conn, sid, later - QUARTER, later, as_of=later)
        history = await outreach_history(conn, sid, world.ids["silent"])
    assert (stats.reached_out, stats.re_engaged, stats.pending, stats.rate) == (1, 1, 0, 1.0)
    assert history[0].re_engaged_at == back
    assert history[0].staff_platform_id == "staff-7"
    assert (await flag_row(engine, flag)).status == "returned"
    assert "1 re-engaged (100% of 1 decided)" in stats.summary()


async def test_a_return_after_30_days_does_not_count(engine):
    world = await build_world(engine)
    sid = world.space_id
    at = NOW - timedelta(days=2)
    async with engine.begin() as conn:
        await reached_out(conn, sid, world.silent_flag, "staff-7", at)
    await ingest(engine, [ev("message", "silent", at=at + timedelta(days=31), event_id="late")])
    later = at + timedelta(days=40)
    async with engine.begin() as conn:
        assert await mark_re_engaged(conn, sid, later) == 0
        stats = await outreach_stats(conn, sid, later - QUARTER, later, as_of=later)
    # Decided (the window closed) and not re-engaged.
    assert (stats.reached_out, stats.re_engaged, stats.pending, stats.rate) == (1, 0, 0, 0.0)


async def test_snooze_and_dismiss_are_recorded_with_who_and_when(engine):
    world = await build_world(engine)
    sid = world.space_id
    until = NOW + timedelta(days=5)
    async with engine.begin() as conn:
        await snooze(conn, sid, world.silent_flag, "staff-1", NOW, until)
        await dismiss(conn, sid, world.quiet_flag, "staff-2", NOW)
        stats = await outreach_stats(conn, sid, NOW - QUARTER, NOW + timedelta(days=1), NOW)
    assert (stats.snoozed, stats.dismissed, stats.reached_out) == (1, 1, 0)
    assert (await flag_row(engine, world.silent_flag)).snoozed_until == until
    dismissed = await flag_row(engine, world.quiet_flag)
    assert (dismissed.status, dismissed.closed_at) == ("dismissed", NOW)
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                select(models.Outreach.staff_platform_id, models.Outreach.action).order_by(
                    models.Outreach.id
                )
            )
        ).all()
    assert [tuple(r) for r in rows] == [("staff-1", "snooze"), ("staff-2", "dismiss")]


async def test_bad_actions_are_refused_and_change_nothing(engine):
    world = await build_world(engine)
    sid = world.space_id
    async with engine.begin() as conn:
        await dismiss(conn, sid, world.quiet_flag, "staff-2", NOW)
    async with engine.begin() as conn:
        with pytest.raises(OutreachError, match="already closed \\(dismissed\\)"):
            await reached_out(conn, sid, world.quiet_flag, "staff-2", NOW)
        with pytest.raises(OutreachError, match="no quiet flag 999"):
            await reached_out(conn, sid, 999, "staff-2", NOW)
        with pytest.raises(OutreachError, match="in the future"):
            await snooze(conn, sid, world.silent_flag, "staff-2", NOW, NOW - timedelta(days=1))
        with pytest.raises(OutreachError, match="staff member"):
            await reached_out(conn, sid, world.silent_flag, "", NOW)
    async with engine.connect() as conn:
        count = len((await conn.execute(select(models.Outreach.id))).all())
    assert count == 1
    assert (await flag_row(engine, world.silent_flag)).status == "open"
