"""Read DiscordChatExporter exports (JSON, and the older CSV layout) as a stream of events.

A folder is searched for .json and .csv files; each is checked up front, then read in chunks:
JSON exports by bot.importers.discord_json, CSV exports by bot.importers.discord_csv.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Collection, Iterator
from pathlib import Path

from bot.importers.discord_csv import CsvFile, csv_chunks, csv_file
from bot.importers.discord_json import JsonFile, json_chunks, json_file
from bot.importers.feed import Chunk
from bot.importers.limits import ImportFormatError
from community.discord_map import DiscordMapper
from community.helpgraph import DEFAULT_ACCEPT_KEYS

# Chunks of a streamed JSON file: small enough for a smooth progress bar.
_CHUNK_MESSAGES = 2000
# ...or fewer, when they hold this many events (reactions): a chunk's memory stays bounded.
_CHUNK_EVENTS = 20_000


def _discover(paths: Collection[Path]) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            for file in sorted(path.rglob("*")):
                # DiscordChatExporter keeps downloaded media in "<export>_Files" folders.
                if any(part.endswith("_Files") for part in file.relative_to(path).parts[:-1]):
                    continue
                if file.is_file() and file.suffix.lower() in (".json", ".csv"):
                    found.append(file)
        elif path.is_file():
            found.append(path)
        else:
            raise ImportFormatError(f"{path}: no such file or folder")
    if not found:
        raise ImportFormatError(
            "no DiscordChatExporter exports (.json or .csv) in " + ", ".join(map(str, paths))
        )
    return found


class DiscordExportReader:
    """DiscordChatExporter files, checked up front; ``chunks()`` streams their events."""

    def __init__(
        self,
        paths: Collection[Path],
        *,
        help_channels: Collection[str] = (),
        guild_id: str | None = None,
        channel_id: str | None = None,
        accept: frozenset[str] = DEFAULT_ACCEPT_KEYS,
    ) -> None:
        self.mapper = DiscordMapper(help_channels=help_channels, accept=accept)
        self.skipped: Counter[str] = self.mapper.skipped
        self.guild_id = guild_id
        json_files: list[JsonFile] = []
        csv_files: list[CsvFile] = []
        for path in _discover(paths):
            if path.suffix.lower() == ".csv":
                csv_files.append(csv_file(path, channel_id))
            else:
                json_files.append(json_file(path))
        if csv_files and not guild_id:
            raise ImportFormatError(
                f"{csv_files[0].path}: CSV exports do not name their server; pass --guild-id "
                "with the server's id (in Discord: right-click the server, Copy Server ID)"
            )
        # Channels before threads, so a thread's replies can find the messages they answer.
        json_files.sort(key=lambda f: (f.channel.thread_id is not None, str(f.path)))
        self._json = json_files
        self._csv = csv_files
        # Opens the same exports again, in an import's reader process.
        self.reopen = functools.partial(
            DiscordExportReader,
            tuple(paths),
            help_channels=tuple(help_channels),
            guild_id=guild_id,
            channel_id=channel_id,
        )
        self.files = len(json_files) + len(csv_files)
        # What the summary must say about what these files cannot show.
        self.notes: list[str] = []
        if csv_files:
            self.notes.append(
                "CSV exports carry no replies: nobody in them can be shown helping anyone; "
                "their members are classified on messages and reactions alone"
            )
        self.total_bytes = sum(f.size for f in json_files) + sum(f.size for f in csv_files)

    @property
    def unresolved_replies(self) -> int:
        """Replies whose target message was not in the exports read so far."""
        return self.mapper.unresolved_replies

    def chunks(self) -> Iterator[Chunk]:
        """Every file's events, channels first, in chunks of a few thousand messages."""
        for file in self._json:
            yield from json_chunks(
                file, self.mapper, max_messages=_CHUNK_MESSAGES, max_events=_CHUNK_EVENTS
            )
        for file in self._csv:
            yield from csv_chunks(
                file,
                self.guild_id or "",
                self.mapper,
                self.skipped,
                max_messages=_CHUNK_MESSAGES,
                max_events=_CHUNK_EVENTS,
            )
