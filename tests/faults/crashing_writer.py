"""The live writer in a process of its own, for tests that kill it with SIGKILL mid-stream.

    python -m tests.faults.crashing_writer URL SPILL_FOLDER MARKER COUNT

It puts COUNT events (tests.faults.scenarios.events("kw", COUNT)) and keeps in MARKER how many
it has stored and how many the writer has accepted: "STORED ACCEPTED".
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from storage.engine import create_engine
from storage.writer.queue import IngestWriter
from tests.faults import scenarios


async def main(url: str, folder: str, marker: str, count: str) -> None:
    """Stream the events into URL until killed (or done)."""
    engine = create_engine(url)
    writer = IngestWriter(
        engine, scenarios.KEY, spill_path=Path(folder) / scenarios.SPILL_FILE, **scenarios.WRITER
    )
    await writer.start()
    producing = asyncio.create_task(writer.put_many(scenarios.events("kw", int(count))))
    seen = ""
    while not producing.done() or writer.pending:
        now = f"{writer.stats.inserted} {writer.stats.received}"
        if now != seen:
            seen = now
            Path(marker).write_text(now)  # noqa: ASYNC240 - a few bytes, and it must not lag
        await asyncio.sleep(0.001)
    await writer.close()
    await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:]))
