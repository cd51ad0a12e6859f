"""Read DiscordChatExporter exports (JSON, and the older CSV layout) as a stream of events.

JSON: one file per channel or thread, ``guild`` and ``channel`` first, then a ``messages``
array that can run to gigabytes; it is streamed message by message (ijson's C parser), never
loaded whole. CSV: ``AuthorID;Author;Date;Content;Attachments;Reactions`` (some versions use
commas); CSV files name neither their server nor their messages, so the server id comes from
--guild-id and the channel from the file name DiscordChatExporter gives them
(``Server - Category - channel [channel id].csv``, or ``… [channel id] [part 2].csv`` when an
export is split), else from --channel-id.
"""

from __future__ import annotations

import csv
import functools
import itertools
import re
from collections import Counter
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import ijson
from ijson.common import ObjectBuilder

from bot.importers.feed import Chunk
from bot.importers.files import (
    JSON_STREAM_ERRORS,
    MAX_VALUE_BYTES,
    UTF8_BOM,
    CountingReader,
    ImportFormatError,
    ImportLimitError,
    MiB,
    describe_json_stream_error,
    limit_note,
    stream_items,
)
from community import ids
from community.discord_map import DiscordChannel, DiscordMapper
from community.events import ActivityEvent, ActivityKind, Platform
from community.helpgraph import DEFAULT_ACCEPT_KEYS
from community.mapping import (
    MAX_REACTIONS_PER_MESSAGE,
    MappingError,
    RecentMap,
    id_or_none,
    shown,
    text_or_none,
)
from community.text import message_features

CSV_COLUMNS = ["AuthorID", "Author", "Date", "Content", "Attachments", "Reactions"]
# Chunks of a streamed JSON file: small enough for a smooth progress bar.
_CHUNK_MESSAGES = 2000
# ...or fewer, when they hold this many events (reactions): a chunk's memory stays bounded.
_CHUNK_EVENTS = 20_000
# "[123]" in a file name; the last one is the channel ("[part 2]" may follow it).
_ID_IN_NAME = re.compile(r"\[(\d+)\]")
_CSV_REACTION = re.compile(r"\s*([^,]+?)\s*\((\d+)\)\s*(?:,|$)")
# Date formats older DiscordChatExporter versions wrote into CSV (the default was the first).
_CSV_DATE_FORMATS = ("%d-%b-%y %I:%M %p", "%d-%b-%Y %I:%M %p", "%m/%d/%Y %I:%M %p")
_DISCRIMINATOR = re.compile(r"#\d{4}$")  # "Name#1234" in CSV exports
_THREAD_TYPES = ("Thread",)  # GuildPublicThread, GuildPrivateThread, GuildNewsThread


@dataclass
class _JsonFile:
    path: Path
    size: int
    guild_id: str
    guild_name: str | None
    channel: DiscordChannel


@dataclass
class _CsvFile:
    path: Path
    size: int
    channel: DiscordChannel


def _open(path: Path):
    try:
        return path.open("rb")
    except OSError as exc:
        raise ImportFormatError(f"{path}: cannot be read: {exc.strerror}") from None


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


def _read_header(path: Path) -> dict:
    """The ``guild`` and ``channel`` objects, parsed from the start of the file only."""
    builders: dict[str, ObjectBuilder] = {}
    with _open(path) as raw:
        reader = CountingReader(raw)
        try:
            for prefix, event, value in ijson.parse(reader, use_float=True):
                if prefix == "messages" and event == "start_array":
                    break
                top = prefix.split(".", 1)[0]
                if top in ("guild", "channel"):
                    builders.setdefault(top, ObjectBuilder()).event(event, value)
                elif prefix == "" and event == "start_array":
                    break
        except ImportFormatError as exc:
            raise ImportFormatError(f"{path}: {exc}") from None
        except JSON_STREAM_ERRORS as exc:
            raise ImportFormatError(
                f"{path}: {describe_json_stream_error(exc)}, within its first "
                f"{reader.position:,} bytes"
            ) from None
    return {key: builder.value for key, builder in builders.items()}


