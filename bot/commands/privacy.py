"""/privacy, its delete button, and /away: what members decide about themselves.

The same concept as ``community/privacy.py`` (the opt-out hash) at the command layer.
"""

from __future__ import annotations

from datetime import datetime

from bot.commands.actions import DeleteMyData, encode
from bot.commands.parse import CommandError
from bot.commands.registry import Context, handles, space_of
from bot.commands.replies import Button, Reply, Style, Tone
from storage.members import member_row, set_away
from storage.privacy import forget_member, privacy_summary
from storage.spaces import NotFoundError


@handles("privacy")
async def privacy_command(ctx: Context, args: dict) -> Reply:
    """What Pulse keeps about the member who asked, with a button to delete it."""
    async with ctx.uow.read() as conn:
        space = await space_of(conn, ctx)
        try:
            kept = await privacy_summary(conn, space, ctx.inv.user_id)
        except NotFoundError:
            return Reply(
                title="What Pulse keeps about you",
                text="Nothing yet: Pulse has not logged any activity of yours here.",
            )
    span = (
        f"from {kept.first_seen:%Y-%m-%d} to {kept.last_seen:%Y-%m-%d}"
        if kept.first_seen and kept.last_seen
        else "none kept in detail"
    )
    return Reply(
        title="What Pulse keeps about you",
        text=(
            "Pulse never stores what you write. It keeps that you posted, replied or "
            "reacted, when, and where, to help the community team look after members."
        ),
        fields=(
            ("Name shown", kept.display_name or "(none)"),
            ("Activities", f"{kept.activities} ({span})"),
            ("Days with activity", str(kept.days_with_activity)),
            ("Tier", kept.tier or "not classified yet"),
            ("Check-in flags", str(kept.quiet_flags)),
            ("Contributions logged", str(kept.contributions)),
        ),
        buttons=(
            Button(
                "Delete my data and opt out",
                encode(DeleteMyData(ctx.inv.user_id)),
                Style.DANGER,
            ),
        ),
        footer="Deleting removes everything above now, and Pulse ignores you from then on.",
    )


async def delete_pressed(ctx: Context, action: DeleteMyData) -> Reply:
    """The privacy reply's button: delete the member's data and opt them out."""
    if action.user_id != ctx.inv.user_id:
        raise CommandError("only the member themselves can delete their data")
    async with ctx.uow.write() as conn:
        space = await space_of(conn, ctx)
        await forget_member(conn, space, ctx.inv.user_id, ctx.hash_key, ctx.clock.now())
    return Reply(
        title="Done: you are opted out",
        text="Everything Pulse kept about you is deleted, and it will not log you again.",
        tone=Tone.SUCCESS,
    )


@handles("away")
async def away_command(ctx: Context, args: dict) -> Reply:
    """Pause check-in prompts about the member who asked until a date."""
    until: datetime = args["until"]
    async with ctx.uow.write() as conn:
        space = await space_of(conn, ctx)
        try:
            member = await member_row(conn, space, ctx.inv.user_id)
        except NotFoundError:
            return Reply(
                title="Nothing to pause",
                text="Pulse has no activity of yours yet, so nobody will be asked about you.",
            )
        await set_away(conn, member.id, until)
    return Reply(
        title="Enjoy your time away",
        text=f"Nobody will be prompted to check in on you until {until:%Y-%m-%d}.",
        tone=Tone.SUCCESS,
    )
