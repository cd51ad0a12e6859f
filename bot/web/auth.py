"""Signing in and out, and the check in front of every staff page and form."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable

from aiohttp import web

from bot.services import web_auth
from bot.services.web_auth import LinkRefused, LinkState
from bot.web.security import COOKIE, CSRF_FIELD
from bot.web.state import Staff, page, session_token, state

routes = web.RouteTableDef()

StaffHandler = Callable[[web.Request, Staff], Awaitable[web.StreamResponse]]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

REFUSED = {
    LinkState.USED: "This sign-in link was already used. Links work once.",
    LinkState.EXPIRED: "This sign-in link has expired. Links last ten minutes.",
    LinkState.UNKNOWN: "This is not a Pulse sign-in link.",
}


def sign_in_page(request: web.Request, status: int = 401, message: str = "") -> web.Response:
    """The page everyone without a session gets instead of data."""
    return page(request, "signin.html", status=status, message=message)


def staff_only(handler: StaffHandler) -> Handler:
    """Serve HANDLER only to a live session of someone staff of the community in the path.

    Forms (POST) must also carry the session's CSRF token: without it, 403 and nothing runs.
    """

    @functools.wraps(handler)
    async def checked(request: web.Request) -> web.StreamResponse:
        app = state(request)
        session = session_token(request)
        viewer = None
        if session is not None:
            viewer = await web_auth.viewer(app.uow, session, app.clock.now())
        if viewer is None:
            return sign_in_page(request)
        space = request.match_info.get("space")
        if space is not None:
            if not (space.isascii() and space.isdigit() and viewer.may_see(int(space))):
                return sign_in_page(
                    request, 403, "You are not on the staff of that community (or it is gone)."
                )
            community = next(c for c in viewer.communities if c.id == int(space))
        else:
            community = None
        form = None
        if request.method == "POST":
            form = await request.post()
            if not app.signer.csrf_ok(session, form.get(CSRF_FIELD)):
                raise web.HTTPForbidden(text="Missing or wrong CSRF token: nothing was changed.")
        return await handler(request, Staff(viewer, community, form))

    return checked


@routes.get("/")
async def home(request: web.Request) -> web.StreamResponse:
    """Signed in: the home community's overview; otherwise the sign-in page."""
    app = state(request)
    session = session_token(request)
    viewer = session and await web_auth.viewer(app.uow, session, app.clock.now())
    if not viewer:
        return sign_in_page(request)
    raise web.HTTPSeeOther(f"/c/{viewer.home}/")


@routes.get("/signin/{token}")
async def sign_in_link(request: web.Request) -> web.Response:
    """A link from chat: a button that signs in, or why the link no longer works.

    Opening the link (GET) never uses it up, so link previews and prefetches cannot.
    """
    app = state(request)
    token = request.match_info["token"]
    status = await web_auth.link_state(app.uow, token, app.clock.now())
    if status is not LinkState.VALID:
        return sign_in_page(
            request, 410 if status is not LinkState.UNKNOWN else 404, REFUSED[status]
        )
    return page(request, "link.html", token=token)


@routes.post("/signin")
async def sign_in(request: web.Request) -> web.StreamResponse:
    """Use a link once and start a session."""
    app = state(request)
    form = await request.post()
    token = form.get("token")
    if not isinstance(token, str) or not token:
        return sign_in_page(request, 400, REFUSED[LinkState.UNKNOWN])
    try:
        session, space = await web_auth.sign_in(
            app.uow, token, app.clock.now(), app.settings.web.session_hours
        )
    except LinkRefused as exc:
        return sign_in_page(request, 410, REFUSED[exc.state])
    response = web.Response(status=303, headers={"Location": f"/c/{space}/"})
    response.set_cookie(
        COOKIE,
        app.signer.cookie_value(session),
        max_age=app.settings.web.session_hours * 3600,
        httponly=True,
        samesite="Lax",
        secure=app.secure_cookies,
        path="/",
    )
    return response


@routes.post("/signout")
@staff_only
async def sign_out(request: web.Request, staff: Staff) -> web.StreamResponse:
    """End the session server-side and forget the cookie."""
    app = state(request)
    await web_auth.sign_out(app.uow, session_token(request), app.clock.now())
    response = sign_in_page(request, 200, "You are signed out.")
    response.del_cookie(COOKIE, path="/")
    return response
