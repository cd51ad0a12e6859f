"""CSV exports over the digest world, read back with the csv module, on SQLite and PostgreSQL."""

import csv
import io
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.services.exports import EXPORT_KINDS, export_csv
from community.exports import FORMULA_STARTS, HEADERS, neutralise
from community.member_list import MemberQuery
from storage import models
from storage.outreach import reached_out
from storage.uow import UnitOfWork
from tests.digest_world import NAMES, NOW, POLICY, build_world, renamed
from tests.hostile_names import WORLD_NAMES

FORMULAS = {
    "regular": '=HYPERLINK("http://x")',
    "riser": "+1 for Ravi",
    "newbie": "-2+3",
    "asker": "@SUM(A1:A9)",
    "quiet": "\tTabbed",
    "hero": "\r=cmd|' /C calc'!A0",
}


async def read_csv(engine, kind, space_id, **kwargs) -> list[dict]:
    chunks = [c async for c in export_csv(UnitOfWork(engine), kind, space_id, now=NOW, **kwargs)]
    text = "".join(chunks)
    assert text.startswith(",".join(HEADERS[kind]) + "\r\n")
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    for row in rows:
        assert list(row) == list(HEADERS[kind])
    return rows


@pytest.fixture
async def world(engine):
    world = await build_world(engine)
    async with engine.begin() as conn:
        await reached_out(conn, world.space_id, world.silent_flag, "staff", NOW - timedelta(days=2))
    return world


async def test_members_export_matches_the_members_list(engine, world):
    rows = await read_csv(engine, "members", world.space_id)
    by_id = {r["member_id"]: r for r in rows}
    assert set(by_id) == {"regular", "riser", "newbie", "newbie2", "asker", "quiet", "silent",
                          "staff", "away", "hero"}  # fmt: skip
    assert "leaver" not in by_id  # opted out: gone
    regular = by_id["regular"]
    assert regular["name"] == NAMES["regular"]
    assert (regular["tier"], regular["platform"], regular["quiet"]) == (
        "active",
        "discord",
        "false",
    )
    assert float(regular["score"]) > 0
    assert by_id["quiet"]["last_seen"] == "2026-03-29"
    assert by_id["newbie2"]["last_seen"] == ""
    assert by_id["quiet"]["quiet"] == "true"
    assert by_id["silent"]["quiet"] == "false"  # staff reached out: off the quiet list
    assert by_id["hero"]["hero_confirmed"] == "true"
    assert (by_id["staff"]["staff"], by_id["staff"]["tier"]) == ("true", "")
    scores = [float(r["score"]) for r in rows]
    assert scores == sorted(scores, reverse=True)


async def test_members_export_takes_the_lists_filters_and_ignores_paging(engine, world):
    query = MemberQuery(tier="active", sort="name", descending=False, page=3, per_page=1)
    rows = await read_csv(engine, "members", world.space_id, query=query)
    assert [r["member_id"] for r in rows] == ["quiet", "riser", "regular", "silent"]


async def test_tier_changes_export(engine, world):
    rows = await read_csv(engine, "tier-changes", world.space_id)
    async with engine.connect() as conn:
        stored = (
            await conn.execute(select(models.TierChange).order_by(models.TierChange.changed_at,
                                                                  models.TierChange.id))
        ).all()  # fmt: skip
    assert len(rows) == len(stored) > 0
    for row, change in zip(rows, stored, strict=True):
        assert row["changed_at"] == change.changed_at.isoformat()
        assert row["to_tier"] == change.to_tier
        assert row["from_tier"] == (change.from_tier or "")
        assert row["reasons"] == change.reasons
    assert {r["member_id"] for r in rows} >= {"regular", "riser"}
    assert "leaver" not in {r["member_id"] for r in rows}


async def test_outreach_export(engine, world):
    rows = await read_csv(engine, "outreach", world.space_id)
    assert [(r["member_id"], r["action"], r["staff_id"]) for r in rows] == [
        ("silent", "reached_out", "staff")
    ]
    assert rows[0]["at"] == (NOW - timedelta(days=2)).isoformat()
    # As of a day before it was made, there was none.
    assert await read_csv(engine, "outreach", world.space_id, as_of=NOW - timedelta(days=3)) == []


async def test_weekly_export_is_the_digest_chart(engine, world):
    from storage.tier_changes import weekly_active_by_tier

    rows = await read_csv(engine, "weekly", world.space_id)
    async with engine.connect() as conn:
        chart = await weekly_active_by_tier(conn, world.space_id, NOW)
    assert [r["week_start"] for r in rows] == [d.isoformat() for d in chart.week_starts]
    for tier in ("passive", "active", "hero"):
        assert [int(r[tier]) for r in rows] == list(chart.counts[tier])
    assert sum(int(r["active"]) for r in rows) > 0


