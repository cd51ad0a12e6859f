"""Property-based fuzzing of every export reader and payload mapper (Hypothesis).

Readers: whatever the bytes (any JSON shape, nesting, strings, encoding, size), reading an
export either works or raises Pulse's own ImportFormatError, and its memory stays bounded
(tracemalloc's peak over the read). Mappers: whatever the payload, they return valid events or
raise MappingError, which the importers turn into one line and the live adapters skip.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import tracemalloc
import zipfile
from collections import Counter

import ijson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.importers import json_reading, limits
from bot.importers.discord import DiscordExportReader
from bot.importers.discord_csv import CSV_COLUMNS
from bot.importers.limits import ImportFormatError, ImportLimitError, JsonGuard
from bot.importers.slack import SlackExportReader
from community.discord_map import DiscordChannel, DiscordMapper
from community.events import ActivityEvent
from community.mapping import MappingError
from community.slack_map import SlackMapper, SlackUser, reaction_event, team_join_event, user_of
from tests import exports
from tests.factories import T0

# Each reading of a fuzzed export (a few KB, or a nesting bomb of up to 400 KB) stays below this.
PEAK_MB = 64
FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

# Strings a parser or a mapper can trip on: quotes, backslashes, brackets, controls, NUL,
# lone surrogates (as JSON \ud800 escapes), long runs, other scripts.
texts = st.one_of(
    st.text(max_size=40),
    st.text(alphabet='"\\[]{}:,\x00\n\t \u2028\ufeffé😀\ud800', max_size=40),
    st.sampled_from(["", "0", "-1", "1e309", "NaN", "2024-03-04T10:00:00+00:00", "1709542800.1"]),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    texts,
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(texts, inner, max_size=4)),
    max_leaves=20,
)


def depth_of(value) -> int:
    """How many containers deep VALUE nests (a scalar: 0)."""
    if isinstance(value, dict):
        return 1 + max(map(depth_of, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(depth_of, value), default=0)
    return 0


def dumps(value, style: int) -> bytes:
    """VALUE as JSON text in one of the ways exporters write it."""
    if style == 0:
        return json.dumps(value).encode()
    if style == 1:
        return json.dumps(value, ensure_ascii=False, indent=2).encode("utf-8", "surrogatepass")
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8", "surrogatepass"
    )


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    """DATA cut at CUTS (positions, any order, out of range ones clipped)."""
    points = sorted({min(max(c, 0), len(data)) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in itertools.pairwise(points)]


@FUZZ
@given(
    value=json_values,
    style=st.integers(0, 2),
    past=st.booleans(),
    cuts=st.lists(st.integers(0, 2000), max_size=8),
    wrappers=st.text(alphabet="[{", min_size=1, max_size=1),
)
def test_the_guard_knows_the_depth_exactly_however_the_bytes_are_cut(
    value, style, past, cuts, wrappers
):
    # Around VALUE, enough levels to reach the limit exactly, or one more.
    levels = limits.MAX_DEPTH - depth_of(value) + past
    opener, closer = (b"[", b"]") if wrappers == "[" else (b'{"k":', b"}")
    document = opener * levels + dumps(value, style) + closer * levels
    guard = JsonGuard()
    raised = None
    for chunk in split(document, cuts):
        try:
            guard.check(chunk)
        except ImportLimitError as exc:
            raised = exc
            break
    if past:
        assert raised is not None
        assert f"nested deeper than {limits.MAX_DEPTH} levels" in str(raised)
    else:
        assert raised is None
        assert guard.depth == 0


@FUZZ
@given(value=json_values, style=st.integers(0, 2), cuts=st.lists(st.integers(0, 3000)))
def test_take_hands_the_parser_everything_before_the_limit(value, style, cuts):
    # A list of good items, then one nested too deep: the good items all come through.
    head = dumps([value] * 3, style)[:-1]
    try:  # what the parser makes of the good items alone (it has quirks of its own)
        expected = list(ijson.items(head + b"]", "item", use_float=True))
    except (ijson.JSONError, UnicodeDecodeError):
        return
    deep = b"[" * (limits.MAX_DEPTH + 5) + b"]" * (limits.MAX_DEPTH + 5)
    reader = json_reading.CountingReader(_Chunks(split(head + b", " + deep + b"]", cuts)))
    items = []
    with pytest.raises(ImportLimitError):
        items.extend(json_reading.stream_items(reader, "item"))
    assert items == expected


class _Chunks(io.RawIOBase):
    """A stream that returns the given chunks one per read, whatever size is asked."""

    def __init__(self, chunks: list[bytes]) -> None:
        self._chunks = list(chunks)

    def read(self, size: int = -1) -> bytes:
        if size == 0:
            return b""
        return self._chunks.pop(0) if self._chunks else b""


# --- readers ------------------------------------------------------------------------------


def encoded(text: bytes, encoding: str) -> bytes:
    """TEXT (UTF-8) as a file in ENCODING, the ways exports get mangled."""
    if encoding == "utf-8-bom":
        return json_reading.UTF8_BOM + text
    if encoding == "utf-16":
        return text.decode("utf-8", "surrogatepass").encode("utf-16", "surrogatepass")
    if encoding == "latin-1":
        return text.decode("utf-8", "surrogatepass").encode("latin-1", "replace")
    return text


encodings = st.sampled_from(["utf-8", "utf-8", "utf-8-bom", "utf-16", "latin-1"])
# A nesting bomb: how deep, and with which brackets.
bombs = st.one_of(
    st.none(), st.tuples(st.integers(100, 200_000), st.sampled_from(["[", '{"embeds":[']))
)


def with_bomb(text: bytes, bomb) -> bytes:
    """TEXT with a nesting bomb put in place of its first empty list, if it has one."""
    if bomb is None or b"[]" not in text:
        return text
    depth, opener = bomb
    closer = b"]" if opener == "[" else b"]}"
    return text.replace(b"[]", b"[" + opener.encode() * depth + closer * depth + b"]", 1)


def read_all(reader) -> int:
    """Read READER to its end: the events it produced."""
    return sum(len(chunk.events) for chunk in reader.chunks())


def within_memory(run) -> None:
    """Run RUN (reading an export); only ImportFormatError may escape; the peak stays bounded."""
    error = None
    tracemalloc.start()
    try:
        try:
            run()
        except ImportFormatError as exc:
            error = str(exc)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert error is None or "\n" not in error, "one line"
    assert peak < PEAK_MB * 1024 * 1024


messages_dce = st.lists(
    st.one_of(
        json_values,
        st.fixed_dictionaries(
            {
                "id": st.one_of(texts, st.integers(), json_values),
                "type": st.sampled_from(
                    [
                        "Default",
                        "Reply",
                        "ThreadCreated",
                        "GuildMemberJoin",
                        "ThreadStarterMessage",
                        "ChannelPinnedMessage",
                    ]
                )
                | json_values,
                "timestamp": st.sampled_from(["2024-03-04T10:00:00+00:00", "2024-03-04T10:00"])
                | json_values,
                "content": texts | json_values,
                "author": st.fixed_dictionaries(
                    {"id": texts | st.integers(), "isBot": json_values},
                    optional={
                        "name": json_values,
                        "nickname": json_values,
                        "discriminator": json_values,
                    },
                )
                | json_values,
            },
            optional={
                "reference": json_values
                | st.fixed_dictionaries({"messageId": json_values, "type": json_values}),
                "reactions": json_values
                | st.lists(
                    st.fixed_dictionaries(
                        {
                            "emoji": json_values
                            | st.fixed_dictionaries({"id": json_values, "name": json_values}),
                            "count": json_values,
                            "users": json_values,
                        }
                    ),
                    max_size=3,
                ),
                "mentions": json_values,
                "embeds": st.just([]),
            },
        ),
    ),
    max_size=6,
)


@FUZZ
@given(
    header=st.one_of(
        st.just(None),
        st.fixed_dictionaries({"guild": json_values, "channel": json_values}),
        st.fixed_dictionaries(
            {
                "guild": st.fixed_dictionaries({"id": texts | st.integers(), "name": json_values}),
                "channel": st.fixed_dictionaries(
                    {
                        "id": texts | st.integers(),
                        "type": json_values,
                        "categoryId": json_values,
                        "name": json_values,
                    }
                ),
            }
        ),
    ),
    messages=messages_dce | json_values,
    style=st.integers(0, 2),
    encoding=encodings,
    bomb=bombs,
    cut=st.none() | st.integers(0, 5000),
)
def test_discord_json_reading_raises_only_import_errors(
    tmp_path_factory, header, messages, style, encoding, bomb, cut
):
    document = {**(header or {}), "messages": messages}
    text = with_bomb(dumps(document, style), bomb)
    path = tmp_path_factory.mktemp("dce") / "export [500].json"
    path.write_bytes(encoded(text, encoding)[:cut])
    within_memory(lambda: read_all(DiscordExportReader([path])))


@FUZZ
@given(
    rows=st.lists(st.lists(texts, max_size=7), max_size=6),
    delimiter=st.sampled_from([";", ","]),
    header=st.booleans(),
    encoding=encodings,
    cut=st.none() | st.integers(0, 2000),
)
def test_discord_csv_reading_raises_only_import_errors(
    tmp_path_factory, rows, delimiter, header, encoding, cut
):
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    if header:
        writer.writerow(CSV_COLUMNS)
    writer.writerows(rows)
    text = buffer.getvalue().encode("utf-8", "surrogatepass")
    path = tmp_path_factory.mktemp("csv") / "Server - Text - general [500].csv"
    path.write_bytes(encoded(text, encoding)[:cut])
    within_memory(lambda: read_all(DiscordExportReader([path], guild_id="900")))


slack_messages = st.lists(
    st.one_of(
        json_values,
        st.fixed_dictionaries(
            {
                "ts": st.sampled_from(["1709542800.000100", "1709542801.000200"]) | json_values,
                "user": st.sampled_from(["UALICE", "UBOB", "UBOT", "USLACKBOT"]) | json_values,
                "text": texts | json_values,
            },
            optional={
                "subtype": st.sampled_from(
                    ["channel_join", "bot_message", "thread_broadcast", "message_changed"]
                )
                | json_values,
                "thread_ts": st.sampled_from(["1709542800.000100"]) | json_values,
                "parent_user_id": st.sampled_from(["UALICE"]) | json_values,
                "bot_id": json_values,
                "team": json_values,
                "reactions": json_values
                | st.lists(
                    st.fixed_dictionaries(
                        {"name": json_values, "users": json_values, "count": json_values}
                    ),
                    max_size=3,
                ),
            },
        ),
    ),
    max_size=6,
)


@FUZZ
@given(
    users=st.one_of(st.just(exports.slack_users()), json_values),
    channels=st.one_of(st.just(exports.slack_channels()), json_values),
    day=slack_messages | json_values,
    style=st.integers(0, 2),
    encoding=encodings,
    bomb=bombs,
    bombed=st.sampled_from(["users.json", "channels.json", "general/2024-03-04.json"]),
    as_zip=st.booleans(),
    cut=st.none() | st.integers(0, 3000),
)
def test_slack_export_reading_raises_only_import_errors(
    tmp_path_factory, users, channels, day, style, encoding, bomb, bombed, as_zip, cut
):
    members = {
        "users.json": users,
        "channels.json": channels,
        "general/2024-03-04.json": day,
        "help/2024-03-04.json": [exports.slack_msg("UALICE", "1709542800.000300", "hi")],
    }
    raw = {}
    for name, value in members.items():
        text = dumps(value, style)
        if name == bombed:
            text = encoded(with_bomb(text, bomb), encoding)[:cut]
        raw[name] = text
    root = tmp_path_factory.mktemp("slack") / "export"
    if as_zip:
        root = root.with_suffix(".zip")
        with zipfile.ZipFile(root, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, data in raw.items():
                zf.writestr(name, data)
    else:
        for name, data in raw.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_bytes(data)

    def run():
        reader = SlackExportReader(root, team_id="T0TEAM")
        try:
            read_all(reader)
        finally:
            reader.close()

    within_memory(run)


@settings(max_examples=15, deadline=None)
@given(data=st.binary(max_size=3000))
def test_any_bytes_as_a_zip_raise_only_import_errors(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("zip") / "export.zip"
    path.write_bytes(b"PK\x03\x04" + data)
    within_memory(lambda: read_all(SlackExportReader(path, team_id="T0TEAM")))


# --- mappers ------------------------------------------------------------------------------


def assert_mapped(run) -> None:
    """RUN maps one payload: a list of events, or a MappingError of one short line."""
    try:
        events = run()
    except MappingError as exc:
        error = str(exc)
    else:
        assert isinstance(events, list)
        assert all(isinstance(event, ActivityEvent) for event in events)
        return
    assert "\n" not in error
    assert len(error) < 300


@settings(max_examples=150, deadline=None)
@given(messages=slack_messages, channel=texts)
def test_the_slack_mapper_maps_or_rejects_any_message(messages, channel):
    users = {"UALICE": SlackUser("Alice"), "UBOT": SlackUser(None, is_bot=True)}
    mapper = SlackMapper("T0TEAM", users, help_channels=["CHELP"])
    for message in messages:
        assert_mapped(lambda m=message: mapper.events(m, channel or "C1", channel))


@settings(max_examples=150, deadline=None)
@given(payload=json_values | st.dictionaries(texts, json_values), team=texts)
def test_the_slack_live_payload_mappers_map_or_reject_anything(payload, team):
    if not isinstance(payload, dict):
        return
    for run in (
        lambda: reaction_event(payload, team or "T1", reactor_is_bot=False),
        lambda: team_join_event(payload, team or "T1", T0),
        lambda: user_of(payload),
    ):
        try:
            result = run()
        except MappingError:
            continue
        assert result is None or isinstance(result, ActivityEvent | SlackUser)


@settings(max_examples=150, deadline=None)
@given(messages=messages_dce, thread=st.booleans())
def test_the_discord_mapper_maps_or_rejects_any_message(messages, thread):
    mapper = DiscordMapper(help_channels=["500"])
    channel = DiscordChannel("500", "general", thread_id="600" if thread else None)
    mapper.start("900", "Guild", channel)
    for message in messages:
        assert_mapped(lambda m=message: mapper.events(m))
    assert isinstance(mapper.skipped, Counter)


# --- the live Discord mapping: discord.py objects built from fuzzed gateway payloads ------

snowflakes = st.integers(min_value=0, max_value=2**63 - 1).map(str)
discord_users = st.fixed_dictionaries(
    {
        "id": snowflakes,
        "username": texts,
        "discriminator": st.sampled_from(["0", "0000", "1234"]),
        "avatar": st.none(),
    },
    optional={"global_name": st.none() | texts, "bot": st.booleans(), "system": st.booleans()},
)


def discord_state():
    """A discord.py connection state with no connection: enough to build models from payloads."""
    import discord
    from discord.state import ConnectionState

    return ConnectionState(
        dispatch=lambda *a, **k: None,
        handlers={},
        hooks={},
        http=None,
        intents=discord.Intents.all(),
    )


@settings(max_examples=100, deadline=None)
@given(
    guild_name=texts,
    channel_name=texts,
    message_id=snowflakes,
    author=discord_users,
    content=texts,
    kind=st.sampled_from([0, 19, 7, 18, 21, 6]),
    reference=st.none() | snowflakes,
    mentions=st.lists(discord_users, max_size=2),
    nick=st.none() | texts,
    in_thread=st.booleans(),
)
def test_the_live_discord_mapping_maps_any_message(
    guild_name, channel_name, message_id, author, content, kind, reference, mentions, nick,
    in_thread,
):  # fmt: skip
    import discord

    from bot.discord.mapping import join_event, message_event

    state = discord_state()
    guild = discord.Guild(
        data={"id": "900", "name": guild_name, "channels": [], "members": [], "roles": []},
        state=state,
    )
    text = discord.TextChannel(
        state=state,
        guild=guild,
        data={"id": "500", "type": 0, "name": channel_name, "position": 0, "guild_id": "900"},
    )
    guild._add_channel(text)
    channel = text
    if in_thread:
        channel = discord.Thread(
            guild=guild,
            state=state,
            data={"id": "600", "type": 11, "name": channel_name, "parent_id": "500",
                  "owner_id": author["id"], "guild_id": "900",
                  "message_count": 1, "member_count": 1,
                  "thread_metadata": {"archived": False, "auto_archive_duration": 60,
                                      "archive_timestamp": "2024-03-04T10:00:00+00:00"}},
        )  # fmt: skip
    data = {
        "id": message_id, "channel_id": str(channel.id), "guild_id": "900", "type": kind,
        "content": content, "author": author, "member": {"nick": nick, "roles": [], "flags": 0},
        "mentions": mentions, "mention_roles": [], "attachments": [], "embeds": [],
        "pinned": False, "tts": False, "mention_everyone": False,
        "timestamp": "2024-03-04T10:00:00+00:00", "edited_timestamp": None,
    }  # fmt: skip
    if reference is not None:
        data["message_reference"] = {"message_id": reference, "channel_id": "500"}
    message = discord.Message(state=state, channel=channel, data=data)
    event = message_event(message, help_channels=["500"], threads=None, roots=None)
    assert event is None or isinstance(event, ActivityEvent)
    member = discord.Member(
        data={
            "user": author,
            "nick": nick,
            "roles": [],
            "flags": 0,
            "joined_at": "2024-03-04T10:00:00+00:00",
        },
        guild=guild,
        state=state,
    )
    joined = join_event(member)
    assert joined is None or isinstance(joined, ActivityEvent)
