"""The dashboard's lookups use the indexes meant for them (SQLite has no statistics to guide it).

At 100,000 members and 1.4 million help edges a wrong first step costs tens of milliseconds a
page (docs/benchmarks.md#dashboard): these pin the plans bench/web.py was measured with.
"""

from datetime import UTC, datetime

import pytest
from sqlalchemy.dialects import postgresql, sqlite

from community.member_list import MemberQuery
from storage.member_list import live_members, page_keys_query, scored_page_query
from storage.member_page import help_query

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


async def plan(engine, stmt) -> list[str]:
    """SQLite's query plan for STMT, one line per step."""
    sql = stmt.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True})
    async with engine.connect() as conn:
        return [row[-1] for row in await conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")]


async def test_who_helped_a_member_is_found_by_the_helped_index(sqlite_engine):
    steps = await plan(sqlite_engine, help_query(42, helped_by=True))
    assert any("ix_help_edges_helped" in s for s in steps), steps
    assert not any(s.startswith("SCAN help_edges") for s in steps), steps


async def test_whom_a_member_helped_is_found_by_the_key(sqlite_engine):
    steps = await plan(sqlite_engine, help_query(42, helped_by=False))
    assert any(s.startswith("SEARCH help_edges") for s in steps), steps


@pytest.mark.parametrize("tier", ["active", "hero"])
@pytest.mark.parametrize("sort", ["name", "score", "last_seen"])
async def test_a_tier_page_starts_from_the_tier_index(sqlite_engine, tier, sort):
    query = MemberQuery(tier=tier, sort=sort, descending=False, page=3)
    steps = await plan(sqlite_engine, page_keys_query(1, query, live_members(1, NOW)))
    assert "ix_tier_assignments_rank" in steps[0], steps


async def test_the_default_view_walks_the_score_index(sqlite_engine):
    steps = await plan(sqlite_engine, scored_page_query(1, MemberQuery(page=4)))
    assert "ix_tier_assignments_score" in steps[0], steps
    assert not any(s.startswith("SCAN") for s in steps), steps


async def test_a_quiet_page_starts_from_the_quiet_members(sqlite_engine):
    query = MemberQuery(quiet=True, sort="last_seen", page=2)
    steps = await plan(sqlite_engine, page_keys_query(1, query, live_members(1, NOW)))
    # The quiet flags gathered, each quiet member is looked up by id, not every member scanned.
    assert "SCAN live" in steps, steps
    assert not any("ix_members_list" in s for s in steps), steps


def test_only_sqlite_is_kept_off_the_members_index():
    """PostgreSQL plans from statistics: the plain term keeps its estimate (a changed one led
    it to loop over every member, 420 ms a page at 100,000 members, docs/benchmarks.md)."""
    query = MemberQuery(tier="active", sort="name")
    stmt = page_keys_query(1, query, live_members(1, NOW))
    on = {
        name: str(stmt.compile(dialect=dialect.dialect()))
        for name, dialect in (("sqlite", sqlite), ("postgresql", postgresql))
    }
    assert "+members.space_id = " in on["sqlite"]
    assert "+members" not in on["postgresql"]
    assert "members.space_id = " in on["postgresql"]
