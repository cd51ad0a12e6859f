"""The command registry: each chat command's name mapped to the function that runs it.

A handler is an application service: it opens the unit of work it needs, calls the storage
repositories and returns a Reply. Handlers register with ``@handles(name)``; the command
layer looks them up by the command's name and button presses by the action's type.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from bot.commands.parse import CommandError
from community.clock import Clock
from community.events import Platform
from community.policies import Policies
from community.tiers import TierPolicy
from storage.members import member_row
from storage.spaces import NotFoundError, space_id_for
from storage.uow import Connection, UnitOfWork


@dataclass(frozen=True, slots=True)
class Invocation:
    """Who ran a command, where: the adapter fills this from the platform's request."""

    platform: Platform
    space_id: str
    user_id: str
    is_staff: bool


@dataclass(frozen=True, slots=True)
class Context:
    """What every handler may use: the unit of work, the rules in force, the clock."""

    uow: UnitOfWork
    policies: Policies
    hash_key: bytes
    clock: Clock
    inv: Invocation
    dashboard_url: str | None = None  # the web dashboard's address ([web]); None when off

    @property
    def tiers(self) -> TierPolicy:
        """The tier rules in force."""
        return self.policies.tiers


Handler = Callable[[Context, dict[str, Any]], Awaitable[Any]]

HANDLERS: dict[str, Handler] = {}


def handles(name: str) -> Callable[[Handler], Handler]:
    """Register the decorated function as the handler of command NAME."""

    def register(handler: Handler) -> Handler:
        if name in HANDLERS:
            raise ValueError(f"/{name} has two handlers")
        HANDLERS[name] = handler
        return handler

    return register


async def space_of(conn: Connection, ctx: Context) -> int:
    """The row id of the space the command was run in, or a NotFoundError saying why not."""
    space = await space_id_for(conn, ctx.inv.platform, ctx.inv.space_id)
    if space is None:
        raise NotFoundError("Pulse has not logged anything here yet; give it a little while.")
    return space


async def member_of(conn: Connection, space: int, platform_id: str):
    """The member a command names, or an error that mentions them (both platforms render it)."""
    try:
        return await member_row(conn, space, platform_id)
    except NotFoundError:
        # A mention renders as the member's name on both Discord and Slack.
        raise CommandError(
            f"Pulse has not seen <@{platform_id}> take part yet, so it has nothing on them.",
            mentions=(platform_id,),
        ) from None
