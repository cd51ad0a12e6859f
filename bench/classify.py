"""Classification benchmark: reclassify, quiet scan and the read queries on a big community.

It builds one SQLite community of 100,000 members and 5,000,000 activities over the 365 days
ending at a fixed "now" (2026-11-22 12:00 UTC), then times the project's own functions on the
async engine, as the bot runs them:

* full reclassification, ``storage.intelligence.reclassify`` in one ``engine.begin()``
  transaction, twice: the first run writes every tier assignment, the second is the
  steady-state daily run (target: each under 15 s on this 2-core machine);
* the quiet scan, ``storage.intelligence.scan_quiet``, twice: the first opens every flag the
  year of history calls for, the second is the steady-state daily scan;
* the daily job ``bot.services.classification.reclassify_and_scan`` (both steps in one
  transaction), steady state;
* the read queries ``hero_candidates``, ``quiet_list``, ``member_profile`` by platform id and
  ``member_profile`` by display name, each run 20 times (target: each under 100 ms).

The data is not pushed through the ingest writer (5M events through Python would take many
minutes): the schema comes from the Alembic migrations, then plain ``sqlite3`` bulk-inserts
the space, channels, members and activities (rows shaped exactly as ``BatchWriter`` writes
them) and derives ``member_daily_rollups``, ``help_edges`` and ``member_channel_rollups`` from
the activities with INSERT ... SELECT ... GROUP BY, following the rules of the writer's
``storage.writer.statements._rollup_statements``. Activity is skewed: about 3% heavy members
(helpers who answer questions all year), 17% regulars, and a long tail of casual members with
a handful of actions over a few weeks; some heavy and regular members went quiet one to three
months ago. The data is built in a child process so the peak RSS reported for the benchmark is
its own.

Run it from the project root with the project's virtualenv::

    python bench/classify.py
    python bench/classify.py --members 5000 --activities 200000      # a quick check
    python bench/classify.py --keep                                  # keep the database
    python bench/classify.py --db /tmp/pulse-big.db   # build once, reuse on later runs
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import itertools
import multiprocessing
import random
import resource
import shutil
import sqlite3
import statistics
import tempfile
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from bot.services.classification import reclassify_and_scan
from bot.settings import Settings
from community.events import day_number, day_start
from storage.engine import create_engine
from storage.intelligence import reclassify, scan_quiet
from storage.migrate import upgrade
from storage.queries import hero_candidates, member_profile, quiet_list, resolve_space
from storage.uow import UnitOfWork

NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)
DAYS = 365
CHANNELS = 50
HELP_CHANNELS = 6
STAFF = 12
BOTS = 4
QUERY_RUNS = 20
RECLASSIFY_TARGET_S = 15.0
QUERY_TARGET_MS = 100.0
SPACE_PLATFORM_ID = "1100000000000000001"
DISCORD_EPOCH_MS = 1_420_070_400_000
EMOJI = ("thumbsup", "heart", "tada", "eyes", "rocket", "pray")
FIRST_NAMES = (
    "ada", "alan", "barbara", "brian", "carol", "dennis", "edsger", "frances", "grace", "guido",
    "hedy", "ivan", "jean", "ken", "katherine", "linus", "margaret", "niklaus", "ola", "radia",
    "rob", "sophie", "tim", "yukihiro", "anders", "bjarne", "donald", "john", "leslie", "mary",
)  # fmt: skip
LAST_NAMES = (
    "lovelace", "turing", "liskov", "kernighan", "ritchie", "dijkstra", "allen", "hopper",
    "rossum", "lamarr", "sutherland", "sammet", "thompson", "johnson", "torvalds", "hamilton",
    "wirth", "dahl", "perlman", "pike", "wilson", "berners-lee", "matsumoto", "hejlsberg",
    "stroustrup", "knuth", "backus", "lamport", "keller", "clarke",
)  # fmt: skip

POSTING = "('message', 'reply', 'thread_started')"
# A reply aimed at another member that is not a thank-you: the helping signal.
HELPS = (
    "target_member_id IS NOT NULL AND target_member_id != member_id AND NOT is_thanks"
    " AND kind = 'reply'"
)
AIMED = "target_member_id IS NOT NULL AND target_member_id != member_id"

# Rollups derived from activities with the rules of storage.writer.statements._rollup_statements:
# the actor's counts, plus the thanks and reactions credited to whom they were aimed at. Rows go
# in in the order the live writer would first create them (by day), so the tables' physical
# layout matches a database that grew day by day.
DAILY_ROLLUPS_SQL = f"""
INSERT INTO member_daily_rollups (member_id, day, space_id, messages, questions, replies,
    answers, thanks_received, reactions_given, reactions_received, threads_started,
    contributions)
