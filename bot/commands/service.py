"""The command layer: one implementation of every chat command, whatever the platform.

Adapters translate in (who asked, where, with which arguments) and out (a Reply drawn as a
Discord embed or Slack blocks). Everything a command decides, including who may run it, is
here, so Discord and Slack cannot drift apart: this module admits and parses, the registry
(bot.commands.registry) finds the handler, and each handler runs as an application service.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from bot.commands import (  # noqa: F401  (each registers its handlers)
    dashboard,
    lists,
    members,
    outreach,
    privacy,
    stats,
)
from bot.commands.actions import DeleteMyData, RecordOutreach, ShowPage, decode
from bot.commands.parse import CommandError, parse_args, split_text
from bot.commands.registry import HANDLERS, Context, Invocation
from bot.commands.replies import Reply, Tone, error
from bot.commands.spec import BY_NAME, CommandSpec
from bot.tasks import log_failure
from community.clock import Clock
from community.policies import Policies
from storage.spaces import NotFoundError
from storage.uow import UnitOfWork

__all__ = ["CommandService", "Invocation"]

log = logging.getLogger(__name__)

OUR_FAULT = "Something went wrong on Pulse's side. The team can find it in the logs."


class CommandService:
    """Runs commands and button presses and answers with Replies."""

    def __init__(
        self,
        uow: UnitOfWork,
        policies: Policies,
        hash_key: bytes,
        clock: Clock,
        dashboard_url: str | None = None,
    ) -> None:
        missing = set(BY_NAME) - set(HANDLERS)
        if missing:
            raise RuntimeError(f"commands without a handler: {sorted(missing)}")
        self.uow = uow
        self.policies = policies
        self.hash_key = hash_key
        self.clock = clock
        self.dashboard_url = dashboard_url  # where /dashboard links point; None: no dashboard

    def _context(self, inv: Invocation) -> Context:
        return Context(self.uow, self.policies, self.hash_key, self.clock, inv, self.dashboard_url)

    async def run(self, inv: Invocation, name: str, raw: Mapping[str, object]) -> Reply:
        """Run command NAME as INV asked; every failure becomes a polite error Reply."""
        spec = self._admit(inv, name)
        if isinstance(spec, Reply):
            return spec
        return await self._execute(inv, spec, raw)

    async def run_text(self, inv: Invocation, name: str, text: str) -> Reply:
        """Run command NAME from one line of text, as Slack sends its arguments."""
        # Refuse before parsing: a member without access learns that, not a usage hint.
        spec = self._admit(inv, name)
        if isinstance(spec, Reply):
            return spec
        try:
            raw = split_text(spec, text)
        except CommandError as exc:
            return error(str(exc))
        return await self._execute(inv, spec, raw)

    async def _execute(self, inv: Invocation, spec: CommandSpec, raw: Mapping[str, object]):
        try:
            args = parse_args(spec, raw, self.clock.now())
            return await HANDLERS[spec.name](self._context(inv), args)
        except (CommandError, NotFoundError) as exc:
            return error(str(exc), getattr(exc, "mentions", ()))
        except Exception as exc:
            log_failure(log, exc, "/%s failed for %s in %s", spec.name, inv.user_id, inv.space_id)
            return error(OUR_FAULT)

    async def press(self, inv: Invocation, action_id: str) -> Reply:
        """Handle a button press; ACTION_ID is what a Reply's button carried."""
        ctx = self._context(inv)
        try:
            match decode(action_id):
                case ShowPage(command, limit, page):
                    if command not in lists.PAGES:
                        raise CommandError("that list no longer exists")
                    return self._refuse(inv, BY_NAME[command]) or await lists.PAGES[command](
                        ctx, limit, page
                    )
                case RecordOutreach() as action:
                    return self._refuse(
                        inv, BY_NAME["outreach"]
                    ) or await outreach.outreach_pressed(ctx, action)
                case DeleteMyData() as action:
                    return await privacy.delete_pressed(ctx, action)
        except (CommandError, NotFoundError) as exc:
            return error(str(exc), getattr(exc, "mentions", ()))
        except Exception as exc:
            log_failure(log, exc, "button %s failed for %s", action_id, inv.user_id)
            return error(OUR_FAULT)
        raise AssertionError("decode returns one of the actions above")

    def _admit(self, inv: Invocation, name: str) -> CommandSpec | Reply:
        """The spec of command NAME, or the error Reply when there is none or INV may not run it."""
        spec = BY_NAME.get(name)
        if spec is None:
            return error(f"Pulse has no /{name} command.")
        return self._refuse(inv, spec) or spec

    def _refuse(self, inv: Invocation, spec: CommandSpec) -> Reply | None:
        # Enforced here whatever the platform's own permission settings say.
        if spec.staff_only and not inv.is_staff:
            return Reply(
                title="That one is for the community team",
                text=f"/{spec.name} is for staff. Everyone can use /privacy and /away.",
                tone=Tone.ERROR,
            )
        return None
