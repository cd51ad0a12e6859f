"""A newcomer's team_join and their join of #general are one join, on every path: live, across a
restart, through start-up catch-up, and whichever of the two is seen first."""

from datetime import timedelta

from sqlalchemy import select

from storage.models import Activity, Member
from tests.factories import settle
from tests.platforms.test_slack import pulse_slack


async def joins_of(engine, user_id: str) -> tuple[list, object]:
    """The member's stored joins and their joined_at."""
    async with engine.connect() as conn:
        member = (await conn.execute(select(Member).where(Member.platform_id == user_id))).one()
        rows = (
            await conn.execute(
                select(Activity).where(
                    Activity.member_id == member.id, Activity.kind == "member_joined"
                )
            )
        ).all()
    return rows, member.joined_at


async def test_one_join_live_and_after_a_restart_minutes_later(fake_slack, sqlite_engine):
    fake = fake_slack
    async with pulse_slack(fake, sqlite_engine) as pulse:
        dana = await fake.team_join("dana")  # team_join, then the channel_join in #general
        await settle(fake, pulse, 1)
        await pulse.inbox.join()
    first, joined_at = await joins_of(sqlite_engine, dana["id"])
    assert [r.event_id for r in first] == [f"team_join:{dana['id']}"]
    # Restarted within minutes: catch-up reads #general again, the channel_join included, and
    # the new process has no memory of the team_join.
    async with pulse_slack(fake, sqlite_engine):
        pass
    rows, joined_again = await joins_of(sqlite_engine, dana["id"])
    assert [r.event_id for r in rows] == [f"team_join:{dana['id']}"]
    assert joined_again == joined_at == rows[0].occurred_at


async def test_general_join_found_by_catch_up_after_a_live_team_join(fake_slack, sqlite_engine):
    fake, w = fake_slack, fake_slack.world
    async with pulse_slack(fake, sqlite_engine) as pulse:
        erin = await fake.team_join("erin", join_general=False)
        await settle(fake, pulse, 1)
    # Her #general join happened while Pulse was restarting: only history has it.
    await fake.join_channel(erin["id"], w.general, deliver=False)
    async with pulse_slack(fake, sqlite_engine):
        pass
    rows, joined_at = await joins_of(sqlite_engine, erin["id"])
    assert len(rows) == 1
    assert joined_at == rows[0].occurred_at


async def test_team_join_arriving_after_the_general_join_adds_nothing(fake_slack, sqlite_engine):
    fake, w = fake_slack, fake_slack.world
    # Fay joined while Pulse was down: catch-up finds her #general join first ...
    fay = await fake.team_join("fay", deliver=False)
    async with pulse_slack(fake, sqlite_engine) as pulse:
        await settle(fake, pulse, 1)
        # ... then Slack's retry of the team_join arrives.
        await fake._deliver_event(
            {"type": "team_join", "user": fay, "event_ts": fake.new_ts()}, None
        )
        await fake.post_message(w.general, fay["id"], "hi all")
        await settle(fake, pulse, 2)
        await pulse.inbox.join()
    rows, joined_at = await joins_of(sqlite_engine, fay["id"])
    assert len(rows) == 1
    assert rows[0].event_id.startswith(f"{w.general}:")
    assert joined_at == rows[0].occurred_at


async def test_joins_far_apart_are_two_joins(fake_slack, sqlite_engine):
    fake, w = fake_slack, fake_slack.world
    gus = fake.add_user("gus")
    async with pulse_slack(fake, sqlite_engine) as pulse:
        # A team_join a year ago (say he left since), and a join of #general now.
        long_ago = fake.new_ts(fake.now() - timedelta(days=365))
        await fake._deliver_event({"type": "team_join", "user": gus, "event_ts": long_ago}, None)
        await fake.join_channel(gus["id"], w.general)
        await settle(fake, pulse, 2)
    rows, joined_at = await joins_of(sqlite_engine, gus["id"])
    assert len(rows) == 2
    assert joined_at == max(r.occurred_at for r in rows)
