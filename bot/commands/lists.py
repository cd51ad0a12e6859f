"""/hero-candidates and /quiet: ranked lists that page with buttons."""

from __future__ import annotations

from bot.commands.actions import RecordOutreach, ShowPage, encode
from bot.commands.registry import Context, handles, space_of
from bot.commands.replies import Button, Entry, Reply, Style
from bot.render import TREND_MARK
from community.views import QuietEntry
from storage.quiet import quiet_list
from storage.tiers import hero_candidates

PAGE_SIZE = 5
QUIET_PAGE_SIZE = 4  # each quiet member brings a row of three buttons; Discord allows 5 rows


@handles("hero-candidates")
async def hero_candidates_command(ctx: Context, args: dict) -> Reply:
    """The first page of hero candidates."""
    return await candidates_page(ctx, args["limit"], 0)


async def candidates_page(ctx: Context, limit: int, page: int) -> Reply:
    """Page PAGE of the LIMIT best hero candidates."""
    async with ctx.uow.read() as conn:
        space = await space_of(conn, ctx)
        rows = await hero_candidates(conn, space, ctx.tiers, limit)
    entries = [
        Entry(
            heading=f"{rank}. {row.member.name}",
            text=(
                f"{row.share_of_hero_bar:.0%} of the hero bar, {TREND_MARK[row.trend.value]}"
                f"\n{row.reasons}"
            ),
        )
        for rank, row in enumerate(rows, 1)
    ]
    return paged(
        Reply(
            title="Hero candidates",
            text="Members at or near hero level who are not recognized yet."
            if entries
            else "No hero candidates right now.",
        ),
        entries,
        "hero-candidates",
        limit,
        page,
        PAGE_SIZE,
    )


@handles("quiet")
async def quiet_command(ctx: Context, args: dict) -> Reply:
    """The first page of members who went quiet."""
    return await quiet_page(ctx, args["limit"], 0)


async def quiet_page(ctx: Context, limit: int, page: int) -> Reply:
    """Page PAGE of the LIMIT quiet members most worth a check-in."""
    async with ctx.uow.read() as conn:
        space = await space_of(conn, ctx)
        rows = await quiet_list(conn, space, ctx.clock.now(), limit)
    entries = [quiet_entry(row) for row in rows]
    return paged(
        Reply(
            title="Quiet members: reach out, help first",
            text="Nobody has gone quiet. Nice."
            if not entries
            else "Reached out? Press the button: the team sees it, and Pulse notes when they "
            "come back.",
        ),
        entries,
        "quiet",
        limit,
        page,
        QUIET_PAGE_SIZE,
    )


# The list commands whose answers page, by name: a ShowPage press re-runs one of these.
PAGES = {"hero-candidates": candidates_page, "quiet": quiet_page}


def quiet_entry(row: QuietEntry) -> Entry:
    """A quiet member with the three outreach buttons."""
    flag = row.flag_id
    return Entry(
        heading=row.member.name,
        text=row.summary,
        buttons=(
            Button("Reached out", encode(RecordOutreach(flag, "done")), Style.PRIMARY),
            Button("Snooze 2 weeks", encode(RecordOutreach(flag, "snooze"))),
            Button("Dismiss", encode(RecordOutreach(flag, "dismiss"))),
        ),
    )


def paged(reply: Reply, entries: list[Entry], name: str, limit: int, page: int, size: int) -> Reply:
    """The PAGE-th slice of ENTRIES, with previous/next buttons that re-run the query."""
    pages = max(1, -(-len(entries) // size))
    page = min(max(page, 0), pages - 1)
    buttons = []
    if page > 0:
        buttons.append(Button("◀ Previous", encode(ShowPage(name, limit, page - 1))))
    if page < pages - 1:
        buttons.append(Button("Next ▶", encode(ShowPage(name, limit, page + 1))))
    return Reply(
        title=reply.title,
        text=reply.text,
        entries=tuple(entries[page * size : (page + 1) * size]),
        buttons=tuple(buttons),
        page=page,
        pages=pages,
        footer=f"Page {page + 1} of {pages}" if pages > 1 else "",
    )
