"""DiscordChatExporter CSV exports (the older layout): rows of messages and counted reactions.

``AuthorID;Author;Date;Content;Attachments;Reactions`` (some versions use commas). CSV files name
neither their server nor their messages, so the server id comes from --guild-id and the channel
from the file name DiscordChatExporter gives them (``Server - Category - channel [channel
id].csv``, or ``… [channel id] [part 2].csv`` when an export is split), else from --channel-id.
"""

from __future__ import annotations

import csv
import itertools
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bot.importers.feed import Chunk
from bot.importers.files import open_file
from bot.importers.json_reading import UTF8_BOM
from bot.importers.limits import (
    MAX_VALUE_BYTES,
    ImportFormatError,
    ImportLimitError,
    MiB,
    limit_note,
)
from community import ids
from community.discord_map import DiscordChannel, DiscordMapper
from community.events import ActivityEvent, ActivityKind, Platform
from community.mapping import MAX_REACTIONS_PER_MESSAGE, MappingError, RecentMap, shown
from community.text import message_features

CSV_COLUMNS = ["AuthorID", "Author", "Date", "Content", "Attachments", "Reactions"]
# "[123]" in a file name; the last one is the channel ("[part 2]" may follow it).
_ID_IN_NAME = re.compile(r"\[(\d+)\]")
_CSV_REACTION = re.compile(r"\s*([^,]+?)\s*\((\d+)\)\s*(?:,|$)")
# Date formats older DiscordChatExporter versions wrote into CSV (the default was the first).
_CSV_DATE_FORMATS = ("%d-%b-%y %I:%M %p", "%d-%b-%Y %I:%M %p", "%m/%d/%Y %I:%M %p")
_DISCRIMINATOR = re.compile(r"#\d{4}$")  # "Name#1234" in CSV exports


@dataclass
class CsvFile:
    """A CSV export, with the channel its name (or --channel-id) gives."""

    path: Path
    size: int
    channel: DiscordChannel


def csv_file(path: Path, channel_id: str | None) -> CsvFile:
    """PATH checked as a CSV export: the channel it holds, from its name or CHANNEL_ID."""
    stem = path.stem
    found = list(_ID_IN_NAME.finditer(stem))
    if not found:
        if channel_id:
            return CsvFile(path, path.stat().st_size, DiscordChannel(channel_id, None))
        raise ImportFormatError(
            f"{path}: cannot tell which channel this CSV export is: DiscordChatExporter names "
            "its files '<server> - <category> - <channel> [<channel id>].csv'; rename it so, "
            "or pass --channel-id"
        )
    last = found[-1]
    name = stem[: last.start()].strip().rsplit(" - ", 1)[-1].strip() or None
    return CsvFile(path, path.stat().st_size, DiscordChannel(last.group(1), name))


def csv_chunks(
    file: CsvFile,
    guild_id: str,
    discord_mapper: DiscordMapper,
    skipped: Counter,
    *,
    max_messages: int,
    max_events: int,
) -> Iterator[Chunk]:
    """A CSV export's events, in chunks of at most MAX_MESSAGES rows or MAX_EVENTS events."""
    mapper = _CsvMapper(guild_id, file.channel, discord_mapper, skipped)
    events: list[ActivityEvent] = []
    error: ImportFormatError | None = None
    with open_file(file.path) as raw:
        head = raw.read(4)
        if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
            raise ImportFormatError(
                f"{file.path}: the file is UTF-16 encoded; exports are UTF-8 (re-save it as UTF-8)"
            )
        raw.seek(0)
        lines = _Lines(raw, file.path)
        rows = reported = counted = 0
        try:
            first = next(iter(lines), "")
            delimiter = _csv_delimiter(file.path, first)
            # Strict: DiscordChatExporter quotes every field, so a quote left open (a file
            # cut inside a field) is damage, not a field that runs to the end of the file.
            reader = csv.reader(itertools.chain([first], lines), delimiter=delimiter, strict=True)
            header = [c.strip() for c in next(reader)]
            if header[: len(CSV_COLUMNS)] != CSV_COLUMNS:
                raise ImportFormatError(
                    f"{file.path}: line 1: unknown layout: expected the columns "
                    f"{';'.join(CSV_COLUMNS)}, found {delimiter.join(header)}"
                )
            for row in reader:
                lines.row_bytes = 0
                if not row or row == [""]:
                    rows += 1
                    continue
                if len(row) < len(CSV_COLUMNS):
                    raise ImportFormatError(
                        f"{file.path}: line {lines.number:,}: {len(row)} columns, "
                        f"expected {len(CSV_COLUMNS)} (a cut or damaged file?)"
                    )
                try:
                    events += mapper.events(row)
                except MappingError as exc:
                    raise ImportFormatError(f"{file.path}: line {lines.number:,}: {exc}") from None
                rows += 1
                if rows - counted == max_messages or len(events) >= max_events:
                    position = min(raw.tell(), file.size)
                    yield Chunk(events, position - reported, rows - counted)
                    reported, counted = position, rows
                    events = []
        except ImportFormatError as exc:
            error = exc
        except csv.Error as exc:
            if "unexpected end of data" in str(exc):
                reason = "the file ends inside a quoted field (cut or damaged?)"
            else:
                reason = f"not valid CSV ({exc}; a damaged file?)"
            error = ImportFormatError(f"{file.path}: line {lines.number:,}: {reason}")
    if error is not None:
        # The rows before the damage are whole: store them, then stop.
        yield Chunk(events, 0, rows - counted)
        raise error
    yield Chunk(events, file.size - reported, rows - counted)


