"""The dashboard's aiohttp application, and serving it on the running event loop."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web

from bot.settings import Settings
from bot.web import auth, forms, members, pages
from bot.web.security import Signer, add_headers
from bot.web.state import STATE, WebState
from community.clock import Clock
from storage.uow import UnitOfWork

log = logging.getLogger(__name__)

HERE = Path(__file__).parent


def build_app(
    uow: UnitOfWork, settings: Settings, hash_key: bytes, clock: Clock
) -> web.Application:
    """The dashboard application over UOW; nothing listens until it is served."""
    app = web.Application(client_max_size=64 * 1024)  # forms are small; refuse big bodies
    app[STATE] = WebState(uow, settings, settings.policies(), clock, Signer(hash_key), hash_key)
    aiohttp_jinja2.setup(
        app,
        loader=jinja2.PackageLoader("bot.web", "templates"),
        # Every value is escaped in every template: a member's name is text, never markup.
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    app.on_response_prepare.append(add_headers)
    app.add_routes(auth.routes)
    app.add_routes(pages.routes)
    app.add_routes(forms.routes)
    app.add_routes(members.routes)
    app.router.add_static("/static", HERE / "static", follow_symlinks=False)
    return app


async def serve_web(
    app: web.Application, host: str, port: int, stop: asyncio.Event, ready=None
) -> None:
    """Serve APP on HOST:PORT in this loop until STOP is set; READY(url) once it listens."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        # The address really bound (port 0 picks one), as the operating system reports it.
        sockets = site._server.sockets if site._server else ()
        bound_host, bound_port = sockets[0].getsockname()[:2] if sockets else (host, port)
        shown = f"[{bound_host}]" if ":" in bound_host else bound_host
        log.info("dashboard listening on http://%s:%s", shown, bound_port)
        if ready is not None:
            ready(f"http://{shown}:{bound_port}")
        await stop.wait()
    finally:
        await runner.cleanup()
