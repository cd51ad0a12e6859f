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
