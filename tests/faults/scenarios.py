"""Fault scenarios shared by tests/faults and bench/faults.py, and the ledger that judges them.

Each scenario puts a known set of events through Pulse's real writer while a fault strikes,
lets the next start replay what was spilled, then accounts for every event id put: stored
(one row), quarantined (one entry), still spilled, or lost, and any row or entry seen twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg

from storage.engine import create_engine
from storage.migrate import upgrade
from storage.writer.queue import IngestWriter, WriterClosedError
from storage.writer.spill import QUARANTINE_FILE, event_from_json, event_to_json
from tests.factories import ev
from tests.pg import PostgresServer

KEY = b"fault-key"
ROOT = Path(__file__).resolve().parents[2]
SPILL_FILE = "pulse-unwritten.jsonl"
# Writer settings for the scenarios: small batches and short waits, so a fault lands mid-stream.
WRITER = {
    "batch_size": 50,
    "flush_interval": 0.01,
    "queue_size": 200,
    "retry_initial": 0.05,
    "retry_max": 0.5,
}


@dataclass
class Ledger:
    """What became of every event put, for a test to assert and the bench to print."""

    scenario: str
    backend: str
    put: int = 0
    stored: int = 0
    quarantined: int = 0
    spilled: int = 0
    lost: int = 0
    duplicated: int = 0
    rollups_match: bool = True
    notes: list[str] = field(default_factory=list)  # what went wrong, for a test to show
    detail: str = ""  # what the scenario did, for the bench to show

    @property
    def whole(self) -> bool:
        """Nothing lost, nothing twice, rollups equal to the activities."""
        return self.lost == 0 and self.duplicated == 0 and self.rollups_match and self.put > 0


async def until(condition: Callable[[], bool], limit: float = 30.0) -> None:
    """Wait until CONDITION holds, checking every few milliseconds; fail after LIMIT seconds."""
    async with asyncio.timeout(limit):
        while not condition():  # noqa: ASYNC110 - polls the writer task's counters
            await asyncio.sleep(0.005)


def events(prefix: str, count: int, members: int = 13) -> list:
    """COUNT distinct message events, every third a question, spread over a few days."""
    return [
        ev(
            member=f"m{i % members}",
            event_id=f"{prefix}{i}",
            is_question=i % 3 == 0,
            days=i / 1000,
        )
        for i in range(count)
    ]


async def stored_ids(engine) -> Counter:
    """How many activity rows each event id has."""
    async with engine.connect() as conn:
        rows = await conn.exec_driver_sql("SELECT event_id FROM activities")
        return Counter(event_id for (event_id,) in rows)


async def rollups_match(engine) -> bool:
    """Whether the daily rollups count exactly the stored messages and questions."""
    async with engine.connect() as conn:
        rolled = (
            await conn.exec_driver_sql(
                "SELECT coalesce(sum(messages), 0), coalesce(sum(questions), 0) "
                "FROM member_daily_rollups"
            )
        ).one()
        counted = (
            await conn.exec_driver_sql(
                "SELECT count(*), coalesce(sum(CASE WHEN is_question THEN 1 ELSE 0 END), 0) "
                "FROM activities WHERE kind = 'message'"
            )
        ).one()
    return tuple(rolled) == tuple(counted)


def file_ids(path: Path) -> Counter:
    """Event ids in a spill or quarantine file (lines that are not events are not counted)."""
    found: Counter = Counter()
    if not path.exists():
        return found
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            found[event_from_json(line).event_id] += 1
        except ValueError:
            continue
    return found


async def account(ledger: Ledger, engine, put_ids: list[str], folder: Path) -> Ledger:
    """Fill LEDGER from the database and the files in FOLDER."""
    rows = await stored_ids(engine)
    quarantined = file_ids(folder / QUARANTINE_FILE)
    spilled = file_ids(folder / SPILL_FILE)
    ledger.put = len(put_ids)
    ledger.stored = sum(1 for i in put_ids if rows[i])
    ledger.quarantined = sum(1 for i in put_ids if quarantined[i] and not rows[i])
    ledger.spilled = sum(1 for i in put_ids if spilled[i] and not rows[i] and not quarantined[i])
    ledger.lost = ledger.put - ledger.stored - ledger.quarantined - ledger.spilled
    ledger.duplicated = (
        sum(n - 1 for n in rows.values() if n > 1)
        + sum(n - 1 for n in quarantined.values() if n > 1)
        + sum(1 for i in put_ids if rows[i] and quarantined[i])
    )
    ledger.rollups_match = await rollups_match(engine)
    return ledger


# --- faults on a PostgreSQL server -------------------------------------------------------------

Fault = Callable[[PostgresServer, str], Awaitable[None]]


async def _admin(server: PostgresServer, sql: str, *args) -> list:
    conn = await asyncpg.connect(server.admin_dsn())
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


async def outage(server: PostgresServer, database: str, hold: float) -> None:
    """The database refuses connections and its sessions end, then it comes back."""
    await _admin(server, f'ALTER DATABASE "{database}" WITH ALLOW_CONNECTIONS false')
    await _admin(
        server,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
        database,
    )
    await asyncio.sleep(hold)
    await _admin(server, f'ALTER DATABASE "{database}" WITH ALLOW_CONNECTIONS true')


async def stop(server: PostgresServer, _database: str, hold: float) -> None:
    """`pg_ctl stop -m fast`, and a start HOLD seconds later."""
    await asyncio.to_thread(server.halt)
    await asyncio.sleep(hold)
    await asyncio.to_thread(server.restart)


async def freeze(server: PostgresServer, _database: str, hold: float) -> None:
    """SIGSTOP the postmaster and every backend for HOLD seconds, then SIGCONT."""
    server.signal_all(signal.SIGSTOP)
    try:
        await asyncio.sleep(hold)
    finally:
        server.signal_all(signal.SIGCONT)


async def kill_backend(server: PostgresServer, database: str, hold: float) -> None:
    """SIGKILL the backends serving DATABASE: the server resets every session and recovers."""
    rows = await _admin(server, "SELECT pid FROM pg_stat_activity WHERE datname = $1", database)
    for (pid,) in rows:
        signal_pid(pid, signal.SIGKILL)
    await asyncio.sleep(hold)


async def kill_postmaster(server: PostgresServer, _database: str, hold: float) -> None:
    """SIGKILL the postmaster (its backends then exit), and start the server HOLD seconds later."""
    await asyncio.to_thread(server.kill_postmaster)
    await asyncio.sleep(hold)
    await asyncio.to_thread(server.restart)


def signal_pid(pid: int, signum: int) -> None:
    """Send SIGNUM to PID if it still exists."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signum)


