"""The real clock: built where the program is composed (CLI, `pulse run`), injected below."""

from __future__ import annotations

from datetime import UTC, datetime


class SystemClock:
    """The system's clock, in UTC (a community.clock.Clock)."""

    def now(self) -> datetime:
        """The current moment in UTC."""
        return datetime.now(UTC)
