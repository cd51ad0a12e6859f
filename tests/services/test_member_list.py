"""The members table: filters, sorts and pages over the digest world, on SQLite and PostgreSQL."""

from datetime import date

import pytest
from sqlalchemy import select

from bot.services.member_list import MemberQuery, list_members
from community.member_list import MEMBER_COLUMNS
from storage import models
from storage.uow import UnitOfWork
from tests.digest_world import NAMES, NOW, build_world

# Listed: everyone but the bot and the member who opted out ("leaver"), staff included.
LISTED = {"regular", "riser", "newbie", "newbie2", "asker", "quiet", "silent", "staff", "away",
          "hero"}  # fmt: skip


@pytest.fixture
async def world(engine):
    return await build_world(engine)


async def ids(engine, world, **query) -> list[str]:
    page = await list_members(UnitOfWork(engine), world.space_id, MemberQuery(**query), now=NOW)
    return [r.platform_id for r in page.rows]


async def test_rows_hold_the_stored_figures(engine, world):
    page = await list_members(
        UnitOfWork(engine), world.space_id, MemberQuery(per_page=100), now=NOW
    )
    rows = {r.platform_id: r for r in page.rows}
    assert set(rows) == LISTED
    assert page.total == len(LISTED)
    assert page.pages == 1
    async with engine.connect() as conn:
        stored = {r.member_id: r for r in await conn.execute(select(models.TierAssignment))}
    for pid, row in rows.items():
        assert row.id == world.ids[pid]
        assert row.name == NAMES.get(pid, "Ned Newer")
        assert row.platform == "discord"
        if pid == "staff":
            assert row.tier is None
            assert row.staff
            continue
        held = stored[row.id]
        assert (row.tier, row.score, row.weeks_active, row.helped_members) == (
            held.tier,
            round(held.score, 4),
            held.active_weeks,
            held.helped_members,
        )
    assert rows["regular"].tier == "active"
    assert rows["newbie2"].last_seen is None
    assert rows["quiet"].last_seen == date(2026, 3, 29)  # helped again yesterday
    assert {p for p, r in rows.items() if r.quiet} == {"quiet", "silent"}
    assert {p for p, r in rows.items() if r.hero_confirmed} == {"hero"}
    # Ranked by score, best first, by default.
    assert [r.score for r in page.rows] == sorted((r.score for r in page.rows), reverse=True)


async def test_every_filter(engine, world):
    assert set(await ids(engine, world, quiet=True)) == {"quiet", "silent"}
    assert set(await ids(engine, world, quiet=False)) == LISTED - {"quiet", "silent"}
    assert set(await ids(engine, world, tier="active")) == {"regular", "riser", "quiet", "silent"}
    assert "staff" not in await ids(engine, world, tier="passive")
    assert await ids(engine, world, tier="hero") == []
    assert set(await ids(engine, world, channel="showcase")) == {"regular", "riser", "hero",
                                                                 "asker"}  # fmt: skip
    assert await ids(engine, world, channel="no-such-channel") == []
    assert set(await ids(engine, world, platform="discord")) == LISTED
    assert await ids(engine, world, platform="slack") == []
    # Case-insensitive substring of the name; LIKE's wildcards are plain characters.
    assert set(await ids(engine, world, search="RI")) == {"regular", "riser"}
    assert await ids(engine, world, search="%") == []
    assert await ids(engine, world, search="_") == []
    assert set(await ids(engine, world, search="  ")) == LISTED
    # Filters combine.
    assert await ids(engine, world, tier="active", quiet=True, search="sally") == ["silent"]


