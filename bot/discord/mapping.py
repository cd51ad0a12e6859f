"""discord.py objects into ActivityEvents; the text is read once here and never kept.

Event ids come from community/ids.py, shared with the DiscordChatExporter importer, so a history
import and what the live bot logged collapse to one activity.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

import discord

from community import ids
from community.events import ActivityEvent, ActivityKind, Platform
from community.helpgraph import BOT_STARTER, DEFAULT_ACCEPT_KEYS, is_accept, judge_reply
from community.mapping import RecentMap, ThreadTracker
from community.text import message_features

# Messages people write; joins, pins, boosts and "started a thread" notices are system messages.
_POSTS = (discord.MessageType.default, discord.MessageType.reply)


def _space(guild: discord.Guild) -> dict:
    return {"platform": Platform.DISCORD, "space_id": str(guild.id), "space_name": guild.name}


def _credited_channel(channel) -> tuple[str, str | None, bool]:
    """(channel id, name, is a thread): thread activity counts toward the parent channel."""
    if isinstance(channel, discord.Thread):
        parent = channel.parent
        return str(channel.parent_id), parent.name if parent else None, True
    return str(channel.id), getattr(channel, "name", None), False


def emoji_key(emoji: discord.PartialEmoji | discord.Emoji | str) -> str:
    """A custom emoji's id, or the unicode emoji itself."""
    if isinstance(emoji, str):
        return emoji
    return str(emoji.id) if emoji.id else str(emoji.name)


def message_event(
    message: discord.Message,
    *,
    help_channels: Collection[str],
    bot_user_id: int | None = None,
    threads: ThreadTracker | None = None,
    roots: RecentMap | None = None,
    bots: Collection[int] = (),
) -> ActivityEvent | None:
    """The activity a message is, or None for bots, webhooks, system messages and DMs.

    THREADS and ROOTS, kept by the client across messages, say who last spoke in each thread
    and who started each reply chain, for the help graph's rules (community.helpgraph). BOTS
    are the ids of bots seen so far (no member cache says who is one).
    """
    if message.guild is None or message.webhook_id is not None or message.author.bot:
        return None
    if message.type not in _POSTS or message.author.system:
        return None
    channel = message.channel
    channel_id, channel_name, in_thread = _credited_channel(channel)
    author = str(message.author.id)
    kind = ActivityKind.MESSAGE
    parent = starter = last_other = referenced = None
    ref = message.reference
    replied = ref is not None and ref.message_id is not None
    if replied:
        resolved = ref.resolved
        if isinstance(resolved, discord.Message) and not (
            resolved.author.bot or resolved.webhook_id is not None
        ):
            referenced = str(resolved.author.id)
            # A reply chain is started by the first message in it that replies to nothing.
            known = roots.get(str(ref.message_id)) if roots is not None else None
            starter = known or (referenced if resolved.reference is None else None)
    forum_post = in_thread and message.id == channel.id  # a forum post's first message
    if forum_post:
        kind = ActivityKind.THREAD_STARTED
    elif in_thread:
        # Inside a thread every message replies to it, and hangs from the thread's start.
        owner = getattr(channel, "owner_id", None)
        owner_member = channel.guild.get_member(owner) if owner is not None else None
        if owner is None:
            starter = None
        elif (
            owner == bot_user_id or owner in bots or (owner_member is not None and owner_member.bot)
        ):
            starter = BOT_STARTER
        else:
            starter = str(owner)
        kind, parent = ActivityKind.REPLY, ids.discord_thread(str(channel.id))
        if threads is not None:
            _, _, last_other = threads.reply(
                channel.id, author, starter=starter, parent_event_id=parent
            )
    elif replied:
        kind, parent = ActivityKind.REPLY, str(ref.message_id)
    if roots is not None:
        roots[str(message.id)] = starter or author
    help_place = channel_id in help_channels or str(channel.id) in help_channels
    features = message_features(
        message.content,
        in_help_channel=help_place,
        top_level=(kind is ActivityKind.MESSAGE and not in_thread) or forum_post,
        aimed_at_member=True,
    )
    is_thanks = features.is_thanks
    mentioned = None
    if is_thanks:
        others = [m for m in message.mentions if not m.bot and m.id != message.author.id]
        mentioned = str(others[0].id) if others else None
    if kind is ActivityKind.REPLY:
        judged = judge_reply(
            author,
            message.content,
            starter=starter,
            says_thanks=is_thanks,
            replied_to=referenced,
            last_other=last_other,
            mentioned=mentioned,
        )
        target, is_thanks = judged.target, judged.is_thanks
        if not judged.hangs:
            parent = None
            if in_thread and threads is not None:
                threads.unsay(channel.id, last_other)
    else:
        target = mentioned
        is_thanks = is_thanks and target is not None
    return ActivityEvent(
        **_space(message.guild),
        event_id=ids.discord_thread(str(channel.id))
        if forum_post
        else ids.discord_message(str(message.id)),
        kind=kind,
        member_id=author,
        member_name=message.author.display_name,
        occurred_at=message.created_at,
        channel_id=channel_id,
        channel_name=channel_name,
        target_member_id=target,
        parent_event_id=parent,
        is_question=features.is_question,
        is_thanks=is_thanks,
    )


