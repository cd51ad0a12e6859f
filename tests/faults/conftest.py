"""A PostgreSQL server of the fault tests' own, since they stop, freeze and kill it."""

from __future__ import annotations

import signal

import pytest

from tests.pg import PostgresServer


@pytest.fixture(scope="package")
def fault_server(postgres_server):
    """A durable server (every acknowledged commit survives a crash) the tests may break."""
    server = PostgresServer(postgres_server.bin_dir, durable=True)
    server.start()
    yield server
    server.signal_all(signal.SIGCONT)  # a test that failed while it was frozen
    server.stop()
