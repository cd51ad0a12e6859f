"""Scale benchmark for Discord: the real client on a 500k-member guild, then a stream of events.

The fake Discord (tests/fakes/discord) runs in a child process with one guild of --members
members announced `large`, 20 channels, 10 threads and a staff role (bench/gateway_stream.py).
This process builds Pulse as `pulse run` does: the migrated database (a SQLite file, or
--database-url), the IngestWriter with the [ingest] defaults, the command service and the
PulseClient for the [discord] settings. It reports:

* start-up: seconds to ready (connected, guild received) and to caught-up (the paged REST pass
  over every member for staff and joins, then the channels' history), and the peak RSS
  (VmHWM) of this process at each point; the fake's memory is its own process's;
* the stream: each step sends --step events a second more than the last (mixed messages,
  replies, thread messages, reactions, joins, member updates) for --seconds; a step is
  sustained when the client received at least 95% of what was sent and the writer's queue
  ended no longer than one batch. Per step: events/s received and stored, CPU per event, the
  writer's queue, and the time inside Pulse's gateway handlers per event;
* database statements by the task that ran them: none may come from a gateway handler or the
  gateway's reading task (handlers only queue events; the writer and the staff marks write).

--chunk measures the old policy instead (discord.py chunks every guild at start and caches its
members), for comparison. --profile prints where the CPU goes during one step at --rate.

    python bench/gateway.py                      # 500,000 members, steps of 1,000 events/s
    python bench/gateway.py --members 100000 --step 2000 --seconds 8
    python bench/gateway.py --chunk --members 500000
    python bench/gateway.py --profile --rate 3000
    python bench/gateway.py --postgres                # the writer on a throwaway PostgreSQL
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import multiprocessing
import pstats
import resource
import shutil
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import discord  # noqa: E402 - after the path is set

from bench.gateway_stream import serve  # noqa: E402
from bot.clock import SystemClock  # noqa: E402
from bot.commands.service import CommandService  # noqa: E402
from bot.discord.client import client_class, point_at  # noqa: E402
from bot.settings import DiscordSettings, Settings  # noqa: E402
from storage.engine import create_engine  # noqa: E402
from storage.meta import hash_key  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.uow import UnitOfWork  # noqa: E402
from storage.writer.queue import IngestWriter  # noqa: E402

HANDLERS = ("on_message", "on_raw_reaction_add", "on_member_join", "_member_updated")


def status_mib(field: str) -> float:
    """VmHWM or VmRSS of this process, in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def time_writes(writer: IngestWriter) -> None:
    """Count the seconds the writer spends in its batch transactions (writer.busy)."""
    write = writer._write
    writer.busy = 0.0

    async def timed(batch):
        began = time.perf_counter()
        try:
            return await write(batch)
        finally:
            writer.busy += time.perf_counter() - began

    writer._write = timed


def cpu_seconds() -> float:
    """User plus system CPU time of this process."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class HandlerClock:
    """Seconds spent inside each of Pulse's gateway handlers (wrapped on the instance)."""

    def __init__(self, client) -> None:
        self.spent: dict[str, float] = defaultdict(float)
        self.calls: Counter[str] = Counter()
        for name in HANDLERS:
            setattr(client, name, self._wrap(name, getattr(client, name)))

    def _wrap(self, name: str, handler):
        spent, calls, clock = self.spent, self.calls, time.perf_counter

        if asyncio.iscoroutinefunction(handler):

            async def timed(*args, **kwargs):
                began = clock()
                try:
                    return await handler(*args, **kwargs)
                finally:
                    spent[name] += clock() - began
                    calls[name] += 1

            return timed

        def timed_sync(*args, **kwargs):
            began = clock()
            try:
                return handler(*args, **kwargs)
            finally:
                spent[name] += clock() - began
                calls[name] += 1

        return timed_sync

    def total(self) -> tuple[float, int]:
        """(seconds, calls) over every handler so far."""
        return sum(self.spent.values()), sum(self.calls.values())


class StatementTasks:
    """Which asyncio task ran each SQL statement, grouped: gateway path, writer, other."""

    def __init__(self, engine) -> None:
        from sqlalchemy import event

        self.by_task: Counter[str] = Counter()
        event.listen(engine.sync_engine, "before_cursor_execute", self._seen)

    def _seen(self, *args, **kwargs) -> None:
        try:
            task = asyncio.current_task()
        except RuntimeError:
            task = None
        name = task.get_name() if task is not None else "(no task)"
        if name.startswith("discord.py: on_") or name == "discord-client":
            name = "gateway: " + name
        elif name.startswith("Task-"):
            name = "unnamed task (staff marks)"
        self.by_task[name] += 1

    def on_gateway_path(self) -> int:
        """Statements run by a gateway handler or the gateway's reading task."""
        return sum(n for name, n in self.by_task.items() if name.startswith("gateway: "))


