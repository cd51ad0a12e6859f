"""Generate the labelled accuracy corpus: a Slack export and DiscordChatExporter files.

The conversations and their labels are the hand-written templates of bench/accuracy_templates.py;
this module casts members into their roles over 16 weeks ending at a fixed date (seeded, so the
output is the same on every run), writes both exports the way the real tools lay them out, and
writes beside them what the templates' labels say about this cast: the help edges, the answered
and the unanswered questions, the accepted answers, and the tier each member is meant to hold
(from personas whose tier is clear by a margin; the generator checks that margin).

Regenerate the committed corpus after changing a template (tests/e2e/test_accuracy.py checks
that the committed files are exactly what this writes)::

    python -m bench.accuracy_corpus            # writes bench/corpus/
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from community.events import day_number
from community.tiers import DayCounts, Tier, TierPolicy, earned_tier, stats_from_history

try:
    from bench.accuracy_templates import ACCEPT, TEMPLATES, M, Template
except ImportError:  # run as a script: bench/ itself is on sys.path
    from accuracy_templates import ACCEPT, TEMPLATES, M, Template  # type: ignore[no-redef]

END = datetime(2026, 11, 16, tzinfo=UTC)  # the corpus ends here; the benchmark's "now"
DAYS = 112  # 16 weeks
START = END - timedelta(days=DAYS)
SEED = 20261116
CORPUS = Path(__file__).resolve().parent / "corpus"
HELP_INSTANCES = 200
CHAT_INSTANCES = 30
ACTIVE_POINTS = 40.0

# Personas: how many of each per platform, and the tier each is meant to hold.
PERSONAS = {
    "hero": 3,  # answer questions every week
    "active": 7,  # answer now and then, ask sometimes
    "former": 1,  # helped a lot, but only more than 90 days ago
    "needy": 3,  # ask a lot, with many follow-ups; never help
    "asker": 24,  # ask a question or two; never help
    "chatty": 3,  # post in chat channels and +1 others' questions; never help
    "lurker": 2,  # only react
}
INTENDED = {
    "hero": Tier.HERO,
    "active": Tier.ACTIVE,
    "former": Tier.PASSIVE,
    "needy": Tier.PASSIVE,
    "asker": Tier.PASSIVE,
    "chatty": Tier.PASSIVE,
    "lurker": Tier.PASSIVE,
}
NAMES = (
    "ana.k", "bjorn", "chen_li", "dario", "elif", "fatima.o", "gus", "hana_m", "ivan.p", "jules",
    "kwame", "lena", "mateo", "nadia", "oskar", "priya.s", "quentin", "rosa", "sven", "tomasz",
    "uma", "vik", "wen", "ximena", "yusuf", "zoe.b", "amara", "bruno", "carla.d", "devon",
    "emeka", "farah", "gio", "hugo.r", "ines", "jonas", "keiko", "luca", "maya.t", "nils",
    "olga", "pablo", "rahul", "sofia", "theo", "valentina", "will.j", "yara",
)  # fmt: skip
DISCORD_EMOJI = {
    "white_check_mark": "✅",
    "heavy_check_mark": "✔️",
    "pray": "🙏",
    "+1": "👍",
    "eyes": "👀",
    "tada": "🎉",
}
ACCEPT_EMOJIS = ("white_check_mark", "heavy_check_mark", "pray")
DISCORD_EPOCH_MS = 1420070400000


@dataclass(frozen=True)
class Person:
    """A member of the generated community."""

    id: str
    name: str
    persona: str


@dataclass(frozen=True)
class Bot:
    """Something that posts but is not a member: a bot, webhook, integration or deleted user."""

    id: str
    name: str
    kind: str  # how it appears in the export (see the writers)
    why: str  # why it is not a member, for the labels


@dataclass
class Posted:
    """One rendered message of one conversation."""

    index: int
    spec: M
    author: Person | Bot
    at: datetime
    event_id: str
    native_id: str  # Slack ts, or Discord snowflake
    reference: int | None = None  # Discord: the message it references, by position
    broadcast: bool = False  # Slack: a thread reply also sent to the channel
    reactions: list[tuple[Person, str]] = field(default_factory=list)


@dataclass
class Conversation:
    """A template cast and placed: where, when, who."""

    template: Template
    day: int
    cast: dict[str, Person | Bot]
    channel: str = ""
    form: str = ""
    messages: list[Posted] = field(default_factory=list)


# --- casting ------------------------------------------------------------------------------------


def _people(rng: random.Random, platform: str) -> dict[str, list[Person]]:
    names = list(NAMES)
    rng.shuffle(names)
    people: dict[str, list[Person]] = {}
    for persona, count in PERSONAS.items():
        people[persona] = []
        for _ in range(count):
            name = names.pop()
            if platform == "slack":
                pid = "U0" + "".join(
                    rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789") for _ in "x" * 8
                )
            else:
                pid = str(rng.randrange(200_000_000_000_000_000, 1_100_000_000_000_000_000))
            people[persona].append(Person(pid, name, persona))
    return people


def _pick(rng: random.Random, pools: list[tuple[list[Person], float]], exclude=()) -> Person:
    weighted = [(p, w) for pool, w in pools for p in pool if p not in exclude and w > 0]
    return rng.choices([p for p, _ in weighted], [w for _, w in weighted])[0]


def _cast(rng: random.Random, people, bots: dict[str, list[Bot]]) -> list[Conversation]:
    """Place every conversation in time and give each role a member."""
    help_templates = [t for t in TEMPLATES if t.place == "help"]
    chat_templates = [t for t in TEMPLATES if t.place == "chat"]
    conversations = []
    for templates, count in ((help_templates, HELP_INSTANCES), (chat_templates, CHAT_INSTANCES)):
        for _ in range(count):
            template = rng.choices(templates, [t.weight for t in templates])[0]
            conversations.append(Conversation(template, rng.randrange(DAYS), {}))
    conversations.sort(key=lambda c: (c.day, c.template.name))
    # Helpers: actives answer in conversations spread over the window until they hold about
    # ACTIVE_POINTS (well between the active bar and the hero candidates' bar); the former
    # helper only the early ones; heroes the rest.
    needs_h = [c for c in conversations if _roles(c.template) & {"H"}]
    assigned: dict[int, Person] = {}
    helping = [i for i, c in enumerate(needs_h) if _h_helps(c.template)]
    recent = [i for i in helping if needs_h[i].day >= 30]
    rng.shuffle(recent)
    points = dict.fromkeys(people["active"], 0.0)
    for i in recent:
        below = [p for p, held in points.items() if held < ACTIVE_POINTS]
        if not below:
            break
        person = rng.choice(below)
        assigned[i] = person
        points[person] += _h_points(needs_h[i])
    early = [i for i in helping if needs_h[i].day <= 18 and i not in assigned]
    for i in rng.sample(early, min(8, len(early))):
        assigned[i] = people["former"][0]
    heroes = people["hero"]
    asker_pools = {
        "asker": [(people["needy"], 4.0), (people["asker"], 1.0), (people["active"], 0.4),
                  (people["chatty"], 0.3)],
        "chatty": [(people["chatty"], 1.0)],
        "casual": [(people["asker"], 1.0)],
    }  # fmt: skip
    for i, c in enumerate(needs_h):
        c.cast["H"] = assigned.get(i) or _pick(rng, [(heroes, 1.0)])
    for c in conversations:
        roles = _roles(c.template)
        cast = c.cast
        if "H" in roles and c.template.name.startswith("a release"):
            cast["H"] = _pick(rng, [(heroes, 1.0)])
        if "A" in roles:
            pools = asker_pools[c.template.asker]
            cast["A"] = _pick(rng, pools, exclude=[cast.get("H")])
        if "H2" in roles:
            cast["H2"] = _pick(
                rng, [(heroes, 1.0), (people["active"], 0.03)], exclude=[cast["H"], cast.get("A")]
            )
        if "B" in roles:
            cast["B"] = _pick(
                rng,
                [(people["chatty"], 3.0), (people["asker"], 0.3)],
                exclude=[cast.get("A")],
            )
        if "BOT" in roles:
            kinds = [b for k in c.template.bots for b in bots[k]]
            cast["BOT"] = rng.choice(kinds)
    return conversations


def _h_points(c: Conversation) -> float:
    """Roughly what H earns in C, by the tier weights, decayed by age at the corpus's end."""
    specs = c.template.messages
    earned = sum(0.5 + 2.0 * bool(m.helps) for m in specs if m.who == "H")
    earned += 4.0 + 3.0 * sum(m.thanks == "H" for m in specs)
    return earned * (1.0 - 0.5 * (DAYS - c.day) / 90)


