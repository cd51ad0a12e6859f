"""The ingestion queue and its batched writer.

Event handlers call ``put`` and return; one task drains the bounded queue in batches (by size,
by interval, and at shutdown) and writes each batch in one transaction. When the database is
unreachable the batch is kept and retried with backoff while the full queue pushes back on
producers. Events still unwritten when shutdown gives up are spilled to a JSON-lines file that
the next start replays first, so an outage never loses anything.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from pathlib import Path

from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncEngine

from community.events import ActivityEvent, ActivityKind, Platform
from storage.engine import IMMEDIATE
from storage.ingest import BatchWriter, WriteResult

log = logging.getLogger(__name__)

# Errors that mean "the database is not there right now", worth retrying rather than dropping.
TRANSIENT = (
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.TimeoutError,
    OSError,
    TimeoutError,
)
# Errors that mean "this data can never be written": isolate the bad event, keep the rest.
PERMANENT = (sa_exc.IntegrityError, sa_exc.DataError, sa_exc.ProgrammingError)
# PostgreSQL's "deadlock detected" and "could not serialize": the transaction is safe to retry.
RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})


def is_transient(exc: BaseException) -> bool:
    """Whether retrying the same batch later can succeed."""
    if isinstance(exc, TRANSIENT):
        return True
    orig = getattr(exc, "orig", None)
    sqlstate = getattr(orig, "sqlstate", None) or getattr(
        getattr(orig, "__cause__", None), "sqlstate", None
    )
    return sqlstate in RETRYABLE_SQLSTATES


class WriterClosedError(RuntimeError):
    """Raised when an event is offered to a writer that is shutting down."""


@dataclass
class WriterStats:
    """Counters an operator (and the tests) can read."""

    received: int = 0
    inserted: int = 0
    duplicates: int = 0
    blocked: int = 0
    rejected: int = 0
    retries: int = 0
    batches: int = 0
    spilled: int = 0
    replayed: int = 0


def event_to_json(event: ActivityEvent) -> str:
    """Serialize an event for the spill file."""
    data = asdict(event)
    data["occurred_at"] = event.occurred_at.isoformat()
    return json.dumps(data, separators=(",", ":"))


def event_from_json(line: str) -> ActivityEvent:
    """Read an event back from the spill file."""
    data = json.loads(line)
    known = {f.name for f in fields(ActivityEvent)}
    data = {k: v for k, v in data.items() if k in known}
    data["platform"] = Platform(data["platform"])
    data["kind"] = ActivityKind(data["kind"])
    data["occurred_at"] = datetime.fromisoformat(data["occurred_at"])
    return ActivityEvent(**data)


class IngestWriter:
    """A bounded queue of events and the task that writes them in batches."""

    def __init__(
        self,
        engine: AsyncEngine,
        hash_key: bytes,
        *,
        batch_size: int = 500,
        flush_interval: float = 1.0,
        queue_size: int = 10_000,
        retry_initial: float = 0.5,
        retry_max: float = 30.0,
        spill_path: Path | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.engine = engine
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.retry_initial = retry_initial
        self.retry_max = retry_max
        self.spill_path = spill_path
        self.stats = WriterStats()
        self._sleep = sleep
        self._batch_writer = BatchWriter(hash_key)
        self._queue: asyncio.Queue[ActivityEvent] = asyncio.Queue(maxsize=queue_size)
        self._task: asyncio.Task | None = None
        self._closing = False
        self._in_flight: list[ActivityEvent] = []

    @property
    def pending(self) -> int:
        """Events accepted but not yet written."""
        return self._queue.qsize() + len(self._in_flight)

    async def start(self) -> None:
        """Replay any spill file from a previous run, then start the writing task."""
        if self._task is not None:
            return
        await self._replay_spill()
        self._task = asyncio.create_task(self._run(), name="pulse-ingest-writer")

    async def put(self, event: ActivityEvent) -> None:
        """Queue an event; waits while the queue is full (back-pressure), never drops."""
        if self._closing:
            raise WriterClosedError("the writer is shutting down")
        self.stats.received += 1
        await self._queue.put(event)

    async def put_many(self, events: Sequence[ActivityEvent]) -> None:
        """Queue several events in order."""
        for event in events:
            await self.put(event)

    async def flush(self) -> None:
        """Wait until everything queued so far is written."""
        await self._queue.join()

    async def close(self, grace_seconds: float = 30.0) -> None:
        """Write what is queued; after GRACE_SECONDS, spill what could not be written to disk."""
        self._closing = True
        if self._task is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(self._queue.join()), grace_seconds)
        except TimeoutError:
            log.error("database still unavailable at shutdown after %.0fs", grace_seconds)
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
        leftover = list(self._in_flight)
        while not self._queue.empty():
            leftover.append(self._queue.get_nowait())
            self._queue.task_done()
        self._in_flight = []
        if leftover:
            self._spill(leftover)

    async def _run(self) -> None:
        while True:
            batch = await self._next_batch()
            self._in_flight = batch
            try:
                await self._write_with_retry(batch)
            finally:
                if not asyncio.current_task().cancelling():
                    self._in_flight = []
                    for _ in batch:
                        self._queue.task_done()

    async def _next_batch(self) -> list[ActivityEvent]:
        batch = [await self._queue.get()]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.flush_interval
        while len(batch) < self.batch_size:
            try:
                batch.append(self._queue.get_nowait())
                continue
            except asyncio.QueueEmpty:
                pass
            if self._closing:
                break
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            try:
                batch.append(await asyncio.wait_for(self._queue.get(), remaining))
            except TimeoutError:
                break
        return batch

    async def _write_with_retry(self, batch: list[ActivityEvent]) -> None:
        delay = self.retry_initial
        while True:
            try:
                await self._write(batch)
                return
            except PERMANENT as exc:
                if is_transient(exc):
                    await self._back_off(exc, batch, delay)
                    delay = min(delay * 2, self.retry_max)
                    continue
                if len(batch) == 1:
                    self.stats.rejected += 1
                    log.error("event %s cannot be stored: %s", batch[0].event_id, _short(exc))
                    return
                # Split to find the bad event; the good ones still get written.
                middle = len(batch) // 2
                await self._write_with_retry(batch[:middle])
                await self._write_with_retry(batch[middle:])
                return
            except Exception as exc:
                # Outages, deadlocks, and anything unforeseen: keep the batch and try again,
                # so a surprise costs time, never data (close() spills what is still held).
                if not is_transient(exc):
                    log.exception("unexpected error writing %d events; will retry", len(batch))
                await self._back_off(exc, batch, delay)
                delay = min(delay * 2, self.retry_max)

    async def _back_off(self, exc: BaseException, batch: list[ActivityEvent], delay: float) -> None:
        self.stats.retries += 1
        log.warning(
            "database unavailable (%s); keeping %d events, retrying in %.1fs",
            _short(exc),
            len(batch),
            delay,
        )
        await self._sleep(delay)

    async def _write(self, batch: Sequence[ActivityEvent]) -> WriteResult:
        try:
            async with self.engine.connect() as conn:
                conn = await conn.execution_options(**{IMMEDIATE: True})
                async with conn.begin():
                    result = await self._batch_writer.write(conn, batch)
        except BaseException:
            self._batch_writer.rollback_happened()
            raise
        self._batch_writer.commit_succeeded()
        self.stats.batches += 1
        self.stats.inserted += result.inserted
        self.stats.duplicates += result.duplicates
        self.stats.blocked += result.blocked
        return result

    def _spill(self, events: list[ActivityEvent]) -> None:
        if self.spill_path is None:
            log.error("%d events could not be written and no spill file is set", len(events))
            return
        with self.spill_path.open("a", encoding="utf-8") as fh:
            for event in events:
                fh.write(event_to_json(event) + "\n")
        self.stats.spilled += len(events)
        log.error(
            "%d events could not be written; saved to %s, replayed at next start",
            len(events),
            self.spill_path,
        )

    async def _replay_spill(self) -> None:
        if self.spill_path is None or not self.spill_path.exists():
            return
        events = [
            event_from_json(line)
            for line in self.spill_path.read_text(encoding="utf-8").splitlines()
            if line.strip()
        ]
        for start in range(0, len(events), self.batch_size):
            await self._write_with_retry(events[start : start + self.batch_size])
        self.stats.replayed += len(events)
        self.spill_path.unlink()
        log.info("replayed %d events from %s", len(events), self.spill_path)


def _short(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__
