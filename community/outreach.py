"""The outreach loop: what staff did about a quiet member, and whether the member came back."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

# A member who is active again within this many days of being reached out to has re-engaged.
RE_ENGAGE_DAYS = 30
RE_ENGAGE_WINDOW = timedelta(days=RE_ENGAGE_DAYS)
DEFAULT_SNOOZE_DAYS = 14


class OutreachAction(enum.StrEnum):
    """What a staff member did about a quiet flag."""

    REACHED_OUT = "reached_out"
    SNOOZE = "snooze"
    DISMISS = "dismiss"


class OutreachError(ValueError):
    """An outreach action that cannot apply (unknown or closed flag, bad snooze date)."""


@dataclass(frozen=True, slots=True)
class OutreachRecord:
    """One recorded action."""

    id: int
    flag_id: int | None
    member_id: int
    staff_platform_id: str
    action: OutreachAction
    at: datetime
    re_engaged_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class OutreachStats:
    """Outreach outcomes for actions taken between START and END, as known at AS_OF.

    A reach-out is *pending* while its 30-day window is open and the member has not returned;
    the rate counts only decided reach-outs, so a fresh week of outreach does not drag it down.
    """

    start: datetime
    end: datetime
    as_of: datetime
    reached_out: int = 0
    re_engaged: int = 0
    pending: int = 0
    snoozed: int = 0
    dismissed: int = 0

    @property
    def decided(self) -> int:
        """Reach-outs whose outcome is known: the member came back, or the window closed."""
        return self.reached_out - self.pending

    @property
    def rate(self) -> float | None:
        """Re-engaged share of decided reach-outs, or None when none is decided yet."""
        return self.re_engaged / self.decided if self.decided else None

    def summary(self) -> str:
        """One line for staff: 'reached out to 8, 3 re-engaged (50% of 6 decided), 2 pending'."""
        if not (self.reached_out or self.snoozed or self.dismissed):
            return "no outreach recorded"
        parts = [f"reached out {self.reached_out}", f"{self.re_engaged} re-engaged"]
        if self.rate is not None:
            parts[-1] += f" ({self.rate:.0%} of {self.decided} decided)"
        if self.pending:
            parts.append(f"{self.pending} still within {RE_ENGAGE_DAYS} days")
        if self.snoozed:
            parts.append(f"{self.snoozed} snoozed")
        if self.dismissed:
            parts.append(f"{self.dismissed} dismissed")
        return ", ".join(parts)
