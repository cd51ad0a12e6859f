"""Slack messages into ActivityEvents.

Export day files and the live Events API carry messages in the same shape (``user``, ``ts``,
``text``, ``subtype``, ``thread_ts``, ``parent_user_id``, ``reactions``), so the live adapter and
the importer share this mapping and its event ids (see community/ids.py).
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
    ThreadTracker,
    id_or_none,
    shown,
    text_or_none,
)
from community.text import message_features

# Subtypes that are a member posting something; everything else is bookkeeping or an edit.
POSTING_SUBTYPES = frozenset({None, "thread_broadcast", "file_share", "me_message"})
# Edits and deletions wrap another message: neither they nor the reactions inside them are new.
EDIT_SUBTYPES = frozenset({"message_changed", "message_deleted", "message_replied"})
SLACKBOT = "USLACKBOT"
_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")


@dataclass(frozen=True, slots=True)
class SlackUser:
    """What the mapping needs to know about a workspace member."""

    name: str | None
    is_bot: bool = False


def parse_ts(ts: object) -> datetime:
    """A Slack ``ts`` ("1452837318.000002") as an aware UTC datetime."""
    try:
        return datetime.fromtimestamp(float(ts), UTC)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError, OSError):
        raise MappingError(f"ts {shown(ts)} is not a Slack timestamp") from None


class SlackMapper:
    """Turns Slack messages of one workspace into events; counts what it skips and why."""

    def __init__(
        self,
        team_id: str,
        users: Mapping[str, SlackUser],
        *,
        help_channels: Collection[str] = (),
        join_channels: Collection[str] | None = None,
        space_name: str | None = None,
        threads: ThreadTracker | None = None,
        accept: frozenset[str] = DEFAULT_ACCEPT_KEYS,
    ) -> None:
        self.team_id = team_id
        self.users = users
        self.help_channels = frozenset(help_channels)
        # Where a channel join means joining the workspace (the general channel); None: anywhere.
        self.join_channels = None if join_channels is None else frozenset(join_channels)
        self.space_name = space_name
        self.threads = threads or ThreadTracker()
        self.accept = accept  # reactions that accept an answer (community.helpgraph)
        self.skipped: Counter[str] = Counter()

    def _is_bot(self, user: object) -> bool:
        if user.__class__ is not str:
            return False
        if user == SLACKBOT:
            return True
        known = self.users.get(user)
        return known is not None and known.is_bot

    def _name(self, user: str) -> str | None:  # USER: a string
        known = self.users.get(user)
        return known.name if known is not None else None

    def events(
        self, msg: Mapping, channel_id: str, channel_name: str | None = None
    ) -> list[ActivityEvent]:
        """The events one message stands for (none when it is skipped)."""
        if not isinstance(msg, dict):  # exact dicts: an ABC check costs more than the rest
            raise MappingError(f"expected a message object, got {type(msg).__name__}")
        subtype = msg.get("subtype")
        if subtype is not None and subtype.__class__ is not str:
            raise MappingError(f"subtype {shown(subtype)} is not a string")
        if subtype in EDIT_SUBTYPES:
            self.skipped[f"edit or deletion ({subtype})"] += 1
            return []
        ts = msg.get("ts")
        if not isinstance(ts, str) or not ts:
            raise MappingError("message has no ts")
        when = parse_ts(ts)
        user = msg.get("user")
        known = self.users.get(user) if user.__class__ is str else None
        if msg.get("bot_id"):
            # An app posting on a person's behalf still carries their user id: not their post.
            author = None
        elif known is not None:
            author = None if known.is_bot else user
        else:
            author = user if isinstance(user, str) and user and user != SLACKBOT else None
        out: list[ActivityEvent] = []
        if subtype == "bot_message" or (author is None and (user or msg.get("bot_id"))):
            self.skipped["bot message"] += 1
            if msg.get("thread_ts") == ts:
                # Replies in a thread an app started help nobody in particular.
                root = ids.slack_message(channel_id, ts)
                self.threads.start(root, BOT_STARTER, root)
        elif author is None:
            self.skipped[f"not a post ({subtype})" if subtype else "message without a user"] += 1
        elif subtype == "channel_join":
            if self.join_channels is None or channel_id in self.join_channels:
                out.append(
                    ActivityEvent(
                        platform=Platform.SLACK,
                        space_id=self.team_id,
                        event_id=ids.slack_message(channel_id, ts),
                        kind=ActivityKind.MEMBER_JOINED,
                        member_id=author,
                        occurred_at=when,
                        member_name=known.name if known is not None else None,
                        space_name=self.space_name,
                    )
                )
            else:
                self.skipped["channel join outside the general channel"] += 1
        elif subtype in POSTING_SUBTYPES:
            name = known.name if known is not None else None
            out.append(self._posting(msg, author, name, channel_id, channel_name, ts, when))
        else:
            self.skipped[f"not a post ({subtype})"] += 1
        reactions = msg.get("reactions")
        if reactions:
            self._reactions(out, reactions, author, channel_id, channel_name, ts, when)
        return out

    def _posting(self, msg, author, name, channel_id, channel_name, ts, when) -> ActivityEvent:
        thread_ts = text_or_none(msg.get("thread_ts"))
        text = msg.get("text")
        text = text if isinstance(text, str) else ""
        event_id = f"{channel_id}:{ts}"  # ids.slack_message, inlined: it runs per message
        target = parent = starter = last_other = root = None
        if thread_ts and thread_ts != ts:
            kind = ActivityKind.REPLY
            parent_user = text_or_none(msg.get("parent_user_id"))
            root = ids.slack_message(channel_id, thread_ts)
            starter, parent, last_other = self.threads.reply(
                root,
                author,
                starter=(BOT_STARTER if self._is_bot(parent_user) else parent_user)
                if parent_user
                else None,
                parent_event_id=root,
            )
        else:
            kind = ActivityKind.MESSAGE
            if thread_ts:
                self.threads.start(event_id, author, event_id)
        feats = message_features(
            text,
            in_help_channel=channel_id in self.help_channels,
            top_level=kind is ActivityKind.MESSAGE,
            aimed_at_member=True,
        )
        is_thanks = feats.is_thanks
        mentioned = self._first_mention(text, author) if is_thanks else None
        if kind is ActivityKind.REPLY:
            judged = judge_reply(
                author,
                text,
                starter=starter,
                says_thanks=is_thanks,
                last_other=last_other,
                mentioned=mentioned,
            )
            target, is_thanks = judged.target, judged.is_thanks
            if not judged.hangs:
                parent = None
                self.threads.unsay(root, last_other)
        else:
            target = mentioned
            is_thanks = is_thanks and target is not None
        return ActivityEvent(
            platform=Platform.SLACK,
            space_id=self.team_id,
            event_id=event_id,
            kind=kind,
            member_id=author,
            occurred_at=when,
            channel_id=channel_id,
            target_member_id=target,
            parent_event_id=parent,
            is_question=feats.is_question,
            is_thanks=is_thanks,
            member_name=name,
            space_name=self.space_name,
            channel_name=channel_name,
        )

    def _first_mention(self, text: str, author: str) -> str | None:
        if "<@" not in text:
            return None
        for match in _MENTION.finditer(text):
            member = match.group(1)
            if member != author and not self._is_bot(member):
                return member
        return None

    def _reactions(self, out, reactions, author, channel_id, channel_name, ts, when) -> None:
        if not isinstance(reactions, list):
            raise MappingError("reactions is not a list")
        credited = 0
        for reaction in reactions:
            if not isinstance(reaction, Mapping) or not text_or_none(reaction.get("name")):
                raise MappingError("a reaction has no name")
            emoji = reaction["name"]
            accepting = is_accept(emoji, self.accept)
            users = reaction.get("users") or []
            if not isinstance(users, list):
                raise MappingError("a reaction's users is not a list")
            named = 0
            for user in users:
                named += 1
                if not isinstance(user, str) or not user or self._is_bot(user):
                    self.skipped["reaction by a bot"] += 1
                    continue
                if credited == MAX_REACTIONS_PER_MESSAGE:
                    self.skipped[f"reaction past {MAX_REACTIONS_PER_MESSAGE:,} on one message"] += 1
                    continue
                credited += 1
                out.append(
                    ActivityEvent(
                        platform=Platform.SLACK,
                        space_id=self.team_id,
                        event_id=ids.slack_reaction(channel_id, ts, emoji, user),
                        kind=ActivityKind.REACTION_GIVEN,
                        member_id=user,
                        # Reactions carry no time of their own in an export: the message's.
                        occurred_at=when,
                        channel_id=channel_id,
                        target_member_id=author,
                        parent_event_id=ids.slack_message(channel_id, ts),
                        is_thanks=accepting,
                        member_name=self._name(user),
                        space_name=self.space_name,
                        channel_name=channel_name,
                    )
                )
            count = reaction.get("count")
            if count.__class__ is int and count > named:
                self.skipped["reaction whose member the export does not name"] += count - named


# --- events only the live Events API sends ------------------------------------------------------


def reaction_event(
    event: Mapping,
    team_id: str,
    *,
    reactor_is_bot: bool,
    author_is_bot: bool = False,
    space_name: str | None = None,
    accept: frozenset[str] = DEFAULT_ACCEPT_KEYS,
) -> ActivityEvent | None:
    """A ``reaction_added`` or ``reaction_removed`` on a message, or None when it is not one."""
    item = event.get("item")
    user = event.get("user")
    emoji = event.get("reaction")
    if not isinstance(item, Mapping) or item.get("type") != "message" or reactor_is_bot:
        return None
    channel, ts = text_or_none(item.get("channel")), text_or_none(item.get("ts"))
    if not (text_or_none(user) and text_or_none(emoji) and channel and ts):
        return None
    added = event.get("type") == "reaction_added"
    # Same id as the reaction listed on the message in an export or in conversations.history,
    # so live, caught-up and imported reactions collapse.
    base = ids.slack_reaction(channel, ts, emoji, user)
    author = event.get("item_user")
    aimed = author if isinstance(author, str) and author != user and not author_is_bot else None
    return ActivityEvent(
        platform=Platform.SLACK,
        space_id=team_id,
        # A removal carries its own id, so it undoes the reaction instead of colliding with it.
        event_id=base if added else base + ":removed",
        kind=ActivityKind.REACTION_GIVEN if added else ActivityKind.REACTION_REMOVED,
        member_id=user,
        occurred_at=parse_ts(text_or_none(event.get("event_ts")) or ts),
        channel_id=channel,
        target_member_id=aimed,
        parent_event_id=ids.slack_message(channel, ts),
        is_thanks=added and is_accept(emoji, accept),
        space_name=space_name,
    )


def user_of(profile: Mapping) -> SlackUser:
    """A users.info / team_join user object as the mapping's SlackUser."""
    inner = profile.get("profile") if isinstance(profile.get("profile"), Mapping) else {}
    name = (
        text_or_none(inner.get("display_name"))
        or text_or_none(inner.get("real_name"))
        or text_or_none(profile.get("real_name"))
        or text_or_none(profile.get("name"))
    )
    is_bot = bool(profile.get("is_bot")) or profile.get("id") == SLACKBOT
    return SlackUser(name or None, is_bot=is_bot)


def team_join_event(
    event: Mapping, team_id: str, at: datetime, *, space_name: str | None = None
) -> ActivityEvent | None:
    """A ``team_join`` at AT: someone joined the workspace (bots and apps are not members)."""
    profile = event.get("user")
    if not isinstance(profile, Mapping) or not id_or_none(profile.get("id")):
        return None
    user = user_of(profile)
    if user.is_bot:
        return None
    return ActivityEvent(
        platform=Platform.SLACK,
        space_id=team_id,
        # One workspace join per member: a redelivery collapses onto the first.
        event_id=f"team_join:{id_or_none(profile['id'])}",
        kind=ActivityKind.MEMBER_JOINED,
        member_id=id_or_none(profile["id"]),
        occurred_at=parse_ts(event["event_ts"]) if event.get("event_ts") else at,
        member_name=user.name,
        space_name=space_name,
    )