PG_FAULTS: dict[str, Callable[..., Awaitable[None]]] = {
    "outage": outage,
    "stop": stop,
    "freeze": freeze,
    "kill backend": kill_backend,
    "kill postmaster": kill_postmaster,
}


# A freeze must outlast the write timeout and the first timed-out write's clean-up to be seen.
HOLDS = {"freeze": 3.0}


async def fresh_database(server: PostgresServer, name: str) -> str:
    """Create the empty database NAME on SERVER and return its URL."""
    await _admin(server, f'DROP DATABASE IF EXISTS "{name}"')
    await _admin(server, f'CREATE DATABASE "{name}"')
    return server.url(name)


async def live_writer_under_fault(
    server: PostgresServer,
    scenario: str,
    folder: Path,
    *,
    count: int = 1500,
    hold: float = 1.5,
    write_timeout: float = 0.5,
    grace: float = 30.0,
) -> Ledger:
    """Stream COUNT events through the live writer while fault SCENARIO strikes mid-stream.

    The fault lasts HOLD seconds, longer than WRITE_TIMEOUT, so a frozen server is noticed.
    """
    database = "faults_" + scenario.replace(" ", "_")
    url = await fresh_database(server, database)
    put = events(scenario[:3], count)
    engine = create_engine(url)
    await upgrade(engine)
    spill = folder / SPILL_FILE
    writer = IngestWriter(engine, KEY, spill_path=spill, write_timeout=write_timeout, **WRITER)
    await writer.start()
    third = count // 3
    try:
        await writer.put_many(put[:third])
        producing = asyncio.create_task(writer.put_many(put[third:]))
        # Strike while batches are being written, not between two streams.
        await until(
            lambda: writer.stats.inserted >= third + WRITER["batch_size"] or producing.done()
        )
        await PG_FAULTS[scenario](server, database, HOLDS.get(scenario, hold))
        await asyncio.wait_for(producing, 120)
        await asyncio.wait_for(writer.close(grace), grace + 60)
    finally:
        await engine.dispose()
    ledger = Ledger(scenario, "postgresql")
    if writer.stats.retries == 0:
        ledger.notes.append("the writer saw no fault")
    # The next start replays anything spilled, as `pulse run` does.
    engine = create_engine(url)
    try:
        again = IngestWriter(engine, KEY, spill_path=spill, **WRITER)
        await again.start()
        await again.close()
        return await account(ledger, engine, [e.event_id for e in put], folder)
    finally:
        await engine.dispose()


