"""/outreach and the quiet list's buttons: the command layer's side of the outreach loop.

The same concept as ``community/outreach.py`` (the rules) and ``storage/outreach.py`` (the rows).
"""

from __future__ import annotations

from bot.commands.actions import RecordOutreach
from bot.commands.parse import CommandError
from bot.commands.registry import Context, handles, member_of, space_of
from bot.commands.replies import Reply, Tone
from bot.services.staff_actions import OUTREACH_CHOICES, AlreadyDealtWith, outreach_on_flag
from community.outreach import OutreachAction, OutreachError
from storage.members import member_ref
from storage.outreach import live_flag_id, record_outreach

CHOICES = OUTREACH_CHOICES


@handles("outreach")
async def outreach_command(ctx: Context, args: dict) -> Reply:
    """Record that staff reached out to, snoozed or dismissed a quiet member."""
    async with ctx.uow.write() as conn:
        space = await space_of(conn, ctx)
        member = await member_of(conn, space, args["user"])
        flag = await live_flag_id(conn, space, member.id)
        name = member_ref(member).name
        if flag is None:
            raise CommandError(f"{name} is not on the quiet list, so there is nothing to record.")
        try:
            record = await record_outreach(
                conn, space, flag, ctx.inv.user_id, CHOICES[args["action"]], ctx.clock.now()
            )
        except OutreachError:
            raise CommandError(f"Someone already dealt with {name}; see /member.") from None
    return outreach_reply(name, record.action)


async def outreach_pressed(ctx: Context, action: RecordOutreach) -> Reply:
    """A quiet-list button: record its choice on its flag."""
    async with ctx.uow.read() as conn:
        space = await space_of(conn, ctx)
    try:
        done = await outreach_on_flag(
            ctx.uow, space, action.flag_id, ctx.inv.user_id, action.choice, ctx.clock.now()
        )
    except AlreadyDealtWith:
        raise CommandError(
            "Someone already dealt with this member (or they came back): refresh /quiet."
        ) from None
    return outreach_reply(done.name, done.action)


def outreach_reply(name: str, action: OutreachAction) -> Reply:
    """What staff are told after recording ACTION for member NAME."""
    text = {
        OutreachAction.REACHED_OUT: f"Recorded that you reached out to {name}. They leave the "
        "quiet list for 30 days; if they take part again, it counts as re-engaged.",
        OutreachAction.SNOOZE: f"{name} is snoozed for two weeks.",
        OutreachAction.DISMISS: f"{name} is off the quiet list until they take part again.",
    }[action]
    return Reply(title="Outreach recorded", text=text, tone=Tone.SUCCESS)
