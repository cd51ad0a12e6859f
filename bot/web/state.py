"""What every dashboard handler reaches through the application: built once by bot.web.app."""

from __future__ import annotations

from dataclasses import dataclass, field

import aiohttp_jinja2
from aiohttp import web
from aiohttp.web_request import FileField
from multidict import MultiDictProxy

from bot.services.recent import RecentFigures
from bot.services.web_auth import CommunityChoice, Viewer
from bot.settings import Settings
from bot.web.security import COOKIE, Signer
from community.clock import Clock
from community.policies import Policies
from storage.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class WebState:
    """The dashboard's unit of work, settings, clock and signer."""

    uow: UnitOfWork
    settings: Settings
    policies: Policies
    clock: Clock
    signer: Signer
    hash_key: bytes
    recent: RecentFigures = field(default_factory=RecentFigures)

    @property
    def secure_cookies(self) -> bool:
        """Cookies marked Secure: only when staff reach the dashboard over https."""
        return (self.settings.web.base_url or "").startswith("https://")


STATE = web.AppKey("pulse_web", WebState)


def state(request: web.Request) -> WebState:
    """The application's WebState."""
    return request.app[STATE]


def path_number(request: web.Request, name: str, missing: str) -> int:
    """The path's NAME part as a number; a 404 saying MISSING when it is not digits."""
    raw = request.match_info[name]
    if not (raw.isascii() and raw.isdigit()):
        raise web.HTTPNotFound(text=missing)
    return int(raw)


def session_token(request: web.Request) -> str | None:
    """The session token of the request's cookie, when its signature holds."""
    return state(request).signer.session_of(request.cookies.get(COOKIE))


@dataclass(frozen=True, slots=True)
class Staff:
    """What the check in front of a staff page found: who, which community, the form posted."""

    viewer: Viewer
    space: CommunityChoice | None
    form: MultiDictProxy[str | bytes | FileField] | None = None

    @property
    def space_id(self) -> int:
        """The row id of the community in the path."""
        if self.space is None:
            raise LookupError("this page has no community in its path")
        return self.space.id


def page(
    request: web.Request, template: str, status: int = 200, staff: Staff | None = None, **values
) -> web.Response:
    """Render TEMPLATE (autoescaped) with what every page shows: viewer, community, CSRF token."""
    session = session_token(request)
    context = {
        "note": None,
        "message": "",
        "viewer": staff.viewer if staff else None,
        "space": staff.space if staff else None,
        "csrf": state(request).signer.csrf(session) if session else "",
        **values,
    }
    return aiohttp_jinja2.render_template(template, request, context, status=status)
