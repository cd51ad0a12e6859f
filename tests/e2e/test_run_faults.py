"""`pulse run` under faults: an unreachable platform is named; a signal stops it in any state."""

import asyncio
import contextlib
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bot.app import SPILL_FILE
from community.ids import slack_message
from storage.engine import create_engine
from storage.migrate import upgrade
from storage.writer.spill import event_to_json
from tests.factories import ev
from tests.fakes.discord import started_fake
from tests.fakes.slack import started_fake_slack
from tests.pulse_process import PulseProcess, eventually, run_config
from tests.storage.test_ingest import _set_outage

ROOT = Path(__file__).resolve().parents[2]


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_an_unreachable_discord_is_named_and_pulse_exits(tmp_path):
    config = tmp_path / "pulse.toml"
    config.write_text(
        f'[discord]\napi_base_url = "http://127.0.0.1:{closed_port()}/api/v10"\n'
        f'[database]\nurl = "sqlite:///{tmp_path / "pulse.db"}"\n'
        "[web]\nport = 0\n"
    )
    env = {**os.environ, "PULSE_DISCORD_TOKEN": "not-a-real-token"}
    # The hang this guards against came in a fraction of runs: try a few.
    for _ in range(3):
        done = subprocess.run(
            [sys.executable, "-c", "from bot.cli import main; main()", "run", "--config", config],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        out = done.stdout + done.stderr
        assert done.returncode == 1, out
        assert "pulse: Discord stopped: Cannot connect to host 127.0.0.1" in out
        assert "database" not in out.split("pulse:", 1)[1].splitlines()[0]
        assert "Traceback" not in out
        assert "Unclosed client session" not in out


# --- stopped by a signal in every state ----------------------------------------------------
#
# `pulse run` runs as a real process against the fake platforms served by this test's loop,
# with [ingest] shutdown_timeout_seconds = SHUTDOWN. Each test brings it to one state, signals
# it, and checks that it exits within the bound, quietly, having lost nothing.


SHUTDOWN = 2  # seconds: [ingest] shutdown_timeout_seconds (tests/pulse_process.run_config)
# The bound: the shutdown budget plus the last steps (cancelling, spilling, closing), with
# room for a loaded machine. A hang is a minute or forever, so the margin costs no power.
BOUND = SHUTDOWN + 8
BOTH = [signal.SIGTERM, signal.SIGINT]


def stored_ids(db: Path) -> set[str]:
    """The event ids stored in SQLite file DB."""
    with contextlib.closing(sqlite3.connect(db)) as conn:
        return {row[0] for row in conn.execute("SELECT event_id FROM activities")}


def spilled_ids(directory: Path) -> set[str]:
    """The event ids in the spill file `pulse run` leaves in DIRECTORY."""
    spill = directory / SPILL_FILE
    if not spill.exists():
        return set()
    return {json.loads(line)["event_id"] for line in spill.read_text().splitlines()}


def assert_stopped(pulse: PulseProcess, code: int, took: float) -> None:
    """The process stopped as asked: promptly, exit 0, no traceback, no error line of its own."""
    out = pulse.text
    assert code == 0, out
    assert took < BOUND, f"took {took:.1f}s\n{out}"
    assert "received: stopping" in out
    assert "Traceback" not in out
    assert "pulse:" not in out  # a requested stop is not a failure
    assert "Unclosed" not in out, out
    assert "Task was destroyed" not in out, out


@contextlib.asynccontextmanager
async def on_discord(tmp_path: Path, database_url: str | None = None, stall: tuple = ()):
    """A fake Discord (never answering STALL) and `pulse run` pointed at it: (fake, pulse)."""
    async with started_fake() as fake:
        fake.stall(*stall)
        config = run_config(
            tmp_path,
            database_url or f"sqlite:///{tmp_path / 'pulse.db'}",
            discord={"api_base_url": fake.base_url, "gateway_url": fake.gateway_url},
        )
        pulse = PulseProcess(config, {"PULSE_DISCORD_TOKEN": fake.token})
        await pulse.start()
        try:
            yield fake, pulse
        finally:
            await pulse.kill()


@contextlib.asynccontextmanager
async def on_slack(tmp_path: Path, database_url: str | None = None, stall: tuple = ()):
    """A fake Slack (never answering STALL) and `pulse run` in Socket Mode: (fake, pulse)."""
    async with started_fake_slack() as fake:
        # Requests left unanswered, or cut by the fake's closing, are the point here.
        fake.strict = False
        fake.stall(*stall)
        config = run_config(
            tmp_path,
            database_url or f"sqlite:///{tmp_path / 'pulse.db'}",
            slack={"api_base_url": fake.api_url},
        )
        secrets = {"PULSE_SLACK_BOT_TOKEN": fake.bot_token, "PULSE_SLACK_APP_TOKEN": fake.app_token}
        pulse = PulseProcess(config, secrets)
        await pulse.start()
        try:
            yield fake, pulse
        finally:
            await pulse.kill()


async def fresh_pg(server) -> tuple[str, str]:
    """A new database on SERVER: its URL and name."""
    from tests.conftest import _fresh_pg_database

    url = await _fresh_pg_database(server)
    return url, url.rsplit("/", 1)[1]


# connecting ----------------------------------------------------------------------------------


@pytest.mark.parametrize("signum", BOTH, ids=["SIGTERM", "SIGINT"])
async def test_stopped_while_the_discord_gateway_never_says_hello(tmp_path, signum):
    async with on_discord(tmp_path, stall=("hello",)) as (fake, pulse):
        await fake.wait_for(lambda: fake.connections, timeout=30, what="a gateway connection")
        code, took = await pulse.stop(signum)
    assert_stopped(pulse, code, took)


async def test_stopped_while_the_slack_socket_never_opens(tmp_path):
    async with on_slack(tmp_path, stall=("socket",)) as (fake, pulse):
        await fake.wait_for(lambda: fake.socket_attempts, timeout=30, what="a socket")
        code, took = await pulse.stop(signal.SIGTERM)
    assert_stopped(pulse, code, took)


async def test_stopped_while_the_slack_web_api_never_answers(tmp_path):
    async with on_slack(tmp_path, stall=("auth.test",)) as (fake, pulse):
        await fake.wait_for(lambda: fake.calls_to("auth.test"), timeout=30, what="auth.test")
        code, took = await pulse.stop(signal.SIGINT)
    assert_stopped(pulse, code, took)


# catching up ---------------------------------------------------------------------------------


async def test_stopped_while_discord_history_is_slow_keeps_live_events(tmp_path):
    async with on_discord(tmp_path, stall=("get_messages",)) as (fake, pulse):
        await fake.wait_for(lambda: fake.calls("get_messages"), timeout=30, what="history")
        live = await fake.send_message(fake.world.general, fake.world.alice, "meanwhile")
        await eventually(lambda: live["id"] in stored_ids(tmp_path / "pulse.db"), "the row")
        code, took = await pulse.stop(signal.SIGINT)
    assert_stopped(pulse, code, took)


async def test_stopped_while_slack_history_is_slow_keeps_live_events(tmp_path):
    async with on_slack(tmp_path, stall=("conversations.history",)) as (fake, pulse):
        await fake.wait_for(
            lambda: fake.calls_to("conversations.history"), timeout=30, what="history"
        )
        live = await fake.post_message(fake.world.general, fake.world.alice, "meanwhile")
        event_id = slack_message(fake.world.general, live["ts"])
        await eventually(lambda: event_id in stored_ids(tmp_path / "pulse.db"), "the row")
        code, took = await pulse.stop(signal.SIGTERM)
    assert_stopped(pulse, code, took)


# the platform down after having been up ------------------------------------------------------


async def test_stopped_while_discord_is_down_logs_one_line_per_reconnect(tmp_path):
    async with on_discord(tmp_path) as (fake, pulse):
        await pulse.wait_for_line("caught up")
        await fake.close()
        await pulse.wait_for_line("Discord connection lost .*reconnect")
        code, took = await pulse.stop(signal.SIGTERM)
    assert_stopped(pulse, code, took)


async def test_stopped_while_slack_is_down(tmp_path):
    async with on_slack(tmp_path) as (fake, pulse):
        await pulse.wait_for_line("caught up")
        await fake.close()
        await pulse.wait_for_line("Failed to receive|Cannot connect")
        code, took = await pulse.stop(signal.SIGINT)
    assert_stopped(pulse, code, took)


# the database down ---------------------------------------------------------------------------


@pytest.mark.postgres
async def test_stopped_while_postgres_refuses_spills_what_discord_sent(tmp_path, postgres_server):
    url, database = await fresh_pg(postgres_server)
    async with on_discord(tmp_path, url) as (fake, pulse):
        await pulse.wait_for_line("caught up")
        await _set_outage(postgres_server, database, down=True)
        try:
            live = await fake.send_message(fake.world.general, fake.world.alice, "outage")
            await pulse.wait_for_line("database unavailable")
            code, took = await pulse.stop(signal.SIGTERM)
        finally:
            await _set_outage(postgres_server, database, down=False)
    assert_stopped(pulse, code, took)
    assert "database still unavailable at shutdown" in pulse.text
    assert live["id"] in spilled_ids(tmp_path)


@pytest.mark.postgres
async def test_stopped_while_postgres_refuses_spills_what_slack_sent(tmp_path, postgres_server):
    url, database = await fresh_pg(postgres_server)
    async with on_slack(tmp_path, url) as (fake, pulse):
        await pulse.wait_for_line("caught up")
        await _set_outage(postgres_server, database, down=True)
        try:
            live = await fake.post_message(fake.world.general, fake.world.alice, "outage")
            await pulse.wait_for_line("database unavailable")
            code, took = await pulse.stop(signal.SIGINT)
        finally:
            await _set_outage(postgres_server, database, down=False)
    assert_stopped(pulse, code, took)
    assert slack_message(fake.world.general, live["ts"]) in spilled_ids(tmp_path)


@pytest.mark.postgres
async def test_stopped_during_spill_replay_keeps_the_spill_file(tmp_path, postgres_server):
    import asyncpg

    url, _ = await fresh_pg(postgres_server)
    engine = create_engine(url)
    await upgrade(engine)
    await engine.dispose()
    spill = tmp_path / SPILL_FILE
    spill.write_text("".join(event_to_json(ev(event_id=f"s{i}")) + "\n" for i in range(50)))
    before = spill.read_text()
    # The replay's first INSERT waits on this lock: the database is there but does not answer.
    locker = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    try:
        async with locker.transaction():
            await locker.execute("LOCK TABLE activities IN ACCESS EXCLUSIVE MODE")
            async with on_discord(tmp_path, url) as (fake, pulse):
                await eventually(
                    lambda: locker.fetchval("SELECT count(*) FROM pg_locks WHERE NOT granted"),
                    "the replay to wait on the lock",
                )
                code, took = await pulse.stop(signal.SIGTERM)
            assert not fake.connections  # stopped before connecting to any platform
    finally:
        await locker.close()
    assert_stopped(pulse, code, took)
    assert "stopped while replaying" in pulse.text
    assert f"stopped during start-up while writing {SPILL_FILE}" in pulse.text
    assert spill.read_text() == before  # kept whole for the next start


async def test_stopped_while_sqlite_is_locked_at_start(tmp_path):
    db = tmp_path / "pulse.db"
    engine = create_engine(f"sqlite:///{db}")
    await upgrade(engine)
    await engine.dispose()
    # Another process holds the write lock: the upgrade at start waits for it (busy_timeout).
    with contextlib.closing(sqlite3.connect(db, isolation_level=None)) as locker:
        locker.execute("BEGIN IMMEDIATE")
        async with on_discord(tmp_path) as (_, pulse):
            # Its signal handlers are in place once it says it is starting; then it waits.
            await pulse.wait_for_line("starting: upgrading the database schema")
            await asyncio.sleep(0.5)
            code, took = await pulse.stop(signal.SIGINT)
        locker.execute("ROLLBACK")
    assert_stopped(pulse, code, took)
    assert "stopped during start-up while upgrading the database schema" in pulse.text


# a routine PostgreSQL shutdown ---------------------------------------------------------------


@pytest.mark.postgres
async def test_a_routine_postgres_shutdown_is_one_line_and_loses_nothing(tmp_path):
    import asyncpg

    from tests.pg import PostgresServer, find_pg_bin

    if find_pg_bin() is None:
        pytest.skip("PostgreSQL binaries (initdb, pg_ctl) not found; install package postgresql")
    # Its own server: stopping the session's would take every other test's database with it.
    server = PostgresServer(find_pg_bin())
    await asyncio.to_thread(server.start)
    try:
        async with on_discord(tmp_path, server.url()) as (fake, pulse):
            await pulse.wait_for_line("caught up")
            await asyncio.to_thread(server.halt, "fast")  # what an operator's restart does
            live = await fake.send_message(fake.world.general, fake.world.alice, "restart")
            await pulse.wait_for_line("database unavailable")
            await asyncio.to_thread(server.resume)
            conn = await asyncpg.connect(server.admin_dsn())
            try:
                await eventually(
                    lambda: conn.fetchval(
                        "SELECT count(*) FROM activities WHERE event_id = $1", live["id"]
                    ),
                    "the event stored once the server is back",
                )
            finally:
                await conn.close()
            code, took = await pulse.stop(signal.SIGTERM)
    finally:
        await asyncio.to_thread(server.stop)
    assert_stopped(pulse, code, took)  # no traceback anywhere, the outage included
    assert any(
        " WARNING storage.writer.queue: database unavailable (" in line for line in pulse.output
    )
