"""The database bench/classify.py measures: built with the schema's own migrations, then filled.

The data is not pushed through the ingest writer (5M events through Python would take many
minutes): plain ``sqlite3`` bulk-inserts the space, channels, members (bench/classify_roster.py)
and activities (rows shaped exactly as ``BatchWriter`` writes them) and derives
``member_daily_rollups``, ``help_edges`` and ``member_channel_rollups`` from the activities with
INSERT ... SELECT ... GROUP BY, following the rules of the writer's
``storage.writer.statements._rollup_statements``.
"""

from __future__ import annotations

import asyncio
import bisect
import itertools
import random
import sqlite3
import time
from collections import deque
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

from community.events import day_number, day_start
from storage.engine import create_engine
from storage.migrate import upgrade

try:
    from bench.classify_roster import (
        DAYS,
        NOW,
        PROFILES,
        Roster,
        build_roster,
        day_counts,
        db_text,
        member_rows,
    )
except ImportError:  # run as a script: bench/ itself is on sys.path
    from classify_roster import (  # type: ignore[no-redef]
        DAYS,
        NOW,
        PROFILES,
        Roster,
        build_roster,
        day_counts,
        db_text,
        member_rows,
    )

CHANNELS = 50
HELP_CHANNELS = 6
SPACE_PLATFORM_ID = "1100000000000000001"
DISCORD_EPOCH_MS = 1_420_070_400_000
EMOJI = ("thumbsup", "heart", "tada", "eyes", "rocket", "pray")

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

console = Console()


def _snowflake(moment_ms: int, sequence: int) -> str:
    return str(((moment_ms - DISCORD_EPOCH_MS) << 22) | (sequence & 0x3FFFFF))


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
            (
                1,
                "discord",
                SPACE_PLATFORM_ID,
                "Pulse Bench Community",
                db_text(day_start(first_day)),
            ),
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