async def test_as_of_reads_the_past(engine, world):
    past = NOW - timedelta(days=8)
    rows = await read_csv(engine, "members", world.space_id, as_of=past, policy=POLICY)
    by_id = {r["member_id"]: r for r in rows}
    # Ravi started helping this week: a week ago he was still passive.
    assert by_id["riser"]["tier"] == "passive"
    assert by_id["regular"]["tier"] == "active"
    assert "staff" not in by_id  # tiers never considered staff
    assert "leaver" not in by_id
    # The hero was confirmed two days ago; the quiet member's flag was open then too.
    assert by_id["hero"]["hero_confirmed"] == "false"
    assert all(r["last_seen"] <= past.date().isoformat() for r in rows)
    changes = await read_csv(engine, "tier-changes", world.space_id, as_of=past)
    assert changes
    assert all(r["changed_at"] <= past.isoformat() for r in changes)
    now_changes = await read_csv(engine, "tier-changes", world.space_id)
    assert len(now_changes) > len(changes)
    weekly = await read_csv(engine, "weekly", world.space_id, as_of=past)
    assert weekly[-1]["week_start"] == (past - timedelta(days=7)).date().isoformat()


async def test_hostile_names_are_neutralised(engine):
    with renamed({**WORLD_NAMES, **FORMULAS}):
        world = await build_world(engine)
    async with engine.connect() as conn:
        stored = dict(
            (
                await conn.execute(select(models.Member.platform_id, models.Member.display_name))
            ).all()
        )
    rows = await read_csv(engine, "members", world.space_id)
    assert len(rows) == 10
    for row in rows:
        assert row["name"] == neutralise(stored[row["member_id"]])
        for value in row.values():
            assert not value.startswith(FORMULA_STARTS), value
    names = {r["member_id"]: r["name"] for r in rows}
    assert names["regular"] == "'" + FORMULAS["regular"]
    assert names["asker"] == "'" + FORMULAS["asker"]
    assert names["riser"] == "'" + FORMULAS["riser"]
    for kind in ("tier-changes",):
        for row in await read_csv(engine, kind, world.space_id):
            for value in row.values():
                assert not value.startswith(FORMULA_STARTS), value


@pytest.mark.parametrize(
    ("text", "safe"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@x", "'@x"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("a=1", "a=1"),
        (" =1", " =1"),
        ("", ""),
    ],
)
def test_neutralise(text, safe):
    assert neutralise(text) == safe


async def test_unknown_kind_and_missing_moment(engine):
    uow = UnitOfWork(engine)
    with pytest.raises(ValueError, match="unknown export 'people'; one of members"):
        [c async for c in export_csv(uow, "people", 1, now=NOW)]
    with pytest.raises(ValueError, match="needs the moment"):
        [c async for c in export_csv(uow, "members", 1)]
    assert EXPORT_KINDS == ("members", "tier-changes", "outreach", "weekly")


async def test_as_of_members_take_the_lists_filters_and_sort(engine, world):
    past = NOW - timedelta(days=8)
    every = await read_csv(engine, "members", world.space_id, as_of=past, policy=POLICY)
    active = sorted((r for r in every if r["tier"] == "active"), key=lambda r: r["name"].lower())
    query = MemberQuery(tier="active", sort="name", descending=False)
    rows = await read_csv(engine, "members", world.space_id, as_of=past, policy=POLICY,
                          query=query)  # fmt: skip
    assert [r["member_id"] for r in rows] == [r["member_id"] for r in active]
    assert rows
    searched = await read_csv(engine, "members", world.space_id, as_of=past, policy=POLICY,
                              query=MemberQuery(search="SALLY"))  # fmt: skip
    assert [r["member_id"] for r in searched] == ["silent"]
    in_showcase = await read_csv(engine, "members", world.space_id, as_of=past, policy=POLICY,
                                 query=MemberQuery(channel="showcase"))  # fmt: skip
    assert {r["member_id"] for r in in_showcase} == {"regular", "riser", "hero", "asker"}
    by_score = [float(r["score"]) for r in every]
    assert by_score == sorted(by_score, reverse=True)


async def test_as_of_a_day_reads_its_end(engine, world):
    past = NOW - timedelta(days=8)
    by_day = await read_csv(engine, "tier-changes", world.space_id, as_of=past.date())
    end = past.replace(hour=23, minute=59, second=59, microsecond=0)
    assert by_day == await read_csv(engine, "tier-changes", world.space_id, as_of=end)
    today = await read_csv(engine, "outreach", world.space_id, as_of=NOW.date())
    assert [r["member_id"] for r in today] == ["silent"]
