"""The dashboard from the terminal: `pulse web` serves it alone, `pulse web-link` signs in."""

from __future__ import annotations

import click

from bot.cli.base import PulseError, cli, common_options, community_id, now, open_store, run_async
from bot.settings import Settings


@cli.command("web")
@common_options
@click.option("--host", default=None, help="Address to listen on (default: [web] host).")
@click.option(
    "--port", type=click.IntRange(0, 65535), default=None, help="Port (default: [web] port)."
)
def web_cmd(settings: Settings, host: str | None, port: int | None) -> None:
    """Serve the staff dashboard alone on an existing database (no chat platform needed)."""
    from bot.app import PlatformError, serve_dashboard

    changes = {k: v for k, v in (("host", host), ("port", port)) if v is not None}
    if changes:
        settings = settings.model_copy(update={"web": settings.web.model_copy(update=changes)})

    def ready(url: str) -> None:
        click.echo(f"Dashboard at {url} (Ctrl-C to stop). Sign in with `pulse web-link`.")

    try:
        run_async(serve_dashboard(settings, clock=click.get_current_context().find_root().obj,
                                  ready=ready))  # fmt: skip
    except PlatformError as exc:
        raise PulseError(str(exc)) from None


@cli.command("web-link")
@common_options
@click.option(
    "--space", default=None, metavar="ID", help="The community (when several are stored)."
)
@click.option(
    "--minutes",
    type=click.IntRange(1, 24 * 60),
    default=10,
    show_default=True,
    help="How long the link works.",
)
def web_link(settings: Settings, space: str | None, minutes: int) -> None:
    """Print a single-use dashboard sign-in link for the operator (the last line is the URL)."""
    from bot.services.web_auth import link_for_operator
    from bot.web.links import sign_in_url

    moment = now()

    async def go() -> str:
        async with open_store(settings) as uow:
            space_id = await community_id(uow, space)
            return await link_for_operator(uow, space_id, moment, minutes)

    token = run_async(go())
    click.echo(f"Single-use sign-in link, valid {minutes} minutes:")
    click.echo(sign_in_url(settings.web.public_url(), token))