def _h_helps(template: Template) -> bool:
    """Whether H helps someone in TEMPLATE (on Slack; Discord differs only in whom)."""
    return any(m.who == "H" and m.helps for m in template.messages)


def _roles(template: Template) -> set[str]:
    return {m.who for m in template.messages} | {r for m in template.messages for r, _ in m.rx}


# --- placing messages ---------------------------------------------------------------------------


class Clock:
    """Unique, increasing native ids for messages placed at arbitrary times."""

    def __init__(self) -> None:
        self._used: set[str] = set()
        self._seq = 0

    def slack_ts(self, at: datetime) -> str:
        """A Slack ts for AT, unique in the export."""
        self._seq += 1
        ts = f"{int(at.timestamp())}.{self._seq % 1_000_000:06d}"
        assert ts not in self._used
        self._used.add(ts)
        return ts

    def snowflake(self, at: datetime) -> str:
        """A Discord snowflake for AT, unique in the export."""
        self._seq += 1
        ms = int(at.timestamp() * 1000) - DISCORD_EPOCH_MS
        return str((ms << 22) | (1 << 17) | (self._seq & 0x1FFFF))


def _default_reference(spec_list: list[M], i: int) -> int:
    """The message a reply references when its template names none."""
    who = spec_list[i].who
    starter = spec_list[0].who
    for j in range(i - 1, -1, -1):
        other = spec_list[j].who
        if who == starter and other != who:
            return j
        if who != starter and other == starter:
            return j
    return 0


