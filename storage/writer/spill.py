"""The spill and quarantine files: JSON lines beside each other, written by the live writer.

The spill file holds events the writer could not store before it stopped; the next start
replays it first. The quarantine file holds what the database refused, and spill lines that
could not be read, each with its reason; moving it to the spill file's name replays it.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, fields
from datetime import datetime
from pathlib import Path

from community.events import ActivityEvent, ActivityKind, Platform

log = logging.getLogger(__name__)

# The quarantine file's name, beside the spill file (see storage.writer.queue.IngestWriter).
QUARANTINE_FILE = "pulse-quarantined.jsonl"


def event_to_dict(event: ActivityEvent) -> dict:
    """An event as the JSON object the spill and quarantine files hold."""
    data = asdict(event)
    data["occurred_at"] = event.occurred_at.isoformat()
    return data


def event_to_json(event: ActivityEvent) -> str:
    """Serialize an event for the spill file."""
    return json.dumps(event_to_dict(event), separators=(",", ":"))


def event_from_json(line: str) -> ActivityEvent:
    """Read an event back from a spill or quarantine file line (ValueError when it cannot be)."""
    data = json.loads(line)
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    if isinstance(data.get("event"), dict):
        data = data["event"]  # a quarantine entry moved back to be replayed
    known = {f.name for f in fields(ActivityEvent)}
    data = {k: v for k, v in data.items() if k in known}
    try:
        data["platform"] = Platform(data["platform"])
        data["kind"] = ActivityKind(data["kind"])
        data["occurred_at"] = datetime.fromisoformat(data["occurred_at"])
        return ActivityEvent(**data)
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"not an event: {exc!r}") from exc


def write_spill(path: Path, events: list[ActivityEvent]) -> None:
    """Append EVENTS to the spill file at PATH."""
    with path.open("a", encoding="utf-8") as fh:
        for event in events:
            fh.write(event_to_json(event) + "\n")


def set_aside(path: Path | None, entries: list[dict]) -> None:
    """Append ENTRIES to the quarantine file at PATH (or, with none set, to the log)."""
    lines = [json.dumps(entry, separators=(",", ":")) for entry in entries]
    if path is None:
        for line in lines:
            log.error("no quarantine file is set; set aside: %s", line)
        return
    try:
        with path.open("a", encoding="utf-8") as fh:
            fh.writelines(line + "\n" for line in lines)
    except OSError as exc:
        # A full or read-only disk must not stop the writer: the log keeps the entries.
        for line in lines:
            log.error("cannot write %s (%s); set aside: %s", path, exc, line)
