"""`pulse demo`: seed a synthetic community into a local SQLite file and show what Pulse sees."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from bot.services.classification import reclassify_and_scan
from community import demo
from community.policies import Policies
from storage.demo import add_demo_details, is_demo, mark_demo
from storage.engine import create_engine
from storage.history import rebuild_history
from storage.migrate import upgrade
from storage.quiet import quiet_list
from storage.tiers import hero_candidates, rising_actives, tier_counts
from storage.uow import UnitOfWork
from storage.writer.queue import IngestWriter


class DemoPathError(RuntimeError):
    """The demo would overwrite a file that is not an earlier demo database."""


@dataclass
class DemoResult:
    """Where the demo wrote and what it holds."""

    path: Path
    url: str
    space_id: int
    events: int
    members: int
    now: datetime


async def _is_demo_database(path: Path) -> bool:
    engine = create_engine(f"sqlite:///{path}")
    try:
        async with UnitOfWork(engine).read() as conn:
            return await is_demo(conn)
    except Exception:
        return False
    finally:
        await engine.dispose()


async def seed(policies: Policies, path: Path, now: datetime, progress=None) -> DemoResult:
    """Build the demo community at PATH (replacing an earlier demo), ending at NOW, and classify it.

    NOW is the last evaluation's moment: a later one would lie in the future for every reader.
    """
    # A one-off check before any I/O-heavy work; blocking briefly here is harmless.
    if path.exists():  # noqa: ASYNC240
        if not await _is_demo_database(path):
            raise DemoPathError(
                f"{path} exists and is not a Pulse demo database; choose another --out"
            )
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)  # noqa: ASYNC240
    url = f"sqlite+aiosqlite:///{path}"
    engine = create_engine(url)
    try:
        await upgrade(engine)
        community = demo.build(now)
        if progress:
            progress(
                f"generated {len(community.events):,} events for {len(community.names)} members"
            )
        writer = IngestWriter(engine, b"demo-hash-key", batch_size=2000, flush_interval=0.05)
        await writer.start()
        await writer.put_many(community.events)
        await writer.close()
        uow = UnitOfWork(engine)
        async with uow.write() as conn:
            await mark_demo(conn)
            space_id = await add_demo_details(
                conn,
                demo.SPACE_ID,
                community.staff,
                community.away_until,
                community.contributions,
                community.recognized_heroes,
                heroes_since=now - timedelta(days=30),
            )
        # The daily evaluations the digest's history reads, replayed as an import does, give
        # tiers their history and hysteresis something to do; the last one is today's.
        tiers, quiet = policies.tiers, policies.quiet
        history = await rebuild_history(engine, space_id, now, tiers)
        await reclassify_and_scan(uow, space_id, now, tiers, quiet)
        if progress:
            progress(
                f"replayed {len(history.days)} daily evaluations, classified today's and "
                "scanned for quiet members"
            )
        return DemoResult(
            path=path,
            url=url,
            space_id=space_id,
            events=writer.stats.inserted,
            members=len(community.names),
            now=now,
        )
    finally:
        await engine.dispose()


@dataclass
class DemoOverview:
    """What `pulse demo` shows of the community it seeded."""

    tiers: dict[str, int]
    hero_candidates: list
    rising_actives: list
    quiet: list


async def overview(result: DemoResult, policies: Policies) -> DemoOverview:
    """Tier counts, the top hero candidates and rising actives, and the quiet list."""
    policy = policies.tiers
    engine = create_engine(result.url)
    try:
        async with UnitOfWork(engine).read() as conn:
            return DemoOverview(
                tiers=await tier_counts(conn, result.space_id),
                hero_candidates=await hero_candidates(conn, result.space_id, policy, 10),
                rising_actives=await rising_actives(conn, result.space_id, policy, 5),
                quiet=await quiet_list(conn, result.space_id, result.now, 15),
            )
    finally:
        await engine.dispose()
