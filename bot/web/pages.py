"""The staff pages: overview, member, quiet list, hero candidates, channels, and their charts."""

from __future__ import annotations

from aiohttp import web

from bot.commands.spec import CONTRIBUTION_KINDS
from bot.render import TREND_MARK
from bot.services import dashboard
from bot.services.exports import EXPORT_KINDS
from bot.web.auth import staff_only
from bot.web.state import Staff, page, path_number, state
from community.outcomes import health_lines
from storage.spaces import NotFoundError

routes = web.RouteTableDef()

# What a form's redirect may say; the query carries only one of these keys, never free text.
NOTES = {
    "reached_out": "Recorded: you reached out. They leave the quiet list for 30 days.",
    "snooze": "Snoozed for two weeks.",
    "dismiss": "Dismissed: off the quiet list until they take part again.",
    "already": "Someone already dealt with this member (or they came back).",
    "hero-on": "Recognized as a hero. Thank them in public.",
    "hero-off": "Hero recognition removed.",
    "hero-same": "Nothing to change.",
    "contribution": "Contribution logged; it counts at the next reclassification.",
    "bad-input": "That form was not filled in right; nothing was changed.",
}


def _values(request: web.Request, staff: Staff, **values) -> dict:
    note = request.query.get("note")
    return {"note": NOTES.get(note or ""), "staff": staff, **values}


@routes.get("/c/{space}/")
@staff_only
async def overview(request: web.Request, staff: Staff) -> web.Response:
    """Tiers and their change this week, the chart, moves, help health, at risk, outreach, goals."""
    app = state(request)
    digest = await dashboard.overview(
        app.uow, app.policies, staff.space_id, app.clock.now(), app.recent
    )
    health = health_lines(digest.health) if digest.health is not None else ()
    values = _values(request, staff, d=digest, tiers=TIERS, exports=EXPORT_KINDS, health=health)
    return page(request, "overview.html", **values)


@routes.get("/c/{space}/chart/weekly.svg")
@staff_only
async def weekly_chart(request: web.Request, staff: Staff) -> web.Response:
    """The weekly active members per tier chart."""
    app = state(request)
    svg = await dashboard.weekly_chart(
        app.uow, app.policies, staff.space_id, app.clock.now(), app.recent
    )
    return web.Response(body=svg, content_type="image/svg+xml")


@routes.get("/c/{space}/member/{member}")
@staff_only
async def member(request: web.Request, staff: Staff) -> web.Response:
    """One member's page."""
    app = state(request)
    try:
        found = await dashboard.member_page(
            app.uow,
            app.policies,
            staff.space_id,
            path_number(request, "member", "No such member."),
            app.clock.now(),
        )
    except NotFoundError:
        raise web.HTTPNotFound(text="No such member in this community.") from None
    return page(
        request, "member.html", **_values(request, staff, m=found, kinds=CONTRIBUTION_KINDS)
    )


@routes.get("/c/{space}/quiet")
@staff_only
async def quiet(request: web.Request, staff: Staff) -> web.Response:
    """The quiet list with the outreach buttons."""
    app = state(request)
    rows = await dashboard.quiet_members(app.uow, staff.space_id, app.clock.now())
    return page(request, "quiet.html", **_values(request, staff, rows=rows))


@routes.get("/c/{space}/heroes")
@staff_only
async def heroes(request: web.Request, staff: Staff) -> web.Response:
    """Hero candidates with the confirm button."""
    app = state(request)
    rows = await dashboard.candidates(app.uow, app.policies, staff.space_id)
    return page(request, "heroes.html", **_values(request, staff, rows=rows, trend=TREND_MARK))


@routes.get("/c/{space}/channels")
@staff_only
async def channels(request: web.Request, staff: Staff) -> web.Response:
    """Help health per channel over the last four weeks."""
    app = state(request)
    rows = await dashboard.channels(app.uow, staff.space_id, app.clock.now(), app.recent)
    return page(
        request, "channels.html", **_values(request, staff, rows=rows, days=dashboard.CHANNEL_DAYS)
    )


TIERS = ("hero", "active", "passive")