def _place(rng: random.Random, c: Conversation, platform: str, clock: Clock) -> None:
    at = START + timedelta(days=c.day, hours=rng.randrange(7, 14), minutes=rng.randrange(60))
    specs = list(c.template.messages)
    for i, spec in enumerate(specs):
        if i:
            at += timedelta(minutes=rng.randrange(3, 75), seconds=rng.randrange(60))
        else:
            at += timedelta(seconds=rng.randrange(60))
        native = clock.slack_ts(at) if platform == "slack" else clock.snowflake(at)
        author = c.cast[spec.who]
        posted = Posted(i, spec, author, at.replace(microsecond=0), "", native)
        if platform == "discord" and i and (c.form == "chain" or spec.to is not None):
            posted.reference = spec.to if spec.to is not None else _default_reference(specs, i)
        for role, emoji in spec.rx:
            if emoji == ACCEPT:
                emoji = rng.choice(ACCEPT_EMOJIS)
            posted.reactions.append((c.cast[role], emoji))  # type: ignore[arg-type]
        c.messages.append(posted)


# --- labels from the templates ------------------------------------------------------------------


def _is_member(who: Person | Bot) -> bool:
    return isinstance(who, Person)


def _labels_of(c: Conversation, platform: str) -> dict:
    edges, replies, answered, unanswered, accepted = set(), [], [], [], []
    for m in c.messages:
        helped = m.spec.helped(platform)
        if helped is not None:
            target = c.cast[helped]
            assert _is_member(m.author), c.template.name
            assert _is_member(target), c.template.name
            assert m.author is not target, c.template.name
            edges.add((m.author.id, target.id))
            replies.append([m.event_id, m.author.id, target.id])
        if m.spec.q == "a":
            answered.append(m.event_id)
        elif m.spec.q == "o":
            unanswered.append(m.event_id)
        if m.spec.acc:
            accepted.append(m.event_id)
    return {
        "edges": edges,
        "replies": replies,
        "answered": answered,
        "unanswered": unanswered,
        "accepted": accepted,
    }


