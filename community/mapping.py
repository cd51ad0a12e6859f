"""Pieces shared by everything that turns platform messages into ActivityEvents.

The live adapters and the history importers both need to know whom a message is aimed at; these
keep the little state that takes (recent authors, who started each thread) in bounded memory.
"""

from __future__ import annotations

import reprlib
from collections.abc import Hashable
from typing import Any

_MISSING: Any = object()
# Reactions one message is credited with at most: a count or a list of reactors is the input's
# word, and one message must not turn into millions of events (real messages: hundreds).
MAX_REACTIONS_PER_MESSAGE = 10_000

_SHOWN = reprlib.Repr()
_SHOWN.maxstring = _SHOWN.maxother = 60
_SHOWN.maxlevel = 2


class MappingError(ValueError):
    """A record that cannot be mapped: a required field is missing or malformed."""


def shown(value: object) -> str:
    """VALUE's repr, clipped to a few dozen characters, for an error message."""
    text = _SHOWN.repr(value)  # a clipped repr, however large or deep VALUE is
    return text if len(text) <= 80 else text[:77] + "..."


def text_or_none(value: object) -> str | None:
    """VALUE when it is a non-empty string (a name, a ts, a type); None for anything else."""
    return value if isinstance(value, str) and value else None


def id_or_none(value: object) -> str | None:
    """A platform id as a string: VALUE when it is a non-empty string or an integer, else None."""
    if isinstance(value, str):
        return value or None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


class RecentMap:
    """A dict that forgets its oldest entries once it holds about CAPACITY, at O(1) per call.

    Two generations: when the new one fills up it becomes the old one and the previous old one
    is dropped. Memory stays under two generations whatever the length of the history; a key
    read from the old generation is moved to the new one, so what is still used survives.
    """

    __slots__ = ("_capacity", "_new", "_old")

    def __init__(self, capacity: int = 100_000) -> None:
        if capacity < 1:
            raise ValueError("capacity must be positive")
        self._capacity = capacity
        self._new: dict = {}
        self._old: dict = {}

    def get(self, key: Hashable, default: Any = None) -> Any:
        """The value for KEY, or DEFAULT when it was never set or has been forgotten."""
        value = self._new.get(key, _MISSING)
        if value is not _MISSING:
            return value
        value = self._old.get(key, _MISSING)
        if value is _MISSING:
            return default
        self[key] = value
        return value

    def __setitem__(self, key: Hashable, value: Any) -> None:
        new = self._new
        new[key] = value
        if len(new) >= self._capacity:
            self._old = new
            self._new = {}

    def __len__(self) -> int:
        return len(self._new) + len(self._old)


class ThreadTracker:
    """Who started each thread and who last spoke in it besides them, in bounded memory.

    What a reply is aimed at follows from these (community.helpgraph.reply_target).
    """

    __slots__ = ("_threads",)

    def __init__(self, capacity: int = 100_000) -> None:
        # thread key -> [starter member, starter's event id, last member other than the starter]
        self._threads = RecentMap(capacity)

    def start(self, thread: Hashable, starter: str | None, event_id: str | None) -> None:
        """Record that STARTER opened THREAD with the message EVENT_ID."""
        self._threads[thread] = [starter, event_id, None]

    def known(self, thread: Hashable) -> bool:
        """Whether THREAD has been seen (started or replied to)."""
        return self._threads.get(thread) is not None

    def reply(
        self,
        thread: Hashable,
        author: str,
        *,
        starter: str | None = None,
        parent_event_id: str | None = None,
    ) -> tuple[str | None, str | None, str | None]:
        """Record AUTHOR replying in THREAD; return (its starter, its root event, last other).

        The last other is the last member besides the starter who spoke before this reply.
        STARTER and PARENT_EVENT_ID fill in what the platform says about a thread not seen yet
        (Slack's parent_user_id and thread_ts).
        """
        state = self._threads.get(thread)
        if state is None:
            state = [starter, parent_event_id, None]
            self._threads[thread] = state
        elif state[0] is None and starter is not None:
            state[0] = starter
        first, parent, last_other = state[0], state[1] or parent_event_id, state[2]
        if author != first:
            state[2] = author
        return first, parent, last_other

    def unsay(self, thread: Hashable, last_other: str | None) -> None:
        """Take back the last reply in THREAD as a speaker (a "me too" is nobody to thank)."""
        state = self._threads.get(thread)
        if state is not None:
            state[2] = last_other