async def shutdown_while_frozen(
    server: PostgresServer, folder: Path, *, count: int = 1000, write_timeout: float = 0.5
) -> tuple[Ledger, float]:
    """Freeze the server mid-stream and stop the writer while it stays frozen.

    Returns the ledger once the server is thawed and the next start has replayed the spill,
    and how many seconds close() took.
    """
    url = await fresh_database(server, "faults_frozen_shutdown")
    put = events("fz", count)
    engine = create_engine(url)
    await upgrade(engine)
    spill = folder / SPILL_FILE
    writer = IngestWriter(engine, KEY, spill_path=spill, write_timeout=write_timeout, **WRITER)
    await writer.start()
    third = count // 3
    accepted = 0
    try:
        await writer.put_many(put[:third])
        producing = asyncio.create_task(writer.put_many(put[third:]))
        await until(lambda: writer.stats.inserted >= third + WRITER["batch_size"])
        server.signal_all(signal.SIGSTOP)
        try:
            await until(lambda: writer.stats.retries >= 1)
            started = asyncio.get_running_loop().time()
            await asyncio.wait_for(writer.close(grace_seconds=0.5), 30)
            closing = asyncio.get_running_loop().time() - started
            with contextlib.suppress(WriterClosedError):
                await asyncio.wait_for(producing, 5)
            accepted = writer.stats.received
        finally:
            server.signal_all(signal.SIGCONT)
    finally:
        await engine.dispose()
    ledger = Ledger("freeze through shutdown", "postgresql")
    engine = create_engine(url)
    try:
        again = IngestWriter(engine, KEY, spill_path=spill, **WRITER)
        await again.start()
        await again.close()
        ids = [e.event_id for e in put[:accepted]]
        return await account(ledger, engine, ids, folder), closing
    finally:
        await engine.dispose()


# --- a writing process killed ------------------------------------------------------------------


def _kill_when_stored(argv: list[str], marker: Path, stored: int) -> int | None:
    """Run ARGV and SIGKILL it once MARKER says STORED events are in.

    Returns how many events its writer had accepted then, or None if it ended first.
    """
    child = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    try:
        while child.poll() is None and time.monotonic() < deadline:
            done = (marker.read_text() if marker.exists() else "").split()
            if len(done) == 2 and int(done[0]) >= stored:
                break
            time.sleep(0.001)
        killed = child.poll() is None
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    # Read after the kill: the last count the process wrote is the one it died with.
    return int(marker.read_text().split()[1]) if killed else None


