"""The reading side of an import: an export's events, as batches of writer records.

Parsing and mapping an export is Python from end to end, and so is part of the writer's work:
on one interpreter they take turns on one lock. A large export is therefore read in a child
process, on the machine's other core, which sends pieces of a few thousand event records
(storage.writer.records: plain tuples, cheap to serialize, unlike the events themselves). A
small export is read on a thread, since a process takes about half a second to start. Either way
the writer receives the same messages, in order:

    ("records", records, progress)  progress: what has been read so far (ImportStats.progress)
    ("done", stats)                 the reader's counts at the end (an ImportStats)
    ("error", exception, stats)     reading failed; every record read before it was sent

About one batch of records waits between reader and writer (pickled, when read in a process),
so the reader can work through the writer's whole next batch while memory stays bounded
whatever the export's size.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import gc
import marshal
import os
import pickle
import signal
import struct
import subprocess
import sys
import threading
import traceback
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime

from bot.importers.limits import ImportFormatError
from community.events import ActivityEvent, ActivityKind
from storage.writer.records import event_records

POSTING = (ActivityKind.MESSAGE, ActivityKind.REPLY, ActivityKind.THREAD_STARTED)
REACTIONS = (ActivityKind.REACTION_GIVEN, ActivityKind.REACTION_RECEIVED)
# Exports at least this large are read in a child process; smaller ones on a thread.
PROCESS_MIN_BYTES = 16 * 1024 * 1024
# Records per message: small pieces keep the reader's memory (and its pickler's) small.
PIECE = 5000


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
    refused: int = 0  # events the database refused (see bot.importers.stream)
    batches: int = 0
    stopped: bool = False  # a signal ended the import early; what was written is complete

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

    def progress(self) -> tuple:
        """The counts a progress display needs: small, and only plain values (marshal)."""
        kinds = {kind.value: n for kind, n in self.kinds.items()}
        return (self.bytes_read, self.records, self.events, kinds)

    def show_progress(self, progress: tuple) -> None:
        """Take the reader's PROGRESS (see progress) as this import's."""
        self.bytes_read, self.records, self.events, kinds = progress
        self.kinds = Counter({ActivityKind(kind): n for kind, n in kinds.items()})

    def take_reading(self, read: ImportStats) -> None:
        """Take the reader's final counts (everything but what the writer counts)."""
        for name in ("files", "total_bytes", "bytes_read", "records", "events", "kinds",
                     "members", "channels", "spaces", "first", "last", "skipped",
                     "unresolved_replies"):  # fmt: skip
            setattr(self, name, getattr(read, name))


@contextlib.contextmanager
def bulk_gc():
    """Collect garbage less often while millions of short-lived events go by.

    The cyclic collector's full passes walk every long-lived object (caches, thread state) again
    and again during a bulk load; freezing what exists and collecting the young generation less
    often saved about a fifth of the reading time in bench/import.py. The writer builds a
    batch's rows and rollups as hundreds of thousands of new tuples and lists: at a young
    generation of 50,000 its collections still took a tenth of the writer's time (py-spy), at
    500,000 they take a fiftieth. Nearly all of them are freed by reference counting, not by
    the collector, so memory stays where it was.
    """
    threshold = gc.get_threshold()
    gc.collect()
    gc.freeze()
    gc.set_threshold(500_000, 50, 1000)
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()


def read_records(reader, send: Callable[[tuple], None], piece: int = PIECE) -> None:
    """Read READER to its end and SEND its messages (see the module docstring).

    SEND may raise to stop the reading (the writer gave up); nothing more is sent then.
    """
    stats = ImportStats(files=reader.files, total_bytes=reader.total_bytes)
    records: list[tuple] = []
    try:
        for chunk in reader.chunks():
            stats.record(chunk.events)
            stats.bytes_read += chunk.bytes_read
            stats.records += chunk.messages
            records += event_records(chunk.events)
            if len(records) >= piece:
                send(("records", records, stats.progress()))
                records = []
    except _Stopped:
        return
    except Exception as exc:
        if records:
            send(("records", records, stats.progress()))
        _finish_counts(reader, stats)
        send(("error", exc, stats))
        return
    if records:
        send(("records", records, stats.progress()))
    _finish_counts(reader, stats)
    send(("done", stats))


def _finish_counts(reader, stats: ImportStats) -> None:
    stats.skipped.update(reader.skipped)
    stats.unresolved_replies = getattr(reader, "unresolved_replies", 0)


class _Stopped(Exception):
    """The writing side gave up; the reader stops quietly."""


class ReaderFailed(RuntimeError):
    """The reader process failed in an unexpected way (a bug, not a malformed export)."""


