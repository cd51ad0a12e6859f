"""DiscordChatExporter messages into ActivityEvents.

Works on the message objects DiscordChatExporter writes (``id``, ``type``, ``timestamp``,
``content``, ``author``, ``reference``, ``mentions``, ``reactions``); event ids follow
community/ids.py so an export collapses onto what the live bot logged for the same messages.
Activity is credited to a thread's parent channel; inside a thread, a message that replies to
nobody in particular is aimed at the thread's starter (see ThreadTracker).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from community import ids
from community.events import ActivityEvent, ActivityKind, Platform
from community.helpgraph import BOT_STARTER, DEFAULT_ACCEPT_KEYS, is_accept, judge_reply
from community.mapping import (
    MAX_REACTIONS_PER_MESSAGE,
    MappingError,
    RecentMap,
    ThreadTracker,
    id_or_none,
    shown,
    text_or_none,
)
from community.text import message_features

POSTING_TYPES = frozenset({"Default", "Reply"})
_BOT = ""  # stands for "a bot wrote it" in the recent-authors map
# Discord credits every message of a deleted account to this one shared placeholder user.
DELETED_USER_ID = "456226577798135808"
# DiscordChatExporter writes webhooks (Zapier, GitHub, ...) with discriminator "0000". So it
# writes people since Discord's unique usernames, but theirs are lowercase letters, digits, "_"
# and "."; a webhook's name is free text ("Zapier", "GitHub Alerts").
WEBHOOK_DISCRIMINATOR = "0000"
_USERNAME = re.compile(r"[a-z0-9_.]{2,32}")


def not_a_person(author: Mapping) -> str | None:
    """Why an exported author is not a member (a bot, a webhook, a deleted account), or None."""
    if author.get("isBot"):
        return "bot message"
    if str(author.get("discriminator") or "") == WEBHOOK_DISCRIMINATOR and not (
        isinstance(author.get("name"), str) and _USERNAME.fullmatch(author["name"])
    ):
        return "webhook message"
    if id_or_none(author.get("id")) == DELETED_USER_ID:
        return "message by a deleted account"
    return None


@dataclass(frozen=True, slots=True)
class DiscordChannel:
    """Where a channel export's messages are credited."""

    id: str  # the channel, or for a thread its parent channel
    name: str | None = None
    thread_id: str | None = None  # set when the export is a thread


def parse_time(value: object) -> datetime:
    """A DiscordChatExporter timestamp as an aware datetime (naive ones are taken as UTC)."""
    if not isinstance(value, str):
        raise MappingError(f"timestamp {shown(value)} is not a date")
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise MappingError(f"timestamp {shown(value)} is not an ISO 8601 date") from None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