async def killed_writer(url: str, folder: Path, *, count: int = 3000, seed: int = 1) -> Ledger:
    """SIGKILL a process streaming COUNT events through the live writer, at a seeded point.

    The events put are those its writer had accepted. What it had not committed was only in its
    memory: the ledger counts it lost.
    The rest must be whole, and a new writer must carry on in the same database.
    """
    engine = create_engine(url)
    await upgrade(engine)
    await engine.dispose()
    at = random.Random(seed).randrange(count // 10, count * 8 // 10)
    marker = folder / "stored"
    argv = [sys.executable, "-m", "tests.faults.crashing_writer", url, str(folder), str(marker),
            str(count)]  # fmt: skip
    accepted = await asyncio.to_thread(_kill_when_stored, argv, marker, at)
    put = events("kw", count)[: accepted or count]
    engine = create_engine(url)
    try:
        ledger = await account(Ledger("kill -9 live writer", engine.dialect.name), engine,
                               [e.event_id for e in put], folder)  # fmt: skip
        if accepted is None:
            ledger.notes.append("the writer ended before its kill point")
        # Commits are whole: what is stored is the first batches of the stream, nothing else.
        if sorted(await stored_ids(engine)) != sorted(e.event_id for e in put[: ledger.stored]):
            ledger.notes.append("what is stored is not a prefix of the stream")
        after = IngestWriter(engine, KEY, spill_path=folder / SPILL_FILE, **WRITER)
        await after.start()
        await after.put_many(events("after", 100))
        await after.close()
        if after.stats.inserted != 100:
            ledger.notes.append("a new writer could not carry on")
        ledger.detail = f"killed after {at} stored; unwritten events were only in its memory"
        return ledger
    finally:
        await engine.dispose()


# --- bad input, on either backend -------------------------------------------------------------


async def poison(url: str, folder: Path, *, count: int = 1000, every: int = 97) -> Ledger:
    """Every EVERY-th event is one the database refuses (a trigger, as a constraint would)."""
    from tests.storage.test_writer_faults import refuse_event_ids_starting_with_poison

    engine = create_engine(url)
    try:
        await upgrade(engine)
        await refuse_event_ids_starting_with_poison(engine)
        put = events("ok", count)
        for i in range(every // 2, count, every):
            put[i] = events(f"poison-{i}-", 1)[0]
        writer = IngestWriter(engine, KEY, spill_path=folder / SPILL_FILE, **WRITER)
        await writer.start()
        await writer.put_many(put)
        await writer.close()
        ledger = await account(Ledger("poison events", engine.dialect.name), engine,
                               [e.event_id for e in put], folder)  # fmt: skip
        refused = sum(1 for e in put if e.event_id.startswith("poison"))
        if ledger.quarantined != refused:
            ledger.notes.append(f"{refused} refused, {ledger.quarantined} quarantined")
        ledger.detail = f"{refused} events refused by the database"
        return ledger
    finally:
        await engine.dispose()


async def malformed_spill(url: str, folder: Path, *, count: int = 1000) -> Ledger:
    """A spill file with damaged lines among good ones: the good are stored, the bad set aside.

    The damaged lines are counted among the events put: each must come out quarantined.
    """
    put = events("sp", count)
    lines = [event_to_json(e) for e in put]
    damaged = []
    for i in range(5, count, 50):
        kind = i // 50 % 4
        if kind == 0:
            lines[i] = lines[i][: len(lines[i]) // 2]  # truncated by a crash
        elif kind == 1:
            lines[i] = lines[i].replace('"kind":"message"', '"kind":"telepathy"')
        elif kind == 2:
            lines[i] = lines[i].replace("+00:00", "")  # a naive time
        else:
            lines[i] = "\x00\x00\x00"
        damaged.append(i)
    (folder / SPILL_FILE).write_text("\n".join(lines) + "\n", encoding="utf-8")
    engine = create_engine(url)
    try:
        await upgrade(engine)
        writer = IngestWriter(engine, KEY, spill_path=folder / SPILL_FILE, **WRITER)
        await writer.start()
        await writer.close()
        ledger = await account(Ledger("malformed spill file", engine.dialect.name), engine,
                               [e.event_id for e in put], folder)  # fmt: skip
        # A damaged line is no event any more: count it quarantined when its text is set aside.
        aside = (folder / QUARANTINE_FILE).read_text(encoding="utf-8").splitlines()
        set_aside = sum(1 for line in aside if json.loads(line).get("line") is not None)
        ledger.quarantined += set_aside
        ledger.lost -= set_aside
        if set_aside != len(damaged):
            ledger.notes.append(f"{len(damaged)} damaged lines, {set_aside} set aside")
        ledger.detail = f"{len(damaged)} damaged lines among {count}"
        return ledger
    finally:
        await engine.dispose()


def scratch_folder() -> Path:
    """A fresh temporary folder for one scenario's spill and quarantine files."""
    return Path(tempfile.mkdtemp(prefix="pulse-fault-"))


def dumps(ledger: Ledger) -> str:
    """LEDGER as one JSON line."""
    return json.dumps(ledger.__dict__)
