"""The dashboard's forms: the same staff actions as the chat buttons, through the same services.

Each form posts, the action runs through ``bot/services/staff_actions.py`` exactly as the chat
command or button would, and the answer redirects back (post, redirect, get) with a fixed note.
"""

from __future__ import annotations

from urllib.parse import urlencode

from aiohttp import web

from bot.commands.spec import CONTRIBUTION_KINDS, OUTREACH_CHOICES, TITLE_MAX
from bot.services import staff_actions
from bot.services.dashboard import member_row_in
from bot.services.staff_actions import AlreadyDealtWith
from bot.web.auth import staff_only
from bot.web.state import Staff, path_number, state
from storage.members import member_ref
from storage.spaces import NotFoundError

routes = web.RouteTableDef()

NO_RECORD = "No such record."
NOTE_OF = {"done": "reached_out", "snooze": "snooze", "dismiss": "dismiss"}


def _back(request: web.Request, staff: Staff, note: str) -> web.Response:
    """Redirect to the page the form was on (only a dashboard path of this community)."""
    # Whatever the form did, the overview's kept figures may now be out of date.
    state(request).recent.clear()
    space = staff.space_id
    back = staff.form.get("back") if staff.form else None
    if not (isinstance(back, str) and back.startswith(f"/c/{space}/") and "//" not in back):
        back = f"/c/{space}/"
    location = f"{back.split('?')[0]}?{urlencode({'note': note})}"
    return web.Response(status=303, headers={"Location": location})


@routes.post("/c/{space}/quiet/{flag}")
@staff_only
async def outreach(request: web.Request, staff: Staff) -> web.StreamResponse:
    """Reached out, snooze or dismiss on a quiet flag: the quiet list's buttons."""
    app = state(request)
    choice = staff.form.get("choice")
    if choice not in OUTREACH_CHOICES:
        return _back(request, staff, "bad-input")
    try:
        await staff_actions.outreach_on_flag(
            app.uow,
            staff.space_id,
            path_number(request, "flag", NO_RECORD),
            staff.viewer.staff_id,
            choice,
            app.clock.now(),
        )
    except AlreadyDealtWith:
        return _back(request, staff, "already")
    return _back(request, staff, NOTE_OF[choice])


async def _platform_id(request: web.Request, staff: Staff) -> str:
    app = state(request)
    row = await member_row_in(app.uow, staff.space_id, path_number(request, "member", NO_RECORD))
    if row is None:
        raise web.HTTPNotFound(text="No such member in this community.")
    return member_ref(row).platform_id


@routes.post("/c/{space}/member/{member}/hero")
@staff_only
async def hero(request: web.Request, staff: Staff) -> web.StreamResponse:
    """Confirm or remove a member's hero recognition, as /hero does."""
    app = state(request)
    action = staff.form.get("action")
    if action not in ("confirm", "remove"):
        return _back(request, staff, "bad-input")
    try:
        done = await staff_actions.hero_recognition(
            app.uow,
            staff.space_id,
            await _platform_id(request, staff),
            action == "confirm",
            staff.viewer.staff_id,
            app.clock.now(),
        )
    except NotFoundError:
        raise web.HTTPNotFound(text="No such member in this community.") from None
    if not done.changed:
        return _back(request, staff, "hero-same")
    return _back(request, staff, "hero-on" if action == "confirm" else "hero-off")


@routes.post("/c/{space}/member/{member}/contribution")
@staff_only
async def contribution(request: web.Request, staff: Staff) -> web.StreamResponse:
    """Log a contribution, as /contribution does."""
    app = state(request)
    form = staff.form
    kind, title = form.get("kind"), form.get("title")
    if kind not in CONTRIBUTION_KINDS or not isinstance(title, str):
        return _back(request, staff, "bad-input")
    title = title.strip()
    if not title or len(title) > TITLE_MAX:
        return _back(request, staff, "bad-input")
    await staff_actions.contribution(
        app.uow,
        app.hash_key,
        staff.space_id,
        await _platform_id(request, staff),
        kind,
        title,
        staff.viewer.staff_id,
        app.clock.now(),
    )
    return _back(request, staff, "contribution")