def _check_template(t: Template) -> None:
    """Catch slips in hand-written labels that the rules rule out whatever the cast."""
    specs = t.messages
    for i, m in enumerate(specs):
        if m.q == "a":
            later = [n for n in specs[i + 1 :] if n.who not in (m.who, "BOT")]
            assert later, f"{t.name}: message {i} is labelled answered but nobody replies"
        if i and m.who == specs[0].who:
            assert m.helps is None, f"{t.name}: the starter's follow-up {i} is labelled help"
        if m.who == "BOT":
            assert m.helps is None, t.name
            assert m.q is None, t.name


# --- intended tiers -----------------------------------------------------------------------------


def _ideal_tiers(conversations: list[Conversation], platform: str, people) -> dict[str, dict]:
    """Each member's figures as the labels count them, and the tier those figures earn."""
    policy = TierPolicy()
    counts: dict[str, dict[int, dict[str, int]]] = defaultdict(lambda: defaultdict(dict))
    helped: dict[str, list[tuple[str, int]]] = defaultdict(list)

    def add(member: str, day: int, name: str) -> None:
        row = counts[member][day]
        row[name] = row.get(name, 0) + 1

    for c in conversations:
        open_questions: list[tuple[str, bool]] = []
        for m in c.messages:
            day = day_number(m.at)
            if _is_member(m.author):
                add(m.author.id, day, "messages")
                target = m.spec.helped(platform)
                closes = [q for q in open_questions if q[0] != m.author.id]
                if target is not None:
                    add(m.author.id, day, "replies")
                    helped[m.author.id].append((c.cast[target].id, day))
                    if any(labelled for _, labelled in closes):
                        add(m.author.id, day, "answers")
                open_questions = [q for q in open_questions if q[0] == m.author.id]
                if m.spec.q:
                    add(m.author.id, day, "questions")
                    open_questions.append((m.author.id, m.spec.q == "a"))
                if m.spec.thanks:
                    add(c.cast[m.spec.thanks].id, day, "thanks_received")
            for reactor, _ in m.reactions:
                add(reactor.id, day, "reactions_given")
                if _is_member(m.author):
                    add(m.author.id, day, "reactions_received")
    today = day_number(END)
    out = {}
    for persona, members in people.items():
        for p in members:
            if p.id not in counts:
                continue
            days = [DayCounts(d, row) for d, row in sorted(counts[p.id].items())]
            stats = stats_from_history(days, helped[p.id], today, policy)
            tier = earned_tier(stats, policy)
            intended = INTENDED[persona]
            _check_margin(p, stats, tier, intended, policy)
            out[p.id] = {
                "name": p.name,
                "persona": persona,
                "tier": intended.value,
                "helped_members": stats.helped_members,
                "reason": _reason(persona, stats),
            }
    return out


def _check_margin(p: Person, stats, tier: Tier, intended: Tier, policy: TierPolicy) -> None:
    where = f"{p.name} ({p.persona}): {stats}"
    assert tier is intended, f"intended {intended.value}, figures earn {tier.value}: {where}"
    if intended is Tier.HERO:
        assert stats.score >= 1.3 * policy.hero_score, where
        assert stats.active_weeks >= policy.hero_min_weeks + 2, where
        assert stats.helped_members >= policy.hero_min_helped + 4, where
    elif intended is Tier.ACTIVE:
        assert 1.5 * policy.active_score <= stats.score, where
        assert stats.score <= 0.85 * policy.hero_score * policy.candidate_ratio, where
        assert stats.active_weeks >= policy.active_min_weeks + 1, where
        assert stats.helped_members >= policy.active_min_helped + 1, where
    else:
        assert stats.helped_members == 0 or stats.score <= 0.7 * policy.active_score, where


