"""`pulse demo`: seed a synthetic community into a local SQLite file and show what Pulse sees."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select, update

from bot.services.classification import reclassify_and_scan
from bot.settings import Settings
from community import demo
from storage.engine import create_engine
from storage.history import rebuild_history
from storage.ingest import dialect_insert
from storage.migrate import upgrade
from storage.models import Contribution, Member, Meta, RecognizedHero, Space
from storage.uow import UnitOfWork
from storage.writer import IngestWriter

DEMO_MARK = "demo_database"


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
        async with engine.connect() as conn:
            value = (await conn.execute(select(Meta.value).where(Meta.key == DEMO_MARK))).scalar()
            return value == "1"
    except Exception:
        return False
    finally:
        await engine.dispose()


async def seed(settings: Settings, path: Path, now: datetime, progress=None) -> DemoResult:
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
        async with engine.begin() as conn:
            await conn.execute(dialect_insert(conn, Meta).values(key=DEMO_MARK, value="1"))
            space_id = (
                await conn.execute(select(Space.id).where(Space.platform_id == demo.SPACE_ID))
            ).scalar_one()
            ids = dict(
                (
                    await conn.execute(
                        select(Member.platform_id, Member.id).where(Member.space_id == space_id)
                    )
                ).all()
            )
            await conn.execute(
                update(Member)
                .where(Member.id.in_([ids[m] for m in community.staff]))
                .values(is_staff=True)
            )
            for member, until in community.away_until.items():
                await conn.execute(
                    update(Member).where(Member.id == ids[member]).values(away_until=until)
                )
            if community.contributions:
                await conn.execute(
                    Contribution.__table__.insert(),
                    [
                        {"space_id": space_id, "member_id": ids[m], "kind": kind, "title": title,
                         "logged_by": community.staff[0], "occurred_at": when}
                        for m, kind, title, when in community.contributions
                    ],
                )  # fmt: skip
            await conn.execute(
                RecognizedHero.__table__.insert(),
                [
                    {"member_id": ids[m], "space_id": space_id, "confirmed_by": community.staff[0],
                     "confirmed_at": now - timedelta(days=30)}
                    for m in community.recognized_heroes
                ],
            )  # fmt: skip
        # The daily evaluations the digest's history reads, replayed as an import does, give
        # tiers their history and hysteresis something to do; the last one is today's.
        tiers, quiet = settings.tiers.policy(), settings.quiet.policy()
        history = await rebuild_history(engine, space_id, now, tiers)
        await reclassify_and_scan(UnitOfWork(engine), space_id, now, tiers, quiet)
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
