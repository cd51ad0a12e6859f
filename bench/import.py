"""History import benchmark: generate a Slack export and import it through `pulse import`.

It writes a deterministic Slack workspace export (users.json, channels.json, one folder per
channel with a JSON file per day) of --messages posts into a temporary directory: top-level
messages and thread replies, questions and thank-yous, reactions, and a channel join per member.
Then it measures, each on its own:

1. parse:      orjson over every day file (the floor for reading);
2. read+map:   the importer's reader and mapping (SlackExportReader.chunks), no database;
3. import:     ``pulse import slack-export`` in a child process against a fresh SQLite file:
               the real command path (migrations, the reader process, BatchWriter in batches
               of the command's --batch-size with one transaction each, deferred indexes
               rebuilt, reclassification at the end).

Messages/s is posts (messages and replies) divided by wall time. Peak RSS of the import is the
peak of the sum over the command's process tree (the command and its reader process), sampled
every 50 ms from /proc; getrusage would report only the largest single process. Targets:
>= 50,000 messages/s, peak RSS < 300 MB.

    python bench/import.py                      # 1,000,000 messages
    python bench/import.py --messages 100000 --keep
    python bench/import.py --database-url postgresql://user@127.0.0.1:PORT/any

With --database-url the import goes into a fresh database created for the run on that
PostgreSQL server (named pulse_bench_import_PID; dropped afterwards unless --keep), e.g. the
server bench/pg_server.py keeps. Peak RSS is then Pulse's processes only, not the server's.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import deque
from datetime import UTC, datetime
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TEAM = "TBENCH0001"
START = datetime(2024, 1, 1, tzinfo=UTC).timestamp()
PLAIN = (
    "sounds good",
    "I pushed a fix for the flaky test",
    "here is my config",
    "we use it in production",
    "+1 on that",
    "the docs cover this in the setup guide",
)
QUESTIONS = (
    "How do I configure retries?",
    "why does the build fail on arm64?",
    "Anyone seen this error with the CLI?",
    "what is the recommended batch size",
)
THANKS = ("thanks <@{}>!", "thank you <@{}>, that worked", "thx, fixed")
EMOJI = ("+1", "heart", "tada", "eyes", "rocket", "pray")  # fmt: skip


def generate(root: Path, messages: int, members: int, channels: int, seed: int) -> dict:
    """Write the export; return what it holds."""
    rng = random.Random(seed)
    users = [f"U{n:08d}" for n in range(members)]
    root.mkdir(parents=True, exist_ok=True)
    (root / "users.json").write_bytes(
        orjson.dumps(
            [{"id": u, "team_id": TEAM, "name": f"member{n}",
              "profile": {"display_name": f"Member {n}", "real_name": f"Member {n}"}}
             for n, u in enumerate(users)]
            + [{"id": "UBOTBENCH", "team_id": TEAM, "name": "ci", "is_bot": True}]
        )
    )  # fmt: skip
    names = [f"channel-{c:02d}" for c in range(channels)]
    (root / "channels.json").write_bytes(
        orjson.dumps(
            [{"id": f"C{c:08d}", "name": n, "is_general": c == 0} for c, n in enumerate(names)]
        )
    )
    # Skewed activity: a few members post most, like real communities.
    weights = [1 / (n + 1) ** 0.8 for n in range(members)]
    days = 365
    slots = channels * days
    written = replies = reactions = files = 0
    joins_left = list(users)
    for c, name in enumerate(names):
        folder = root / name
        folder.mkdir()
        parents: deque = deque(maxlen=50)
        for day in range(days):
            if written >= messages:
                break
            batch = []
            t = START + day * 86400
            if c == 0 and joins_left:
                for user in joins_left[:200]:
                    t += 1
                    batch.append({"type": "message", "subtype": "channel_join", "user": user,
                                  "ts": f"{t:.6f}", "text": f"<@{user}> joined"})  # fmt: skip
                del joins_left[:200]
            # Spread the total exactly: what is left over the channel-days that are left.
            remaining_slots = slots - (c * days + day)
            count = min(-(-(messages - written) // remaining_slots), messages - written)
            for author in rng.choices(users, weights, k=max(count, 0)):
                t += rng.uniform(1, 300)
                ts = f"{t:.6f}"
                message = {"type": "message", "user": author, "ts": ts}
                roll = rng.random()
                if parents and roll < 0.35:
                    parent_ts, parent_user = rng.choice(parents)
                    message["thread_ts"] = parent_ts
                    message["parent_user_id"] = parent_user
                    message["text"] = (
                        rng.choice(THANKS).format(parent_user) if roll < 0.05 else rng.choice(PLAIN)
                    )
                    replies += 1
                else:
                    message["text"] = rng.choice(QUESTIONS if roll < 0.55 else PLAIN)
                    if roll < 0.55:
                        message["thread_ts"] = ts
                        parents.append((ts, author))
                if rng.random() < 0.15:
                    reactors = rng.sample(users, rng.randint(1, 3))
                    message["reactions"] = [
                        {"name": rng.choice(EMOJI), "users": reactors, "count": len(reactors)}
                    ]
                    reactions += len(reactors)
                if rng.random() < 0.01:
                    message = {"type": "message", "subtype": "bot_message", "bot_id": "B1",
                               "ts": ts, "text": "build passed"}  # fmt: skip
                else:
                    written += 1
                batch.append(message)
            day_name = datetime.fromtimestamp(START + day * 86400, UTC).strftime("%Y-%m-%d")
            (folder / f"{day_name}.json").write_bytes(orjson.dumps(batch))
            files += 1
    return {"messages": written, "replies": replies, "reactions": reactions, "files": files}


def parse_only(root: Path) -> tuple[float, int]:
    """Seconds to orjson-parse every day file, and the records parsed."""
    start = time.perf_counter()
    records = 0
    for file in sorted(root.glob("*/*.json")):
        records += len(orjson.loads(file.read_bytes()))
    return time.perf_counter() - start, records


def read_and_map(root: Path) -> tuple[float, int]:
    """Seconds for the importer's reader and mapping alone, and the events they produce."""
    from bot.importers.feed import bulk_gc
    from bot.importers.slack import SlackExportReader

    start = time.perf_counter()
    reader = SlackExportReader(root)
    with bulk_gc():  # as `pulse import` runs it
        events = sum(len(chunk.events) for chunk in reader.chunks())
    reader.close()
    return time.perf_counter() - start, events


def cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system) PID has used so far, from /proc; None once it has gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def backends_of(database: str) -> list[int]:
    """The local PostgreSQL server processes serving DATABASE (their titles name it)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                title = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if title.startswith(b"postgres: ") and f" {database} ".encode() in title:
                found.append(int(entry.name))
    return found


def tree_rss_mb(pid: int, peaks: dict[int, float], cpu: dict[int, float] | None = None) -> float:
    """Resident memory of PID and its descendants now (MB), from /proc; updates PEAKS per pid.

    CPU, when given, gets each process's CPU seconds so far (the last reading before it exits).
    """
    total, todo, seen = 0.0, [pid], set()
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        try:
            status = Path(f"/proc/{current}/status").read_text()
            children = Path(f"/proc/{current}/task/{current}/children").read_text()
        except OSError:  # it just exited
            continue
        rss = next((int(line.split()[1]) / 1024 for line in status.splitlines()
                    if line.startswith("VmRSS:")), 0.0)  # fmt: skip
        peaks[current] = max(peaks.get(current, 0.0), rss)
        total += rss
        if cpu is not None:
            cpu[current] = cpu_seconds(current) or cpu.get(current, 0.0)
        todo += [int(child) for child in children.split()]
    return total


def import_via_command(
    root: Path, url: str, batch_size: int | None, cpu: dict[str, float]
) -> tuple[float, str, float, list[float]]:
    """Run `pulse import slack-export` in a child process.

    Returns wall seconds, its output, the peak RSS of its process tree and each process's peak.
    CPU gets the CPU seconds of the command's processes and, for a database on a PostgreSQL
    server on this machine, of the server processes serving it: on a loaded machine these vary
    less between runs than wall time does.
    """
    command = [
        sys.executable, "-c", "import sys; from bot.cli import main; sys.argv[0] = 'pulse'; main()",
        "import", "slack-export", str(root), "--database-url", url,
    ]  # fmt: skip
    if batch_size is not None:
        command += ["--batch-size", str(batch_size)]
    peaks: dict[int, float] = {}
    peak = 0.0
    database = url.rsplit("/", 1)[-1] if url.startswith("postgresql") else None
    served: dict[int, float] = {}  # server process -> CPU seconds, first and last reading
    first: dict[int, float] = {}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    with subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as proc:
        if Path("/proc").is_dir():
            polls = 0
            while proc.poll() is None:
                peak = max(peak, tree_rss_mb(proc.pid, peaks))
                if database and polls % 10 == 0:
                    for pid in backends_of(database):
                        used = cpu_seconds(pid)
                        if used is not None:
                            first.setdefault(pid, used)
                            served[pid] = used
                polls += 1
                time.sleep(0.05)
        out, err = proc.communicate()
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu["command"] = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    if served:
        # A backend's work before its first reading (at most half a second) is not counted.
        cpu["server"] = sum(used - first[pid] for pid, used in served.items())
    if proc.returncode != 0:
        sys.exit(f"import failed ({proc.returncode}):\n{out}\n{err}")
    if not peaks:  # no /proc: the largest single process is what getrusage knows
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return elapsed, out, peak, sorted(peaks.values(), reverse=True)


def _admin(url: str) -> tuple[str, str]:
    """A plain asyncpg DSN for the server's postgres database, and URL's database name."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    admin = parsed.set(drivername="postgresql", database="postgres")
    return admin.render_as_string(hide_password=False), parsed.database or ""


