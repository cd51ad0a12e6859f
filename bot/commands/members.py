"""/member, /contribution and /hero: one member's profile, and what staff record about them."""

from __future__ import annotations

from bot.commands.lists import quiet_entry
from bot.commands.registry import Context, handles, member_of, space_of
from bot.commands.replies import Reply, Tone
from bot.services.staff_actions import contribution, hero_recognition
from community.views import MemberProfile
from storage.members import member_ref
from storage.profiles import member_profile
from storage.tiers import set_pin


@handles("member")
async def member_command(ctx: Context, args: dict) -> Reply:
    """A member's tier, reasons, dates and open check-in flag."""
    async with ctx.uow.read() as conn:
        space = await space_of(conn, ctx)
        # By platform id only, as every member argument: a name never stands in for an id.
        await member_of(conn, space, args["user"])
        profile = await member_profile(conn, space, args["user"], ctx.clock.now(), ctx.tiers)
    return profile_reply(profile)


@handles("contribution")
async def contribution_command(ctx: Context, args: dict) -> Reply:
    """Log a talk, post, video or meetup a member gave; it counts as their activity."""
    space = await _space_with_member(ctx, args["user"])
    done = await contribution(
        ctx.uow,
        ctx.hash_key,
        space,
        args["user"],
        args["kind"],
        args["title"],
        ctx.inv.user_id,
        ctx.clock.now(),
    )
    return Reply(
        title="Contribution logged",
        text=f"{args['kind'].capitalize()} by {done.name}: {args['title']}. "
        "It counts toward their tier at the next reclassification.",
        tone=Tone.SUCCESS,
    )


@handles("hero")
async def hero_command(ctx: Context, args: dict) -> Reply:
    """Confirm or remove a member's hero recognition, or pin or unpin their tier."""
    if args["action"] in ("pin", "unpin"):
        return await _pin(ctx, args["user"], args["action"] == "pin")
    confirm = args["action"] == "confirm"
    space = await _space_with_member(ctx, args["user"])
    done = await hero_recognition(
        ctx.uow, space, args["user"], confirm, ctx.inv.user_id, ctx.clock.now()
    )
    name = done.name
    if not done.changed:
        state = "already a recognized hero" if confirm else "not a recognized hero"
        return Reply(title="Nothing to change", text=f"{name} is {state}.")
    text = (
        f"{name} is now a recognized hero. Thank them in public: recognition is what heroes value."
        if confirm
        else f"{name} is no longer listed as a recognized hero."
    )
    return Reply(title="Hero recognition updated", text=text, tone=Tone.SUCCESS)


async def _space_with_member(ctx: Context, platform_id: str) -> int:
    """The space's row id, once the member is known there (else the error naming them)."""
    async with ctx.uow.read() as conn:
        space = await space_of(conn, ctx)
        await member_of(conn, space, platform_id)
    return space


async def _pin(ctx: Context, user: str, pin: bool) -> Reply:
    async with ctx.uow.write() as conn:
        space = await space_of(conn, ctx)
        member = await member_of(conn, space, user)
        tier = await set_pin(conn, member.id, pin, ctx.inv.user_id, ctx.clock.now())
    name = member_ref(member).name
    if tier is None:
        state = "already pinned" if pin else "not pinned"
        return Reply(title="Nothing to change", text=f"{name}'s tier is {state}.")
    text = (
        f"{name}'s tier ({tier}) is pinned: the daily job will not lower it until you unpin it."
        if pin
        else f"{name}'s tier ({tier}) is unpinned: it follows their figures again."
    )
    return Reply(title="Tier pin updated", text=text, tone=Tone.SUCCESS)


def profile_reply(profile: MemberProfile) -> Reply:
    """A member's profile as a Reply, with the outreach buttons when a flag is open."""
    role = "staff" if profile.is_staff else "bot" if profile.is_bot else "member"
    fields = [
        ("Role", role + (", recognized hero" if profile.recognized_hero else "")),
        ("Tier", profile.reasons or "not classified yet"),
        ("Joined", f"{profile.joined_at:%Y-%m-%d}" if profile.joined_at else "unknown"),
        ("Last active", f"{profile.last_active:%Y-%m-%d}" if profile.last_active else "never"),
    ]
    if profile.at_risk:
        fields.append(("At risk", profile.at_risk.summary))
    if profile.left_at:
        fields.append(("Left", f"{profile.left_at:%Y-%m-%d}"))
    if profile.away_until:
        fields.append(("Away until", f"{profile.away_until:%Y-%m-%d}"))
    if profile.tier_history:
        fields.append(
            (
                "Tier changes",
                "\n".join(
                    f"{when:%Y-%m-%d}: {old or 'new'} → {new}"
                    for when, old, new in profile.tier_history
                ),
            )
        )
    if profile.role_history:
        fields.append(
            (
                "Role changes",
                "\n".join(
                    f"{when:%Y-%m-%d}: {role} role {action} ({reason})"
                    for when, role, action, reason in profile.role_history
                ),
            )
        )
    entries = (quiet_entry(profile.open_flag),) if profile.open_flag else ()
    return Reply(title=profile.member.name, fields=tuple(fields), entries=entries)
