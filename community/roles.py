"""Roles that follow tiers: who should hold the active and hero roles, and the changes to get there.

The active role follows the active-or-hero tier. The hero role follows staff recognition
(`/hero confirm`) by default, or the hero tier when `hero_role_follows = "tier"`. Pulse compares
what each member should hold with what it last gave them, and changes only the difference, so
a reconciliation that finds nothing changed makes no call to the platform.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from community.tiers import Tier


class RoleKind(enum.StrEnum):
    """The roles Pulse keeps in step with tiers."""

    ACTIVE = "active"
    HERO = "hero"


class HeroFollows(enum.StrEnum):
    """What the hero role follows."""

    CONFIRMED = "confirmed"
    TIER = "tier"


@dataclass(frozen=True, slots=True)
class Holder:
    """A member as the role rules see them: tier and recognition."""

    member_id: int
    platform_id: str
    tier: Tier
    recognized: bool
    eligible: bool = True  # False for staff, bots and members who left


@dataclass(frozen=True, slots=True)
class RoleChange:
    """One role to add to or remove from one member, and why."""

    member_id: int
    platform_id: str
    kind: RoleKind
    role_id: str
    add: bool
    reason: str

    @property
    def action(self) -> str:
        """'added' or 'removed', as stored in the history."""
        return "added" if self.add else "removed"


def wants(kind: RoleKind, holder: Holder, follows: HeroFollows) -> tuple[bool, str]:
    """Whether HOLDER should hold the KIND role, and the reason in words."""
    if not holder.eligible:
        return False, "no longer a ranked member (staff, bot or left)"
    if kind is RoleKind.ACTIVE:
        held = holder.tier in (Tier.ACTIVE, Tier.HERO)
        return held, f"tier {holder.tier.value}"
    if follows is HeroFollows.TIER:
        return holder.tier is Tier.HERO, f"tier {holder.tier.value}"
    if holder.recognized:
        return True, "recognized as a hero by staff"
    return False, "not a recognized hero"


def plan(
    holders: Iterable[Holder],
    held: Mapping[tuple[int, RoleKind], str],
    role_ids: Mapping[RoleKind, str],
    follows: HeroFollows,
) -> list[RoleChange]:
    """The changes that make each member's roles match their tier (HELD: what Pulse last gave).

    HOLDERS must include every member HELD names. A role given under another role id than the
    one configured now counts as not held.
    """
    changes: list[RoleChange] = []
    for holder in holders:
        for kind, role_id in role_ids.items():
            wanted, reason = wants(kind, holder, follows)
            has = held.get((holder.member_id, kind)) == role_id
            if wanted != has:
                changes.append(
                    RoleChange(holder.member_id, holder.platform_id, kind, role_id, wanted, reason)
                )
    return changes


ROLE_MEANING = {
    RoleKind.ACTIVE: "you are one of the members who answer others' questions",
    RoleKind.HERO: "you are one of the people this community counts on most",
}


def may_warn(warned_at: datetime | None, away: bool, now: datetime, cooldown_days: int) -> bool:
    """Whether a member at risk may get a warning now: not away, not warned within the cooldown."""
    if away:
        return False
    return warned_at is None or now - warned_at >= timedelta(days=cooldown_days)


def warning_text(
    community: str, roles: Iterable[RoleKind], keep_until: date, missing: Iterable[str]
) -> str:
    """The friendly direct message to a member whose role is at risk: help first, no pressure."""
    held = sorted(roles, key=lambda kind: kind is RoleKind.ACTIVE)
    names = " and ".join(f"{kind.value}" for kind in held)
    meaning = ROLE_MEANING[held[0]]
    plural = "s" if len(held) > 1 else ""
    gaps = "; ".join(missing)
    return (
        f"Hi! Your {names} role{plural} in {community} say{'' if plural else 's'} that {meaning}: "
        f"thank you. It stays until at least {keep_until:%B %d}. To keep it, helping a few more "
        f"members over the coming weeks is all it takes (where things stand: {gaps}). "
        "If you are taking a break, /away pauses these messages, and nobody minds."
    )