def fresh_database(url: str, name: str) -> str:
    """Create database NAME on URL's PostgreSQL server; return its SQLAlchemy URL."""
    import asyncio

    import asyncpg
    from sqlalchemy.engine import make_url

    dsn, _ = _admin(url)

    async def create() -> None:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(create())
    target = make_url(url).set(drivername="postgresql+asyncpg", database=name)
    return target.render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    """Drop the database URL names."""
    import asyncio

    import asyncpg

    dsn, name = _admin(url)

    async def drop() -> None:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        finally:
            await conn.close()

    asyncio.run(drop())


def main() -> None:
    """Generate, measure, report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--members", type=int, default=5_000)
    parser.add_argument("--channels", type=int, default=20)
    parser.add_argument(
        "--batch-size", type=int, default=None, help="Default: the command's own default."
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="Keep the export and database.")
    parser.add_argument(
        "--database-url", help="a PostgreSQL server to import into (a fresh database on it)"
    )
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="pulse-bench-import-"))
    try:
        export = tmp / "slack-export"
        start = time.perf_counter()
        held = generate(export, args.messages, args.members, args.channels, args.seed)
        size = sum(f.stat().st_size for f in export.rglob("*.json"))
        print(f"generated {held['messages']:,} messages ({held['replies']:,} replies, "
              f"{held['reactions']:,} reactions) in {held['files']:,} day files, "
              f"{size / 1e6:,.0f} MB, in {time.perf_counter() - start:.1f}s")  # fmt: skip

        parse_s, records = parse_only(export)
        print(f"parse only (orjson):    {parse_s:6.1f}s  {records / parse_s:>10,.0f} records/s")
        map_s, events = read_and_map(export)
        print(f"read + map (no writes): {map_s:6.1f}s  {held['messages'] / map_s:>10,.0f} "
              f"messages/s  ({events:,} events)")  # fmt: skip

        url = f"sqlite:///{tmp / 'pulse.db'}"
        if args.database_url:
            url = fresh_database(args.database_url, f"pulse_bench_import_{os.getpid()}")
        try:
            cpu: dict[str, float] = {}
            wall, output, peak_mb, process_peaks = import_via_command(
                export, url, args.batch_size, cpu
            )
        finally:
            if args.database_url and not args.keep:
                drop_database(url)
        timings = re.search(
            r"reading and writing ([\d.]+)s, (?:tier history [\d.]+s, )?reclassification ([\d.]+)s",
            output,
        )
        print(output.rstrip())
        rate = held["messages"] / wall
        print(f"import (whole command): {wall:6.1f}s  {rate:>10,.0f} messages/s  "
              f"(target >= 50,000: {'met' if rate >= 50_000 else 'NOT met'})")  # fmt: skip
        if timings:
            io_s = float(timings.group(1))
            print(f"  reading+writing only: {io_s:6.1f}s  {held['messages'] / io_s:>10,.0f} "
                  f"messages/s; reclassification {float(timings.group(2)):.1f}s")  # fmt: skip
        server = f", the database server {cpu['server']:.1f}s" if "server" in cpu else ""
        print(f"CPU: the command and its reader {cpu['command']:.1f}s{server}; "
              f"load average {os.getloadavg()[0]:.1f} at the end")  # fmt: skip
        each = " + ".join(f"{mb:,.0f}" for mb in process_peaks[:3])
        print(f"peak RSS of the import: {peak_mb:,.0f} MB, all its processes together "
              f"(target < 300 MB: {'met' if peak_mb < 300 else 'NOT met'}; "
              f"each process's own peak: {each} MB)")  # fmt: skip
        if args.keep:
            print(f"kept {tmp}")
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