async def run(args, conn, world) -> None:
    """Start Pulse against the fake in WORLD, report start-up, then step up or profile."""
    settings = DiscordSettings(
        api_base_url=world["base_url"],
        gateway_url=world["gateway_url"],
        guild_ids=[world["guild"]],
        staff_role_ids=[world["role"]],
        help_channel_ids=world["channels"][:2],
    )
    point_at(settings)
    url = args.database_url or f"sqlite+aiosqlite:///{args.work / 'pulse.db'}"
    engine = create_engine(url)
    await upgrade(engine)
    key = await hash_key(engine, "bench-gateway-key")
    ingest = Settings().ingest
    writer = IngestWriter(
        engine,
        key,
        batch_size=args.batch_size or ingest.batch_size,
        flush_interval=ingest.flush_interval_seconds,
        queue_size=ingest.queue_size,
    )
    await writer.start()
    clock = SystemClock()
    service = CommandService(UnitOfWork(engine), Settings().policies(), key, clock, "http://x")
    statements = StatementTasks(engine)
    client = client_class(settings)(settings, writer, service, service.uow)
    if args.chunk:  # the old policy, for comparison: chunk at start, cache every member
        client._connection._chunk_guilds = True
        client._connection.member_cache_flags = discord.MemberCacheFlags.from_intents(
            client.intents
        )
    handlers = HandlerClock(client)
    time_writes(writer)
    print(f"members {args.members:,}; database {url.split(':')[0]}; RSS before start "
          f"{status_mib('VmRSS'):.0f} MiB")  # fmt: skip
    began = time.perf_counter()
    runner = asyncio.create_task(client.start("fake-bot-token"), name="discord-client")
    while not client.is_ready():
        if runner.done():
            runner.result()  # says why the client stopped
        await asyncio.sleep(0.01)
    ready = time.perf_counter() - began
    print(f"ready in {ready:.1f} s, peak RSS {status_mib('VmHWM'):.0f} MiB "
          f"(cached members: {len(client.get_guild(int(world['guild'])).members):,})")  # fmt: skip
    await client.caught_up.wait()
    caught_up = time.perf_counter() - began
    print(f"caught up in {caught_up:.1f} s, peak RSS {status_mib('VmHWM'):.0f} MiB")
    conn.send(("requests",))
    op8, pages = conn.recv()
    print(f"gateway member requests (op 8): {op8}; REST member pages: {pages}")
    try:
        if args.profile:
            await profile_step(args, conn, client)
        else:
            await step_up(args, conn, client, writer, handlers)
    finally:
        await client.close()
        await asyncio.gather(runner, return_exceptions=True)
        await writer.close()
        await engine.dispose()
    print(f"peak RSS over the run {status_mib('VmHWM'):.0f} MiB")
    for name, count in statements.by_task.most_common():
        print(f"  SQL statements from {name}: {count:,}")
    print(f"statements on the gateway path: {statements.on_gateway_path()}")


async def one_step(conn, client, writer, handlers, rate: float, seconds: float) -> dict:
    """Have the fake send RATE events a second for SECONDS; what Pulse made of them."""
    received0 = writer.stats.received
    stored0 = writer.stats.inserted + writer.stats.duplicates
    spent0, calls0 = handlers.total()
    cpu0, wall0, busy0 = cpu_seconds(), time.perf_counter(), writer.busy
    loop = asyncio.get_running_loop()
    conn.send(("stream", rate, seconds))
    depth, lag = 0, 0.0
    pending = loop.run_in_executor(None, conn.recv)
    while not pending.done():
        depth = max(depth, writer.pending)
        asked = loop.time()
        await asyncio.sleep(0.05)
        lag = max(lag, loop.time() - asked - 0.05)  # how late the loop came back to us
    sent, _ = await pending
    await asyncio.sleep(0.5)  # what was in flight
    wall = time.perf_counter() - wall0
    spent, calls = handlers.total()
    received = calls - calls0  # every event reaches one handler; updates queue nothing
    return {
        "rate": rate,
        "sent/s": sent / seconds,
        "received/s": received / seconds,
        "queued/s": (writer.stats.received - received0) / seconds,
        "stored/s": (writer.stats.inserted + writer.stats.duplicates - stored0) / seconds,
        "lost": sent - received,
        "queue max": depth,
        "queue end": writer.pending,
        "cpu ms/event": 1000 * (cpu_seconds() - cpu0) / max(received, 1),
        "cpu share": (cpu_seconds() - cpu0) / wall,
        "writer busy": (writer.busy - busy0) / wall,
        "loop lag ms": 1000 * lag,
        "handler us/event": 1e6 * (spent - spent0) / max(calls - calls0, 1),
    }


