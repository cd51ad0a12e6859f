"""One import, end to end: migrate, stream the export into the writer, then reclassify."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from bot.app import engine_for, upgrade_database
from bot.importers.feed import ImportStats, bulk_gc, reading
from bot.importers.limits import ImportFormatError
from bot.importers.stream import write_stream
from bot.services.classification import reclassify_and_scan
from bot.settings import Settings
from storage.history import rebuild_history
from storage.members import name_unnamed_members
from storage.meta import hash_key
from storage.spaces import space_id_for
from storage.uow import UnitOfWork
from storage.writer.batch import BatchWriter
from storage.writer.bulk import MIN_DEFERRED_ROWS

DEFAULT_BATCH_SIZE = 50_000


@dataclass
class SpaceResult:
    """The reclassification that ended an import, for one space."""

    platform: str
    platform_id: str
    evaluated: int
    changes: int
    quiet_opened: int
    replayed: range = range(0)
    history_changes: int = 0


@dataclass
class ImportResult:
    """What an import did: its counts, and the reclassification after it."""

    stats: ImportStats
    spaces: list[SpaceResult] = field(default_factory=list)
    import_seconds: float = 0.0
    reclassify_seconds: float = 0.0
    history_seconds: float = 0.0
    evaluated_at: datetime | None = None
    window_days: int = 0


class ImportFailed(Exception):
    """The export turned out malformed part-way; STATS says what was committed before it."""

    def __init__(self, error: ImportFormatError, stats: ImportStats) -> None:
        super().__init__(str(error))
        self.stats = stats


async def run_import(
    settings: Settings,
    reader,
    now: datetime,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    on_batch: Callable[[ImportStats], None] | None = None,
    in_process: bool | None = None,
    defer_indexes_from: int = MIN_DEFERRED_ROWS,
    stop: asyncio.Event | None = None,
) -> ImportResult:
    """Import everything READER yields, replay its tier history, then evaluate its spaces at NOW.

    IN_PROCESS says whether to read in a child process (None: when the export is large);
    DEFER_INDEXES_FROM is the fewest events for which an import into SQLite defers an index.
    STOP (set by a signal) ends the import after what was read is written; tiers are then left
    as they were, since the history is incomplete until the import is run again.
    """
    stats = ImportStats(files=reader.files, total_bytes=reader.total_bytes)
    policies = settings.policies()
    engine = engine_for(settings)
    try:
        started = time.monotonic()
        try:
            with bulk_gc():
                # Reading starts first: a reader process gets going while the schema upgrades.
                async with reading(reader, batch_size, in_process=in_process) as messages:
                    await upgrade_database(settings)
                    key = await hash_key(engine, settings.secret(settings.privacy.hash_key_env))
                    await write_stream(
                        UnitOfWork(engine),
                        BatchWriter(key),
                        messages,
                        stats,
                        batch_size=batch_size,
                        on_batch=on_batch,
                        defer_indexes_from=defer_indexes_from,
                        stop=stop,
                    )
        except ImportFormatError as exc:
            raise ImportFailed(exc, stats) from None
        stats.skipped["opted-out member (blocklisted)"] += stats.blocked
        if stats.refused:
            stats.skipped["refused by the database (see the log)"] += stats.refused
        result = ImportResult(
            stats,
            import_seconds=time.monotonic() - started,
            evaluated_at=now,
            window_days=policies.tiers.window_days,
        )
        if stats.stopped:
            return result
        started = time.monotonic()
        uow = UnitOfWork(engine)
        for platform, platform_id in sorted(stats.spaces):
            async with uow.read() as conn:
                space_id = await space_id_for(conn, platform, platform_id)
            if space_id is None:  # every event of the space was blocklisted
                continue
            names = getattr(reader, "member_names", None)
            if names:
                async with uow.write() as conn:
                    await name_unnamed_members(conn, space_id, names)
            # Tier history first, as daily evaluations would have written it; then today's.
            history = await rebuild_history(engine, space_id, now, policies.tiers)
            result.history_seconds += history.seconds
            tiers, scan = await reclassify_and_scan(
                uow, space_id, now, policies.tiers, policies.quiet
            )
            result.spaces.append(
                SpaceResult(
                    platform.value,
                    platform_id,
                    tiers.evaluated,
                    tiers.changes,
                    scan.opened,
                    replayed=history.days,
                    history_changes=history.changes,
                )
            )
        result.reclassify_seconds = time.monotonic() - started - result.history_seconds
        return result
    finally:
        await engine.dispose()
