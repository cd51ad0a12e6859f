"""DiscordChatExporter JSON exports: the header that names server and channel, then messages.

One file per channel or thread, ``guild`` and ``channel`` first, then a ``messages`` array that
can run to gigabytes; it is streamed message by message (ijson's C parser), never loaded whole.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import ijson
from ijson.common import ObjectBuilder

from bot.importers.feed import Chunk
from bot.importers.files import open_file
from bot.importers.json_reading import (
    JSON_STREAM_ERRORS,
    CountingReader,
    describe_json_stream_error,
    stream_items,
)
from bot.importers.limits import ImportFormatError, ImportLimitError
from community.discord_map import DiscordChannel, DiscordMapper
from community.events import ActivityEvent
from community.mapping import MappingError, id_or_none, text_or_none

_THREAD_TYPES = ("Thread",)  # GuildPublicThread, GuildPrivateThread, GuildNewsThread


@dataclass
class JsonFile:
    """A JSON export, with the server and channel its header names."""

    path: Path
    size: int
    guild_id: str
    guild_name: str | None
    channel: DiscordChannel


def _read_header(path: Path) -> dict:
    """The ``guild`` and ``channel`` objects, parsed from the start of the file only."""
    builders: dict[str, ObjectBuilder] = {}
    with open_file(path) as raw:
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


def json_file(path: Path) -> JsonFile:
    """PATH checked as a JSON export: its header read, the rest left for json_chunks."""
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
    return JsonFile(path, path.stat().st_size, guild_id, guild_name, where)


def json_chunks(
    file: JsonFile, mapper: DiscordMapper, *, max_messages: int, max_events: int
) -> Iterator[Chunk]:
    """A JSON export's events, in chunks of at most MAX_MESSAGES messages or MAX_EVENTS events."""
    mapper.start(file.guild_id, file.guild_name, file.channel)
    events: list[ActivityEvent] = []
    index = reported = counted = 0
    last_id = None
    error: ImportFormatError | None = None
    with open_file(file.path) as raw:
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
                if index - counted == max_messages or len(events) >= max_events:
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
