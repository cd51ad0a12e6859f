"""Whole-community figures kept for a few minutes, so a dashboard page does not recompute them.

The overview (the staff digest's figures and chart) and the channel health scan a whole
community's rollups and activities: seconds on 100,000 members. They change slowly, so each is
computed once per time slot of the injected clock (and once however many requests arrive
together); a change made through the dashboard clears them, and a change made in chat shows
within the slot.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from datetime import datetime
from typing import Any

SLOT_MINUTES = 5


class RecentFigures:
    """Values by key, each kept until the clock leaves the slot it was computed in."""

    def __init__(self, minutes: int = SLOT_MINUTES) -> None:
        self.seconds = minutes * 60
        self._values: dict[Hashable, tuple[int, Any]] = {}
        self._locks: dict[Hashable, asyncio.Lock] = {}

    async def get(self, key: Hashable, now: datetime, compute: Callable[[], Awaitable[Any]]):
        """The value of KEY for NOW's slot, computed by COMPUTE when there is none yet."""
        slot = int(now.timestamp() // self.seconds)
        kept = self._values.get(key)
        if kept is not None and kept[0] == slot:
            return kept[1]
        async with self._locks.setdefault(key, asyncio.Lock()):
            kept = self._values.get(key)
            if kept is not None and kept[0] == slot:
                return kept[1]
            value = await compute()
            self._values[key] = (slot, value)
            return value

    def clear(self) -> None:
        """Forget every value (something changed)."""
        self._values.clear()