SELECT member_id, day, min(space_id), sum(messages), sum(questions), sum(replies),
    sum(answers), sum(thanks_received), sum(reactions_given), sum(reactions_received),
    sum(threads_started), sum(contributions)
FROM (
    SELECT member_id, day, space_id,
        kind IN {POSTING} AS messages,
        (kind IN {POSTING} AND is_question) AS questions,
        ({HELPS}) AS replies,
        ({HELPS} AND is_answer) AS answers,
        0 AS thanks_received,
        CASE kind WHEN 'reaction_given' THEN 1 WHEN 'reaction_removed' THEN -1 ELSE 0 END
            AS reactions_given,
        0 AS reactions_received,
        kind = 'thread_started' AS threads_started,
        kind = 'contribution_logged' AS contributions
    FROM activities
    WHERE kind IN ('message', 'reply', 'thread_started', 'reaction_given', 'reaction_removed',
        'contribution_logged')
    UNION ALL
    SELECT target_member_id, day, space_id, 0, 0, 0, 0,
        (kind IN {POSTING} AND is_thanks AND {AIMED}) AS thanks_received,
        0,
        CASE
            WHEN kind = 'reaction_received' THEN 1
            WHEN kind = 'reaction_given' AND {AIMED} THEN 1
            WHEN kind = 'reaction_removed' AND {AIMED} THEN -1
            ELSE 0
        END AS reactions_received,
        0, 0
    FROM activities
    WHERE target_member_id IS NOT NULL AND (
        (kind IN {POSTING} AND is_thanks AND {AIMED})
        OR kind = 'reaction_received'
        OR (kind IN ('reaction_given', 'reaction_removed') AND {AIMED})
    )
)
GROUP BY member_id, day
ORDER BY day, member_id
"""
HELP_EDGES_SQL = f"""
INSERT INTO help_edges (helper_id, helped_id, space_id, first_day, last_day, replies)
SELECT member_id, target_member_id, min(space_id), min(day), max(day), count(*)
FROM activities WHERE {HELPS}
GROUP BY member_id, target_member_id
ORDER BY min(day), member_id, target_member_id
"""
CHANNEL_ROLLUPS_SQL = f"""
INSERT INTO member_channel_rollups (member_id, channel_id, space_id, posts, last_day)
SELECT member_id, channel_id, min(space_id), count(*), max(day)
FROM activities WHERE kind IN {POSTING} AND channel_id IS NOT NULL
GROUP BY member_id, channel_id
ORDER BY min(day), member_id, channel_id
"""
INSERT_ACTIVITY = (
    "INSERT INTO activities (space_id, event_id, kind, member_id, channel_id, target_member_id,"
    " parent_event_id, is_question, is_thanks, is_answer, occurred_at, day)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
DERIVED_TABLES = ("tier_changes", "tier_assignments", "quiet_flags")

console = Console()


# --- data generation -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Profile:
    """How one class of member behaves: share of members, rate, and what they tend to do."""

    name: str
    share: float
    rate: float  # mean actions per day while active (before scaling to --activities)
    quiet_share: float  # share who stopped 15-90 days before now
    kinds: tuple[tuple[float, str], ...]  # cumulative mix of message/reply/thread/reaction
    question_rate: float


PROFILES = (
    Profile(
        "heavy",
        0.03,
        2.0,
        0.08,
        ((0.40, "message"), (0.80, "reply"), (0.84, "thread_started"), (1.0, "reaction_given")),
        0.06,
    ),
    Profile(
        "regular",
        0.17,
        0.35,
        0.15,
        ((0.50, "message"), (0.72, "reply"), (0.76, "thread_started"), (1.0, "reaction_given")),
        0.20,
    ),
    Profile(
        "casual",
        0.80,
        0.25,
        0.0,
        ((0.62, "message"), (0.72, "reply"), (0.78, "thread_started"), (1.0, "reaction_given")),
        0.45,
    ),
)


@dataclass
class Roster:
    """The generated members: row ids are list index + 1."""

    profile: list[int] = field(default_factory=list)
    start: list[int] = field(default_factory=list)
    end: list[int] = field(default_factory=list)
    rate: list[float] = field(default_factory=list)
    left: list[bool] = field(default_factory=list)


def build_roster(n: int, first_day: int, today: int, rng: random.Random) -> Roster:
    """Assign each member a profile, an active span and a rate."""
    roster = Roster()
    edges = list(itertools.accumulate(p.share for p in PROFILES))
    for _ in range(n):
        index = min(bisect.bisect_left(edges, rng.random() * edges[-1]), len(PROFILES) - 1)
        profile = PROFILES[index]
        if profile.name == "heavy":
            start = first_day + int(rng.random() ** 3 * 200)
            end = today
        elif profile.name == "regular":
            start = first_day + rng.randrange(300)
            end = today
        else:
            start = first_day + rng.randrange(DAYS)
            end = min(today, start + rng.randrange(46))
        if rng.random() < profile.quiet_share:
            end = today - rng.randint(15, 90)
            start = min(start, end - 30)
        roster.profile.append(index)
        roster.start.append(start)
        roster.end.append(end)
        roster.rate.append(profile.rate * rng.lognormvariate(0, 0.5))
        roster.left.append(end < today - 14 and rng.random() < 0.1)
    return roster


def _snowflake(moment_ms: int, sequence: int) -> str:
    return str(((moment_ms - DISCORD_EPOCH_MS) << 22) | (sequence & 0x3FFFFF))


def member_rows(roster: Roster, rng: random.Random) -> list[tuple]:
    """Rows for the members table: a few staff and bots, names like 'grace.hopper417'."""
    n = len(roster.profile)
    heavy = [i for i in range(n) if roster.profile[i] == 0]
    special = rng.sample(heavy, min(len(heavy), STAFF + BOTS)) if len(heavy) > 1 else []
    staff, bots = set(special[:STAFF]), set(special[STAFF:])
    rows = []
    for i in range(n):
        name = f"{FIRST_NAMES[i % len(FIRST_NAMES)]}.{LAST_NAMES[(i // 7) % len(LAST_NAMES)]}{i}"
        if i in bots:
            name = f"helper-bot-{i}"
        joined = day_start(roster.start[i]) + timedelta(minutes=rng.randrange(24 * 60))
        left = day_start(roster.end[i] + 1) if roster.left[i] else None
        rows.append(
            (
                i + 1,
                1,
                str(300_000_000_000_000_000 + i * 7_919),
                name,
                int(i in bots),
                int(i in staff),
                _text(joined),
                _text(left) if left else None,
            )
        )
    return rows


def _text(moment: datetime) -> str:
    # How UTCDateTime stores on SQLite: naive UTC text with microseconds.
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def day_counts(roster: Roster, total: int, first_day: int, today: int) -> list[int]:
    """Activities per day: proportional to the rates of the members live that day."""
    diff = [0.0] * (DAYS + 1)
    for start, end, rate in zip(roster.start, roster.end, roster.rate, strict=True):
        diff[start - first_day] += rate
        diff[end - first_day + 1] -= rate
    weights = []
    for offset, live in enumerate(itertools.accumulate(diff[:DAYS])):
        weekday = day_start(first_day + offset).weekday()
        weights.append(max(live, 0.0) * (0.7 if weekday >= 5 else 1.0))
    weights[-1] *= 0.5  # "today" only runs until noon
    cumulative = list(itertools.accumulate(weights))
    marks = [round(total * c / cumulative[-1]) for c in cumulative]
    return [b - a for a, b in itertools.pairwise([0, *marks])]


def generate(path: Path, members: int, activities: int, seed: int) -> None:
    """Create the schema and bulk-insert the whole community into PATH."""
    asyncio.run(_migrate(path))
    rng = random.Random(seed)
    today = day_number(NOW)
    first_day = today - DAYS + 1
    roster = build_roster(members, first_day, today, rng)
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=OFF")
        db.execute("PRAGMA cache_size=-1000000")
        db.execute("PRAGMA temp_store=MEMORY")
        db.execute("BEGIN")
        db.execute(
            "INSERT INTO spaces (id, platform, platform_id, name, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (1, "discord", SPACE_PLATFORM_ID, "Pulse Bench Community", _text(day_start(first_day))),
        )
        db.executemany(
            "INSERT INTO channels (id, space_id, platform_id, name, is_help)"
            " VALUES (?, ?, ?, ?, ?)",
            [
                (
                    c + 1,
                    1,
                    str(1_200_000_000_000_000_000 + c * 7_919),
                    f"help-{c:02d}" if c < HELP_CHANNELS else f"channel-{c:02d}",
                    int(c < HELP_CHANNELS),
                )
                for c in range(CHANNELS)
            ],
        )
        db.executemany(
            "INSERT INTO members (id, space_id, platform_id, display_name, is_bot, is_staff,"
            " joined_at, left_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            member_rows(roster, rng),
        )
        db.execute("COMMIT")
        # Secondary indexes are dropped for the bulk insert and rebuilt with the migration's
        # own DDL afterwards: one sort per index instead of millions of random inserts.
        indexes = db.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index'"
            " AND tbl_name = 'activities' AND sql IS NOT NULL"
        ).fetchall()
        for name, _ in indexes:
            db.execute(f'DROP INDEX "{name}"')
        db.execute("BEGIN")
        _insert_activities(db, roster, activities, first_day, today, rng)
        db.execute("COMMIT")
        started = time.perf_counter()
        for _, sql in indexes:
            db.execute(sql)
        console.print(
            f"  rebuilt {len(indexes)} activities indexes in {time.perf_counter() - started:.1f}s"
        )
        steps = (
            ("member_daily_rollups", DAILY_ROLLUPS_SQL),
            ("help_edges", HELP_EDGES_SQL),
            ("member_channel_rollups", CHANNEL_ROLLUPS_SQL),
        )
        for table, sql in steps:
            started = time.perf_counter()
            db.execute("BEGIN")
            db.execute(sql)
            db.execute("COMMIT")
            count = db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            console.print(
                f"  built {table}: {count:,} rows in {time.perf_counter() - started:.1f}s"
            )
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        db.close()


async def _migrate(path: Path) -> None:
    engine = create_engine(f"sqlite:///{path}")
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()


def _insert_activities(
    db: sqlite3.Connection,
    roster: Roster,
    total: int,
    first_day: int,
    today: int,
    rng: random.Random,
) -> None:
    """Generate the activities day by day, in time order, and insert them."""
    counts = day_counts(roster, total, first_day, today)
    starters: dict[int, list[int]] = {}
    for i, start in enumerate(roster.start):
        starters.setdefault(start, []).append(i)
    channel_edges = list(itertools.accumulate(1 / (c + 1) ** 0.8 for c in range(CHANNELS)))
    questions: deque[tuple[str, int, int]] = deque(maxlen=300)  # (event id, author, channel)
    posts: deque[tuple[str, int, int]] = deque(maxlen=600)
    replies: deque[tuple[str, int, int]] = deque(maxlen=300)
    question_ids: set[str] = set()
    live: list[int] = []
    sequence = 0
    random_ = rng.random
    columns = [
        TextColumn("generating activities"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    ]
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("activities", total=total)
        for offset in range(DAYS):
            day = first_day + offset
            live = [m for m in live if roster.end[m] >= day]
            live.extend(starters.get(day, ()))
            n = counts[offset]
            if not n or not live:
                progress.advance(task, n)
                continue
            cum = list(itertools.accumulate(roster.rate[m] for m in live))
            actors = rng.choices(live, cum_weights=cum, k=n)
            span_us = 86_400_000_000 if day < today else 43_200_000_000
            times = sorted(int(random_() * span_us) for _ in range(n))
            day_ms = (day_start(day) - day_start(0)).days * 86_400_000
            date = day_start(day).strftime("%Y-%m-%d")
            rows = []
            for actor, tod in zip(actors, times, strict=True):
                sequence += 1
                member = actor + 1
                profile = PROFILES[roster.profile[actor]]
                roll = random_()
                kind = "reaction_given"
                for edge, name in profile.kinds:
                    if roll < edge:
                        kind = name
                        break
                event_id = _snowflake(day_ms + tod // 1000, sequence)
                channel = bisect.bisect_left(channel_edges, random_() * channel_edges[-1]) + 1
                target = parent = None
                is_question = is_thanks = is_answer = 0
                if kind in ("message", "thread_started"):
                    is_question = int(random_() < profile.question_rate)
                    if is_question and random_() < 0.8:
                        channel = rng.randrange(HELP_CHANNELS) + 1
                elif kind == "reply":
                    roll = random_()
                    if roll < 0.08 and replies:
                        parent, target, channel = replies[int(random_() * len(replies))]
                        is_thanks = 1
                    elif roll < 0.75 and questions:
                        parent, target, channel = questions[int(random_() * len(questions))]
                    elif posts:
                        parent, target, channel = posts[int(random_() * len(posts))]
                    # The writer's rule: a reply helping another member whose parent is a
                    # question is an answer.
                    is_answer = int(
                        not is_thanks
                        and target is not None
                        and target != member
                        and parent in question_ids
                    )
                elif posts:  # reaction_given, to a recent post
                    parent, target, channel = posts[int(random_() * len(posts))]
                    event_id = f"reaction:{parent}:{member}:{EMOJI[sequence % 6]}:{sequence}"
                hours, rest = divmod(tod, 3_600_000_000)
                minutes, rest = divmod(rest, 60_000_000)
                seconds, micros = divmod(rest, 1_000_000)
                rows.append(
                    (
                        1,
                        event_id,
                        kind,
                        member,
                        channel,
                        target,
                        parent,
                        is_question,
                        is_thanks,
                        is_answer,
                        f"{date} {hours:02d}:{minutes:02d}:{seconds:02d}.{micros:06d}",
                        day,
                    )
                )
                if kind != "reaction_given":
                    posts.append((event_id, member, channel))
                    if is_question:
                        if len(questions) == questions.maxlen:
                            question_ids.discard(questions[0][0])
                        questions.append((event_id, member, channel))
                        question_ids.add(event_id)
                    elif kind == "reply" and not is_thanks:
                        replies.append((event_id, member, channel))
            db.executemany(INSERT_ACTIVITY, rows)
            progress.advance(task, n)


# --- timing ----------------------------------------------------------------------------------


@dataclass
class Line:
    """One row of the summary table."""

    name: str
    value: str
    target: str
    ok: bool | None  # None: no target, reported for information


@dataclass
class Report:
    """What the benchmark measured."""

    lines: list[Line] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


async def _timed(call: Callable[[], Awaitable]) -> tuple[float, object]:
    started = time.perf_counter()
    result = await call()
    return time.perf_counter() - started, result


async def run_benchmark(path: Path) -> Report:
    """Time reclassify, scan_quiet and the read queries on the database at PATH."""
    settings = Settings()
    tiers, quiet = settings.tiers.policy(), settings.quiet.policy()
    report = Report()
    engine = create_engine(f"sqlite:///{path}")
    try:
        async with engine.connect() as conn:
            space_id = await resolve_space(conn, None)

        for label in ("first run", "steady state"):
            started = time.perf_counter()  # the whole transaction, commit included
            async with engine.begin() as conn:
                result = await reclassify(conn, space_id, NOW, tiers)
            seconds = time.perf_counter() - started
            report.lines.append(
                Line(
                    f"reclassify ({label})",
                    f"{seconds:.2f} s",
                    f"< {RECLASSIFY_TARGET_S:.0f} s",
                    seconds < RECLASSIFY_TARGET_S,
                )
            )
            report.notes.append(
                f"reclassify {label}: evaluated {result.evaluated:,}, wrote {result.written:,},"
                f" {result.changes:,} changes; tiers {result.counts}"
            )
            console.print(f"  reclassify ({label}): {seconds:.2f} s")

        for label in ("first run", "steady state"):
            started = time.perf_counter()
            async with engine.begin() as conn:
                scan = await scan_quiet(conn, space_id, NOW, tiers, quiet)
            seconds = time.perf_counter() - started
            report.lines.append(Line(f"scan_quiet ({label})", f"{seconds:.2f} s", "-", None))
            report.notes.append(
                f"scan_quiet {label}: opened {scan.opened:,}, returned {scan.returned:,},"
                f" expired {scan.expired:,}"
            )
            console.print(f"  scan_quiet ({label}): {seconds:.2f} s")

        # The daily job as the bot runs it: both steps in one transaction.
        seconds, _ = await _timed(
            lambda: reclassify_and_scan(UnitOfWork(engine), space_id, NOW, tiers, quiet)
        )
        report.lines.append(Line("reclassify_and_scan (daily job)", f"{seconds:.2f} s", "-", None))
        console.print(f"  reclassify_and_scan (daily job): {seconds:.2f} s")

        heavy_id, heavy_name = _busiest_member(path)
        report.notes.append(f"member_profile target: {heavy_id} ({heavy_name})")
        queries: list[tuple[str, Callable]] = [
            ("hero_candidates(25)", lambda c: hero_candidates(c, space_id, tiers, 25)),
            ("quiet_list(25)", lambda c: quiet_list(c, space_id, NOW, 25)),
            ("member_profile(platform id)", lambda c: member_profile(c, space_id, heavy_id, NOW)),
            ("member_profile(name)", lambda c: member_profile(c, space_id, heavy_name, NOW)),
        ]
        for name, query in queries:
            samples = []
            async with engine.connect() as conn:
                for _ in range(QUERY_RUNS):
                    seconds, result = await _timed(lambda query=query, conn=conn: query(conn))
                    samples.append(seconds * 1000)
            median, worst = statistics.median(samples), max(samples)
            report.lines.append(
                Line(
                    name,
                    f"{median:.1f} / {worst:.1f} ms",
                    f"< {QUERY_TARGET_MS:.0f} ms",
                    worst < QUERY_TARGET_MS,
                )
            )
            size = len(result) if isinstance(result, list) else getattr(result, "tier", "")
            console.print(f"  {name}: median {median:.1f} ms, max {worst:.1f} ms ({size})")
    finally:
        await engine.dispose()
    return report


def _busiest_member(path: Path) -> tuple[str, str]:
    """Platform id and display name of the eligible member who posted most."""
    with contextlib.closing(sqlite3.connect(path)) as db:
        row = db.execute(
            "SELECT m.platform_id, m.display_name FROM member_daily_rollups r"
            " JOIN members m ON m.id = r.member_id"
            " WHERE NOT m.is_staff AND NOT m.is_bot AND m.left_at IS NULL"
            " GROUP BY r.member_id ORDER BY sum(r.messages) DESC, r.member_id LIMIT 1"
        ).fetchone()
    return row[0], row[1]


def _table_counts(path: Path) -> dict[str, int]:
    tables = (
        "members",
        "activities",
        "member_daily_rollups",
        "help_edges",
        "member_channel_rollups",
    )
    with contextlib.closing(sqlite3.connect(path)) as db:
        return {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}


def _reset_derived(path: Path) -> None:
    """Forget tiers and flags from an earlier run, so a reused database starts fresh."""
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as db:
        db.execute("BEGIN")
        for table in DERIVED_TABLES:
            db.execute(f"DELETE FROM {table}")
        db.execute("COMMIT")


def peak_rss_mib(who: int = resource.RUSAGE_SELF) -> float:
    """Peak resident set size in MiB (Linux reports KiB)."""
    return resource.getrusage(who).ru_maxrss / 1024


def print_summary(report: Report, counts: dict[str, int], build_seconds: float | None) -> None:
    """The summary table, the notes behind it and the peak RSS."""
    table = Table(
        title="Pulse classification benchmark (SQLite)",
        caption=f"queries: median / max of {QUERY_RUNS} runs",
    )
    table.add_column("measurement")
    table.add_column("result", justify="right")
    table.add_column("target", justify="right")
    table.add_column("status")
    for line in report.lines:
        status = "-" if line.ok is None else ("PASS" if line.ok else "MISS")
        style = "" if line.ok is None else ("green" if line.ok else "bold red")
        table.add_row(line.name, line.value, line.target, f"[{style}]{status}[/]" if style else "-")
    console.print(table)
    console.print("data: " + ", ".join(f"{n:,} {t}" for t, n in counts.items()))
    if build_seconds is not None:
        console.print(f"data built in {build_seconds:.0f} s (not part of any measurement)")
    for note in report.notes:
        console.print(note)
    console.print(f"peak RSS, benchmark process: {peak_rss_mib():,.0f} MiB")
    children = peak_rss_mib(resource.RUSAGE_CHILDREN)
    if children:
        console.print(f"peak RSS, data generation (child): {children:,.0f} MiB")
    misses = [line.name for line in report.lines if line.ok is False]
    console.print("result: " + ("all targets met" if not misses else "MISS " + ", ".join(misses)))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=100_000, help="members (100000)")
    parser.add_argument("--activities", type=int, default=5_000_000, help="activities (5000000)")
    parser.add_argument("--seed", type=int, default=1, help="generator seed (1)")
    parser.add_argument("--keep", action="store_true", help="keep the database and print its path")
    parser.add_argument(
        "--db",
        type=Path,
        help="database file: built there if missing and kept; reused (tiers and flags"
        " cleared) if it exists",
    )
    args = parser.parse_args(argv)
    if args.members < 2 or args.activities < 1:
        parser.error("--members must be at least 2 and --activities positive")
    return args


def main(argv: list[str] | None = None) -> None:
    """Build the community (unless reused), run the measurements and print the summary."""
    args = parse_args(argv)
    workdir = None
    if args.db is not None:
        path = args.db
    else:
        workdir = Path(tempfile.mkdtemp(prefix="pulse-bench-classify-"))
        path = workdir / "pulse.db"
    try:
        build_seconds = None
        if path.exists():
            console.print(f"reusing {path} (tier assignments, tier changes and flags cleared)")
            _reset_derived(path)
        else:
            console.print(
                f"building {args.members:,} members and {args.activities:,} activities in {path}"
            )
            started = time.perf_counter()
            # A child process, so the benchmark's peak RSS is not the generator's.
            child = multiprocessing.get_context("fork").Process(
                target=generate, args=(path, args.members, args.activities, args.seed)
            )
            child.start()
            child.join()
            if child.exitcode != 0:
                raise SystemExit(f"data generation failed (exit code {child.exitcode})")
            build_seconds = time.perf_counter() - started
        counts = _table_counts(path)
        console.print("measuring")
        report = asyncio.run(run_benchmark(path))
        print_summary(report, counts, build_seconds)
        if args.keep or args.db is not None:
            console.print(f"kept: {path}")
    finally:
        if workdir is not None and not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
