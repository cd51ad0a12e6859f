"""The dashboard served for tests: the digest world, the real app on 127.0.0.1, a client."""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass

from aiohttp.test_utils import TestClient, TestServer

from bot.commands.service import CommandService, Invocation
from bot.services.web_auth import link_for_staff
from bot.settings import Settings, parse_settings
from bot.web.app import build_app
from community.clock import FixedClock
from community.events import Platform
from storage.uow import UnitOfWork
from tests.digest_world import KEY, NOW, World, build_world, renamed

SCRIPT = "<script>alert(1)</script>"
FORMULA = '=HYPERLINK("http://x")'
# The quiet member and the silent one both hold open quiet flags: give them the hostile names.
HOSTILE = {"quiet": SCRIPT, "silent": FORMULA}
SPACE = "g1"  # the world's guild (tests.factories.ev)
STAFF = "staff"  # the world's staff member


@dataclass
class Site:
    """A served dashboard over a built world."""

    client: TestClient
    world: World
    uow: UnitOfWork
    clock: FixedClock
    settings: Settings

    def commands(self) -> CommandService:
        """The chat command layer on the same database and clock."""
        web = self.settings.web
        return CommandService(self.uow, self.settings.policies(), KEY, self.clock, web.public_url())

    async def chat(self, name: str, args: dict | None = None, *, user=STAFF, staff=True):
        """Run chat command NAME with ARGS as USER in the world's guild."""
        inv = Invocation(Platform.DISCORD, SPACE, user, staff)
        return await self.commands().run(inv, name, args or {})

    async def link(self, user: str = STAFF) -> str:
        """A fresh sign-in token for USER."""
        return await link_for_staff(self.uow, Platform.DISCORD, SPACE, user, self.clock.now())

    async def sign_in(self, user: str = STAFF) -> None:
        """Sign the client in through a fresh link."""
        answer = await self.client.post(
            "/signin", data={"token": await self.link(user)}, allow_redirects=False
        )
        assert answer.status == 303, await answer.text()

    async def csrf(self, path: str) -> str:
        """The CSRF token of the forms on PATH."""
        body = await (await self.client.get(path)).text()
        return re.search(r'name="csrf" value="([0-9a-f]+)"', body).group(1)


@contextlib.asynccontextmanager
async def served(engine, web: dict | None = None):
    """The world built on ENGINE, the dashboard serving it on 127.0.0.1, and a client."""
    with renamed(HOSTILE):
        world = await build_world(engine)
    clock = FixedClock(NOW)
    settings = parse_settings({"web": web or {}})
    uow = UnitOfWork(engine)
    app = build_app(uow, settings, KEY, clock)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        yield Site(client, world, uow, clock, settings)