def _json_file(path: Path) -> _JsonFile:
    header = _read_header(path)
    guild, channel = header.get("guild"), header.get("channel")
    if not isinstance(guild, dict) or not isinstance(channel, dict):
        raise ImportFormatError(
            f"{path}: not a DiscordChatExporter JSON export (unknown layout): it does not "
            "start with guild and channel objects"
        )
    guild_id, channel_id = id_or_none(guild.get("id")), id_or_none(channel.get("id"))
    if guild_id is None or channel_id is None:
        raise ImportFormatError(f"{path}: the export names no guild id or channel id")
    is_thread = any(t in (text_or_none(channel.get("type")) or "") for t in _THREAD_TYPES)
    parent = id_or_none(channel.get("categoryId"))
    if is_thread and parent:
        # A thread's "category" is its parent channel: activity is credited there.
        where = DiscordChannel(parent, text_or_none(channel.get("category")), thread_id=channel_id)
    else:
        where = DiscordChannel(channel_id, text_or_none(channel.get("name")))
    guild_name = text_or_none(guild.get("name"))
    return _JsonFile(path, path.stat().st_size, guild_id, guild_name, where)


def _csv_file(path: Path, channel_id: str | None) -> _CsvFile:
    stem = path.stem
    found = list(_ID_IN_NAME.finditer(stem))
    if not found:
        if channel_id:
            return _CsvFile(path, path.stat().st_size, DiscordChannel(channel_id, None))
        raise ImportFormatError(
            f"{path}: cannot tell which channel this CSV export is: DiscordChatExporter names "
            "its files '<server> - <category> - <channel> [<channel id>].csv'; rename it so, "
            "or pass --channel-id"
        )
    last = found[-1]
    name = stem[: last.start()].strip().rsplit(" - ", 1)[-1].strip() or None
    return _CsvFile(path, path.stat().st_size, DiscordChannel(last.group(1), name))


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
        json_files: list[_JsonFile] = []
        csv_files: list[_CsvFile] = []
        for path in _discover(paths):
            if path.suffix.lower() == ".csv":
                csv_files.append(_csv_file(path, channel_id))
            else:
                json_files.append(_json_file(path))
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
            yield from self._json_chunks(file)
        for file in self._csv:
            yield from self._csv_chunks(file)

    def _json_chunks(self, file: _JsonFile) -> Iterator[Chunk]:
        mapper = self.mapper
        mapper.start(file.guild_id, file.guild_name, file.channel)
        events: list[ActivityEvent] = []
        index = reported = counted = 0
        last_id = None
        error: ImportFormatError | None = None
        with _open(file.path) as raw:
            reader = CountingReader(raw)
            try:
                for index, message in enumerate(stream_items(reader, "messages.item"), 1):
                    try:
                        events += mapper.events(message)
                    except MappingError as exc:
                        after = f" (after id {last_id})" if last_id else ""
                        raise ImportFormatError(
                            f"{file.path}: message {index:,}{after}: {exc}"
                        ) from None
                    last_id = message.get("id")
                    if index - counted == _CHUNK_MESSAGES or len(events) >= _CHUNK_EVENTS:
                        position = min(reader.position, file.size)
                        yield Chunk(events, position - reported, index - counted)
                        reported, counted = position, index
                        events = []
            except ImportLimitError as exc:
                after = f"after message {index:,} (id {last_id})" if last_id else "before a message"
                error = ImportLimitError(f"{file.path}: {after}: {exc}")
            except ImportFormatError as exc:
                error = exc
            except JSON_STREAM_ERRORS as exc:
                after = f"after message {index:,} (id {last_id})" if last_id else "before a message"
                error = ImportFormatError(
                    f"{file.path}: {describe_json_stream_error(exc)}, {after}, "
                    f"within its first {reader.position:,} bytes"
                )
        if error is not None:
            # The messages before the damage are whole: store them, then stop.
            yield Chunk(events, 0, index - counted)
            raise error
        yield Chunk(events, file.size - reported, index - counted)

    def _csv_chunks(self, file: _CsvFile) -> Iterator[Chunk]:
        mapper = _CsvMapper(self.guild_id or "", file.channel, self.mapper, self.skipped)
        events: list[ActivityEvent] = []
        error: ImportFormatError | None = None
        with _open(file.path) as raw:
            head = raw.read(4)
            if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
                raise ImportFormatError(
                    f"{file.path}: the file is UTF-16 encoded; exports are UTF-8 "
                    "(re-save it as UTF-8)"
                )
            raw.seek(0)
            lines = _Lines(raw, file.path)
            rows = reported = counted = 0
            try:
                first = next(iter(lines), "")
                delimiter = _csv_delimiter(file.path, first)
                # Strict: DiscordChatExporter quotes every field, so a quote left open (a file
                # cut inside a field) is damage, not a field that runs to the end of the file.
                reader = csv.reader(
                    itertools.chain([first], lines), delimiter=delimiter, strict=True
                )
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
                        raise ImportFormatError(
                            f"{file.path}: line {lines.number:,}: {exc}"
                        ) from None
                    rows += 1
                    if rows - counted == _CHUNK_MESSAGES or len(events) >= _CHUNK_EVENTS:
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
