"""/dashboard: a single-use sign-in link to the staff web dashboard, for the staff member asking."""

from __future__ import annotations

from bot.commands.parse import CommandError
from bot.commands.registry import Context, handles
from bot.commands.replies import Reply
from bot.services.web_auth import LINK_MINUTES, link_for_staff
from bot.web.links import sign_in_url


@handles("dashboard")
async def dashboard_command(ctx: Context, args: dict) -> Reply:
    """A link bound to this staff member and community, usable once within ten minutes."""
    if ctx.dashboard_url is None:
        raise CommandError(
            "The dashboard is switched off here ([web] enabled = false): ask the operator."
        )
    token = await link_for_staff(
        ctx.uow, ctx.inv.platform, ctx.inv.space_id, ctx.inv.user_id, ctx.clock.now()
    )
    text = (
        f"{sign_in_url(ctx.dashboard_url, token)}\n"
        f"This link signs you in once and expires in {LINK_MINUTES} minutes; do not share it."
    )
    return Reply(title="Your dashboard link", text=text)
