"""The accuracy corpus's Slack export, laid out as Slack writes one (users, channels, days)."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path

try:
    from bench.accuracy_cast import START, Bot, Conversation, Person, Posted
    from bench.accuracy_files import dump_json
    from bench.accuracy_templates import M
except ImportError:  # run as a script: bench/ itself is on sys.path
    from accuracy_cast import START, Bot, Conversation, Person, Posted  # type: ignore[no-redef]
    from accuracy_files import dump_json  # type: ignore[no-redef]
    from accuracy_templates import M  # type: ignore[no-redef]


SLACK_TEAM = "T07QSTK1A"
SLACK_CHANNELS = {  # name -> (id, is help channel, place)
    "general": ("C07GEN0001", False, "chat"),
    "random": ("C07RND0002", False, "chat"),
    "help": ("C07HLP0003", True, "help"),
    "help-deploy": ("C07HLP0004", True, "help"),
}
SLACK_BOTS = {
    "bot": [
        Bot("U07TRIAGE1", "triagebot", "bot_user", "bot user (is_bot in users.json)"),
        Bot("U07STATUS2", "statuspage", "unlisted_bot", "app: bot_id set, user not in users.json"),
        Bot("B07STATUS3", "Quillstack Status", "bot_message", "bot_message subtype"),
        Bot("USLACKBOT", "Slackbot", "slackbot", "Slackbot"),
    ],
    "deleted": [
        Bot("U07STATUS2", "statuspage", "unlisted_bot", "app: bot_id set, user not in users.json")
    ],
    "hook": [Bot("B07GITHUB4", "GitHub", "bot_message", "bot_message subtype (integration)")],
}


def _slack_text(spec: M, cast) -> str:
    text = spec.text
    for role in ("H2", "H", "A", "B"):
        if "{" + role + "}" in text:
            text = text.replace("@{" + role + "}", f"<@{cast[role].id}>")
    return text


def _slack_message(m: Posted, c: Conversation, channel_id: str) -> dict:
    author = m.author
    msg: dict = {"type": "message"}
    if m.broadcast:
        msg["subtype"] = "thread_broadcast"
    if isinstance(author, Bot) and author.kind == "bot_message":
        msg.update(subtype="bot_message", bot_id=author.id, username=author.name)
    elif isinstance(author, Bot) and author.kind in ("bot_user", "unlisted_bot"):
        msg.update(user=author.id, bot_id="B" + author.id[1:], app_id="A" + author.id[1:])
    else:
        msg["user"] = author.id
    msg["text"] = _slack_text(m.spec, c.cast)
    msg["ts"] = m.native_id
    if isinstance(author, Person):
        msg["team"] = SLACK_TEAM
    starter = c.messages[0]
    if len(c.messages) > 1:
        msg["thread_ts"] = starter.native_id
        if m.index == 0:
            replies = c.messages[1:]
            users = []
            for r in replies:
                uid = r.author.id
                is_bot_message = isinstance(r.author, Bot) and r.author.kind == "bot_message"
                if uid not in users and not is_bot_message:
                    users.append(uid)
            msg.update(
                reply_count=len(replies),
                reply_users_count=len(users),
                latest_reply=replies[-1].native_id,
                reply_users=users,
            )
        elif not (isinstance(starter.author, Bot) and starter.author.kind == "bot_message"):
            # A bot_message parent has no user, so its replies name no parent user.
            msg["parent_user_id"] = starter.author.id
    if m.reactions:
        grouped: dict[str, list[str]] = {}
        for reactor, emoji in m.reactions:
            grouped.setdefault(emoji, []).append(reactor.id)
        msg["reactions"] = [
            {"name": name, "users": users, "count": len(users)} for name, users in grouped.items()
        ]
    return msg


def write_slack(root: Path, conversations, people, rng: random.Random) -> None:
    """The Slack export of CONVERSATIONS under ROOT: users, channels, a file per channel day."""
    root.mkdir(parents=True)
    members = [p for pool in people.values() for p in pool]
    users = [
        {
            "id": p.id,
            "team_id": SLACK_TEAM,
            "name": p.name,
            "deleted": False,
            "real_name": p.name,
            "profile": {"display_name": p.name, "real_name": p.name},
            "is_bot": False,
            "is_app_user": False,
        }
        for p in members
    ]
    users.append(
        {"id": "USLACKBOT", "team_id": SLACK_TEAM, "name": "slackbot", "deleted": False,
         "real_name": "Slackbot", "profile": {"display_name": "Slackbot"}, "is_bot": False,
         "is_app_user": False}
    )  # fmt: skip
    users.append(
        {"id": "U07TRIAGE1", "team_id": SLACK_TEAM, "name": "triagebot", "deleted": False,
         "real_name": "Triage", "profile": {"display_name": "Triage", "bot_id": "B07TRIAGE1"},
         "is_bot": True, "is_app_user": False}
    )  # fmt: skip
    dump_json(root / "users.json", users)
    channels = [
        {
            "id": cid,
            "name": name,
            "created": int(START.timestamp()) - 86400 * 400,
            "creator": members[0].id,
            "is_archived": False,
            "is_general": name == "general",
            "topic": {"value": "", "creator": "", "last_set": 0},
            "purpose": {"value": f"#{name}", "creator": "", "last_set": 0},
        }
        for name, (cid, _, _) in SLACK_CHANNELS.items()
    ]
    dump_json(root / "channels.json", channels)
    days: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for c in conversations:
        cid = SLACK_CHANNELS[c.channel][0]
        for m in c.messages:
            days[(c.channel, m.at.strftime("%Y-%m-%d"))].append(_slack_message(m, c, cid))
    # Everyone joined #general on their first day here.
    first: dict[str, datetime] = {}
    for c in conversations:
        for m in c.messages:
            people_here = [m.author] + [r for r, _ in m.reactions]
            for p in people_here:
                if isinstance(p, Person) and (p.id not in first or m.at < first[p.id]):
                    first[p.id] = m.at
    for pid, at in sorted(first.items()):
        when = max(START, at - timedelta(hours=rng.randrange(1, 72)))
        ts = f"{int(when.timestamp())}.{rng.randrange(1_000_000):06d}"
        days[("general", when.strftime("%Y-%m-%d"))].append(
            {"type": "message", "subtype": "channel_join", "user": pid, "ts": ts,
             "text": f"<@{pid}> has joined the channel"}
        )  # fmt: skip
    for (name, day), msgs in sorted(days.items()):
        msgs.sort(key=lambda msg: float(msg["ts"]))
        path = root / name / f"{day}.json"
        path.parent.mkdir(exist_ok=True)
        dump_json(path, msgs)