class _Lines:
    """A binary file's lines decoded one by one, so a bad byte is reported with its line.

    A row (one line, or several for a quoted field with line breaks) is held to
    MAX_VALUE_BYTES: the reader sets ``row_bytes`` to 0 at each row.
    """

    def __init__(self, raw, path: Path) -> None:
        self._raw = raw
        self._path = path
        self.number = 0
        self.row_bytes = 0

    def __iter__(self) -> Iterator[str]:
        while line := self._raw.readline(MAX_VALUE_BYTES + 1):
            self.number += 1
            self.row_bytes += len(line)
            if self.row_bytes > MAX_VALUE_BYTES:
                raise ImportLimitError(
                    f"{self._path}: line {self.number:,}: "
                    + limit_note(f"one row larger than {MAX_VALUE_BYTES // MiB} MiB")
                )
            if self.number == 1 and line.startswith(UTF8_BOM):
                line = line[len(UTF8_BOM) :]
            try:
                yield line.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise ImportFormatError(
                    f"{self._path}: not UTF-8 text at line {self.number:,}, column "
                    f"{exc.start + 1} (wrong encoding? exports are UTF-8)"
                ) from None


def _csv_delimiter(path: Path, first_line: str) -> str:
    if first_line.startswith("AuthorID;"):
        return ";"
    if first_line.startswith("AuthorID,"):
        return ","
    raise ImportFormatError(
        f"{path}: line 1: unknown layout: a DiscordChatExporter CSV export starts with "
        f"{';'.join(CSV_COLUMNS)}"
    )


def parse_csv_date(value: str) -> datetime:
    """A CSV export's Date: ISO 8601, or the older "05-Jan-18 03:45 PM" forms (taken as UTC)."""
    value = value.strip()
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        for fmt in _CSV_DATE_FORMATS:
            try:
                when = datetime.strptime(value, fmt)  # noqa: DTZ007 (made aware below)
                break
            except ValueError:
                continue
        else:
            raise MappingError(f"Date {shown(value)} is not a date this importer knows") from None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


class _CsvMapper:
    """CSV rows into events: messages and counted reactions; no replies, mentions or bots."""

    def __init__(
        self, guild_id: str, channel: DiscordChannel, mapper: DiscordMapper, skipped: Counter
    ) -> None:
        self.guild_id = guild_id
        self.channel = channel
        self.help = channel.id in mapper.help_channels
        self.skipped = skipped
        # (author, date, content) seen lately -> how often: identical rows keep distinct ids.
        self._seen = RecentMap(10_000)

    def events(self, row: list[str]) -> list[ActivityEvent]:
        author_id, author, date, content, _attachments, reactions = row[:6]
        author_id = author_id.strip()
        if not author_id:
            raise MappingError("the row has no AuthorID")
        when = parse_csv_date(date)
        key = (author_id, date, content)
        occurrence = self._seen.get(key, 0) + 1
        self._seen[key] = occurrence
        event_id = ids.discord_csv_message(self.channel.id, author_id, date, content, occurrence)
        # Without reply or mention data a thank-you is aimed at nobody the export can name.
        feats = message_features(content, in_help_channel=self.help, aimed_at_member=False)
        name = _DISCRIMINATOR.sub("", author.strip())
        common = {
            "platform": Platform.DISCORD,
            "space_id": self.guild_id,
            "member_id": author_id,
            "occurred_at": when,
            "channel_id": self.channel.id,
            "channel_name": self.channel.name,
            "member_name": name or None,
        }
        out = [
            ActivityEvent(
                event_id=event_id,
                kind=ActivityKind.MESSAGE,
                is_question=feats.is_question,
                **common,
            )
        ]
        credited = 0
        for match in _CSV_REACTION.finditer(reactions or ""):
            emoji, count = match.group(1), int(match.group(2))
            if credited + count > MAX_REACTIONS_PER_MESSAGE:
                past = credited + count - MAX_REACTIONS_PER_MESSAGE
                self.skipped[f"reaction past {MAX_REACTIONS_PER_MESSAGE:,} on one message"] += past
                count = MAX_REACTIONS_PER_MESSAGE - credited
            credited += count
            for n in range(1, count + 1):
                out.append(
                    ActivityEvent(
                        event_id=ids.discord_counted_reaction(event_id, emoji, n),
                        kind=ActivityKind.REACTION_RECEIVED,
                        target_member_id=author_id,
                        parent_event_id=event_id,
                        **common,
                    )
                )
        return out