def _reason(persona: str, stats) -> str:
    figures = (
        f"helped {stats.helped_members} members in the 90-day window, active "
        f"{stats.active_weeks} weeks, labelled score {stats.score:.0f}"
    )
    return {
        "hero": "answers questions nearly every week: ",
        "active": "answers now and then: ",
        "former": "helped only more than 90 days ago: ",
        "needy": "asks a lot, never helps: ",
        "asker": "asks, never helps: ",
        "chatty": "chats and +1s, never helps: ",
        "lurker": "only reacts: ",
    }[persona] + figures


# --- Slack export -------------------------------------------------------------------------------

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


def _write_slack(root: Path, conversations, people, rng: random.Random) -> None:
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
    _dump(root / "users.json", users)
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
    _dump(root / "channels.json", channels)
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
        _dump(path, msgs)


# --- DiscordChatExporter export -----------------------------------------------------------------

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


def _write_discord(root: Path, conversations, people, clock: Clock, rng) -> None:
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
        _dump(
            root / f"Quillstack Community - Community - {name} [{cid}].json", _dc_file(meta, msgs)
        )
    for meta, msgs in threads:
        parent = meta["category"]
        _dump(
            root / f"Quillstack Community - {parent} - {meta['name']} [{meta['id']}].json",
            _dc_file(meta, msgs),
        )


# --- both -----------------------------------------------------------------------------------------


def _dump(path: Path, data) -> None:
    """JSON with one message per line: small, and readable in a diff."""
    if isinstance(data, list):
        body = "[\n" + ",\n".join(json.dumps(x, ensure_ascii=False) for x in data) + "\n]\n"
    elif isinstance(data, dict) and "messages" in data:
        head = {k: v for k, v in data.items() if k != "messages"}
        parts = [f"{json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}" for k, v in head.items()]
        msgs = ",\n".join(json.dumps(x, ensure_ascii=False) for x in data["messages"])
        body = "{\n" + ",\n".join(parts[:3]) + ',\n"messages": [\n' + msgs + "\n],\n"
        body += ",\n".join(parts[3:]) + "\n}\n"
    else:
        body = json.dumps(data, ensure_ascii=False, indent=1) + "\n"
    path.write_text(body, encoding="utf-8")


def _dump_labels(path: Path, labels: dict) -> None:
    """The labels with one edge, question, member or conversation to a line."""
    lines = ["{"]
    keys = list(labels)
    for n, key in enumerate(keys):
        value = labels[key]
        end = "," if n < len(keys) - 1 else ""
        if isinstance(value, list) and value and not isinstance(value[0], str):
            items = [json.dumps(v, ensure_ascii=False) for v in value]
        elif isinstance(value, dict) and key != "questions":
            items = [
                f"{json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}" for k, v in value.items()
            ]
        elif key == "questions":
            items = [f"{json.dumps(k)}: {json.dumps(v)}" for k, v in value.items()]
        else:
            lines.append(f" {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)}{end}")
            continue
        opening, closing = ("[", "]") if isinstance(value, list) else ("{", "}")
        lines.append(f" {json.dumps(key)}: {opening}")
        lines.append(",\n".join("  " + item for item in items))
        lines.append(f" {closing}{end}")
    path.write_text("\n".join(lines) + "\n}\n", encoding="utf-8")


