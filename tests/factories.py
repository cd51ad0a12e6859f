"""Small builders for events in tests."""

from __future__ import annotations

import itertools
import struct
import zlib
from datetime import UTC, datetime, timedelta

from community.events import ActivityEvent, ActivityKind, Platform

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
# The moment the session's demo database is seeded at and read at (see conftest.demo_db): early
# in a UTC day, where an evaluation at noon would lie in the future.
DEMO_NOW = datetime(2026, 11, 24, 0, 5, tzinfo=UTC)
# The blocklist hash key tests write and opt members out with.
KEY = b"test-key"
_ids = itertools.count(1)


def ev(
    kind: ActivityKind | str = ActivityKind.MESSAGE,
    member: str = "alice",
    *,
    at: datetime | None = None,
    days: float = 0,
    event_id: str | None = None,
    space: str = "g1",
    channel: str | None = "c1",
    **kwargs,
) -> ActivityEvent:
    """An event with sensible defaults; DAYS shifts it from T0."""
    return ActivityEvent(
        platform=kwargs.pop("platform", Platform.DISCORD),
        space_id=space,
        event_id=event_id or f"e{next(_ids)}",
        kind=ActivityKind(kind),
        member_id=member,
        occurred_at=(at or T0) + timedelta(days=days),
        channel_id=channel,
        **kwargs,
    )


async def ingest(engine, events, key: bytes = KEY) -> None:
    """Write events through the real batched writer and wait until they are stored."""
    from storage.writer.queue import IngestWriter

    writer = IngestWriter(engine, key, batch_size=500, flush_interval=0.01)
    await writer.start()
    await writer.put_many(events)
    await writer.close()


def helper_history(member: str, *, weeks: int, helped: int, start_days_ago: int = 0):
    """A member answering questions twice a week for WEEKS weeks, ending START_DAYS_AGO."""
    events = []
    for w in range(weeks):
        for k in (0, 3):
            d = 119 - start_days_ago - w * 7 - k
            asker = f"asker{(w * 2 + k) % helped}"
            q = ev("message", asker, days=d - 0.1, is_question=True)
            events += [
                q,
                ev("reply", member, days=d, target_member_id=asker, parent_event_id=q.event_id),
                ev("reply", asker, days=d + 0.01, target_member_id=member, is_thanks=True),
            ]
    return events


def tiny_png() -> bytes:
    """A valid 2x1 PNG, as a chart upload would be."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 2, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00" + b"\xff\x00\x00" * 2)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


async def settle(fake, adapter, count: int) -> None:
    """Wait until COUNT events reached the adapter's writer, then until they are stored."""
    await fake.wait_for(lambda: adapter.writer.stats.received >= count, what=f"{count} events")
    await adapter.writer.flush()


async def activities(engine) -> list:
    """Every stored activity row, oldest first."""
    from sqlalchemy import select

    from storage.models import Activity

    async with engine.connect() as conn:
        return (await conn.execute(select(Activity).order_by(Activity.id))).all()


async def stored_kinds(conn) -> dict[str, int]:
    """How many activities of each kind CONN's database holds."""
    from sqlalchemy import func, select

    from storage.models import Activity

    rows = await conn.execute(select(Activity.kind, func.count()).group_by(Activity.kind))
    return dict(rows.all())


def pulse(*args: str, at: datetime = DEMO_NOW, **kwargs):
    """Run the `pulse` command through click's runner on a fixed clock set to AT."""
    from click.testing import CliRunner

    from bot.cli import cli
    from community.clock import FixedClock

    return CliRunner().invoke(cli, [str(a) for a in args], obj=FixedClock(at), **kwargs)
