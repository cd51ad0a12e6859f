"""The accuracy corpus's DiscordChatExporter files: channels, forum posts and threads."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path

try:
    from bench.accuracy_cast import END, START, TEMPLATES, Bot, Clock, Conversation, Person, Posted
    from bench.accuracy_files import dump_json
    from bench.accuracy_templates import M
except ImportError:  # run as a script: bench/ itself is on sys.path
    from accuracy_cast import (  # type: ignore[no-redef]
        END,
        START,
        TEMPLATES,
        Bot,
        Clock,
        Conversation,
        Person,
        Posted,
    )
    from accuracy_files import dump_json  # type: ignore[no-redef]
    from accuracy_templates import M  # type: ignore[no-redef]


DISCORD_EMOJI = {
    "white_check_mark": "✅",
    "heavy_check_mark": "✔️",
    "pray": "🙏",
    "+1": "👍",
    "eyes": "👀",
    "tada": "🎉",
}
GUILD = {"id": "1090412345678901234", "name": "Quillstack Community", "iconUrl": None}
DISCORD_CHANNELS = {  # name -> (id, type, is help channel)
    "general": ("1090412345678901301", "GuildTextChat", False),
    "off-topic": ("1090412345678901302", "GuildTextChat", False),
    "help": ("1090412345678901303", "GuildTextChat", True),
    "questions": ("1090412345678901304", "GuildForum", True),
}
DELETED_USER = Bot("456226577798135808", "Deleted User", "deleted", "Discord's Deleted User")
DISCORD_BOTS = {
    "bot": [
        Bot("1090499900000000001", "QuillBot", "bot", "bot account (isBot)"),
        Bot("1090499900000000002", "Zapier", "webhook", "webhook (discriminator 0000)"),
    ],
    "deleted": [DELETED_USER],
    "hook": [Bot("1090499900000000003", "GitHub", "webhook", "webhook (discriminator 0000)")],
}
BOT_TEXTS = {
    "deleted": "had this too last month, clearing ~/.quill/cache fixed it for me.",
}


def _dc_author(who: Person | Bot) -> dict:
    if isinstance(who, Person):
        # Since unique usernames DiscordChatExporter writes people as a lowercase username,
        # discriminator 0000, and their display name as the nickname.
        disc, is_bot = "0000", False
        nickname = _display_name(who)
    else:
        disc = "0000" if who.kind in ("webhook", "deleted") else "4821"
        is_bot = who.kind in ("bot", "webhook")
        nickname = who.name
    return {
        "id": who.id,
        "name": who.name,
        "discriminator": disc,
        "nickname": nickname,
        "color": None,
        "isBot": is_bot,
        "roles": [],
        "avatarUrl": _avatar(who.id),
    }


def _display_name(person: Person) -> str:
    return re.sub(r"[._]", " ", person.name).title()


def _avatar(member_id: str) -> str:
    return f"https://cdn.discordapp.com/embed/avatars/{int(member_id) % 5}.png"


def _dc_message(m: Posted, c: Conversation, channel_id: str, kind: str = "") -> dict:
    text = m.spec.text
    if isinstance(m.author, Bot) and m.author.kind in BOT_TEXTS:
        text = BOT_TEXTS[m.author.kind]
    mentions = []
    for role in ("H2", "H", "A", "B"):
        if "@{" + role + "}" in text:
            text = text.replace("@{" + role + "}", "@" + _display_name(c.cast[role]))
            mentions.append(_dc_author(c.cast[role]))
    msg = {
        "id": m.native_id,
        "type": kind or ("Reply" if m.reference is not None else "Default"),
        "timestamp": m.at.isoformat(timespec="milliseconds"),
        "timestampEdited": None,
        "callEndedTimestamp": None,
        "isPinned": False,
        "content": text,
        "author": _dc_author(m.author),
        "attachments": [],
        "embeds": [],
        "stickers": [],
        "reactions": [],
        "mentions": mentions,
    }
    grouped: dict[str, list[Person]] = {}
    for reactor, emoji in m.reactions:
        grouped.setdefault(emoji, []).append(reactor)
    for name, users in grouped.items():
        msg["reactions"].append(
            {
                "emoji": {"id": "", "name": DISCORD_EMOJI[name], "code": name.strip("+") or name,
                          "isAnimated": False, "imageUrl": ""},
                "count": len(users),
                "users": [_dc_author(u) for u in users],
            }
        )  # fmt: skip
    if m.reference is not None:
        msg["reference"] = {
            "messageId": c.messages[m.reference].native_id,
            "channelId": channel_id,
            "guildId": GUILD["id"],
        }
    return msg


def _title(text: str) -> str:
    """A thread's name as people write them: the start of its first message."""
    words = re.sub(r"[^\w .,'-]", "", text.replace("`", "")).split()
    title = ""
    for word in words:
        if len(title) + len(word) > 40:
            break
        title = f"{title} {word}".strip()
    return title