async def step_up(args, conn, client, writer, handlers) -> None:
    """Raise the rate by --step until a step is not sustained; print each step."""
    best = 0.0
    print("rate  sent/s  received/s  stored/s  queue max/end  CPU ms/event  CPU share  "
          "handler µs/event  writer busy  loop lag")  # fmt: skip
    rate = args.step
    while rate <= args.max_rate:
        row = await one_step(conn, client, writer, handlers, rate, args.seconds)
        sustained = row["received/s"] >= 0.95 * rate and row["queue end"] <= writer.batch_size
        verdict = "ok" if sustained else "NOT sustained"
        print(f"{rate:>5.0f} {row['sent/s']:>7.0f} {row['received/s']:>10.0f} "
              f"{row['stored/s']:>9.0f} {row['queue max']:>7}/{row['queue end']:<5} "
              f"{row['cpu ms/event']:>12.3f} {row['cpu share']:>10.0%} "
              f"{row['handler us/event']:>14.1f} {row['writer busy']:>8.0%} "
              f"{row['loop lag ms']:>6.0f} ms  {verdict}")  # fmt: skip
        if not sustained:
            break
        best = rate
        rate += args.step
        await writer.flush()
    print(f"highest sustained: {best:,.0f} events/s")


async def profile_step(args, conn, client) -> None:
    """One step at --rate under cProfile: CPU by area, then the costliest functions."""
    profiler = cProfile.Profile()
    profiler.enable()
    row = await one_step(conn, client, client.writer, HandlerClock(client), args.rate, args.seconds)
    profiler.disable()
    print(f"profiled {args.rate:.0f} events/s: received {row['received/s']:.0f}/s")
    stats = pstats.Stats(profiler)
    areas: Counter[str] = Counter()
    for (path, _, name), (_, _, tottime, _, _) in stats.stats.items():
        areas["idle (waiting in epoll)" if "epoll" in name else _area(path)] += tottime
    whole = sum(areas.values())
    print("CPU by area (own time):")
    for area, spent in areas.most_common():
        print(f"  {area:<28} {spent:6.2f} s  {spent / whole:4.0%}")
    stats.sort_stats("tottime").print_stats(20)


def _area(path: str) -> str:
    for marker, area in (
        ("site-packages/discord/", "discord.py (parsing, models)"),
        ("/aiohttp/", "aiohttp (websocket)"),
        ("/sqlalchemy/", "SQLAlchemy"),
        ("/aiosqlite/", "aiosqlite"),
        ("/bot/", "Pulse bot/ (handlers)"),
        ("/community/", "Pulse community/"),
        ("/storage/", "Pulse storage/ (writer)"),
        ("/asyncio/", "asyncio"),
        ("bench/", "benchmark instrumentation"),
    ):
        if marker in path:
            return area
    return "other (builtins, json, sqlite3)"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=500_000)
    parser.add_argument("--step", type=float, default=1000, help="events/s added each step")
    parser.add_argument("--max-rate", type=float, default=20_000)
    parser.add_argument("--seconds", type=float, default=10, help="length of each step")
    parser.add_argument("--rate", type=float, default=2000, help="with --profile")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--batch-size", type=int, help="default: [ingest] batch_size")
    parser.add_argument("--chunk", action="store_true", help="the old policy: chunk and cache")
    parser.add_argument("--database-url", help="default: a SQLite file in a temporary folder")
    parser.add_argument(
        "--postgres", action="store_true", help="a throwaway PostgreSQL server (tests/pg.py)"
    )
    return parser.parse_args(argv)


def throwaway_postgres():
    """A started PostgreSQL server of the tests' kind (commits not waited for, as in tests)."""
    from tests.pg import PostgresServer, find_pg_bin

    bin_dir = find_pg_bin()
    if bin_dir is None:
        raise SystemExit("PostgreSQL binaries (initdb, pg_ctl) not found")
    server = PostgresServer(bin_dir)
    server.start()
    return server


def main(argv: list[str] | None = None) -> None:
    """Start the fake's process, run the benchmark, clean up."""
    args = parse_args(argv)
    args.work = Path(tempfile.mkdtemp(prefix="bench-gateway-"))
    context = multiprocessing.get_context("spawn")
    conn, child_conn = context.Pipe()
    fake = context.Process(target=serve, args=(child_conn, args.members), daemon=True)
    fake.start()
    server = None
    try:
        if args.postgres:
            server = throwaway_postgres()
            args.database_url = server.url("postgres")
        world = conn.recv()
        asyncio.run(run(args, conn, world))
    finally:
        if server is not None:
            server.stop()
        if fake.is_alive():
            conn.send(("stop",))
            fake.join(10)
        if fake.is_alive():
            fake.terminate()
        shutil.rmtree(args.work, ignore_errors=True)


if __name__ == "__main__":
    main()
