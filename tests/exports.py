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
    # As DiscordChatExporter writes a user since Discord's unique usernames: a lowercase
    # username with discriminator "0000", the server nickname beside it.
    return {"id": member_id, "name": name.lower(), "discriminator": "0000", "nickname": name,
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


def busy_slack(
    root: Path, end: datetime, *, seed: int = 1, days: int = 120, members: int = 40
) -> Path:
    """A livelier Slack export (a folder) of DAYS days up to END, built from a seeded RNG.

    Four channels (general, help, dev, random) hold questions answered in threads, thanks by
    reply and by mention, reactions, joins in general, bot posts, edits and replies to threads
    started before the export. Members come and go: some stop well before END, so tiers and
    quiet flags come out non-trivial. Members U00 to U05 help most.
    """
    import random

    rng = random.Random(seed)
    users = [f"U{n:02d}" for n in range(members)]
    first_day = {u: rng.randrange(0, days // 2) for u in users}
    last_day = {u: days - 1 if rng.random() < 0.7 else rng.randrange(days // 2, days - 20)
                for u in users}  # fmt: skip
    weights = [8 if n < 6 else 1 for n in range(members)]
    channels = [("CGEN", "general"), ("CHELP", "help"), ("CDEV", "dev"), ("CRND", "random")]
    start = end.timestamp() - days * 86400
    folders: dict[str, dict[str, list[dict]]] = {name: {} for _, name in channels}
    threads: dict[str, list[tuple[str, str]]] = {cid: [] for cid, _ in channels}
    for day in range(days):
        present = [u for u in users if first_day[u] <= day <= last_day[u]]
        present_weights = [weights[users.index(u)] for u in present]
        for cid, name in channels:
            t = start + day * 86400 + rng.uniform(0, 3600)
            messages = []
            if cid == "CGEN":
                for u in users:
                    if first_day[u] == day:
                        t += 1
                        messages.append(slack_msg(u, f"{t:.6f}", f"<@{u}> has joined",
                                                  subtype="channel_join"))  # fmt: skip
            authors = rng.choices(present, present_weights, k=rng.randrange(12)) if present else []
            for author in authors:
                t += rng.uniform(1, 2000)
                ts = f"{t:.6f}"
                roll = rng.random()
                open_threads = threads[cid][-6:]
                if open_threads and roll < 0.4:
                    parent_ts, parent_user = rng.choice(open_threads)
                    if author == parent_user or rng.random() < 0.15:
                        text = rng.choice(("thanks, that worked!", "thx <@U01>", "ok"))
                    else:
                        text = rng.choice(("try restarting it", "see the docs", "same here"))
                    message = slack_msg(author, ts, text, thread_ts=parent_ts,
                                        parent_user_id=parent_user)  # fmt: skip
                elif roll < 0.65:
                    message = slack_msg(author, ts, rng.choice(("How do I deploy this?",
                                        "why does it crash on start", "is there a CLI flag?")),
                                        thread_ts=ts)  # fmt: skip
                    threads[cid].append((ts, author))
                elif roll < 0.7:
                    message = slack_msg(author, ts, f"cheers <@{rng.choice(users)}> for the help")
                else:
                    message = slack_msg(author, ts, rng.choice(("sounds good", "shipped it",
                                                                "here is my config")))  # fmt: skip
                if rng.random() < 0.25:
                    reactors = rng.sample(present, min(len(present), rng.randint(1, 3)))
                    emoji = rng.choice(("+1", "tada", "eyes"))
                    message["reactions"] = [
                        {"name": emoji, "users": reactors, "count": len(reactors)}
                    ]
                messages.append(message)
                if rng.random() < 0.05:
                    t += 1
                    messages.append(slack_msg(None, f"{t:.6f}", "build ok",
                                              subtype="bot_message", bot_id="B1"))  # fmt: skip
                if rng.random() < 0.03:
                    t += 1
                    messages.append(slack_msg(None, f"{t:.6f}", subtype="message_changed",
                                              message={"user": author, "ts": ts}))  # fmt: skip
            if cid == "CDEV" and day == days // 3:
                t += 1  # a reply to a thread that started before the export
                messages.append(slack_msg("U03", f"{t:.6f}", "bumping this", thread_ts="1.000000",
                                          parent_user_id="U04"))  # fmt: skip
            if messages:
                stamp = datetime.fromtimestamp(start + day * 86400, UTC).strftime("%Y-%m-%d")
                folders[name][f"{stamp}.json"] = messages
    return write_slack(
        root,
        folders,
        users=[{"id": u, "team_id": TEAM, "name": u.lower(), "profile": {"display_name":
                f"Member {u}"}} for u in users]
        + [{"id": "UBOT", "team_id": TEAM, "name": "ci", "is_bot": True, "profile": {}}],
        channels=[{"id": cid, "name": name, "is_general": cid == "CGEN"} for cid, name in channels],
    )  # fmt: skip