def _dc_file(channel: dict, messages: list[dict]) -> dict:
    return {
        "guild": GUILD,
        "channel": channel,
        "dateRange": {"after": None, "before": None},
        "exportedAt": END.isoformat(),
        "messages": messages,
        "messageCount": len(messages),
    }


def write_discord(root: Path, conversations, people, clock: Clock, rng) -> None:
    """The DiscordChatExporter files of CONVERSATIONS under ROOT, one per channel and thread."""
    root.mkdir(parents=True)
    channel_messages: dict[str, list[dict]] = defaultdict(list)
    threads: list[tuple[dict, list[dict]]] = []
    for c in conversations:
        cid, _, _ = DISCORD_CHANNELS[c.channel]
        title = _title(c.messages[0].spec.text)
        first = c.messages[0]
        if c.form == "chain":
            for m in c.messages:
                channel_messages[c.channel].append(_dc_message(m, c, cid))
        elif c.form == "forum":
            thread_id = first.native_id
            meta = {"id": thread_id, "type": "GuildPublicThread", "categoryId": cid,
                    "category": c.channel, "name": title, "topic": None}  # fmt: skip
            threads.append((meta, [_dc_message(m, c, thread_id) for m in c.messages]))
        elif c.form == "standalone":  # a thread started on its own, then written in
            thread_id = clock.snowflake(first.at - timedelta(seconds=20))
            created = Posted(-1, M("A", "Started a thread."), first.author, first.at, "", "")
            created.native_id = clock.snowflake(first.at - timedelta(seconds=19))
            notice = _dc_message(created, c, cid, kind="ThreadCreated")
            notice["reference"] = {"messageId": None, "channelId": thread_id,
                                   "guildId": GUILD["id"]}  # fmt: skip
            channel_messages[c.channel].append(notice)
            meta = {"id": thread_id, "type": "GuildPublicThread", "categoryId": cid,
                    "category": c.channel, "name": title, "topic": None}  # fmt: skip
            threads.append((meta, [_dc_message(m, c, thread_id) for m in c.messages]))
        else:  # a thread grown from a message in the channel
            channel_messages[c.channel].append(_dc_message(first, c, cid))
            thread_id = first.native_id
            placeholder = Posted(-1, M("A", ""), first.author, first.at, "", "")
            placeholder.native_id = clock.snowflake(first.at + timedelta(seconds=5))
            starter = _dc_message(placeholder, c, cid, kind="ThreadStarterMessage")
            starter["reference"] = {"messageId": first.native_id, "channelId": cid,
                                    "guildId": GUILD["id"]}  # fmt: skip
            meta = {"id": thread_id, "type": "GuildPublicThread", "categoryId": cid,
                    "category": c.channel, "name": title, "topic": None}  # fmt: skip
            threads.append(
                (meta, [starter] + [_dc_message(m, c, thread_id) for m in c.messages[1:]])
            )
    # Members joined the server on their first day here.
    first_seen: dict[str, tuple[datetime, Person]] = {}
    for c in conversations:
        for m in c.messages:
            for p in [m.author] + [r for r, _ in m.reactions]:
                if isinstance(p, Person) and (p.id not in first_seen or m.at < first_seen[p.id][0]):
                    first_seen[p.id] = (m.at, p)
    for _, (at, p) in sorted(first_seen.items()):
        when = max(START, at - timedelta(hours=rng.randrange(1, 72)))
        join = Posted(-1, M("A", "Joined the server."), p, when, "", clock.snowflake(when))
        channel_messages["general"].append(
            _dc_message(join, Conversation(TEMPLATES[0], 0, {}), "", kind="GuildMemberJoin")
        )
    for name, (cid, ctype, _) in DISCORD_CHANNELS.items():
        if ctype == "GuildForum":
            continue  # a forum has no messages of its own: its posts are threads
        msgs = sorted(channel_messages[name], key=lambda msg: int(msg["id"]))
        meta = {"id": cid, "type": ctype, "categoryId": "1090412345678901200",
                "category": "Community", "name": name, "topic": None}  # fmt: skip
        dump_json(
            root / f"Quillstack Community - Community - {name} [{cid}].json", _dc_file(meta, msgs)
        )
    for meta, msgs in threads:
        parent = meta["category"]
        dump_json(
            root / f"Quillstack Community - {parent} - {meta['name']} [{meta['id']}].json",
            _dc_file(meta, msgs),
        )
