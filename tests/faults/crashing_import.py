"""`pulse import`'s import path in a process of its own, for tests that kill it with SIGKILL.

    python -m tests.faults.crashing_import URL EXPORT MARKER BATCH_SIZE

After each committed batch it writes how many events it has newly stored so far to MARKER.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from bot.importers.run import run_import
from bot.importers.slack import SlackExportReader
from tests.faults.imports import HELP, NOW, settings_for


def main(url: str, export: str, marker: str, batch_size: str) -> None:
    """Import EXPORT into URL, recording progress in MARKER."""
    path = Path(marker)

    def progress(stats) -> None:
        path.write_text(str(stats.inserted))

    reader = SlackExportReader(Path(export), help_channels=HELP)
    asyncio.run(
        run_import(
            settings_for(url),
            reader,
            NOW,
            batch_size=int(batch_size),
            defer_indexes_from=1,
            on_batch=progress,
            in_process=False,
        )
    )


if __name__ == "__main__":
    main(*sys.argv[1:])