class DiscordMapper:
    """Turns the messages of one channel export after another into events."""

    def __init__(
        self,
        *,
        help_channels: Collection[str] = (),
        recent: int = 100_000,
        accept: frozenset[str] = DEFAULT_ACCEPT_KEYS,
    ) -> None:
        self.help_channels = frozenset(help_channels)
        self.accept = accept  # reactions that accept an answer (community.helpgraph)
        self.skipped: Counter[str] = Counter()
        self.unresolved_replies = 0
        # message id -> (author id, who started its reply chain), _BOT for bots: whom a reply is
        # aimed at and whose follow-up it is, across channel files.
        self._authors = RecentMap(recent)
        self.threads = ThreadTracker(recent)
        self._guild_id = ""
        self._guild_name: str | None = None
        self._channel = DiscordChannel("")

    def start(self, guild_id: str, guild_name: str | None, channel: DiscordChannel) -> None:
        """Begin a channel (or thread) export."""
        if not guild_id or not channel.id:
            raise MappingError("the export names no guild or channel id")
        self._guild_id = guild_id
        self._guild_name = guild_name
        self._channel = channel

    def _event(self, kind, event_id, member, name, when, **extra) -> ActivityEvent:
        return ActivityEvent(
            platform=Platform.DISCORD,
            space_id=self._guild_id,
            event_id=event_id,
            kind=kind,
            member_id=member,
            occurred_at=when,
            member_name=name,
            space_name=self._guild_name,
            **extra,
        )

    def events(self, msg: Mapping) -> list[ActivityEvent]:
        """The events one exported message stands for (none when it is skipped)."""
        if not isinstance(msg, dict):  # exact dicts: an ABC check costs more than the rest
            raise MappingError(f"expected a message object, got {type(msg).__name__}")
        message_id = id_or_none(msg.get("id"))
        author = msg.get("author")
        author_id = id_or_none(author.get("id")) if isinstance(author, Mapping) else None
        if message_id is None or author_id is None:
            raise MappingError("message has no id or author id")
        when = parse_time(msg.get("timestamp"))
        not_person = not_a_person(author)
        is_bot = not_person is not None
        self._authors[message_id] = (_BOT, _BOT) if is_bot else (author_id, author_id)
        member = None if is_bot else author_id
        name = _name_of(author)
        kind = msg.get("type") or "Default"
        if kind.__class__ is not str:
            raise MappingError(f"type {shown(kind)} is not a string")
        out: list[ActivityEvent] = []
        thread = self._channel.thread_id
        if kind == "ThreadStarterMessage":
            # A placeholder for the message the thread grew from, which lives in the parent
            # channel: it tells us who started the thread, and is not a post of its own.
            parent = _referenced(msg, "messageId") or ""
            known = self._authors.get(parent) if parent else None
            starter = known[0] if known is not None else (BOT_STARTER if is_bot else None)
            if thread:
                self.threads.start(thread, starter, parent or None)
            self.skipped["thread starter placeholder"] += 1
        elif is_bot:
            self.skipped[not_person] += 1
            if kind == "ThreadCreated" or (thread and message_id == thread):
                # A thread a bot opened (its notice in the parent channel, or its forum post):
                # replies in it help nobody in particular.
                opened = _referenced(msg, "channelId") or message_id
                self.threads.start(opened, BOT_STARTER, ids.discord_thread(opened))
        elif kind in POSTING_TYPES:
            out.append(self._posting(msg, message_id, author_id, name, when))
        elif kind == "GuildMemberJoin":
            out.append(self._event(ActivityKind.MEMBER_JOINED, message_id, author_id, name, when))
        elif kind == "ThreadCreated":
            thread_id = _referenced(msg, "channelId") or message_id
            out.append(
                self._event(
                    ActivityKind.THREAD_STARTED,
                    ids.discord_thread(thread_id),
                    author_id,
                    name,
                    when,
                    channel_id=self._channel.id,
                    channel_name=self._channel.name,
                )
            )
        else:
            self.skipped[f"system message ({kind})"] += 1
        reactions = msg.get("reactions")
        if reactions:
            self._reactions(out, reactions, message_id, member, name, when)
        return out

    def _posting(self, msg, message_id, author_id, name, when) -> ActivityEvent:
        channel = self._channel
        thread = channel.thread_id
        reference = msg.get("reference")
        replied_to = None
        if isinstance(reference, Mapping) and reference.get("type", "Default") == "Default":
            replied_to = id_or_none(reference.get("messageId"))
        starter = last_other = referenced = parent = None
        root = author_id
        if replied_to:
            known = self._authors.get(replied_to)
            if known is None:
                self.unresolved_replies += 1
            else:
                referenced, starter = known[0] or None, known[1] or None
        if thread and self.threads.known(thread):
            # Inside a thread every reply hangs from the thread's root, whoever it references.
            kind = ActivityKind.REPLY
            starter, parent, last_other = self.threads.reply(thread, author_id)
            root = starter or author_id
        elif replied_to:
            kind = ActivityKind.REPLY
            parent = replied_to
            root = starter or author_id
        else:
            kind = ActivityKind.MESSAGE
            if thread:
                if message_id == thread:
                    # A forum post: its first message carries the thread's id. The live bot
                    # logs it as the thread being started, so the import does too.
                    kind = ActivityKind.THREAD_STARTED
                self.threads.start(
                    thread,
                    author_id,
                    ids.discord_thread(message_id) if message_id == thread else message_id,
                )
        self._authors[message_id] = (author_id, root)
        if kind is ActivityKind.THREAD_STARTED:
            message_id = ids.discord_thread(message_id)
        text = msg.get("content")
        text = text if isinstance(text, str) else ""
        feats = message_features(
            text,
            in_help_channel=channel.id in self.help_channels,
            top_level=kind in (ActivityKind.MESSAGE, ActivityKind.THREAD_STARTED),
            aimed_at_member=True,
        )
        is_thanks = feats.is_thanks
        mentioned = _first_mention(msg.get("mentions"), author_id) if is_thanks else None
        if kind is ActivityKind.REPLY:
            judged = judge_reply(
                author_id,
                text,
                starter=starter,
                says_thanks=is_thanks,
                replied_to=referenced,
                last_other=last_other,
                mentioned=mentioned,
            )
            target, is_thanks = judged.target, judged.is_thanks
            if not judged.hangs:
                parent = None
                if thread and self.threads.known(thread):
                    self.threads.unsay(thread, last_other)
        else:
            target = mentioned
            is_thanks = is_thanks and target is not None
        return self._event(
            kind,
            ids.discord_message(message_id),
            author_id,
            name,
            when,
            channel_id=channel.id,
            channel_name=channel.name,
            target_member_id=target,
            parent_event_id=parent,
            is_question=feats.is_question,
            is_thanks=is_thanks,
        )

    def _reactions(self, out, reactions, message_id, author, author_name, when) -> None:
        if not isinstance(reactions, list):
            raise MappingError("reactions is not a list")
        channel = self._channel
        credited = 0
        past = f"reaction past {MAX_REACTIONS_PER_MESSAGE:,} on one message"
        for reaction in reactions:
            emoji = reaction.get("emoji") if isinstance(reaction, Mapping) else None
            if not isinstance(emoji, Mapping):
                raise MappingError("a reaction has no emoji")
            key = id_or_none(emoji.get("id")) or text_or_none(emoji.get("name"))
            if not key:
                raise MappingError("a reaction's emoji has neither id nor name")
            accepting = is_accept(text_or_none(emoji.get("name")) or "", self.accept) or is_accept(
                key, self.accept
            )
            users = reaction.get("users") or []
            if not isinstance(users, list):
                raise MappingError("a reaction's users is not a list")
            for user in users:
                user_id = id_or_none(user.get("id")) if isinstance(user, Mapping) else None
                if user_id is None or not_a_person(user):
                    self.skipped["reaction by a bot"] += 1
                    continue
                if credited == MAX_REACTIONS_PER_MESSAGE:
                    self.skipped[past] += 1
                    continue
                credited += 1
                out.append(
                    self._event(
                        ActivityKind.REACTION_GIVEN,
                        ids.discord_reaction(message_id, key, user_id),
                        user_id,
                        _name_of(user),
                        # Exports give reactions no time of their own: the message's.
                        when,
                        channel_id=channel.id,
                        channel_name=channel.name,
                        target_member_id=author,
                        parent_event_id=message_id,
                        is_thanks=accepting,
                    )
                )
            count = reaction.get("count")
            unnamed = count - len(users) if count.__class__ is int else 0
            if unnamed <= 0:
                continue
            if author is None:
                self.skipped["unattributed reaction to a bot message"] += unnamed
                continue
            if credited + unnamed > MAX_REACTIONS_PER_MESSAGE:
                self.skipped[past] += credited + unnamed - MAX_REACTIONS_PER_MESSAGE
                unnamed = MAX_REACTIONS_PER_MESSAGE - credited
            credited += unnamed
            # Older exports hold only a count: the author still received these reactions.
            for n in range(1, unnamed + 1):
                out.append(
                    self._event(
                        ActivityKind.REACTION_RECEIVED,
                        ids.discord_counted_reaction(message_id, key, n),
                        author,
                        author_name,
                        when,
                        channel_id=channel.id,
                        channel_name=channel.name,
                        target_member_id=author,
                        parent_event_id=message_id,
                    )
                )


def _first_mention(mentions, author_id: str) -> str | None:
    if not isinstance(mentions, list):
        return None
    for mention in mentions:
        if isinstance(mention, Mapping) and not not_a_person(mention):
            member = id_or_none(mention.get("id"))
            if member is not None and member != author_id:
                return member
    return None


def _name_of(author: Mapping) -> str | None:
    return text_or_none(author.get("nickname")) or text_or_none(author.get("name"))


def _referenced(msg: Mapping, key: str) -> str | None:
    """The id under KEY of the message's reference, if it has one."""
    reference = msg.get("reference")
    return id_or_none(reference.get(key)) if isinstance(reference, Mapping) else None
