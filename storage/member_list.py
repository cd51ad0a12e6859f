"""The members table: one query that filters, sorts and pages members in the database.

Who is listed: every member of the space who has not left, staff included (marked, with no
tier), bots not. Members never classified yet are held passive with a score of 0, as the tier
counts hold them. Opted-out members are deleted (storage.privacy), so no filter is needed for
them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

from sqlalchemy import Select, and_, case, exists, func, literal, null, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from community.events import day_start
from community.member_list import MemberQuery, MemberRow
from community.tiers import Tier
from storage.models import (
    Channel,
    ChannelActivity,
    Member,
    QuietFlag,
    RecognizedHero,
    Space,
    TierAssignment,
)
from storage.quiet import live_flag


class unindexed(FunctionElement):
    """COLUMN, which SQLite may not look up through an index; as is on other databases.

    SQLite's documented way: a unary "+" before the column disqualifies the term from index
    use (https://sqlite.org/optoverview.html#disqualifying_where_clause_terms_using_unary_).
    """

    inherit_cache = True
    name = "unindexed"

    def __init__(self, column) -> None:
        super().__init__(column)
        self.type = column.type


@compiles(unindexed)
def _as_is(element: unindexed, compiler, **kw) -> str:
    return compiler.process(element.clauses, **kw)


@compiles(unindexed, "sqlite")
def _unary_plus(element: unindexed, compiler, **kw) -> str:
    return "+" + compiler.process(element.clauses, **kw)


_TIER_RANK = {Tier.PASSIVE.value: 0, Tier.ACTIVE.value: 1, Tier.HERO.value: 2}


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def live_members(space_id: int, now: datetime):
    """The members with a live quiet flag at NOW, as a subquery to join (one row each)."""
    return (
        select(QuietFlag.member_id)
        .join(Member, Member.id == QuietFlag.member_id)
        .where(live_flag(space_id, now))
        .group_by(QuietFlag.member_id)
        .subquery("live")
    )


def _columns(live) -> dict:
    """The listed columns as SQL expressions, by name (LIVE: the quiet members' subquery)."""
    ta = TierAssignment
    return {
        "id": Member.id,
        "platform_id": Member.platform_id,
        "name": func.coalesce(Member.display_name, Member.platform_id),
        "platform": Space.platform,
        "tier": case((Member.is_staff, null()), else_=func.coalesce(ta.tier, Tier.PASSIVE.value)),
        "score": func.coalesce(ta.score, 0.0),
        "last_day": ta.last_active_day,
        "weeks_active": func.coalesce(ta.active_weeks, 0),
        "helped_members": func.coalesce(ta.helped_members, 0),
        "quiet": live.c.member_id.is_not(None),
        "staff": Member.is_staff,
        "hero_confirmed": RecognizedHero.member_id.is_not(None),
    }


def _order(columns: dict, query: MemberQuery) -> list:
    """ORDER BY for QUERY: its column, then member id so pages never overlap."""
    ta = TierAssignment
    keys = {
        "name": func.lower(columns["name"]),
        # Staff (no tier) rank below passive members.
        "tier": case(
            (Member.is_staff, -1),
            *((func.coalesce(ta.tier, Tier.PASSIVE.value) == t, r) for t, r in _TIER_RANK.items()),
            else_=-1,
        ),
        "score": columns["score"],
        # Never active sorts as the oldest.
        "last_seen": func.coalesce(ta.last_active_day, -1),
        "weeks_active": columns["weeks_active"],
        "helped": columns["helped_members"],
        "quiet": case((columns["quiet"], 1), else_=0),
        "platform": Space.platform,
    }
    key = keys[query.sort]
    return [key.desc() if query.descending else key.asc(), Member.id]


# What each sort reads beyond the members table itself.
_SORT_NEEDS = {"tier": "ta", "score": "ta", "last_seen": "ta", "weeks_active": "ta",
               "helped": "ta", "quiet": "live", "platform": "space", "name": None}  # fmt: skip


def _filtered(stmt: Select, space_id: int, query: MemberQuery, live, *, lean: str = "") -> Select:
    """STMT over the listed members, joined and narrowed by QUERY's filters.

    LEAN ("count" or "keys") joins only what the filters (and for "keys" the sort) read:
    every join is on a unique key, so the others cannot change which rows match, and a count
    stays on ix_members_list alone.
    """
    needs = {
        "space": query.platform is not None,
        "ta": query.tier is not None,
        "live": query.quiet is not None,
        "hero": False,
    }
    if lean == "keys" and _SORT_NEEDS[query.sort]:
        needs[_SORT_NEEDS[query.sort]] = True
    if not lean:
        needs = dict.fromkeys(needs, True)
    if _by_tier_index(query):
        # Every active or hero member has an assignment: ix_tier_assignments_rank finds them.
        needs["ta"] = "inner"
    if query.quiet:
        needs["live"] = "inner"
    space = Member.space_id == space_id
    if "inner" in needs.values():
        # A few members lead, then each is looked up. Without statistics SQLite would lead
        # with ix_members_list instead, which matches nearly every member, and look each up
        # in the few. PostgreSQL knows from its statistics; a changed term would blind them.
        space = unindexed(Member.space_id) == space_id
    stmt = _joined(stmt, live, needs).where(
        space, Member.is_bot.is_(False), Member.left_at.is_(None)
    )
    return _narrowed(stmt, space_id, query, live)


def _by_tier_index(query: MemberQuery) -> bool:
    """Whether QUERY's tier filter is read from the tier index (a tier other than passive).

    Passive also holds members never classified (no assignment), and most of a community.
    """
    return query.tier is not None and query.tier != Tier.PASSIVE.value


def _joined(stmt: Select, live, needs: dict[str, bool | str]) -> Select:
    """STMT from the members, joined to the tables NEEDS names (each on a unique key).

    NEEDS["ta"] and NEEDS["live"] may be "inner": joined inner rather than outer.
    """
    ta = TierAssignment
    stmt = stmt.select_from(Member)
    if needs["space"]:
        stmt = stmt.join(Space, Space.id == Member.space_id)
    if needs["ta"] == "inner":
        stmt = stmt.join(ta, ta.member_id == Member.id)
    elif needs["ta"]:
        stmt = stmt.outerjoin(ta, ta.member_id == Member.id)
    if needs["live"] == "inner":
        stmt = stmt.join(live, live.c.member_id == Member.id)
    elif needs["live"]:
        stmt = stmt.outerjoin(live, live.c.member_id == Member.id)
    if needs["hero"]:
        stmt = stmt.outerjoin(
            RecognizedHero,
            and_(RecognizedHero.member_id == Member.id, RecognizedHero.removed_at.is_(None)),
        )
    return stmt


def _narrowed(stmt: Select, space_id: int, query: MemberQuery, live) -> Select:
    """STMT with QUERY's filters."""
    ta = TierAssignment
    if _by_tier_index(query):
        stmt = stmt.where(
            Member.is_staff.is_(False), ta.space_id == space_id, ta.tier == query.tier
        )
    elif query.tier is not None:
        stmt = stmt.where(
            Member.is_staff.is_(False), func.coalesce(ta.tier, Tier.PASSIVE.value) == query.tier
        )
    if query.platform is not None:
        stmt = stmt.where(Space.platform == query.platform)
    if query.channel is not None:
        channel = (
            select(Channel.id)
            .where(Channel.space_id == space_id, Channel.platform_id == query.channel)
            .scalar_subquery()
        )
        stmt = stmt.where(
            exists(
                select(literal(1)).where(
                    ChannelActivity.member_id == Member.id,
                    ChannelActivity.channel_id == channel,
                    ChannelActivity.posts > 0,
                )
            )
        )
    if query.needle is not None:
        pattern = f"%{_escape_like(query.needle)}%"
        name = func.lower(func.coalesce(Member.display_name, Member.platform_id))
        stmt = stmt.where(name.like(pattern, escape="\\"))
    if query.quiet is not None:
        quiet = live.c.member_id
        stmt = stmt.where(quiet.is_not(None) if query.quiet else quiet.is_(None))
    return stmt


def member_rows_query(space_id: int, query: MemberQuery, now: datetime) -> Select:
    """Every member QUERY matches, in its order (no paging): the export streams this."""
    live = live_members(space_id, now)
    columns = _columns(live)
    stmt = select(*(c.label(name) for name, c in columns.items()))
    return _filtered(stmt, space_id, query, live).order_by(*_order(columns, query))


def member_row(row) -> MemberRow:
    """A result row of member_rows_query as a MemberRow."""
    return MemberRow(
        id=row.id,
        platform_id=row.platform_id,
        name=row.name,
        platform=row.platform,
        tier=row.tier,
        score=round(float(row.score), 4),
        last_seen=day_start(row.last_day).date() if row.last_day is not None else None,
        weeks_active=row.weeks_active,
        helped_members=row.helped_members,
        quiet=bool(row.quiet),
        staff=bool(row.staff),
        hero_confirmed=bool(row.hero_confirmed),
    )


def page_keys_query(space_id: int, query: MemberQuery, live) -> Select:
    """The ids on QUERY's page, in its order (LIVE: live_members' subquery)."""
    return (
        _filtered(select(Member.id), space_id, query, live, lean="keys")
        .order_by(*_order(_columns(live), query))
        .limit(query.per_page)
        .offset(query.offset)
    )


def _unfiltered_by_score(query: MemberQuery) -> bool:
    """Whether QUERY is the default view: every member, highest score first."""
    return (
        query.sort == "score"
        and query.descending
        and query.tier is None
        and query.quiet is None
        and query.channel is None
        and query.platform is None
        and query.needle is None
    )


def scored_page_query(space_id: int, query: MemberQuery) -> Select:
    """The default view's page among members with a score above 0, down the score index.

    Those members all have an assignment and rank above every member at 0, in the same order
    as page_keys_query; a page it cannot fill reaches the zeros and needs the general query.
    """
    ta = TierAssignment
    return (
        select(ta.member_id)
        .join(Member, Member.id == ta.member_id)
        .where(
            ta.space_id == space_id,
            ta.score > 0,
            Member.is_bot.is_(False),
            Member.left_at.is_(None),
        )
        .order_by(ta.score.desc(), ta.member_id)
        .limit(query.per_page)
        .offset(query.offset)
    )


async def member_page(
    conn: AsyncConnection, space_id: int, query: MemberQuery, now: datetime
) -> tuple[list[MemberRow], int]:
    """QUERY's page of members and how many match in all."""
    live = live_members(space_id, now)
    # The page's ids first, sorted on the few columns the sort reads; then the whole rows of
    # those ids only, instead of every member's row carried through the sort.
    keys = page_keys_query(space_id, query, live)
    if _unfiltered_by_score(query):
        # Sorting every member by a coalesced score reads all of them; the scored ones are
        # already in score order in ix_tier_assignments_score.
        scored = list((await conn.execute(scored_page_query(space_id, query))).scalars())
        if len(scored) == query.per_page:
            keys = scored
    columns = _columns(live)
    stmt = (
        _joined(
            select(*(c.label(name) for name, c in columns.items())),
            live,
            dict.fromkeys(("space", "ta", "live", "hero"), True),
        )
        .where(Member.id.in_(keys))
        .order_by(*_order(columns, query))
    )
    rows = [member_row(r) for r in await conn.execute(stmt)]
    if query.page == 1 and len(rows) < query.per_page:
        return rows, len(rows)
    count = _filtered(select(func.count()), space_id, query, live, lean="count")
    return rows, (await conn.execute(count)).scalar_one()


async def stream_member_rows(
    conn: AsyncConnection, space_id: int, query: MemberQuery, now: datetime, batch: int = 2000
) -> AsyncIterator[list[MemberRow]]:
    """Every member QUERY matches, in batches read from a database cursor."""
    result = await conn.stream(
        member_rows_query(space_id, query, now).execution_options(yield_per=batch)
    )
    async for part in result.partitions(batch):
        yield [member_row(r) for r in part]