@contextlib.asynccontextmanager
async def reading(reader, ahead: int, *, in_process: bool | None = None) -> AsyncIterator[Messages]:
    """Start reading READER at once; yield its messages as an async iterator.

    The reader runs up to AHEAD records ahead of the writer. IN_PROCESS None decides by the
    export's size; a reader without ``reopen`` (a picklable callable that opens the same
    export again) is always read on a thread. Leaving stops the reader, wherever it is.
    """
    if in_process is None:
        in_process = reader.total_bytes >= PROCESS_MIN_BYTES
    queue: asyncio.Queue = asyncio.Queue(maxsize=-(-ahead // PIECE) + 1)
    if in_process and getattr(reader, "reopen", None) is not None:
        feed = _process_feed(reader.reopen, queue)
    else:
        feed = _thread_feed(reader, queue)
    async with feed as messages:
        yield messages


class Messages:
    """The messages on a queue, each through a decoder, until the last one; async iterable."""

    def __init__(self, queue: asyncio.Queue, decode: Callable) -> None:
        self._queue = queue
        self._decode = decode
        self._ended = False

    def __aiter__(self) -> Messages:
        return self

    async def __anext__(self) -> tuple:
        if self._ended:
            raise StopAsyncIteration
        message = await self._decode(await self._queue.get())
        self._ended = message[0] != "records"
        return message

    def waiting(self) -> int:
        """Messages read and not yet taken: none means the reader is behind the writer."""
        return self._queue.qsize()


@contextlib.asynccontextmanager
async def _thread_feed(reader, queue: asyncio.Queue) -> AsyncIterator[Messages]:
    loop = asyncio.get_running_loop()
    stop = threading.Event()

    def send(message: tuple) -> None:
        _put_from_thread(loop, queue, message, stop)

    def run() -> None:
        with contextlib.suppress(_Stopped):
            read_records(reader, send)

    async def as_is(message: tuple) -> tuple:
        return message

    thread = threading.Thread(target=run, name="pulse-import-reader", daemon=True)
    thread.start()
    try:
        yield Messages(queue, as_is)
    finally:
        stop.set()
        # Unblock a reader waiting to hand over a batch, then let it finish.
        while not queue.empty():
            queue.get_nowait()
        await asyncio.to_thread(thread.join)


def _put_from_thread(loop, queue: asyncio.Queue, item, stop: threading.Event) -> None:
    """Put ITEM on the event loop's QUEUE from another thread; raise _Stopped once STOP is set."""
    future = asyncio.run_coroutine_threadsafe(queue.put(item), loop)
    while True:
        try:
            future.result(timeout=0.2)
            return
        except concurrent.futures.TimeoutError:
            if stop.is_set():
                future.cancel()
                raise _Stopped from None


@contextlib.asynccontextmanager
async def _process_feed(reopen: Callable, queue: asyncio.Queue) -> AsyncIterator[Messages]:
    # A fresh interpreter, not a fork (the parent runs an event loop and driver threads a fork
    # would copy mid-flight), started as a plain module so that whoever embeds the import
    # needs no multiprocessing main-module guard. It imports only the readers, no SQLAlchemy.
    child = subprocess.Popen(  # noqa: ASYNC220 - returns at once; waits go to threads
        [sys.executable, "-m", "bot.importers.reader_process"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)},
    )
    loop = asyncio.get_running_loop()
    stop = threading.Event()

    def receive() -> None:
        # Reads ahead of the writer, so the child never waits on a pipe nobody drains.
        try:
            child.stdin.write(pickle.dumps(reopen, protocol=pickle.HIGHEST_PROTOCOL))
            child.stdin.close()
            while True:
                header = child.stdout.read(_FRAME.size)
                frame = None
                if len(header) == _FRAME.size:
                    codec, size = _FRAME.unpack(header)
                    data = child.stdout.read(size)
                    frame = (codec, data) if len(data) == size else None
                _put_from_thread(loop, queue, frame, stop)
                if frame is None:  # the child is gone
                    return
        except OSError:
            with contextlib.suppress(_Stopped):
                _put_from_thread(loop, queue, None, stop)
        except _Stopped:
            return

    async def decode(frame: tuple[bytes, bytes] | None) -> tuple:
        if frame is None:
            code = await asyncio.to_thread(child.wait)
            raise ReaderFailed(f"the export reader process stopped unexpectedly (exit code {code})")
        codec, data = frame
        # Both come from our own child process, on the same interpreter.
        if codec == _MARSHAL:
            return marshal.loads(data)  # noqa: S302
        return pickle.loads(data)  # noqa: S301

    thread = threading.Thread(target=receive, name="pulse-import-receiver", daemon=True)
    thread.start()
    try:
        yield Messages(queue, decode)
    finally:
        stop.set()
        if child.poll() is None:
            child.terminate()
        while not queue.empty():
            queue.get_nowait()
        await asyncio.to_thread(thread.join)
        await asyncio.to_thread(child.wait)
        child.stdout.close()


# A message on the child's stdout: how it is encoded and its length, then the message. Records
# (plain tuples) go with marshal, four times faster than pickle here; the rest with pickle.
_FRAME = struct.Struct("!cQ")
_MARSHAL, _PICKLE = b"m", b"p"


def child_main() -> None:
    """The reader process: read the export the parent names on stdin; messages to stdout."""
    # Ctrl-C reaches the whole process group; the parent decides, and stops us.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    reopen = pickle.load(sys.stdin.buffer)  # noqa: S301 - sent by our own parent process
    out = sys.stdout.buffer
    sys.stdout = sys.stderr  # a stray print must not corrupt the messages

    def send(message: tuple) -> None:
        if message[0] == "error" and not isinstance(message[1], ImportFormatError):
            # Only our own exceptions are sure to pickle: send the rest as their traceback.
            error = message[1]
            text = "".join(traceback.format_exception(error)).rstrip()
            message = ("error", ReaderFailed(f"the export reader failed:\n{text}"), message[2])
        if message[0] == "records":
            codec, data = _MARSHAL, marshal.dumps(message)
        else:
            codec, data = _PICKLE, pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        try:
            out.write(_FRAME.pack(codec, len(data)))
            out.write(data)
            out.flush()
        except OSError:  # the parent is gone or gave up
            raise _Stopped from None

    with bulk_gc():
        try:
            reader = reopen()
        except Exception as exc:
            with contextlib.suppress(_Stopped):
                send(("error", exc, ImportStats()))
            return
        try:
            with contextlib.suppress(_Stopped):
                read_records(reader, send)
        finally:
            close = getattr(reader, "close", None)
            if close is not None:
                close()
