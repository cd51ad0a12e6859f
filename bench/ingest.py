"""Ingestion throughput benchmark: the app's IngestWriter against raw sqlite3 inserts.

It generates a deterministic, realistic stream of Discord ActivityEvents (one space, ~2,000
members with a skewed activity distribution, ~20 channels, ~180 days; messages, questions,
replies to questions, threads, reactions and joins) and writes it twice, each time into a fresh
SQLite file in a temporary directory:

* "writer": the real path. The schema is created by the Alembic migrations, and every event
  goes through ``IngestWriter.put`` (bounded queue, batched writer, one transaction per batch:
  id resolution, activities with ON CONFLICT DO NOTHING RETURNING, daily rollups, help edges
  and channel rollups). Timed from the first ``put`` until ``close`` returns.
* "raw": the floor. An ``activities``-like table with the same columns and unique key, the same
  pragmas (WAL, synchronous=NORMAL), and the same rows, already mapped to integer ids outside
  the timed region, inserted with ``sqlite3`` ``executemany`` in one transaction per batch.

The last line printed is ``ratio=<writer events/s / raw events/s>``: 1.0 means the writer is as
fast as bare inserts; the target is at least 0.5.

Run it from the project root with the project's virtualenv::

    python bench/ingest.py
    python bench/ingest.py --events 50000 --batch-size 1000 --seed 7 --keep
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import itertools
import random
import resource
import shutil
import sqlite3
import tempfile
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from community.events import ActivityEvent, ActivityKind, Platform, day_number
from storage.engine import create_engine
from storage.migrate import upgrade
from storage.writer.queue import IngestWriter

SPACE_ID = "1100000000000000001"
SPACE_NAME = "Pulse Bench Community"
MEMBERS = 2_000
CHANNELS = 20
DAYS = 180
START = datetime(2024, 1, 1, tzinfo=UTC)
DISCORD_EPOCH_MS = 1_420_070_400_000
HASH_KEY = b"pulse-bench-hash-key-not-a-secret"
EMOJI = ("thumbsup", "heart", "tada", "eyes", "rocket", "pray")

# Cumulative kind mix: 55% message, 25% reply, 3% thread, 15% reaction, 2% join.
KIND_MIX = (
    (0.55, ActivityKind.MESSAGE),
    (0.80, ActivityKind.REPLY),
    (0.83, ActivityKind.THREAD_STARTED),
    (0.98, ActivityKind.REACTION_GIVEN),
    (1.00, ActivityKind.MEMBER_JOINED),
)
QUESTION_RATE = 0.2  # share of messages and threads that ask something
ANSWER_RATE = 0.65  # share of replies that answer a recent question
THANKS_RATE = 0.05  # share of replies that are a thank-you

RAW_DDL = """
CREATE TABLE activities (
    id INTEGER PRIMARY KEY,
    space_id INTEGER,
    event_id TEXT,
    kind TEXT,
    member_id INTEGER,
    channel_id INTEGER,
    target_member_id INTEGER,
    parent_event_id TEXT,
    is_question INTEGER,
    is_thanks INTEGER,
    is_answer INTEGER,
    occurred_at TEXT,
    day INTEGER,
    UNIQUE (space_id, event_id)
)
"""
RAW_INSERT = (
    "INSERT INTO activities (space_id, event_id, kind, member_id, channel_id, target_member_id,"
    " parent_event_id, is_question, is_thanks, is_answer, occurred_at, day)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (space_id, event_id) DO NOTHING"
)


@dataclass
class PassResult:
    """Timing and counts of one benchmark pass."""

    name: str
    events: int
    seconds: float
    extra: dict[str, int]

    @property
    def rate(self) -> float:
        """Events written per second."""
        return self.events / self.seconds if self.seconds > 0 else float("inf")


def _snowflake(moment: datetime, sequence: int) -> str:
    ms = int(moment.timestamp() * 1000) - DISCORD_EPOCH_MS
    return str((ms << 22) | (sequence & 0x3FFFFF))


def _other(rng: random.Random, members: list[str], member: str) -> str:
    while True:
        candidate = rng.choice(members)
        if candidate != member:
            return candidate


def generate_events(count: int, seed: int) -> list[ActivityEvent]:
    """COUNT realistic Discord events in time order, the same for the same SEED."""
    rng = random.Random(seed)
    members = [str(400_000_000_000_000_000 + rng.randrange(10**17)) for _ in range(MEMBERS)]
    names = {m: f"member-{i:04d}" for i, m in enumerate(members)}
    # A few members do most of the talking: Zipf-like weights over a shuffled roster.
    weights = list(itertools.accumulate(1 / (rank + 1) ** 1.1 for rank in range(MEMBERS)))
    by_activity = members[:]
    rng.shuffle(by_activity)
    channels = [str(1_200_000_000_000_000_000 + i * 7_919) for i in range(CHANNELS)]
    channel_names = {c: f"channel-{i:02d}" for i, c in enumerate(channels)}
    channel_weights = list(itertools.accumulate(1 / (i + 1) ** 0.8 for i in range(CHANNELS)))
    offsets = sorted(rng.random() * DAYS * 86_400 for _ in range(count))
    kind_edges = [edge for edge, _ in KIND_MIX]
    total_weight = weights[-1]

    def actor() -> str:
        return by_activity[bisect.bisect_left(weights, rng.random() * total_weight)]

    questions: deque[tuple[str, str, str]] = deque(maxlen=200)  # (event id, author, channel)
    posts: deque[tuple[str, str, str]] = deque(maxlen=400)
    replies: deque[tuple[str, str, str]] = deque(maxlen=200)
    events: list[ActivityEvent] = []
    for seq, offset in enumerate(offsets):
        when = START + timedelta(seconds=offset)
        kind = KIND_MIX[bisect.bisect_left(kind_edges, rng.random())][1]
        member = actor()
        event_id = _snowflake(when, seq)
        channel: str | None = channels[
            bisect.bisect_left(channel_weights, rng.random() * channel_weights[-1])
        ]
        target = parent = None
        is_question = is_thanks = False
        if kind in (ActivityKind.MESSAGE, ActivityKind.THREAD_STARTED):
            is_question = rng.random() < QUESTION_RATE
        elif kind is ActivityKind.REPLY:
            roll = rng.random()
            source = None
            if roll < THANKS_RATE and replies:
                source, is_thanks = rng.choice(replies), True
            elif roll < THANKS_RATE + ANSWER_RATE and questions:
                source = rng.choice(questions)
            elif posts:
                source = rng.choice(posts)
            if source is not None:
                parent, target, channel = source
            if target is None or target == member:
                target = _other(rng, members, member)
        elif kind is ActivityKind.REACTION_GIVEN:
            if posts:
                parent, target, channel = rng.choice(posts)
                event_id = f"reaction:{parent}:{member}:{rng.choice(EMOJI)}:{seq}"
            if target is None or target == member:
                target = _other(rng, members, member)
        elif kind is ActivityKind.MEMBER_JOINED:
            member = rng.choice(members)
            channel = None
            event_id = f"join:{member}:{seq}"
        events.append(
            ActivityEvent(
                platform=Platform.DISCORD,
                space_id=SPACE_ID,
                event_id=event_id,
                kind=kind,
                member_id=member,
                occurred_at=when,
                channel_id=channel,
                target_member_id=target,
                parent_event_id=parent,
                is_question=is_question,
                is_thanks=is_thanks,
                member_name=names[member],
                space_name=SPACE_NAME,
                channel_name=channel_names[channel] if channel else None,
            )
        )
        if kind in (ActivityKind.MESSAGE, ActivityKind.THREAD_STARTED, ActivityKind.REPLY):
            posts.append((event_id, member, channel))
            if is_question:
                questions.append((event_id, member, channel))
            if kind is ActivityKind.REPLY and not is_thanks:
                replies.append((event_id, member, channel))
    return events


async def run_writer(events: list[ActivityEvent], path: Path, batch_size: int) -> PassResult:
    """Pass A: migrate a fresh SQLite file and push every event through IngestWriter."""
    engine = create_engine(f"sqlite:///{path}")
    try:
        await upgrade(engine)
        writer = IngestWriter(
            engine, HASH_KEY, batch_size=batch_size, flush_interval=0.05, queue_size=10_000
        )
        await writer.start()
        started = time.perf_counter()
        for event in events:
            await writer.put(event)
        await writer.close()
        seconds = time.perf_counter() - started
        stats = writer.stats
    finally:
        await engine.dispose()
    if stats.inserted != len(events):
        raise SystemExit(f"writer inserted {stats.inserted} of {len(events)} events: {stats}")
    with contextlib.closing(sqlite3.connect(path)) as db:
        extra = {
            table: db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("member_daily_rollups", "help_edges", "member_channel_rollups")
        }
    extra["batches"] = stats.batches
    return PassResult("writer", len(events), seconds, extra)


def raw_rows(events: list[ActivityEvent]) -> list[tuple]:
    """The events as activities rows with integer ids, as the writer would store them."""
    members: dict[str, int] = {}
    channels: dict[str, int] = {}
    questions = {ev.event_id for ev in events if ev.is_question}
    rows = []
    for ev in events:
        member = members.setdefault(ev.member_id, len(members) + 1)
        target = (
            members.setdefault(ev.target_member_id, len(members) + 1)
            if ev.target_member_id
            else None
        )
        channel = channels.setdefault(ev.channel_id, len(channels) + 1) if ev.channel_id else None
        rows.append(
            (
                1,
                ev.event_id,
                ev.kind.value,
                member,
                channel,
                target,
                ev.parent_event_id,
                int(ev.is_question),
                int(ev.is_thanks),
                int(ev.helps_other and ev.parent_event_id in questions),
                ev.occurred_utc.strftime("%Y-%m-%d %H:%M:%S.%f"),
                day_number(ev.occurred_at),
            )
        )
    return rows


def run_raw(rows: list[tuple], path: Path, batch_size: int) -> PassResult:
    """Pass B: bare sqlite3 executemany into an activities-like table, one transaction a batch."""
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute(RAW_DDL)
        started = time.perf_counter()
        for start in range(0, len(rows), batch_size):
            db.execute("BEGIN")
            db.executemany(RAW_INSERT, rows[start : start + batch_size])
            db.execute("COMMIT")
        seconds = time.perf_counter() - started
        stored = db.execute("SELECT count(*) FROM activities").fetchone()[0]
    finally:
        db.close()
    if stored != len(rows):
        raise SystemExit(f"raw pass stored {stored} of {len(rows)} rows")
    return PassResult("raw", len(rows), seconds, {})


def peak_rss_mib() -> float:
    """Peak resident set size of this process in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000, help="events to write (200000)")
    parser.add_argument("--batch-size", type=int, default=500, help="events per batch (500)")
    parser.add_argument("--seed", type=int, default=1, help="generator seed (1)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args(argv)
    if args.events < 1 or args.batch_size < 1:
        parser.error("--events and --batch-size must be positive")
    return args


def main(argv: list[str] | None = None) -> None:
    """Generate the events, run both passes and print the summary; the last line is the ratio."""
    args = parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="pulse-bench-ingest-"))
    try:
        started = time.perf_counter()
        events = generate_events(args.events, args.seed)
        rows = raw_rows(events)
        generated = time.perf_counter() - started
        kinds: dict[str, int] = {}
        for ev in events:
            kinds[ev.kind.value] = kinds.get(ev.kind.value, 0) + 1
        questions = sum(ev.is_question for ev in events)
        mix = ", ".join(f"{k} {n / len(events):.1%}" for k, n in sorted(kinds.items()))

        writer = asyncio.run(run_writer(events, workdir / "writer.db", args.batch_size))
        raw = run_raw(rows, workdir / "raw.db", args.batch_size)

        print(f"events:          {len(events):,} (seed {args.seed}, generated in {generated:.1f}s)")
        print(f"mix:             {mix}; {questions:,} questions")
        print(f"batch size:      {args.batch_size}")
        print(
            f"writer:          {writer.seconds:8.2f}s {writer.rate:>10,.0f} events/s"
            f" ({writer.extra['batches']:,} batches)"
        )
        print(f"raw sqlite3:     {raw.seconds:8.2f}s {raw.rate:>10,.0f} events/s")
        print(f"rollup rows:     {writer.extra['member_daily_rollups']:,} member_daily_rollups")
        print(
            f"other rollups:   {writer.extra['help_edges']:,} help_edges,"
            f" {writer.extra['member_channel_rollups']:,} member_channel_rollups"
        )
        print(f"peak RSS:        {peak_rss_mib():,.0f} MiB")
        if args.keep:
            print(f"kept:            {workdir}")
        print(f"ratio={writer.rate / raw.rate:.3f}")
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