@pytest.mark.parametrize("column", MEMBER_COLUMNS)
async def test_every_sort_both_ways(engine, world, column):
    page = await list_members(
        UnitOfWork(engine), world.space_id, MemberQuery(sort=column, descending=False), now=NOW
    )
    rank = {"passive": 0, "active": 1, "hero": 2, None: -1}
    key = {
        "name": lambda r: r.name.lower(),
        "tier": lambda r: rank[r.tier],
        "score": lambda r: r.score,
        "last_seen": lambda r: r.last_seen or date.min,
        "weeks_active": lambda r: r.weeks_active,
        "helped": lambda r: r.helped_members,
        "quiet": lambda r: r.quiet,
        "platform": lambda r: r.platform,
    }[column]
    ascending = [(key(r), r.id) for r in page.rows]
    assert ascending == sorted(ascending)
    down = await list_members(UnitOfWork(engine), world.space_id, MemberQuery(sort=column), now=NOW)
    descending = [(key(r), -r.id) for r in down.rows]
    assert descending == sorted(descending, reverse=True)


async def test_pages_cover_every_member_once(engine, world):
    seen, page_no = [], 1
    while True:
        page = await list_members(
            UnitOfWork(engine), world.space_id, MemberQuery(sort="name", per_page=3,
                                                            page=page_no), now=NOW
        )  # fmt: skip
        assert page.total == len(LISTED)
        assert page.pages == 4
        if not page.rows:
            break
        seen += [r.platform_id for r in page.rows]
        page_no += 1
    assert page_no == 5
    assert sorted(seen) == sorted(LISTED)
    filtered = await list_members(
        UnitOfWork(engine), world.space_id, MemberQuery(quiet=False, per_page=3, page=2), now=NOW
    )
    assert (filtered.total, filtered.pages, len(filtered.rows)) == (8, 3, 3)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"sort": "email"}, "unknown sort 'email'; one of name, tier, score"),
        ({"tier": "legend"}, "unknown tier 'legend'; one of passive, active, hero"),
        ({"page": 0}, "page 0 is before the first"),
        ({"per_page": 0}, "per_page 0 is not between 1 and 500"),
        ({"search": "x" * 201}, "search is longer than a name can be"),
    ],
)
def test_bad_queries_are_one_clear_line(kwargs, message):
    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(")) as err:
        MemberQuery(**kwargs)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("sort", ["name", "score", "last_seen"])
async def test_tier_and_quiet_pages_count_and_cover_their_members(engine, world, sort):
    """Filtered pages start from the tier index or the quiet flags: same members, same totals."""
    for filters, expected in (
        ({"tier": "active"}, {"regular", "riser", "quiet", "silent"}),
        ({"quiet": True}, {"quiet", "silent"}),
        ({"tier": "active", "quiet": True}, {"quiet", "silent"}),
        ({"tier": "passive"}, LISTED - {"regular", "riser", "quiet", "silent", "staff"}),
    ):
        seen, pages = [], []
        for page_no in (1, 2, 3):
            page = await list_members(
                UnitOfWork(engine), world.space_id,
                MemberQuery(sort=sort, per_page=1 if len(expected) < 3 else 2, page=page_no,
                            **filters), now=NOW,
            )  # fmt: skip
            pages.append(page.total)
            seen += [r.platform_id for r in page.rows]
        assert set(pages) == {len(expected)}, filters
        assert len(seen) == len(set(seen)), filters
        assert set(seen) <= expected, filters
        everything = await list_members(
            UnitOfWork(engine), world.space_id, MemberQuery(sort=sort, per_page=100, **filters),
            now=NOW,
        )  # fmt: skip
        assert {r.platform_id for r in everything.rows} == expected, filters


async def test_the_default_view_pages_in_the_order_of_the_whole_list(engine, world):
    # The first pages come down the score index, the last reach members at 0: each must be
    # the same slice the export's one ordered query gives.
    from storage.member_list import stream_member_rows

    whole = []
    async with UnitOfWork(engine).read() as conn:
        async for part in stream_member_rows(conn, world.space_id, MemberQuery(), NOW):
            whole += [r.platform_id for r in part]
    assert sorted(whole) == sorted(LISTED)
    for per_page in (1, 2, 3):
        paged, page_no = [], 1
        while page := await ids(engine, world, per_page=per_page, page=page_no):
            paged += page
            page_no += 1
        assert paged == whole, per_page
