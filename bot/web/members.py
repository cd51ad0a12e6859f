"""The members table (filter, sort, search, pages) and the CSV exports, streamed."""

from __future__ import annotations

import logging
from urllib.parse import urlencode

from aiohttp import web

from bot.services import dashboard
from bot.services.exports import EXPORT_KINDS, export_csv
from bot.services.member_list import MEMBER_COLUMNS, MemberQuery, list_members
from bot.tasks import log_failure
from bot.web.auth import staff_only
from bot.web.state import Staff, page, state
from community.member_list import TIERS

log = logging.getLogger(__name__)
routes = web.RouteTableDef()

PER_PAGE = 50
# The query string's names for MemberQuery's fields, so links and the form agree.
FIELDS = ("tier", "quiet", "channel", "platform", "q", "sort", "desc", "page")
HEADINGS = {
    "name": "Member",
    "tier": "Tier",
    "score": "Score",
    "last_seen": "Last seen",
    "weeks_active": "Weeks active",
    "helped": "Helped",
    "quiet": "Quiet",
    "platform": "Platform",
}


def member_query(params) -> MemberQuery:
    """The MemberQuery a members URL asks for; ValueError saying what is wrong."""
    quiet = params.get("quiet") or None
    if quiet not in (None, "yes", "no"):
        raise ValueError("quiet is yes or no")
    page = params.get("page") or "1"
    if not (page.isascii() and page.isdigit()):
        raise ValueError("page is a number")
    return MemberQuery(
        tier=params.get("tier") or None,
        quiet=None if quiet is None else quiet == "yes",
        channel=params.get("channel") or None,
        platform=params.get("platform") or None,
        search=params.get("q") or None,
        sort=params.get("sort") or "score",
        descending=params.get("desc", "1") != "0",
        page=int(page),
        per_page=PER_PAGE,
    )


def _next_order(query: MemberQuery, column: str) -> str:
    """The desc value a column's heading links to: the other way round when sorted by it."""
    if query.sort == column:
        return "0" if query.descending else "1"
    # Text reads A to Z first; figures, largest first.
    return "0" if column in ("name", "platform") else "1"


def _link(params: dict, **changes) -> str:
    """The query string of the members view PARAMS with CHANGES."""
    merged = {**params, **changes}
    return "?" + urlencode({k: v for k, v in merged.items() if v not in (None, "")})


@routes.get("/c/{space}/members")
@staff_only
async def members(request: web.Request, staff: Staff) -> web.Response:
    """Every member, filtered, sorted, searched and paged; the view downloads as CSV."""
    app = state(request)
    params = {k: request.query.get(k, "") for k in FIELDS}
    try:
        query = member_query(request.query)
    except ValueError as exc:
        query, problem = MemberQuery(per_page=PER_PAGE), str(exc)
        params = {}
    else:
        problem = ""
    found = await list_members(app.uow, staff.space_id, query, now=app.clock.now())
    sorting = {
        column: _link(params, sort=column, desc=_next_order(query, column), page="")
        for column in MEMBER_COLUMNS
    }
    return page(
        request,
        "members.html",
        staff=staff,
        note=problem or None,
        found=found,
        query=query,
        params=params,
        sorting=sorting,
        headings=HEADINGS,
        tiers=TIERS,
        channels=await dashboard.channel_choices(app.uow, staff.space_id),
        previous=_link(params, page=query.page - 1) if query.page > 1 else None,
        next=_link(params, page=query.page + 1) if query.page < found.pages else None,
        csv=_link({k: v for k, v in params.items() if k != "page"}),
    )


@routes.get("/c/{space}/export/{kind}.csv")
@staff_only
async def export(request: web.Request, staff: Staff) -> web.StreamResponse:
    """One export as a CSV download, streamed as it is read (the members one of this view)."""
    app = state(request)
    kind = request.match_info["kind"]
    if kind not in EXPORT_KINDS:
        raise web.HTTPNotFound(text=f"No such export; there are {', '.join(EXPORT_KINDS)}.")
    query = None
    if kind == "members":
        try:
            query = member_query(request.query)
        except ValueError as exc:
            raise web.HTTPBadRequest(text=str(exc)) from None
    now = app.clock.now()
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="pulse-{kind}-{now:%Y-%m-%d}.csv"',
        }
    )
    await response.prepare(request)
    try:
        async for chunk in export_csv(app.uow, kind, staff.space_id, query=query, now=now):
            await response.write(chunk.encode("utf-8"))
    except Exception as exc:
        # The header is sent: the download ends short, and the log says why.
        log_failure(log, exc, "the %s export failed part way", kind)
        raise
    await response.write_eof()
    return response
