"""A PostgreSQL server for the benchmarks that keeps its data between runs (tests/pg.py's, kept).

The scale benchmarks load tens of millions of rows, which takes many minutes: this server keeps
its cluster in a directory of its own (default /tmp/bench-pg/pg), so the data is loaded once and
measured many times. It listens on 127.0.0.1 only, with settings a server for a community of a
million members would get rather than the defaults (shared_buffers 2 GB, work_mem 64 MB);
durability is off (fsync), as it is for the tests' server: the benchmarks measure queries, not
the disk.

    python bench/pg_server.py start      # prints the database URL; creates the cluster if needed
    python bench/pg_server.py url        # the URL of the running server
    python bench/pg_server.py stop       # stops it, keeping the data
    python bench/pg_server.py destroy    # stops it and deletes the data
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import pwd
import shutil
import subprocess
from pathlib import Path

import asyncpg

try:
    from tests.pg import PostgresServer, _free_port, find_pg_bin
except ImportError:  # run as a script: the project root is not on sys.path
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.pg import PostgresServer, _free_port, find_pg_bin

DEFAULT_DIR = Path("/tmp/bench-pg/pg")
DATABASE = "pulse_bench"
TUNING = (
    "-c shared_buffers=2GB -c work_mem=64MB -c maintenance_work_mem=1GB "
    "-c effective_cache_size=8GB -c max_wal_size=8GB -c checkpoint_timeout=30min"
)


class KeptServer(PostgresServer):
    """tests/pg.py's server with a fixed directory and port, kept when stopped."""

    def __init__(self, root: Path) -> None:
        bin_dir = find_pg_bin()
        if bin_dir is None:
            raise SystemExit("PostgreSQL binaries (initdb, pg_ctl) not found")
        self.bin_dir = bin_dir
        self.durable = False
        self.root = root
        self.data = root / "data"
        self.user = "pulse"
        self._run_as = []
        port_file = root / "port"
        self.root.mkdir(parents=True, exist_ok=True)
        if not port_file.exists():
            port_file.write_text(str(_free_port()))
        self.port = int(port_file.read_text())
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            os.chown(self.root, pw.pw_uid, pw.pw_gid)
            self._run_as = ["runuser", "-u", "postgres", "--"]
        self._options = (
            f"-c listen_addresses=127.0.0.1 -c port={self.port} "
            f"-c unix_socket_directories={self.root} -c fsync=off -c full_page_writes=off "
            f"-c synchronous_commit=off -c max_connections=50 {TUNING}"
        )

    def running(self) -> bool:
        """Whether the server of this directory is up."""
        status = subprocess.run(
            [*self._run_as, str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "status"],
            capture_output=True,
            cwd=self.root,
        )
        return status.returncode == 0

    def ensure_started(self) -> str:
        """Create the cluster and database when missing, start the server; return the URL."""
        if not (self.data / "PG_VERSION").exists():
            self._run(
                str(self.bin_dir / "initdb"), "-D", str(self.data), "-U", self.user,
                "--auth=trust", "--encoding=UTF8", "--no-sync",
            )  # fmt: skip
        if not self.running():
            self.restart()
        asyncio.run(self._create_database())
        return self.url(DATABASE)

    async def _create_database(self) -> None:
        conn = await asyncpg.connect(self.admin_dsn())
        try:
            found = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", DATABASE)
            if not found:
                await conn.execute(f'CREATE DATABASE "{DATABASE}"')
        finally:
            await conn.close()

    def stop_keeping(self) -> None:
        """Stop the server (fast shutdown), keeping its data."""
        if self.running():
            self.halt("fast")

    def destroy(self) -> None:
        """Stop the server and delete its directory."""
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop_keeping()
        shutil.rmtree(self.root, ignore_errors=True)


def main() -> None:
    """Start, stop or destroy the server, or print its URL."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("start", "url", "stop", "destroy"))
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR, help=f"({DEFAULT_DIR})")
    args = parser.parse_args()
    server = KeptServer(args.dir)
    if args.action == "start":
        print(server.ensure_started())
    elif args.action == "url":
        print(server.url(DATABASE))
    elif args.action == "stop":
        server.stop_keeping()
    else:
        server.destroy()


if __name__ == "__main__":
    main()
