"""Shared fixtures: real SQLite files and a real PostgreSQL server started for the session."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import pytest

from storage.engine import create_engine
from storage.migrate import upgrade
from tests.fakes.discord import fake_discord  # noqa: F401 - the fixture, shared with all tests
from tests.fakes.slack import fake_slack  # noqa: F401 - the fixture, shared with all tests
from tests.pg import PostgresServer, find_pg_bin

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
_db_counter = itertools.count()


@pytest.fixture(scope="session")
def postgres_server():
    """The session's PostgreSQL server; skips only where no PostgreSQL binaries exist."""
    bin_dir = find_pg_bin()
    if bin_dir is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL binaries are missing in CI: .ci/run should have installed them")
        pytest.skip("PostgreSQL binaries (initdb, pg_ctl) not found; install package postgresql")
    server = PostgresServer(bin_dir)
    server.start()
    yield server
    server.stop()


async def _fresh_pg_database(server: PostgresServer) -> str:
    return await server.create_database(f"pulse_test_{os.getpid()}_{next(_db_counter)}")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(request, tmp_path) -> str:
    """An empty database on each backend: a SQLite file, and a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'pulse.db'}"
    server = request.getfixturevalue("postgres_server")
    return await _fresh_pg_database(server)


@pytest.fixture
async def engine(database_url):
    """An engine on a migrated, empty database of each backend."""
    engine = create_engine(database_url)
    await upgrade(engine)
    yield engine
    await engine.dispose()


@pytest.fixture
async def sqlite_engine(tmp_path):
    """An engine on a migrated SQLite file, for tests that need only one backend."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'pulse.db'}")
    await upgrade(engine)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory):
    """The demo community, seeded once per session through `pulse demo`; read it, never write."""
    import json

    from tests.factories import pulse

    path = tmp_path_factory.mktemp("demo") / "pulse-demo.db"
    result = pulse("demo", "--out", path, "--json")
    assert result.exit_code == 0, result.output
    return path, json.loads(result.stdout)
