"""Write a stream of imported events through the BatchWriter, reading and writing side by side.

A reader thread parses and maps the export into batches while the event loop writes the
previous batch, one transaction per batch. At most two batches wait between them, so memory
stays bounded whatever the export's size. The writer is idempotent on (space, event id): a
batch committed before a failure is complete, and re-running the import skips what is stored.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from community.events import ActivityEvent, ActivityKind
from storage.engine import IMMEDIATE
from storage.ingest import BatchWriter

POSTING = (ActivityKind.MESSAGE, ActivityKind.REPLY, ActivityKind.THREAD_STARTED)
REACTIONS = (ActivityKind.REACTION_GIVEN, ActivityKind.REACTION_RECEIVED)


@dataclass(slots=True)
class Chunk:
    """Events read from one piece of an export, and how much of the input that piece was."""

    events: list[ActivityEvent]
    bytes_read: int
    messages: int  # source records covered, skipped ones included


@dataclass
class ImportStats:
    """What an import read, wrote and skipped; the progress display and the summary read it."""

    files: int = 0
    total_bytes: int = 0
    bytes_read: int = 0
    records: int = 0
    events: int = 0
    kinds: Counter = field(default_factory=Counter)
    members: set = field(default_factory=set)
    channels: set = field(default_factory=set)
    spaces: set = field(default_factory=set)
    first: datetime | None = None
    last: datetime | None = None
    skipped: Counter = field(default_factory=Counter)
    unresolved_replies: int = 0
    written: int = 0
    inserted: int = 0
    duplicates: int = 0
    blocked: int = 0
    batches: int = 0

    @property
    def messages(self) -> int:
        """Posts of any kind: messages, replies, threads started."""
        return sum(self.kinds[k] for k in POSTING)

    @property
    def reactions(self) -> int:
        """Reactions, given or (when the giver is unknown) received."""
        return sum(self.kinds[k] for k in REACTIONS)

    def record(self, events: list[ActivityEvent]) -> None:
        """Count a chunk's events."""
        if not events:
            return
        self.events += len(events)
        kinds, members, channels, spaces = self.kinds, self.members, self.channels, self.spaces
        first, last = self.first, self.last
        for ev in events:
            kinds[ev.kind] += 1
            members.add((ev.platform, ev.space_id, ev.member_id))
            if ev.channel_id is not None:
                channels.add((ev.platform, ev.space_id, ev.channel_id))
            spaces.add((ev.platform, ev.space_id))
            when = ev.occurred_at
            if first is None or when < first:
                first = when
            if last is None or when > last:
                last = when
        self.first, self.last = first, last


class _Stopped(Exception):
    """The writing side gave up; the reader thread stops quietly."""


async def write_stream(
    engine: AsyncEngine,
    writer: BatchWriter,
    chunks: Iterable[Chunk],
    stats: ImportStats,
    *,
    batch_size: int = 5000,
    on_batch: Callable[[ImportStats], None] | None = None,
) -> None:
    """Read CHUNKS on a thread and write their events in batches of BATCH_SIZE, one commit each.

    An error while reading (a malformed file) is raised here after the events read before it
    are written, so everything committed is complete and a re-run resumes where it stopped.
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue = asyncio.Queue(maxsize=2)
    stop = threading.Event()

    def send(item) -> None:
        future = asyncio.run_coroutine_threadsafe(queue.put(item), loop)
        while True:
            try:
                future.result(timeout=0.2)
                return
            except concurrent.futures.TimeoutError:
                if stop.is_set():
                    future.cancel()
                    raise _Stopped from None

    def produce() -> None:
        batch: list[ActivityEvent] = []
        try:
            for chunk in chunks:
                if stop.is_set():
                    return
                stats.record(chunk.events)
                stats.bytes_read += chunk.bytes_read
                stats.records += chunk.messages
                batch += chunk.events
                while len(batch) >= batch_size:
                    send(("batch", batch[:batch_size]))
                    batch = batch[batch_size:]
            if batch:
                send(("batch", batch))
            send(("done", None))
        except _Stopped:
            return
        except BaseException as exc:
            try:
                if batch:
                    send(("batch", batch))
                send(("error", exc))
            except _Stopped:
                return

    thread = threading.Thread(target=produce, name="pulse-import-reader", daemon=True)
    thread.start()
    try:
        async with engine.connect() as conn:
            conn = await conn.execution_options(**{IMMEDIATE: True})
            while True:
                what, payload = await queue.get()
                if what == "done":
                    return
                if what == "error":
                    raise payload
                try:
                    async with conn.begin():
                        result = await writer.write(conn, payload)
                except BaseException:
                    writer.rollback_happened()
                    raise
                writer.commit_succeeded()
                stats.batches += 1
                stats.written += len(payload)
                stats.inserted += result.inserted
                stats.duplicates += result.duplicates
                stats.blocked += result.blocked
                if on_batch is not None:
                    on_batch(stats)
    finally:
        stop.set()
        # Unblock a reader waiting to hand over a batch, then let it finish.
        while not queue.empty():
            queue.get_nowait()
        await asyncio.to_thread(thread.join)
