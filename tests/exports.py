"""Build Slack and DiscordChatExporter exports on disk, the way the real tools lay them out."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import UTC, datetime
from pathlib import Path

TEAM = "T0TEAM"


def slack_ts(day: int, second: int) -> str:
    """A Slack ts on 2024-03-DAY, SECOND seconds after 09:00 UTC."""
    moment = datetime(2024, 3, day, 9, 0, tzinfo=UTC).timestamp() + second
    return f"{moment:.6f}"


def slack_users() -> list[dict]:
    return [
        {"id": "UALICE", "team_id": TEAM, "name": "alice", "profile": {"display_name": "Alice"}},
        {"id": "UBOB", "team_id": TEAM, "name": "bob", "profile": {"display_name": "Bob"}},
        {"id": "UCAROL", "team_id": TEAM, "name": "carol", "real_name": "Carol C", "profile": {}},
        {"id": "UBOT", "team_id": TEAM, "name": "helperbot", "is_bot": True, "profile": {}},
    ]


def slack_channels() -> list[dict]:
    return [
        {"id": "CGEN", "name": "general", "is_general": True},
        {"id": "CHELP", "name": "help", "is_general": False},
    ]


def slack_msg(user: str | None, ts: str, text: str = "", **extra) -> dict:
    message = {"type": "message", "ts": ts, "text": text, **extra}
    if user is not None:
        message["user"] = user
    return message


def slack_conversation() -> dict[str, dict[str, list[dict]]]:
    """Folder -> day file -> messages: a question answered in a thread, thanks, noise."""
    q = slack_ts(4, 0)
    return {
        "general": {
            "2024-03-04.json": [
                slack_msg("UCAROL", slack_ts(4, -60), "<@UCAROL> has joined the channel",
                          subtype="channel_join"),
                slack_msg("UALICE", slack_ts(4, 10), "hello all"),
                slack_msg(None, slack_ts(4, 20), "beep", subtype="bot_message", bot_id="B1"),
                slack_msg("UBOT", slack_ts(4, 21), "beep too"),
                slack_msg(None, slack_ts(4, 30), subtype="message_changed",
                          message={"user": "UALICE", "text": "hello all!", "ts": slack_ts(4, 10)}),
                slack_msg("UCAROL", slack_ts(4, 40), "thanks <@UALICE>, great talk",
                          reactions=[{"name": "tada", "users": ["UALICE", "UBOB", "UBOT"],
                                      "count": 4}]),
            ],
        },
        "help": {
            "2024-03-04.json": [
                slack_msg("UALICE", q, "my build fails", thread_ts=q, reply_count=2),
                slack_msg("UBOB", slack_ts(4, 60), "try `make clean`", thread_ts=q,
                          parent_user_id="UALICE"),
            ],
            "2024-03-05.json": [
                slack_msg("UALICE", slack_ts(5, 0), "thanks, that worked!", thread_ts=q,
                          parent_user_id="UALICE",
                          reactions=[{"name": "+1", "users": ["UBOB"], "count": 1}]),
                slack_msg("UCAROL", slack_ts(5, 30), "How do I deploy?"),
            ],
        },
    }  # fmt: skip


def write_slack(
    root: Path,
    days: dict[str, dict[str, list[dict]]] | None = None,
    *,
    as_zip: bool = False,
    users: list[dict] | None = None,
    channels: list[dict] | None = None,
    raw: dict[str, bytes] | None = None,
) -> Path:
    """Write a Slack export as a folder (or a .zip) at ROOT; RAW adds members byte for byte."""
    files: dict[str, bytes] = {
        "users.json": json.dumps(slack_users() if users is None else users).encode(),
        "channels.json": json.dumps(slack_channels() if channels is None else channels).encode(),
    }
    for folder, day_files in (slack_conversation() if days is None else days).items():
        for day, messages in day_files.items():
            files[f"{folder}/{day}"] = json.dumps(messages, indent=1).encode()
    files.update(raw or {})
    if as_zip:
        path = root.with_suffix(".zip")
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, data in files.items():
                zf.writestr(name, data)
        return path
    for name, data in files.items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return root


GUILD = {"id": "900", "name": "Test Guild", "iconUrl": ""}


def dce_author(member_id: str, name: str, *, bot: bool = False) -> dict:
    return {"id": member_id, "name": name, "discriminator": "0000", "nickname": name,
            "color": None, "isBot": bot, "roles": [], "avatarUrl": ""}  # fmt: skip


ALICE = dce_author("101", "Alice")
BOB = dce_author("102", "Bob")
CAROL = dce_author("103", "Carol")
BOT = dce_author("199", "Bot", bot=True)


def dce_message(mid: str, author: dict, minute: int, content: str = "", *, type_: str = "Default",
                reference: dict | None = None, reactions: list | None = None,
                mentions: list | None = None) -> dict:  # fmt: skip
    message = {
        "id": mid, "type": type_, "timestamp": f"2024-03-04T10:{minute:02d}:00.123+00:00",
        "timestampEdited": None, "isPinned": False, "content": content, "author": author,
        "attachments": [], "embeds": [], "stickers": [], "reactions": reactions or [],
        "mentions": mentions or [],
    }  # fmt: skip
    if reference is not None:
        message["reference"] = reference
    return message


def dce_reaction(name: str, users: list[dict] | None, count: int, emoji_id: str = "") -> dict:
    reaction = {"emoji": {"id": emoji_id, "name": name, "code": name, "isAnimated": False,
                          "imageUrl": ""}, "count": count}  # fmt: skip
    if users is not None:
        reaction["users"] = users
    return reaction


def dce_channel_export(channel: dict, messages: list[dict]) -> dict:
    return {"guild": GUILD, "channel": channel, "dateRange": {"after": None, "before": None},
            "exportedAt": "2024-03-05T00:00:00+00:00", "messages": messages,
            "messageCount": len(messages)}  # fmt: skip


def dce_general() -> dict:
    """A channel: joins, a question, a reply answering it, thanks by reply, reactions, a bot."""
    return dce_channel_export(
        {"id": "500", "type": "GuildTextChat", "categoryId": "400", "category": "Text",
         "name": "general", "topic": None},
        [
            dce_message("1001", CAROL, 0, "Joined the server.", type_="GuildMemberJoin"),
            dce_message("1002", ALICE, 1, "How do I reset my token?"),
            dce_message("1003", BOB, 2, "Settings, then Reset.", type_="Reply",
                        reference={"messageId": "1002", "channelId": "500", "guildId": "900"},
                        reactions=[dce_reaction("👍", [ALICE, CAROL], 2),
                                   dce_reaction("party", None, 3, emoji_id="777")]),
            dce_message("1004", ALICE, 3, "thanks!", reference={"messageId": "1003"}),
            dce_message("1005", BOT, 4, "I am a bot", reactions=[dce_reaction("🤖", [ALICE], 1)]),
            dce_message("1006", CAROL, 5, "cheers", mentions=[{"id": "102", "name": "Bob"}]),
            dce_message("1007", BOB, 6, "Started a thread.", type_="ThreadCreated",
                        reference={"messageId": None, "channelId": "600", "guildId": "900"}),
            dce_message("1008", ALICE, 7, "pinned", type_="ChannelPinnedMessage"),
        ],
    )  # fmt: skip


def dce_thread() -> dict:
    """A thread of #general: Bob starts it, Carol answers, Bob thanks her."""
    return dce_channel_export(
        {"id": "600", "type": "GuildPublicThread", "categoryId": "500", "category": "general",
         "name": "deploys", "topic": None},
        [
            dce_message("2001", BOB, 10, "Deploys are slow, any idea why?"),
            dce_message("2002", CAROL, 11, "Check the cache settings"),
            dce_message("2003", BOB, 12, "thank you, fixed"),
        ],
    )  # fmt: skip


def write_json(path: Path, data: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
    return path


CSV_ROWS = [
    ["101", "Alice#0001", "2024-03-04T10:01:00.000+00:00", "How do I reset my token?", "", ""],
    ["102", "Bob#0002", "2024-03-04T10:02:00.000+00:00", "Settings,\nthen Reset.", "",
     "👍 (2),party (1)"],
    ["101", "Alice#0001", "04-Mar-24 10:03 AM", "ok", "", ""],
    ["101", "Alice#0001", "04-Mar-24 10:03 AM", "ok", "", ""],
]  # fmt: skip


def write_csv(path: Path, delimiter: str = ";", rows: list[list[str]] | None = None) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    writer.writerow(["AuthorID", "Author", "Date", "Content", "Attachments", "Reactions"])
    writer.writerows(CSV_ROWS if rows is None else rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path
