"""Event ids: the one scheme the live adapters and the importers share.

The writer is idempotent on (space, event_id), so the same message seen twice (a platform retry,
a re-import, an export overlapping what the live bot logged) must carry the same id. Ids:

Discord (space: the guild id)
  message, reply, member join    ``<message id>``: the message's snowflake; a join is the
                                 "joined the server" system message's snowflake
  thread started                 ``thread:<thread id>`` (a forum post's thread id equals its
                                 first message's id, so the prefix keeps the two apart)
  reaction by a known member     ``<message id>:<emoji>:<user id>``; emoji is the custom emoji's
                                 id, or the unicode emoji itself
  reaction, member unknown       ``<message id>:<emoji>:#<n>``, n = 1..count (exports that hold
                                 only a count: credited to the author as a received reaction)
  message from a CSV export      ``csv:<channel id>:<digest>``: CSV exports carry no message ids,
                                 so these collide only with the same CSV, not with live events

Slack (space: the team id)
  message, reply, channel join   ``<channel id>:<ts>``
  reaction                       ``<channel id>:<ts>:<emoji name>:<user id>``
"""

from __future__ import annotations

import hashlib

from community.clean import EVENT_ID_LENGTH, ID_PREFIX, fit_id

MAX_LENGTH = EVENT_ID_LENGTH
CSV_PREFIX = "csv:"  # messages from CSV exports, which carry no replies


def _fit(event_id: str) -> str:
    # Only absurd emoji names get here; a digest keeps the id stable and within the column.
    return fit_id(event_id, MAX_LENGTH, keep=ID_PREFIX)


def discord_message(message_id: str) -> str:
    """A Discord message, reply or join system message."""
    return message_id


def discord_thread(thread_id: str) -> str:
    """A Discord thread being started."""
    return f"thread:{thread_id}"


def discord_reaction(message_id: str, emoji: str, user_id: str) -> str:
    """One member's reaction to a Discord message."""
    return _fit(f"{message_id}:{emoji}:{user_id}")


def discord_counted_reaction(message_id: str, emoji: str, n: int) -> str:
    """The Nth reaction of a kind whose members the export does not name."""
    return _fit(f"{message_id}:{emoji}:#{n}")


def discord_csv_message(
    channel_id: str, author_id: str, date: str, content: str, occurrence: int
) -> str:
    """A message from a CSV export: a digest of what identifies it, numbered when repeated."""
    digest = hashlib.sha256(
        "\x1f".join((author_id, date, content, str(occurrence))).encode()
    ).hexdigest()[:24]
    return f"{CSV_PREFIX}{channel_id}:{digest}"


def slack_message(channel_id: str, ts: str) -> str:
    """A Slack message, thread reply or channel join."""
    return f"{channel_id}:{ts}"


def slack_reaction(channel_id: str, ts: str, emoji: str, user_id: str) -> str:
    """One member's reaction to a Slack message."""
    return _fit(f"{channel_id}:{ts}:{emoji}:{user_id}")
