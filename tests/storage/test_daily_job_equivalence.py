"""The reworked daily job stores exactly what the old full evaluation stored, day after day.

A realistic community (bench/classify_world.py's generator at a small size: heavy helpers,
regulars, a long casual tail, members who went quiet) is taken through consecutive days. Each
day the old job (tests/daily_reference.py: every member decided, every last active day read)
runs first and is rolled back, then the daily job runs and is kept; the results and every
stored row they leave must be the same. Between days staff act as they do in production: a
staff digest lists the members at risk (demotions wait for it), a tier is pinned, a member is
marked staff, a flag is snoozed and another dismissed, an old day of history is imported.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text, update

from bench.classify_roster import NOW
from bench.classify_world import generate
from bot.services.classification import reclassify_and_scan
from community.events import day_number
from community.quiet import FlagStatus, QuietPolicy, ScanResult
from community.tiers import TierPolicy
from storage import figures, reclassify
from storage.copy import copy_database
from storage.engine import create_engine
from storage.locks import Job
from storage.migrate import upgrade
from storage.models import DailyRollup, Member, QuietFlag, TierAssignment, TierChange
from storage.quiet import set_flag_status
from storage.tiers import mark_listed, members_at_risk, set_pin
from storage.uow import UnitOfWork
from tests.daily_reference import reference_daily_job

POLICY = TierPolicy(staff_digest_platforms=frozenset({"discord"}))
QUIET = QuietPolicy()
DAYS = 14
# Members, activities, seed: big enough for every tier, quiet members and demotions.
WORLD = (1500, 60_000, 7)


def _sorted(scan: ScanResult) -> ScanResult:
    return replace(scan, flagged_member_ids=tuple(sorted(scan.flagged_member_ids)))


class _Undo(Exception):
    """Ends a transaction so that it is rolled back."""


async def _snapshot(conn) -> dict[str, list]:
    """Every row the daily job writes, without the ids sequences hand out."""
    assignments = (
        await conn.execute(select(TierAssignment).order_by(TierAssignment.member_id))
    ).all()
    changes = (
        await conn.execute(
            select(
                TierChange.member_id,
                TierChange.from_tier,
                TierChange.to_tier,
                TierChange.score,
                TierChange.reasons,
                TierChange.changed_at,
            )
        )
    ).all()
    flag_columns = [c for c in QuietFlag.__table__.c if c.name != "id"]
    flags = (await conn.execute(select(*flag_columns))).all()
    return {
        "assignments": list(assignments),
        "changes": sorted(tuple(row) for row in changes),
        "flags": sorted((tuple(row) for row in flags), key=repr),
    }


async def _reference_day(engine, space_id: int, now) -> tuple:
    """The old job's results and rows at NOW; nothing it wrote is kept."""
    try:
        async with UnitOfWork(engine).exclusive(Job.TIERS, space_id) as conn:
            result, scan = await reference_daily_job(conn, space_id, now, POLICY, QUIET)
            stored = await _snapshot(conn)
            raise _Undo
    except _Undo:
        return result, scan, stored


async def _staff_act(engine, space_id: int, n: int, now) -> None:
    """What staff do between two daily runs, a different thing each day."""
    async with engine.begin() as conn:
        at_risk = await members_at_risk(conn, space_id, POLICY, 10_000)
        if n % 3 == 0 and at_risk:
            # The staff digest posted and listed everyone at risk: demotions may go ahead.
            await mark_listed(conn, space_id, [r.member.id for r in at_risk], now)
        if n == 2 and at_risk:
            await set_pin(conn, at_risk[0].member.id, True, "staff-1", now)
        if n == 4:
            hero = (
                await conn.execute(
                    select(TierAssignment.member_id).where(TierAssignment.tier == "hero").limit(1)
                )
            ).scalar()
            await conn.execute(update(Member).where(Member.id == hero).values(is_staff=True))
        flags = (
            await conn.execute(
                select(QuietFlag.id).where(QuietFlag.status == "open").order_by(QuietFlag.id)
            )
        ).scalars()
        flags = list(flags)
        if n == 1 and len(flags) >= 2:
            await set_flag_status(
                conn, flags[0], FlagStatus.SNOOZED, now, snoozed_until=now + timedelta(days=2)
            )
            await set_flag_status(conn, flags[1], FlagStatus.DISMISSED, now)
        if n == 5:
            # An import of old history: a day far outside the window for an inert member.
            inert = (
                await conn.execute(
                    select(TierAssignment.member_id)
                    .where(reclassify.inert(), TierAssignment.last_active_day.is_not(None))
                    .order_by(TierAssignment.member_id)
                    .limit(1)
                )
            ).scalar()
            if inert is not None:
                await conn.execute(
                    DailyRollup.__table__.insert().values(
                        member_id=inert, day=day_number(now) - 200, space_id=space_id, messages=3
                    )
                )


async def _build(url: str, tmp_path) -> None:
    """The community in the database at URL (built on SQLite, copied like `pulse db copy`)."""
    if url.startswith("sqlite"):
        await asyncio.to_thread(generate, Path(url.split("///", 1)[1]), *WORLD)
        return
    path = tmp_path / "world.db"
    await asyncio.to_thread(generate, path, *WORLD)
    source, target = create_engine(f"sqlite:///{path}"), create_engine(url)
    try:
        await upgrade(target)
        await copy_database(source, target)
    finally:
        await source.dispose()
        await target.dispose()


@pytest.mark.parametrize("chunk", [5000, 7])
async def test_the_daily_job_stores_what_the_full_evaluation_stored(
    database_url, tmp_path, monkeypatch, chunk
):
    # Small chunks and a low lookup limit take the by-member paths a large community takes.
    monkeypatch.setattr(figures, "CHUNK", chunk)
    monkeypatch.setattr(reclassify, "CHUNK", chunk)
    if chunk < 100:
        monkeypatch.setattr(figures, "LOOKUP_LIMIT", 50)
    await _build(database_url, tmp_path)
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            space_id = (await conn.execute(text("SELECT id FROM spaces"))).scalar_one()
        seen = {"changes": 0, "opened": 0, "closed": 0, "written": 0}
        for n in range(DAYS):
            now = NOW - timedelta(days=DAYS - 3 - n, hours=n % 5)
            expected_result, expected_scan, expected = await _reference_day(engine, space_id, now)
            result, scan = await reclassify_and_scan(
                UnitOfWork(engine), space_id, now, POLICY, QUIET
            )
            async with engine.connect() as conn:
                stored = await _snapshot(conn)
            assert result == expected_result, f"day {n}"
            # In the order the database grouped them, which PostgreSQL does not keep.
            assert _sorted(scan) == _sorted(expected_scan), f"day {n}"
            for table in expected:
                assert stored[table] == expected[table], f"day {n}: {table}"
            seen["changes"] += result.changes
            seen["written"] += result.written
            seen["opened"] += scan.opened
            seen["closed"] += scan.returned + scan.expired
            await _staff_act(engine, space_id, n, now)
    finally:
        await engine.dispose()
    # The days exercised what the job does: moves, flags opened and closed, rows rewritten.
    assert min(seen.values()) > 0, seen
