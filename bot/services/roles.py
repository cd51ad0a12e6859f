"""Keeping platform roles in step with tiers: plan the difference, apply it one member at a time."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

from community.clock import Clock
from community.roles import HeroFollows, Holder, RoleChange, RoleKind, plan, wants, warning_text
from community.tiers import TierPolicy
from storage.leases import LeaseJob, claim_lease, release_lease, renew_lease
from storage.roles import (
    block_role,
    mark_warned,
    record_role_change,
    role_state,
    unblock_role,
    warning_candidates,
)
from storage.uow import UnitOfWork

log = logging.getLogger("pulse.roles")
# How long a run's claim on a space's roles lasts unless renewed: a process killed mid-run
# holds up the others this long at most. A live run renews it every third of that.
LEASE_TTL = timedelta(minutes=15)


class RoleForbidden(Exception):
    """The platform refused to manage a role (missing permission, role above the bot's)."""


class MemberGone(Exception):
    """The member is no longer on the platform: nothing to add, nothing left to remove."""


class RoleGateway(Protocol):
    """What a platform offers to keep roles in step."""

    platform: str

    async def change(self, space: str, change: RoleChange) -> None:
        """Add or remove one role of one member; raise RoleForbidden or MemberGone."""

    async def tell_staff(self, space: str, text: str) -> None:
        """Post TEXT to the staff channel."""

    async def ready(self) -> None:
        """Wait until the platform can take calls."""

    async def dm(self, space: str, platform_id: str, text: str) -> None:
        """Send one member a direct message."""


@runtime_checkable
class GroupGateway(RoleGateway, Protocol):
    """A platform whose groups are set whole (Slack's user groups), one call per group."""

    async def set_members(self, space: str, group_id: str, platform_ids: list[str]) -> None:
        """Make PLATFORM_IDS the group's whole membership; raise RoleForbidden when refused."""


@dataclass(slots=True)
class Reconciled:
    """What one reconciliation did (SKIPPED: another run held the space's roles)."""

    at: datetime | None = None
    applied: int = 0
    gone: int = 0
    blocked: list[str] = field(default_factory=list)
    failed: int = 0
    skipped: bool = False


class RoleLease:
    """One run's claim on a space's roles (storage.leases): taken, kept while working, given back.

    Each step is a short transaction of its own, so no database lock is held across the
    platform calls it guards.
    """

    def __init__(
        self, uow: UnitOfWork, space_id: int, holder: str, clock: Clock, ttl: timedelta = LEASE_TTL
    ) -> None:
        self.uow, self.space_id, self.holder, self.clock, self.ttl = (
            uow, space_id, holder, clock, ttl
        )  # fmt: skip
        self.renewed: datetime | None = None

    async def claim(self) -> bool:
        """Take the lease; False when another run holds it and it has not expired."""
        now = self.clock.now()
        async with self.uow.write() as conn:
            got = await claim_lease(conn, LeaseJob.ROLES, self.space_id, self.holder, now, self.ttl)
        self.renewed = now if got else None
        return got

    async def keep(self) -> bool:
        """Renew the lease once a third of it has passed; False when it was lost meanwhile."""
        now = self.clock.now()
        if self.renewed is not None and now - self.renewed < self.ttl / 3:
            return True
        async with self.uow.write() as conn:
            kept = await renew_lease(
                conn, LeaseJob.ROLES, self.space_id, self.holder, now, self.ttl
            )
        self.renewed = now if kept else None
        return kept

    async def release(self) -> None:
        """Give the lease back (a failure here only delays the next run until it expires)."""
        try:
            async with self.uow.write() as conn:
                await release_lease(conn, LeaseJob.ROLES, self.space_id, self.holder)
        except Exception as exc:
            log.warning("could not release the roles lease of space %s: %s", self.space_id, exc)


async def _still_ours(lease: RoleLease | None) -> bool:
    if lease is None or await lease.keep():
        return True
    log.warning("another run took over the roles of space %s; stopping", lease.space_id)
    return False


async def reconcile_roles(
    uow: UnitOfWork,
    space_id: int,
    space: str,
    gateway: RoleGateway,
    role_ids: Mapping[RoleKind, str],
    follows: HeroFollows,
    clock: Clock,
    lease: RoleLease | None = None,
) -> Reconciled:
    """Make the configured roles match tiers in SPACE, one call per change, in member order.

    The platform client paces the calls (discord.py waits out rate limits). A role the platform
    refuses to manage is reported to staff once, then skipped for the rest of this run; the
    next run tries again, so a fixed permission takes effect without a restart. With LEASE
    (held by the caller), the run stops if another run took the space's roles over.
    """
    done = Reconciled(at=clock.now())
    if not role_ids:
        return done
    async with uow.read() as conn:
        holders, held = await role_state(conn, space_id)
    changes = plan(holders, held, role_ids, follows)
    if isinstance(gateway, GroupGateway):
        await _reconcile_groups(
            uow, space_id, space, gateway, changes, holders, follows, done, lease
        )
        return done
    blocked: set[RoleKind] = set()
    for change in changes:
        if change.kind in blocked:
            continue
        if not await _still_ours(lease):
            break
        try:
            await gateway.change(space, change)
        except RoleForbidden as exc:
            blocked.add(change.kind)
            done.blocked.append(change.role_id)
            await _report_block(uow, gateway, space, change, str(exc))
            continue
        except MemberGone:
            done.gone += 1
            if change.add:
                continue
        except Exception as exc:  # a network fault or a platform error: try again next run
            log.warning("could not change a %s role: %s", change.kind.value, exc)
            done.failed += 1
            continue
        else:
            done.applied += 1
        await _record(uow, space_id, gateway.platform, change, clock.now())
    return done


async def _reconcile_groups(
    uow: UnitOfWork,
    space_id: int,
    space: str,
    gateway: GroupGateway,
    changes: list[RoleChange],
    holders: list[Holder],
    follows: HeroFollows,
    done: Reconciled,
    lease: RoleLease | None = None,
) -> None:
    """One call per group with changes: its whole wanted membership, then each change stored."""
    for kind in RoleKind:
        mine = [c for c in changes if c.kind is kind]
        if not mine:
            continue
        if not await _still_ours(lease):
            return
        group_id = mine[0].role_id
        members = sorted(h.platform_id for h in holders if wants(kind, h, follows)[0])
        if not members:
            # Slack refuses an empty user group (no_users_provided): it keeps its last members
            # until someone qualifies again, and Pulse keeps them as held, which they are.
            log.info("the %s user group would be empty; left as it is", kind.value)
            continue
        try:
            await gateway.set_members(space, group_id, members)
        except RoleForbidden as exc:
            done.blocked.append(group_id)
            await _report_block(uow, gateway, space, mine[0], str(exc))
            continue
        except Exception as exc:  # a network fault or a platform error: try again next run
            log.warning("could not update the %s user group: %s", kind.value, exc)
            done.failed += 1
            continue
        for change in mine:
            done.applied += 1
            await _record(uow, space_id, gateway.platform, change, done.at)


async def _record(
    uow: UnitOfWork, space_id: int, platform: str, change: RoleChange, now: datetime
) -> None:
    async with uow.write() as conn:
        await record_role_change(conn, space_id, change, now)
        await unblock_role(conn, platform, change.role_id)


async def _report_block(
    uow: UnitOfWork, gateway: RoleGateway, space: str, change: RoleChange, why: str
) -> None:
    async with uow.write() as conn:
        first = await block_role(conn, gateway.platform, change.role_id, why)
    if not first:
        return
    text = (
        f"Pulse cannot manage the {change.kind.value} role ({change.role_id}): {why}. "
        "Give Pulse's role the Manage Roles permission and move it above this role; "
        "Pulse tries again after the next daily job."
    )
    log.warning("%s", text)
    try:
        await gateway.tell_staff(space, text)
    except Exception as exc:
        log.warning("could not tell staff about the %s role: %s", change.kind.value, exc)


@dataclass(frozen=True, slots=True)
class RoleTarget:
    """One platform's role gateway and the roles configured there."""

    gateway: RoleGateway
    role_ids: Mapping[RoleKind, str]


@dataclass(frozen=True, slots=True)
class Warnings:
    """Whether and how members at risk are told: [recognition] notify_members and its cooldown."""

    policy: TierPolicy
    cooldown_days: int


class RoleSync:
    """Reconciles roles in every space of the platforms with roles configured, then warns.

    One run at a time per space, across processes: each space's work runs under a lease
    (`RoleLease`), and a run that finds it held skips that space.
    """

    def __init__(
        self,
        uow: UnitOfWork,
        targets: Mapping[str, RoleTarget],
        follows: HeroFollows,
        clock: Clock,
        warnings: Warnings | None = None,
        name: str = "pulse",
    ) -> None:
        self.uow = uow
        self.targets = {p: t for p, t in targets.items() if t.role_ids}
        self.follows = follows
        self.clock = clock
        self.warnings = warnings
        self.name = name

    async def run(self) -> dict[int, Reconciled]:
        """Reconcile each space whose platform has roles configured; what each run did."""
        from storage.spaces import list_spaces

        if not self.targets:
            return {}
        async with self.uow.read() as conn:
            spaces = await list_spaces(conn)
        # The process's name for the operator, and a token: two runs in one process differ.
        holder = f"{self.name[:50]}:{secrets.token_hex(4)}"
        done = {}
        for space_id, platform, platform_id, name in spaces:
            target = self.targets.get(platform)
            if target is None:
                continue
            lease = RoleLease(self.uow, space_id, holder, self.clock)
            try:
                await target.gateway.ready()
                if not await lease.claim():
                    log.info("roles of space %s: another run has them; skipped", space_id)
                    done[space_id] = Reconciled(at=self.clock.now(), skipped=True)
                    continue
            except Exception as exc:
                log.warning("role reconciliation for space %s failed: %s", space_id, exc)
                continue
            try:
                done[space_id] = await reconcile_roles(
                    self.uow,
                    space_id,
                    platform_id,
                    target.gateway,
                    target.role_ids,
                    self.follows,
                    self.clock,
                    lease,
                )
                if self.warnings is not None and await _still_ours(lease):
                    await warn_members(
                        self.uow, space_id, platform_id, name or platform_id, target.gateway,
                        self.warnings, self.clock,
                    )  # fmt: skip
            except Exception as exc:  # one space's failure must not stop the others
                log.warning("role reconciliation for space %s failed: %s", space_id, exc)
            finally:
                await lease.release()
        return done


async def warn_members(
    uow: UnitOfWork,
    space_id: int,
    space: str,
    community: str,
    gateway: RoleGateway,
    warnings: Warnings,
    clock: Clock,
) -> int:
    """Tell staff, then each member at risk of losing a role Pulse gave, once per cooldown."""
    now = clock.now()
    async with uow.read() as conn:
        due = await warning_candidates(conn, space_id, warnings.policy, now, warnings.cooldown_days)
    sent = 0
    for member in due:
        risk = member.risk
        try:
            await gateway.tell_staff(
                space,
                f"<@{member.platform_id}> is at risk: {risk.summary}. Pulse is sending them a "
                "friendly note about keeping their role.",
            )
            await gateway.dm(
                space,
                member.platform_id,
                warning_text(community, member.roles, risk.earliest, risk.missing),
            )
            sent += 1
        except Exception as exc:  # DMs closed, or the platform failed: not retried daily
            log.warning("could not warn a member at risk: %s", exc)
        async with uow.write() as conn:
            await mark_warned(conn, member.member_id, now)
    return sent
