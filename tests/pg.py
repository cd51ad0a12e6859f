"""A throwaway PostgreSQL server for the test session: initdb + pg_ctl on a free loopback port."""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path


def find_pg_bin() -> Path | None:
    """The directory holding initdb and pg_ctl, or None when PostgreSQL is not installed."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(os.path.realpath(found)).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    return Path(candidates[0]).parent if candidates else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PostgresServer:
    """One server in a temporary directory, owned by an unprivileged user when we are root."""

    def __init__(self, bin_dir: Path, *, durable: bool = False) -> None:
        self.bin_dir = bin_dir
        # Fast by default: commits are not waited for, which a crash of the server would undo.
        # Fault tests that crash it want every acknowledged commit kept, as in production.
        self.durable = durable
        self.root = Path(tempfile.mkdtemp(prefix="pulse-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self.user = "pulse"
        self._run_as: list[str] = []
        if os.geteuid() == 0:
            # initdb refuses to run as root; the postgresql package brings a 'postgres' user.
            pw = pwd.getpwnam("postgres")
            os.chown(self.root, pw.pw_uid, pw.pw_gid)
            self._run_as = ["runuser", "-u", "postgres", "--"]

    def _run(self, *args: str) -> None:
        subprocess.run([*self._run_as, *args], check=True, capture_output=True, cwd=self.root)

    def start(self) -> None:
        """Create the cluster and start the server, listening on 127.0.0.1 only."""
        self._run(
            str(self.bin_dir / "initdb"),
            "-D", str(self.data),
            "-U", self.user,
            "--auth=trust",
            "--encoding=UTF8",
            "--no-sync",
        )  # fmt: skip
        self.resume()

    def resume(self) -> None:
        """Start the server on its existing cluster (after start(), or after halt())."""
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={self.port} "
            f"-c unix_socket_directories={self.root} -c fsync=off "
            "-c full_page_writes=off -c max_connections=200"
        )
        if not self.durable:
            options += " -c synchronous_commit=off"
        self._options = options
        self.restart()

    def restart(self) -> None:
        """Start the server again (after halt or kill_postmaster), on the same port."""
        self._run(
            str(self.bin_dir / "pg_ctl"),
            "-D", str(self.data),
            "-o", self._options,
            "-l", str(self.root / "server.log"),
            "-w", "-t", "60",
            "start",
        )  # fmt: skip

    def halt(self, mode: str = "fast") -> None:
        """Stop the server as an operator would (pg_ctl stop -m MODE), keeping its files."""
        self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def postmaster_pid(self) -> int:
        """The running postmaster's process id."""
        return int((self.data / "postmaster.pid").read_text().split()[0])

    def pids(self) -> list[int]:
        """The postmaster and every process it started (backends, checkpointer, ...)."""
        parent = self.postmaster_pid()
        found = [parent]
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError, ValueError, IndexError):
                # The command name is in parentheses and may hold spaces: split after it.
                if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == parent:
                    found.append(int(stat.parent.name))
        return found

    def signal_all(self, signum: int) -> None:
        """Send SIGNUM to the postmaster and all its processes (SIGSTOP freezes the server)."""
        for pid in self.pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signum)

    def kill_postmaster(self) -> None:
        """SIGKILL the postmaster and wait until its processes have noticed and exited."""
        pids = self.pids()
        os.kill(pids[0], signal.SIGKILL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(Path(f"/proc/{p}").exists() for p in pids):
            time.sleep(0.05)

    def stop(self) -> None:
        """Stop the server and remove its files."""
        try:
            self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        """A SQLAlchemy URL for DATABASE on this server."""
        return f"postgresql+asyncpg://{self.user}@127.0.0.1:{self.port}/{database}"

    async def create_database(self, name: str) -> str:
        """Create an empty database NAME on this server; its SQLAlchemy URL."""
        import asyncpg

        conn = await asyncpg.connect(self.admin_dsn())
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        return self.url(name)

    def admin_dsn(self) -> str:
        """A plain DSN for asyncpg, to create and drop databases."""
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/postgres"
