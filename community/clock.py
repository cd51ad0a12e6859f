"""Time, injected: domain code asks a clock instead of reading the system time.

The real clock (bot.clock.SystemClock) is built only where the program is composed.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Anything that can say what time it is, timezone-aware."""

    def now(self) -> datetime:
        """The current moment, timezone-aware."""
        ...


class FixedClock:
    """A clock that tests and the demo move by hand."""

    def __init__(self, moment: datetime) -> None:
        if moment.tzinfo is None:
            raise ValueError("FixedClock needs a timezone-aware datetime")
        self._moment = moment

    def now(self) -> datetime:
        """The moment this clock was set to."""
        return self._moment

    def advance(self, delta: timedelta) -> None:
        """Move the clock forward."""
        self._moment += delta

    def set(self, moment: datetime) -> None:
        """Jump to a moment."""
        if moment.tzinfo is None:
            raise ValueError("FixedClock needs a timezone-aware datetime")
        self._moment = moment
