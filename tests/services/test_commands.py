"""The neutral command layer against real databases: replies, rows written, errors shown."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot.commands.parse import CommandError, parse_args, split_text
from bot.commands.replies import Tone
from bot.commands.service import CommandService, Invocation
from bot.commands.spec import BY_NAME, COMMANDS
from bot.services.demo import seed
from bot.settings import Settings
from community.clock import FixedClock
from community.demo import SPACE_ID
from community.events import Platform
from storage.engine import create_engine
from storage.models import Activity, Blocklist, Contribution, DailyRollup, Member, RecognizedHero
from storage.uow import UnitOfWork
from tests.factories import T0, ev, ingest

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
KEY = b"test-key"


@pytest.fixture(scope="module")
def demo_path(tmp_path_factory):
    """The demo community, seeded once for the module."""
    path = tmp_path_factory.mktemp("cmd") / "demo.db"
    asyncio.run(seed(Settings().policies(), path, now=NOW))
    return path


@pytest.fixture
async def demo_service(demo_path):
    """A command service on the demo community at a fixed time."""
    engine = create_engine(f"sqlite:///{demo_path}")
    yield CommandService(
        UnitOfWork(engine), Settings().policies(), b"demo-hash-key", FixedClock(NOW)
    )
    await engine.dispose()


STAFF = Invocation(Platform.DEMO, SPACE_ID, "staff-1", is_staff=True)
MEMBER = Invocation(Platform.DEMO, SPACE_ID, "someone", is_staff=False)


@pytest.mark.parametrize("spec", [c for c in COMMANDS if c.staff_only], ids=lambda c: c.name)
async def test_staff_commands_are_refused_for_members(demo_service, spec):
    reply = await demo_service.run(MEMBER, spec.name, {})
    assert reply.tone is Tone.ERROR
    assert "for staff" in reply.text


async def test_hero_candidates_paginate_with_buttons(demo_service):
    first = await demo_service.run(STAFF, "hero-candidates", {"limit": 12})
    assert first.tone is Tone.INFO
    assert first.pages == 3
    assert len(first.entries) == 5
    assert first.entries[0].heading.startswith("1. ")
    assert "of the hero bar" in first.entries[0].text
    (next_button,) = first.buttons
    second = await demo_service.press(STAFF, next_button.action_id)
    assert second.page == 1
    assert second.entries[0].heading.startswith("6. ")
    assert [b.label for b in second.buttons] == ["◀ Previous", "Next ▶"]
    assert (await demo_service.press(MEMBER, next_button.action_id)).tone is Tone.ERROR


async def test_quiet_list_offers_outreach_buttons(demo_service):
    reply = await demo_service.run(STAFF, "quiet", {"limit": "8"})
    assert reply.entries
    assert len(reply.entries) <= 4
    entry = reply.entries[0]
    assert "silent" in entry.text
    assert [b.label for b in entry.buttons] == ["Reached out", "Snooze 2 weeks", "Dismiss"]


async def test_member_profile_by_mention_and_unknown_member(demo_service):
    quiet = await demo_service.run(STAFF, "quiet", {"limit": 1})
    name = quiet.entries[0].heading
    async with demo_service.uow.engine.connect() as conn:
        platform_id = (
            await conn.execute(select(Member.platform_id).where(Member.display_name == name))
        ).scalar_one()
    reply = await demo_service.run(STAFF, "member", {"user": f"<@{platform_id}>"})
    assert reply.title == name
    assert dict(reply.fields)["Tier"]
    assert reply.entries
    assert reply.entries[0].buttons
    missing = await demo_service.run(STAFF, "member", {"user": "<@U999NOPE>"})
    assert missing.tone is Tone.ERROR
    assert "<@U999NOPE>" in missing.text


async def test_community_stats(demo_service):
    reply = await demo_service.run(STAFF, "community-stats", {"weeks": 4})
    fields = dict(reply.fields)
    assert reply.title == "Community over the last 4 weeks"
    assert int(fields["Active members"]) > 0
    assert "heroes" in fields["Tiers now"]
    assert fields["Outreach"]  # "no outreach recorded" or the figures


@pytest.mark.parametrize(
    ("name", "args", "message"),
    [
        ("quiet", {"limit": 0}, "limit must be between 1 and 50, not 0"),
        ("quiet", {"limit": 10_000}, "limit must be between 1 and 50, not 10000"),
        ("hero-candidates", {"limit": "lots"}, "limit must be a whole number, not 'lots'"),
        ("member", {}, "/member needs user"),
        ("member", {"user": "hey you"}, "'hey you' is not a member"),
        ("community-stats", {"weeks": 53}, "weeks must be between 1 and 52"),
        ("contribution", {"user": "<@x1>", "kind": "podcast", "title": "t"}, "kind must be one of"),
        ("hero", {"action": "crown", "user": "<@x1>"}, "action must be one of confirm, remove"),
        ("away", {"until": "2020-01-01"}, "2020-01-01 is in the past"),
        ("away", {"until": "whenever"}, "neither a date"),
        ("away", {"until": "400d"}, "more than 365 days away"),
        ("nope", {}, "Pulse has no /nope command"),
    ],
)
async def test_bad_arguments_get_specific_errors(demo_service, name, args, message):
    reply = await demo_service.run(STAFF, name, args)
    assert reply.tone is Tone.ERROR
    assert message in reply.text


async def test_unknown_buttons_are_refused(demo_service):
    for action in ("garbage", "pulse:privacy:delete:someone-else", "pulse:page:quiet:x:1"):
        assert (await demo_service.press(MEMBER, action)).tone is Tone.ERROR


def test_slack_text_splits_into_arguments():
    now = T0
    assert split_text(BY_NAME["quiet"], "") == {}
    assert split_text(BY_NAME["quiet"], "7") == {"limit": "7"}
    assert split_text(BY_NAME["quiet"], "lots") == {"limit": "lots"}  # then a specific error
    assert split_text(BY_NAME["contribution"], "<@U1|ana> talk Intro to  Pulse") == {
        "user": "<@U1|ana>",
        "kind": "talk",
        "title": "Intro to Pulse",
    }
    away = parse_args(BY_NAME["away"], split_text(BY_NAME["away"], "10 days"), now)
    assert away["until"] == now + timedelta(days=10)
    hero = parse_args(BY_NAME["hero"], split_text(BY_NAME["hero"], "Confirm <@U1|ana>"), now)
    assert hero == {"action": "confirm", "user": "U1"}
    with pytest.raises(CommandError, match="too many arguments"):
        split_text(BY_NAME["member"], "<@U1> <@U2>")


async def test_text_commands_parse_after_the_staff_check(demo_service):
    # A member typing junk after a staff command learns it is for staff, not its usage.
    refused = await demo_service.run_text(MEMBER, "quiet", "lots of words")
    assert refused.tone is Tone.ERROR
    assert "for staff" in refused.text
    too_many = await demo_service.run_text(STAFF, "member", "<@U1> <@U2>")
    assert too_many.tone is Tone.ERROR
    assert "too many arguments: /member <user>" in too_many.text
    bad_number = await demo_service.run_text(STAFF, "quiet", "lots")
    assert bad_number.tone is Tone.ERROR
    assert "limit" in bad_number.text
    listed = await demo_service.run_text(STAFF, "hero-candidates", "3")
    assert listed.tone is Tone.INFO
    assert len(listed.entries) == 3
    assert (await demo_service.run_text(STAFF, "nope", "")).text == "Pulse has no /nope command."


# --- commands that write, on SQLite and PostgreSQL ---------------------------------------------


@pytest.fixture
async def service(engine):
    """A command service on a small logged community (space g1 on Discord)."""
    await ingest(
        engine,
        [ev("message", "ana", days=-3), ev("message", "bo", days=-2), ev("message", "cy")],
        KEY,
    )
    return CommandService(
        UnitOfWork(engine), Settings().policies(), KEY, FixedClock(T0 + timedelta(hours=1))
    )


STAFF_G1 = Invocation(Platform.DISCORD, "g1", "staff-9", is_staff=True)


async def _count(engine, *where) -> int:
    async with engine.connect() as conn:
        return (await conn.execute(select(func.count()).where(*where))).scalar_one()


async def test_contribution_is_stored_and_counts_as_activity(service):
    reply = await service.run(
        STAFF_G1, "contribution", {"user": "ana", "kind": "talk", "title": "  Pulse  at DevConf "}
    )
    assert reply.tone is Tone.SUCCESS, reply.text
    async with service.uow.engine.connect() as conn:
        row = (await conn.execute(select(Contribution))).one()
        rollups = (await conn.execute(select(func.sum(DailyRollup.contributions)))).scalar_one()
    assert (row.kind, row.title, row.logged_by) == ("talk", "Pulse at DevConf", "staff-9")
    assert rollups == 1
    assert await _count(service.uow.engine, Activity.kind == "contribution_logged") == 1
    unknown = await service.run(
        STAFF_G1, "contribution", {"user": "zed", "kind": "talk", "title": "x"}
    )
    assert unknown.tone is Tone.ERROR
    assert "not seen <@zed> take part" in unknown.text


async def test_hero_confirm_and_remove(service):
    confirm = await service.run(STAFF_G1, "hero", {"action": "confirm", "user": "<@bo>"})
    assert confirm.tone is Tone.SUCCESS
    again = await service.run(STAFF_G1, "hero", {"action": "confirm", "user": "bo"})
    assert again.title == "Nothing to change"
    assert await _count(service.uow.engine, RecognizedHero.removed_at.is_(None)) == 1
    removed = await service.run(STAFF_G1, "hero", {"action": "remove", "user": "bo"})
    assert removed.tone is Tone.SUCCESS
    assert await _count(service.uow.engine, RecognizedHero.removed_at.is_(None)) == 0
    back = await service.run(STAFF_G1, "hero", {"action": "confirm", "user": "bo"})
    assert back.tone is Tone.SUCCESS
    assert await _count(service.uow.engine, RecognizedHero.removed_at.is_(None)) == 1


async def test_away_sets_and_bad_dates_change_nothing(service):
    me = Invocation(Platform.DISCORD, "g1", "cy", is_staff=False)
    reply = await service.run(me, "away", {"until": "2w"})
    assert reply.tone is Tone.SUCCESS
    past = await service.run(me, "away", {"until": "2020-02-02"})
    assert past.tone is Tone.ERROR
    async with service.uow.engine.connect() as conn:
        until = (
            await conn.execute(select(Member.away_until).where(Member.platform_id == "cy"))
        ).scalar_one()
    assert until == T0 + timedelta(hours=1, weeks=2)


async def test_privacy_shows_what_is_kept_and_deletes_on_confirmation(service):
    me = Invocation(Platform.DISCORD, "g1", "bo", is_staff=False)
    reply = await service.run(me, "privacy", {})
    fields = dict(reply.fields)
    assert fields["Activities"].startswith("1 ")
    (delete,) = reply.buttons
    other = Invocation(Platform.DISCORD, "g1", "ana", is_staff=True)
    refused = await service.press(other, delete.action_id)
    assert refused.tone is Tone.ERROR
    assert await _count(service.uow.engine, Member.platform_id == "bo") == 1
    done = await service.press(me, delete.action_id)
    assert done.tone is Tone.SUCCESS
    assert await _count(service.uow.engine, Member.platform_id == "bo") == 0
    assert await _count(service.uow.engine, Blocklist.id_hash.is_not(None)) == 1
    await ingest(service.uow.engine, [ev("message", "bo", days=0.1)], KEY)  # ignored from now on
    assert await _count(service.uow.engine, Member.platform_id == "bo") == 0


@pytest.fixture
async def demo_copy(demo_path, tmp_path):
    """A private copy of the demo database, for commands that change it."""
    import shutil

    path = tmp_path / "demo.db"
    shutil.copy(demo_path, path)
    engine = create_engine(f"sqlite:///{path}")
    yield CommandService(
        UnitOfWork(engine), Settings().policies(), b"demo-hash-key", FixedClock(NOW)
    )
    await engine.dispose()


async def test_outreach_from_button_and_command(demo_copy):
    from storage.models import Outreach, QuietFlag

    quiet = await demo_copy.run(STAFF, "quiet", {"limit": 50})
    first, second = quiet.entries[0], quiet.entries[1]
    done = next(b for b in first.buttons if b.action_id.endswith(":done"))
    reply = await demo_copy.press(STAFF, done.action_id)
    assert reply.tone is Tone.SUCCESS
    assert first.heading in reply.text
    again = await demo_copy.press(STAFF, done.action_id)
    assert again.tone is Tone.ERROR
    assert "already dealt with" in again.text
    async with demo_copy.uow.engine.connect() as conn:
        member = (
            await conn.execute(
                select(Member.platform_id).where(Member.display_name == second.heading)
            )
        ).scalar_one()
    dismissed = await demo_copy.run(STAFF, "outreach", {"user": member, "action": "dismiss"})
    assert dismissed.tone is Tone.SUCCESS
    after = await demo_copy.run(STAFF, "quiet", {"limit": 50})
    names = {e.heading for e in after.entries} | {e.heading for e in quiet.entries[5:]}
    assert first.heading not in {e.heading for e in after.entries}
    assert second.heading not in {e.heading for e in after.entries}
    assert names
    async with demo_copy.uow.engine.connect() as conn:
        actions = (await conn.execute(select(Outreach.action, Outreach.staff_platform_id))).all()
        statuses = (await conn.execute(select(QuietFlag.status))).scalars().all()
    assert sorted(a for a, _ in actions) == ["dismiss", "reached_out"]
    assert {s for _, s in actions} == {"staff-1"}
    assert "dismissed" in statuses
    stats = dict((await demo_copy.run(STAFF, "community-stats", {"weeks": 1})).fields)
    assert stats["Outreach"].startswith("reached out 1, 0 re-engaged")
    assert "1 dismissed" in stats["Outreach"]
    nobody = await demo_copy.run(STAFF, "outreach", {"user": member, "action": "done"})
    assert nobody.tone is Tone.ERROR
    assert "not on the quiet list" in nobody.text


async def test_digest_preview_in_chat(demo_copy):
    reply = await demo_copy.run(STAFF, "digest", {"action": "preview"})
    assert reply.tone is Tone.INFO, reply.text
    assert reply.discord_embeds
    assert reply.slack_blocks
    name, png = reply.attachment
    assert name.endswith(".png")
    assert png.startswith(b"\x89PNG")
    (community,) = reply.followups
    assert community.discord_embeds
    assert "quiet" not in community.text.lower()  # the community digest never names quiet members
