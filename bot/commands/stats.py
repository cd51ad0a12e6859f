"""/community-stats and /digest: how the community is moving, for staff."""

from __future__ import annotations

from datetime import timedelta

from bot.commands.registry import Context, handles, space_of
from bot.commands.replies import Reply
from bot.services.digests import build_digest
from community.outcomes import health_lines
from storage.goals import goals_progress
from storage.health import help_health
from storage.outreach import mark_re_engaged, outreach_stats
from storage.stats import community_stats


@handles("community-stats")
async def community_stats_command(ctx: Context, args: dict) -> Reply:
    """Tiers, activity, questions answered, outreach and goals over the last WEEKS weeks."""
    weeks = args["weeks"]
    now = ctx.clock.now()
    async with ctx.uow.write() as conn:
        space = await space_of(conn, ctx)
        # Outcomes first, so members who came back since the last job count.
        await mark_re_engaged(conn, space, now)
    async with ctx.uow.read() as conn:
        stats = await community_stats(conn, space, weeks, now)
        # The window's end is exclusive: include what staff recorded this very moment.
        end = now + timedelta(seconds=1)
        outreach = await outreach_stats(conn, space, now - timedelta(weeks=weeks), end, now)
        goals = await goals_progress(conn, space, list(ctx.policies.goals), now)
        health = await help_health(
            conn,
            space,
            now - timedelta(weeks=weeks),
            end,
            unanswered_hours=ctx.policies.unanswered_hours,
            attention_limit=0,
        )
    tiers = stats.tiers
    answered = f"{stats.answers / stats.questions:.0%}" if stats.questions else "n/a"
    fields = [
        (
            "Tiers now",
            f"{tiers.get('hero', 0)} heroes, {tiers.get('active', 0)} active, "
            f"{tiers.get('passive', 0)} passive",
        ),
        ("Active members", str(stats.active_members)),
        ("New members", str(stats.new_members)),
        ("Messages", str(stats.messages)),
        ("Questions / answers", f"{stats.questions} / {stats.answers} ({answered})"),
        ("Members who helped someone", str(stats.helpers)),
        ("Outreach", outreach.summary()),
        ("Help health", "\n".join(health_lines(health))),
    ]
    if goals:
        fields.append(("Goals", "\n".join(g.summary() for g in goals)))
    return Reply(
        title=f"Community over the last {weeks} week{'s' if weeks > 1 else ''}",
        fields=tuple(fields),
    )


@handles("digest")
async def digest_command(ctx: Context, args: dict) -> Reply:
    """Both digests for this week, shown to the staff member and not posted."""
    async with ctx.uow.read() as conn:
        space = await space_of(conn, ctx)
    now = ctx.clock.now()
    staff = await build_digest(ctx.uow, ctx.policies, space, "staff", now)
    community = await build_digest(ctx.uow, ctx.policies, space, "community", now)
    chart = (
        (staff.rendered.chart_filename or "pulse-chart.png", staff.chart_png)
        if staff.chart_png
        else None
    )
    return Reply(
        title="Digest preview (not posted)",
        text=staff.rendered.text,
        discord_embeds=tuple(staff.rendered.discord_embeds),
        slack_blocks=tuple(staff.rendered.slack_blocks),
        attachment=chart,
        followups=(
            Reply(
                title="Community digest preview",
                text=community.rendered.text,
                discord_embeds=tuple(community.rendered.discord_embeds),
                slack_blocks=tuple(community.rendered.slack_blocks),
            ),
        ),
    )
