"""What a journal of accepted events would cost: a prototype timed here, not in the product.

`pulse run` keeps the events it accepted and has not committed in memory only, so a SIGKILL
loses them (docs/storage.md). Closing that gap would mean appending every accepted event to a
local file before it is queued, and replaying the file at start (the spill file's replay would
do: it is idempotent). This script times the append alone, on the disk of --dir, for each
durability policy:

* ``memory``: no journal, serializing only (the part of the cost no policy avoids).
* ``write``: one ``write`` per event, no fsync. Survives a SIGKILL or the OOM killer (the data
  is in the kernel's page cache once ``write`` returns), not a power cut or a kernel crash.
* ``fsync per N``: one ``write`` per event and an ``fsync`` every N events, as a batch's commit
  would. Survives a power cut up to the last N events.
* ``fsync per event``: survives everything, at one disk flush per event.

The events are the ingest benchmark's kind (tests.factories.ev) serialized as the spill file
does (storage.writer.event_to_json). Run it from the project root with the virtualenv::

    python bench/journal.py
    python bench/journal.py --events 20000 --dir /var/lib/pulse
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from storage.writer.spill import event_to_json  # noqa: E402 - after the path is set
from tests.factories import ev  # noqa: E402


def journal(path: Path | None, events: list, fsync_every: int | None) -> float:
    """Serialize EVENTS and append them to PATH (None: serialize only), fsync every FSYNC_EVERY.

    Returns the seconds taken.
    """
    started = time.perf_counter()
    if path is None:
        for event in events:
            (event_to_json(event) + "\n").encode()
        return time.perf_counter() - started
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        for n, event in enumerate(events, 1):
            os.write(fd, (event_to_json(event) + "\n").encode())
            if fsync_every and n % fsync_every == 0:
                os.fsync(fd)
        if fsync_every:
            os.fsync(fd)
    finally:
        os.close(fd)
    return time.perf_counter() - started


def main() -> None:
    """Time each policy and print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--per-event-events", type=int, default=2_000,
                        help="events for the fsync-per-event policy (it is slow)")  # fmt: skip
    parser.add_argument("--dir", type=Path, default=None, help="where the journal goes")
    args = parser.parse_args()
    events = [
        ev(member=f"m{i % 500}", event_id=f"journal-{i}", days=i / 10_000)
        for i in range(args.events)
    ]
    folder = Path(tempfile.mkdtemp(prefix="pulse-journal-", dir=args.dir))
    policies = [
        ("memory (no journal)", None, args.events),
        ("write, no fsync", 0, args.events),
        ("fsync per 500", 500, args.events),
        ("fsync per 50", 50, args.events),
        ("fsync per event", 1, args.per_event_events),
    ]
    print(f"journal in {folder}; {len(event_to_json(events[0])) + 1} bytes an event\n")
    print("| policy | events | s | events/s | µs per event | µs added by the journal |")
    print("|---|---|---|---|---|---|")
    base = None
    try:
        for name, every, count in policies:
            path = None if every is None else folder / f"{name.replace(' ', '-')}.jsonl"
            each = journal(path, events[:count], every) / count * 1e6
            base = each if base is None else base
            print(f"| {name} | {count} | {each * count / 1e6:.3f} | {1e6 / each:,.0f} | "
                  f"{each:.1f} | {each - base:.1f} |")  # fmt: skip
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