def _build(platform: str) -> tuple[list[Conversation], dict, dict, Clock]:
    rng = random.Random(f"{SEED}:{platform}")
    people = _people(rng, platform)
    bots = SLACK_BOTS if platform == "slack" else DISCORD_BOTS
    conversations = _cast(rng, people, bots)
    clock = Clock()
    channels = SLACK_CHANNELS if platform == "slack" else DISCORD_CHANNELS
    for c in conversations:
        place = c.template.place
        if platform == "slack":
            names = [n for n, (_, _, p) in SLACK_CHANNELS.items() if p == place]
            c.channel = rng.choice(names)
            c.form = "thread"
        else:
            # A template that fits a thread fits both kinds of thread.
            forms = list(c.template.forms) + ["standalone"] * ("thread" in c.template.forms)
            if place == "help":
                weights = {"forum": 4, "thread": 2, "standalone": 1, "chain": 3}
                c.form = rng.choices(forms, [weights[f] for f in forms])[0]
                c.channel = "questions" if c.form == "forum" else "help"
            else:
                forms = [f for f in forms if f != "forum"]
                c.form = rng.choice(forms)
                c.channel = rng.choice(["general", "off-topic"])
        _place(rng, c, platform, clock)
        if platform == "slack":
            for m in c.messages[1:]:
                m.broadcast = bool(m.spec.helps) and rng.random() < 0.06
        for m in c.messages:
            if platform == "slack":
                m.event_id = f"{channels[c.channel][0]}:{m.native_id}"
            elif c.form == "forum" and m.index == 0:
                m.event_id = f"thread:{m.native_id}"  # a forum post is logged as its thread
            else:
                m.event_id = m.native_id
    # Lurkers react to answers now and then; a reaction from someone else accepts nothing.
    answers = [m for c in conversations for m in c.messages if m.spec.helps]
    for lurker in people["lurker"]:
        for m in rng.sample(answers, 8):
            if all(r is not lurker for r, _ in m.reactions):
                m.reactions.append((lurker, rng.choice(["+1", "tada", "eyes"])))
    labels = _labels(conversations, platform, people, bots)
    return conversations, people, labels, clock


def _labels(conversations, platform: str, people, bots) -> dict:
    edges: set = set()
    answered, unanswered, accepted, listing, replies = [], [], [], [], []
    for c in conversations:
        found = _labels_of(c, platform)
        edges |= found["edges"]
        replies += found["replies"]
        answered += found["answered"]
        unanswered += found["unanswered"]
        accepted += found["accepted"]
        listing.append([c.template.name, c.channel, c.form, [m.event_id for m in c.messages]])
    non_members = {b.id: f"{b.name}: {b.why}" for kinds in bots.values() for b in kinds}
    if platform == "slack":
        space = SLACK_TEAM
        help_channels = [cid for cid, is_help, _ in SLACK_CHANNELS.values() if is_help]
    else:
        space = GUILD["id"]
        help_channels = [cid for cid, _, is_help in DISCORD_CHANNELS.values() if is_help]
    return {
        "about": "What is true of this export, from the hand-written labels of "
        "bench/accuracy_templates.py (written by bench/accuracy_corpus.py; do not edit)",
        "platform": platform,
        "space_id": space,
        "now": END.isoformat(),
        "help_channel_ids": help_channels,
        "help_edges": sorted([list(e) for e in edges]),
        # The replies that make each edge: [reply event id, helper, helped].
        "help_replies": sorted(replies),
        "questions": {"answered": sorted(answered), "unanswered": sorted(unanswered)},
        "accepted_answers": sorted(accepted),
        "members": _ideal_tiers(conversations, platform, people),
        "non_members": dict(sorted(non_members.items())),
        "conversations": listing,
    }


def generate(out: Path = CORPUS) -> None:
    """Write both exports and their labels under OUT (replacing what is there)."""
    for t in TEMPLATES:
        _check_template(t)
    # Everything is built, and its margins checked, before the old corpus is replaced.
    built = {platform: _build(platform) for platform in ("slack", "discord")}
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    for platform, (conversations, people, labels, clock) in built.items():
        rng = random.Random(f"{SEED}:{platform}:files")
        if platform == "slack":
            _write_slack(out / "slack", conversations, people, rng)
        else:
            _write_discord(out / "discord", conversations, people, clock, rng)
        _dump_labels(out / f"labels-{platform}.json", labels)


def main() -> None:
    """Regenerate the corpus."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=CORPUS, help="where to write (replaced)")
    generate(parser.parse_args().out)


if __name__ == "__main__":
    main()
