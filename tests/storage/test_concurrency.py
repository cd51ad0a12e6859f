"""Two processes or commands at once: migrations, reclassification and purges run once."""

from __future__ import annotations

import asyncio
import itertools
import subprocess
import sys
from datetime import timedelta

from sqlalchemy import func, select

from bot.services.classification import purge_old_activities, reclassify_and_scan
from bot.settings import parse_settings
from storage.engine import create_engine
from storage.history import rebuild_history
from storage.migrate import current_revision, head_revision
from storage.models import Space, TierChange
from storage.uow import UnitOfWork
from tests.factories import T0, helper_history, ingest

NOW = T0 + timedelta(days=120)
SETTINGS = parse_settings({})


async def _community(engine) -> int:
    await ingest(
        engine,
        helper_history("hero", weeks=12, helped=12)
        + helper_history("helper", weeks=4, helped=3)
        + helper_history("later", weeks=6, helped=5, start_days_ago=30),
    )
    async with engine.connect() as conn:
        return (await conn.execute(select(Space.id))).scalar_one()


async def _changes(engine) -> list[tuple]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(TierChange.member_id, TierChange.to_tier, TierChange.changed_at)
        )
        return sorted(rows.all())


async def _reclassify(url: str, space_id: int):
    engine = create_engine(url)
    try:
        return await reclassify_and_scan(
            UnitOfWork(engine), space_id, NOW, SETTINGS.tiers.policy(), SETTINGS.quiet.policy()
        )
    finally:
        await engine.dispose()


async def test_two_reclassifications_at_once_store_each_change_once(engine, database_url):
    space_id = await _community(engine)
    (first, _), (second, _) = await asyncio.gather(
        _reclassify(database_url, space_id), _reclassify(database_url, space_id)
    )
    changes = await _changes(engine)
    # One run made the changes; the other waited for it and found nothing left to change.
    assert sorted([first.changes, second.changes])[0] == 0
    assert len(changes) == first.changes + second.changes > 0
    assert len(set(changes)) == len(changes)


async def _import_tail(url: str, space_id: int):
    """What an import does after writing: replay the tier history, then evaluate at NOW."""
    engine = create_engine(url)
    try:
        history = await rebuild_history(engine, space_id, NOW, SETTINGS.tiers.policy())
        tiers, _ = await reclassify_and_scan(
            UnitOfWork(engine), space_id, NOW, SETTINGS.tiers.policy(), SETTINGS.quiet.policy()
        )
        return history.changes + tiers.changes
    finally:
        await engine.dispose()


async def test_two_history_rebuilds_at_once_store_the_history_once(engine, database_url):
    space_id = await _community(engine)
    counts = await asyncio.gather(
        _import_tail(database_url, space_id), _import_tail(database_url, space_id)
    )
    changes = await _changes(engine)
    assert sorted(counts)[0] == 0
    assert len(changes) == sum(counts) > 0
    # Each member's history alternates: a tier is never entered twice in a row.
    by_member: dict[int, list[str]] = {}
    for member_id, to_tier, _ in changes:
        by_member.setdefault(member_id, []).append(to_tier)
    for tiers in by_member.values():
        assert all(a != b for a, b in itertools.pairwise(tiers))


async def test_two_purges_at_once_delete_each_activity_once(engine, database_url):
    await _community(engine)
    engines = [create_engine(database_url) for _ in range(2)]
    try:
        removed = await asyncio.gather(
            *(purge_old_activities(UnitOfWork(e), T0 + timedelta(days=60)) for e in engines)
        )
    finally:
        for e in engines:
            await e.dispose()
    assert sorted(removed)[0] == 0
    assert sorted(removed)[1] > 0


def _pulse_process(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", "from bot.cli import main; main()", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


async def test_two_processes_upgrade_a_fresh_database_at_once(database_url, tmp_path):
    processes = [_pulse_process("db", "upgrade", "--database-url", database_url) for _ in range(2)]
    outputs = [p.communicate(timeout=120) for p in processes]
    for process, (_out, err) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, err
        assert err == ""
    head = head_revision()
    # One created the schema; the other waited for it and found it done.
    assert sorted(out for out, _ in outputs) == [
        f"Database already at revision {head}.\n",
        f"Database upgraded from empty to revision {head}.\n",
    ]
    engine = create_engine(database_url)
    try:
        assert await current_revision(engine) == head
        async with engine.connect() as conn:
            assert (await conn.execute(select(func.count()).select_from(Space))).scalar() == 0
    finally:
        await engine.dispose()
