"""The ingestion queue and its batched writer.

Event handlers call ``put`` and return; one task drains the bounded queue in batches (by size,
by interval, and at shutdown) and writes each batch in one transaction. When the database is
unreachable, or does not answer within the write timeout, the batch is kept and retried with
backoff while the full queue pushes back on producers. Events still unwritten when shutdown
gives up are spilled to a JSON-lines file (storage.writer.spill) that the next start replays
first, so an outage never loses anything; a shutdown in the middle of a batch spills only what
is not yet stored.

A batch the database refuses (or a bug refuses: see storage.faults) is split until the event
that fails is alone; the rest are stored and that event is set aside, with the reason, in a
quarantine file beside the spill file. A line of the spill file that cannot be read goes there
too. Nothing blocks the writer, and nothing is lost: a quarantined event can be replayed by
moving its file to the spill file's name.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from community.events import ActivityEvent
from storage.engine import IMMEDIATE
from storage.faults import ConnectError, is_unavailable, reason, store_splitting_refusals
from storage.writer.batch import BatchWriter, WriteResult
from storage.writer.spill import (
    QUARANTINE_FILE,
    event_from_json,
    event_to_dict,
    set_aside,
    write_spill,
)

log = logging.getLogger(__name__)

# How many distinct errors the writer logs with a traceback before logging them in one line.
_TRACEBACKS_LOGGED = 20
# How long one batch's write may take before the database counts as unavailable. A server that
# stops answering (frozen, or cut off without a reset) would otherwise hold the writer, unseen,
# until the operating system gives up on the connection, which can take hours. A batch of
# hundreds of events takes well under a second; SQLite gives up waiting for its lock at 30 s.
WRITE_TIMEOUT = 60.0


class WriterClosedError(RuntimeError):
    """Raised when an event is offered to a writer that is shutting down."""


@dataclass
class WriterStats:
    """Counters an operator (and the tests) can read."""

    received: int = 0
    inserted: int = 0
    duplicates: int = 0
    blocked: int = 0
    quarantined: int = 0
    retries: int = 0
    batches: int = 0
    spilled: int = 0
    replayed: int = 0


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
        quarantine_path: Path | None = None,
        write_timeout: float | None = WRITE_TIMEOUT,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.engine = engine
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.retry_initial = retry_initial
        self.retry_max = retry_max
        self.spill_path = spill_path
        if quarantine_path is None and spill_path is not None:
            quarantine_path = spill_path.with_name(QUARANTINE_FILE)
        self.quarantine_path = quarantine_path
        self.write_timeout = write_timeout
        self.stats = WriterStats()
        self._sleep = sleep
        self._batch_writer = BatchWriter(hash_key)
        self._queue: asyncio.Queue[ActivityEvent] = asyncio.Queue(maxsize=queue_size)
        self._task: asyncio.Task | None = None
        self._closing = False
        self._in_flight: list[ActivityEvent] = []
        # How many events at the head of the in-flight batch are settled (stored or set aside).
        # A batch split settles its pieces in order, so what is left is always the tail.
        self._settled = 0
        self._closed = False
        self._tracebacks: set[tuple[str, str]] = set()

    @property
    def pending(self) -> int:
        """Events accepted but not yet written."""
        return self._queue.qsize() + len(self._in_flight)

    async def start(self) -> None:
        """Replay any spill file from a previous run, then start the writing task."""
        if self._task is not None:
            return
        try:
            await self._replay_spill()
        except asyncio.CancelledError:
            # Stopped mid-replay (a signal while the database is away): the file stays whole,
            # and what was already stored is stored once however often it is replayed.
            log.warning("stopped while replaying %s; it is replayed at next start", self.spill_path)
            raise
        self._task = asyncio.create_task(self._run(), name="pulse-ingest-writer")

    async def put(self, event: ActivityEvent) -> None:
        """Queue an event; waits while the queue is full (back-pressure), never drops."""
        if self._closing:
            raise WriterClosedError("the writer is shutting down")
        self.stats.received += 1
        await self._queue.put(event)
        if self._closed:
            # This put waited on a full queue while close() drained it: the writer is gone, so
            # the event goes where close() put the others instead of staying in a dead queue.
            self._queue.get_nowait()
            self._queue.task_done()
            self._spill([event])

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
        # What a split already stored or set aside is not spilled: a replay would only find it
        # stored, or set the refused event aside a second time.
        leftover = self._in_flight[self._settled :]
        while not self._queue.empty():
            leftover.append(self._queue.get_nowait())
            self._queue.task_done()
        self._in_flight = []
        self._closed = True
        if leftover:
            self._spill(leftover)
        stats = self.stats
        log.info(
            "ingestion: %d events stored, %d duplicates, %d blocked, %d quarantined, %d spilled",
            stats.inserted,
            stats.duplicates,
            stats.blocked,
            stats.quarantined,
            stats.spilled,
        )
        if stats.quarantined:
            log.warning(
                "%d events could not be stored; they are set aside in %s",
                stats.quarantined,
                self.quarantine_path,
            )

    async def _run(self) -> None:
        while True:
            batch = await self._next_batch()
            self._in_flight = batch
            self._settled = 0
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
        """Store BATCH, waiting out outages; split it to set aside the events it refuses."""
        await store_splitting_refusals(batch, self._store, self._refused, self._splitting)

    async def _store(self, batch: Sequence[ActivityEvent]) -> None:
        delay = self.retry_initial
        while True:
            try:
                await self._write(batch)
            except Exception as exc:
                if not is_unavailable(exc):
                    raise
                await self._back_off(exc, batch, delay)
                delay = min(delay * 2, self.retry_max)
                continue
            self._settled += len(batch)
            return

    def _refused(self, event: ActivityEvent, exc: Exception) -> None:
        why = reason(exc)
        self._log_refusal(f"event {event.event_id} cannot be stored; quarantined", why, exc)
        self._quarantine_event(event, why)
        self._settled += 1

    def _splitting(self, size: int, exc: Exception) -> None:
        self._log_refusal(f"a batch of {size} events was refused; splitting it", reason(exc), exc)

    def _log_refusal(self, message: str, why: str, exc: Exception) -> None:
        signature = (type(exc).__name__, why)
        # A bug shows its traceback once; later batches that hit it say so in one line.
        if signature in self._tracebacks or len(self._tracebacks) >= _TRACEBACKS_LOGGED:
            log.error("%s (%s)", message, why)
            return
        self._tracebacks.add(signature)
        log.error("%s (%s)", message, why, exc_info=exc)

    async def _back_off(self, exc: BaseException, batch: list[ActivityEvent], delay: float) -> None:
        self.stats.retries += 1
        log.warning(
            "database unavailable (%s); keeping %d events, retrying in %.1fs",
            reason(exc),
            len(batch),
            delay,
        )
        await self._sleep(delay)

    async def _write(self, batch: Sequence[ActivityEvent]) -> WriteResult:
        try:
            async with asyncio.timeout(self.write_timeout), contextlib.AsyncExitStack() as stack:
                try:
                    conn = await stack.enter_async_context(self.engine.connect())
                except Exception as exc:
                    raise ConnectError(reason(exc)) from exc
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
        write_spill(self.spill_path, events)
        self.stats.spilled += len(events)
        log.error(
            "%d events could not be written; saved to %s, replayed at next start",
            len(events),
            self.spill_path,
        )

    def _quarantine_event(self, event: ActivityEvent, why: str) -> None:
        self.stats.quarantined += 1
        set_aside(self.quarantine_path, [{"reason": why, "event": event_to_dict(event)}])

    async def _replay_spill(self) -> None:
        path = self.spill_path
        if path is None or not path.exists():
            return
        replayed = bad = 0
        batch: list[ActivityEvent] = []
        # Line by line, so a large spill never sits in memory whole and a bad line blocks nothing.
        with path.open(encoding="utf-8", errors="surrogateescape") as fh:
            for number, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                try:
                    batch.append(event_from_json(line))
                except ValueError as exc:
                    bad += 1
                    set_aside(
                        self.quarantine_path,
                        [{"reason": f"{path.name} line {number}: {exc}", "line": line.rstrip()}],
                    )
                    continue
                if len(batch) >= self.batch_size:
                    await self._write_with_retry(batch)
                    replayed += len(batch)
                    batch = []
        if batch:
            await self._write_with_retry(batch)
            replayed += len(batch)
        self.stats.replayed += replayed
        self.stats.quarantined += bad
        path.unlink()
        log.info("replayed %d events from %s", replayed, path)
        if bad:
            log.error(
                "%d lines of %s could not be read; set aside in %s",
                bad,
                path,
                self.quarantine_path,
            )