def thread_event(
    thread: discord.Thread, *, help_channels: Collection[str], bots: Collection[int] = ()
) -> ActivityEvent | None:
    """A thread started in a text channel; forum posts are logged from their first message."""
    if isinstance(thread.parent, discord.ForumChannel) or thread.owner_id is None:
        return None
    owner = thread.owner or thread.guild.get_member(thread.owner_id)
    if (owner is not None and owner.bot) or thread.owner_id in bots:
        return None
    channel_id, channel_name, _ = _credited_channel(thread)
    return ActivityEvent(
        **_space(thread.guild),
        event_id=ids.discord_thread(str(thread.id)),
        kind=ActivityKind.THREAD_STARTED,
        member_id=str(thread.owner_id),
        member_name=owner.display_name if owner else None,
        occurred_at=thread.created_at or discord.utils.snowflake_time(thread.id),
        channel_id=channel_id,
        channel_name=channel_name,
        is_question=channel_id in help_channels,
    )


def reaction_event(
    payload: discord.RawReactionActionEvent,
    guild: discord.Guild,
    *,
    actor_is_bot: bool,
    at: datetime,
    accept: frozenset[str] = DEFAULT_ACCEPT_KEYS,
) -> ActivityEvent | None:
    """A reaction given (or taken back) by one member to another's message."""
    if actor_is_bot:
        return None
    base = ids.discord_reaction(
        str(payload.message_id), emoji_key(payload.emoji), str(payload.user_id)
    )
    added = payload.event_type == "REACTION_ADD"
    author = payload.message_author_id
    channel = guild.get_channel_or_thread(payload.channel_id)
    channel_id = _credited_channel(channel)[0] if channel else str(payload.channel_id)
    return ActivityEvent(
        **_space(guild),
        # A removal carries its own id, so it undoes the reaction instead of colliding with it.
        event_id=base if added else base + ":removed",
        kind=ActivityKind.REACTION_GIVEN if added else ActivityKind.REACTION_REMOVED,
        member_id=str(payload.user_id),
        member_name=payload.member.display_name if payload.member else None,
        occurred_at=at,
        channel_id=channel_id,
        target_member_id=str(author) if author and author != payload.user_id else None,
        parent_event_id=str(payload.message_id),
        is_thanks=added and is_accept(emoji_key(payload.emoji), accept),
    )


def join_event(member: discord.Member) -> ActivityEvent | None:
    """A member joining the server."""
    if member.bot:
        return None
    when = member.joined_at or discord.utils.utcnow()
    return ActivityEvent(
        **_space(member.guild),
        event_id=f"join:{member.id}:{int(when.timestamp())}",
        kind=ActivityKind.MEMBER_JOINED,
        member_id=str(member.id),
        member_name=member.display_name,
        occurred_at=when,
    )


def leave_event(payload: discord.RawMemberRemoveEvent, guild: discord.Guild, at: datetime):
    """A member leaving (or being removed from) the server."""
    if payload.user.bot:
        return None
    return ActivityEvent(
        **_space(guild),
        event_id=f"leave:{payload.user.id}:{int(at.timestamp())}",
        kind=ActivityKind.MEMBER_LEFT,
        member_id=str(payload.user.id),
        member_name=getattr(payload.user, "display_name", None),
        occurred_at=at,
    )
