"""Fault-injection report: what became of every event put, in each fault scenario.

Each scenario runs Pulse's real writer (or its import) while a fault strikes, then accounts
for every event id put: stored (exactly one row), quarantined (set aside with its reason),
still spilled (waiting for the next start), lost, or duplicated (a second row or entry). The
scenarios are those of tests/faults (tests/faults/scenarios.py and imports.py), which assert
the same ledgers; this script runs them once more and prints the table. The target is 0 lost
and 0 duplicated everywhere, with one stated exception: a process killed with SIGKILL loses
what it had accepted into memory and not yet committed (only a shutdown spills). For `pulse run`
(tests/faults/killed_run.py) the restart's catch-up reads most of that again from the platform:
its rows say, kind by kind, what came back.

PostgreSQL scenarios run on a throwaway server this script starts (initdb + pg_ctl on a free
loopback port, as the tests do), configured to keep every acknowledged commit.

Run it from the project root with the project's virtualenv::

    python bench/faults.py
    python bench/faults.py --no-postgres    # SQLite scenarios only
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests import exports  # noqa: E402 - after the path is set
from tests.faults import imports, killed_run, scenarios  # noqa: E402
from tests.pg import PostgresServer, find_pg_bin  # noqa: E402

COLUMNS = ("put", "stored", "quarantined", "spilled", "lost", "duplicated")


def row(ledger: scenarios.Ledger, seconds: float) -> str:
    """One table row for LEDGER."""
    counts = " | ".join(str(getattr(ledger, c)) for c in COLUMNS)
    check = "yes" if ledger.rollups_match else "**no**"
    notes = "; ".join([*ledger.notes, ledger.detail] if ledger.detail else ledger.notes)
    return (
        f"| {ledger.scenario} | {ledger.backend} | {counts} | {check} | {seconds:.1f} | {notes} |"
    )


KILLED_RUN = "kill -9 pulse run, then restart with catch-up"
KIND_COLUMNS = ("put", "in_memory", "stored", "lost", "duplicated")


def killed_run_ledger(run: killed_run.RunLedger) -> scenarios.Ledger:
    """RUN's kinds added up as one row of the table, what was lost named by kind."""
    ledger = scenarios.Ledger(f"{KILLED_RUN} ({run.platform})", run.backend)
    for column in ("put", "stored", "lost", "duplicated"):
        setattr(ledger, column, sum(getattr(k, column) for k in run.kinds))
    ledger.rollups_match = run.rollups_match
    held = sum(k.in_memory for k in run.kinds)
    lost = ", ".join(f"{k.lost} {k.kind}" for k in run.kinds if k.lost)
    ledger.detail = f"{held} only in memory at the kill; lost: {lost or 'none'}"
    return ledger


def kind_rows(run: killed_run.RunLedger) -> list[str]:
    """One row per kind of RUN for the by-kind table."""
    return [
        f"| {run.platform} | {run.backend} | {k.kind} | "
        + " | ".join(str(getattr(k, c)) for c in KIND_COLUMNS)
        + " |"
        for k in run.kinds
    ]


async def run(postgres: bool, seed: int, by_kind: list[str]) -> list[str]:
    """Run every scenario; return the table's rows (and add the killed runs' to BY_KIND)."""
    os.environ["PULSE_HASH_KEY"] = imports.KEY
    work = Path(tempfile.mkdtemp(prefix="pulse-faults-bench-"))
    server = None
    rows = []

    def folder(name: str) -> Path:
        path = work / name.replace(" ", "-")
        path.mkdir(parents=True)
        return path

    async def timed(make) -> None:
        started = time.monotonic()
        ledger = await make
        rows.append(row(ledger, time.monotonic() - started))
        print(rows[-1], flush=True)

    try:
        urls = {"sqlite": lambda name: f"sqlite+aiosqlite:///{folder(name)}/pulse.db"}
        if postgres:
            server = PostgresServer(find_pg_bin(), durable=True)
            server.start()
            for fault in scenarios.PG_FAULTS:
                await timed(scenarios.live_writer_under_fault(server, fault, folder(fault)))

            async def frozen_shutdown():
                ledger, closing = await scenarios.shutdown_while_frozen(server, folder("frozen"))
                ledger.detail = f"close() returned in {closing:.1f} s, the server still frozen"
                return ledger

            await timed(frozen_shutdown())
            names = iter(range(1000))

            async def pg_url(_name: str) -> str:
                return await scenarios.fresh_database(server, f"bench_{next(names)}")

            urls["postgresql"] = pg_url
        export = exports.busy_slack(work / "export", imports.NOW - timedelta(days=1), seed=seed)
        for backend, make_url in urls.items():

            async def url(name: str, make_url=make_url) -> str:
                made = make_url(name)
                return await made if asyncio.iscoroutine(made) else made

            await timed(scenarios.poison(await url(f"poison-{backend}"), folder(f"p-{backend}")))
            await timed(
                scenarios.malformed_spill(await url(f"spill-{backend}"), folder(f"s-{backend}"))
            )
            kills = 3
            await timed(
                imports.killed_imports(
                    await url(f"import-{backend}"),
                    await url(f"clean-{backend}"),
                    export,
                    folder(f"i-{backend}"),
                    seed=seed,
                    kills=kills,
                )
            )
            await timed(
                scenarios.killed_writer(await url(f"writer-{backend}"), folder(f"w-{backend}"))
            )
            for platform in ("discord", "slack"):

                async def killed(platform=platform, backend=backend, url=url):
                    name = f"run-{platform}-{backend}"
                    ran = await killed_run.killed_run(
                        platform, await url(name), folder(f"k-{name}")
                    )
                    by_kind.extend(kind_rows(ran))
                    return killed_run_ledger(ran)

                await timed(killed())
    finally:
        if server is not None:
            server.signal_all(signal.SIGCONT)
            server.stop()
        shutil.rmtree(work, ignore_errors=True)
    return rows


def main() -> None:
    """Parse arguments, run the scenarios, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-postgres", action="store_true", help="SQLite scenarios only")
    parser.add_argument("--seed", type=int, default=11, help="seeds the kill points")
    args = parser.parse_args()
    postgres = not args.no_postgres
    if postgres and find_pg_bin() is None:
        sys.exit("PostgreSQL binaries (initdb, pg_ctl) not found: install them or --no-postgres")
    header = "| scenario | backend | " + " | ".join(COLUMNS) + " | rollups add up | s | notes |"
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    by_kind: list[str] = []
    rows = asyncio.run(run(postgres, args.seed, by_kind))
    print(f"\n{KILLED_RUN}, by kind:\n")
    print(
        "| platform | backend | kind | put | only in memory at the kill | stored after the "
        "restart | lost | duplicated |"
    )
    print("|---|---|---|" + "---|" * len(KIND_COLUMNS))
    print("\n".join(by_kind))
    killed = ("kill -9 live writer", KILLED_RUN)
    lost = sum(int(r.split(" | ")[6]) for r in rows if not any(k in r for k in killed))
    after_restart = sum(int(r.split(" | ")[6]) for r in rows if KILLED_RUN in r)
    duplicated = sum(int(r.split(" | ")[7]) for r in rows)
    print(
        f"\nlost (outside a SIGKILLed process)={lost} duplicated={duplicated} "
        f"lost (SIGKILLed pulse run, after its restart's catch-up)={after_restart}"
    )


if __name__ == "__main__":
    main()
