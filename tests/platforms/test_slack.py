"""The Slack adapter end to end: the real slack-bolt app and slack-sdk clients against the local
fake Slack, writing to a real database through the real writer and answering through the
command layer. Socket Mode by default; HTTP mode with signed requests where it matters."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.commands.service import CommandService
from bot.commands.spec import COMMANDS
from bot.services.classification import reclassify_and_scan
from bot.settings import Settings, SlackSettings
from bot.slack import render
from bot.slack.adapter import SlackSecrets, SlackSetupError, run_slack
from bot.slack.manifest import BOT_SCOPES
from bot.slack.poster import SlackPoster
from community.clock import FixedClock
from storage.models import Member, Outreach, Space
from storage.uow import UnitOfWork
from storage.writer.queue import IngestWriter
from tests.factories import activities, settle
from tests.fakes.slack import sign, signed_headers

KEY = b"slack-test-key"


def free_port() -> int:
    """A port nothing listens on right now, for the app's HTTP mode."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def slack_settings(fake, **overrides) -> SlackSettings:
    """Settings for the fake's seeded workspace, pointed at the fake."""
    w = fake.world
    values = {
        "api_base_url": fake.api_url,
        "staff_usergroup_id": w.staff_group,
        "help_channel_ids": [w.help],
        "catch_up_days": 30,
        **overrides,
    }
    return SlackSettings(**values)


@contextlib.asynccontextmanager
async def pulse_slack(
    fake,
    engine,
    *,
    secrets: SlackSecrets | None = None,
    web_url: str = "http://127.0.0.1:8080",
    **overrides,
):
    """run_slack connected to the fake, with a started writer; stopped and closed afterwards.

    WEB_URL is where /dashboard's links point (a dashboard the test serves, or none).
    """
    settings = slack_settings(fake, **overrides)
    # Exactly the scopes `pulse slack-manifest` asks for: a method needing more fails the test.
    fake.scopes = (*BOT_SCOPES, "connections:write")
    if settings.mode == "http":
        fake.deliver_http(f"http://127.0.0.1:{settings.port}{settings.path}")
    clock = FixedClock(fake.now())
    writer = IngestWriter(engine, KEY, batch_size=50, flush_interval=0.01)
    await writer.start()
    service = CommandService(
        UnitOfWork(engine), Settings(slack=settings).policies(), KEY, clock, web_url
    )
    poster = SlackPoster(settings)
    stop, ready = asyncio.Event(), asyncio.Event()
    secrets = secrets or SlackSecrets(fake.bot_token, fake.app_token, fake.signing_secret)
    runner = asyncio.create_task(
        run_slack(settings, secrets, writer, service, service.uow, stop, poster, ready=ready)
    )
    try:
        waiter = asyncio.create_task(ready.wait())
        await asyncio.wait({runner, waiter}, timeout=10, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        if runner.done():
            runner.result()  # raises what stopped it
        pulse = poster.slack
        await fake.wait_for(pulse.caught_up.is_set, what="catch-up to finish")
        yield pulse
    finally:
        stop.set()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(runner, 10)
        await writer.close()


async def members(engine) -> dict[str, object]:
    async with engine.connect() as conn:
        rows = await conn.execute(select(Member))
        return {m.platform_id: m for m in rows}


def texts(response) -> str:
    """All the text a Block Kit response shows."""
    parts = [response.text or ""]
    parts.extend(render.block_text(block) for block in response.blocks or [])
    return "\n".join(parts)


# --- logging ---------------------------------------------------------------------------------


async def test_every_event_kind_is_logged_and_noise_is_not(fake_slack, sqlite_engine):
    fake, w = fake_slack, fake_slack.world
    async with pulse_slack(fake, sqlite_engine) as pulse:
        # Noise first, so it has been handled by the time the real events are counted.
        await fake.post_message(w.general, w.other_bot, "beep?")
        await fake.bot_message(w.general, "deploy finished?")
        hello = await fake.post_message(w.general, w.alice, "hello all")
        await fake.edit_message(w.general, hello["ts"], "hello everyone")
        await fake.join_channel(w.alice, w.staff)  # another channel: not joining the community
        await settle(fake, pulse, 1)
        question = await fake.post_message(w.help, w.alice, "How do I rotate my API key?")
        answer = await fake.post_message(
            w.help, w.bob, "Settings, then Keys, then Rotate.", thread_ts=question["ts"]
        )
        await fake.post_message(w.help, w.alice, "Thanks, that worked!", thread_ts=question["ts"])
        await fake.post_message(
            w.help, w.carol, "Pinning this for everyone", thread_ts=question["ts"], broadcast=True
        )
        await fake.add_reaction(w.help, question["ts"], w.bob, "eyes")
        await fake.remove_reaction(w.help, question["ts"], w.bob, "eyes")
        await fake.add_reaction(w.help, answer["ts"], w.alice, "tada")
        dana = await fake.team_join("dana")  # team_join, then her join of #general
        await fake.delete_message(w.general, hello["ts"])
        await settle(fake, pulse, 9)
    rows = await activities(sqlite_engine)
    kinds = sorted(r.kind for r in rows)
    assert kinds == sorted(
        [
            "message",  # hello all (the edit and the deletion count nothing)
            "message",  # the question
            "reply",  # bob's answer
            "reply",  # alice's thanks
            "reply",  # carol's broadcast reply
            "reaction_given",
            "reaction_removed",
            "reaction_given",
            "member_joined",  # dana, once: her #general join is the same join
        ]
    ), kinds
    ids = {pid: m.id for pid, m in (await members(sqlite_engine)).items()}
    assert w.other_bot not in ids
    by_event = {r.event_id: r for r in rows}
    asked = by_event[f"{w.help}:{question['ts']}"]
    assert asked.is_question
    answered = by_event[f"{w.help}:{answer['ts']}"]
    assert answered.target_member_id == ids[w.alice]
    assert answered.is_answer
    print(
        [(r.event_id, r.kind, r.target_member_id, r.is_thanks, r.parent_event_id) for r in rows],
        ids,
    )
    thanks = next(r for r in rows if r.is_thanks)
    assert thanks.target_member_id == ids[w.bob]
    tada = next(r for r in rows if r.event_id.endswith(f":tada:{w.alice}"))
    assert tada.target_member_id == ids[w.bob]
    joined = next(r for r in rows if r.kind == "member_joined")
    assert joined.member_id == ids[dana["id"]]
    everyone = await members(sqlite_engine)
    assert everyone[w.alice].display_name == "alice"
    assert everyone[w.bob].display_name == "Bob Brown"  # no display name set: the real name
    assert everyone[w.carol].display_name == "Carol (DevRel)"
    assert everyone[w.carol].is_staff  # in the staff user group
    assert not everyone[w.alice].is_staff
    async with sqlite_engine.connect() as conn:
        assert (await conn.execute(select(Space.name))).scalar_one() == "Pulse Community"
    fake.assert_no_surprises()


async def test_retries_and_duplicates_store_nothing_twice(fake_slack, sqlite_engine):
    fake, w = fake_slack, fake_slack.world
    async with pulse_slack(fake, sqlite_engine) as pulse:
        await fake.post_message(w.general, w.alice, "hello")
        first = fake.last_delivery
        retry = await fake.redeliver(first, retry_num=1, reason="http_timeout")
        again = await fake.redeliver(first, retry_num=2, reason="http_timeout")
        assert retry.acked
        assert again.acked
        await settle(fake, pulse, 3)
    rows = await activities(sqlite_engine)
    assert [r.kind for r in rows] == ["message"]


async def test_http_mode_takes_signed_requests_only(fake_slack, sqlite_engine):
    fake, w = fake_slack, fake_slack.world
    port = free_port()
    async with pulse_slack(fake, sqlite_engine, mode="http", port=port) as pulse:
        signed = await fake.post_message(w.general, w.alice, "signed and sound")
        assert fake.last_delivery.status == 200
        await settle(fake, pulse, 1)
        # Built like Slack's deliveries, then spoiled in each way an attacker or a replay would.
        event = fake.event_callback(fake._message_event(w.general, {**signed, "ts": "1.000001"}))
        body = json.dumps(event)
        now = int(time.time())
        bad = {
            "unsigned": {"Content-Type": "application/json"},
            "stale": signed_headers(fake.signing_secret, body, timestamp=now - 6 * 60),
            "forged": signed_headers("not-the-secret", body),
            "tampered": {
                "Content-Type": "application/json",
                "X-Slack-Request-Timestamp": str(now),
                "X-Slack-Signature": sign(fake.signing_secret, now, body.replace("1.0", "2.0")),
            },
        }
        for name, headers in bad.items():
            status, _, _ = await fake.send_http(
                body, headers={"Content-Type": "application/json", **headers}
            )
            assert status == 401, name
        good = signed_headers(fake.signing_secret, body)
        status, _, _ = await fake.send_http(
            body, headers={"Content-Type": "application/json", **good}
        )
        assert status == 200
        await settle(fake, pulse, 2)
        # A slash command over HTTP is answered in its acknowledgement.
        command = await fake.slash_command("/hero-candidates", "", w.carol)
        assert command.status == 200
        reply = await fake.wait_for_response(command)
        assert "Hero candidates" in texts(reply)
    rows = await activities(sqlite_engine)
    assert sorted(r.event_id for r in rows) == sorted(
        [f"{w.general}:{signed['ts']}", f"{w.general}:1.000001"]
    )


# --- commands --------------------------------------------------------------------------------

ARGUMENTS = {
    "hero-candidates": "3",
    "quiet": "",
    "member": "<@{alice}|alice>",
    "community-stats": "4",
    "contribution": "<@{alice}|alice> talk Intro to Pulse",
    "hero": "confirm <@{alice}|alice>",
    "outreach": "<@{bob}|bob> dismiss",
    "digest": "preview",
    "privacy": "",
    "away": "10 days",
    "dashboard": "",
}


async def test_every_command_answers_staff_and_refuses_members(fake_slack, sqlite_engine):
    fake, w = fake_slack, fake_slack.world
    assert set(ARGUMENTS) == {spec.name for spec in COMMANDS}
    async with pulse_slack(fake, sqlite_engine) as pulse:
        asked = await fake.post_message(w.help, w.bob, "How do I page results?")
        await fake.post_message(w.help, w.alice, "Use the cursor.", thread_ts=asked["ts"])
        await settle(fake, pulse, 2)
        answers = {}
        for spec in COMMANDS:
            text = ARGUMENTS[spec.name].format(alice=w.alice, bob=w.bob)
            delivery = await fake.slash_command(f"/{spec.name}", text, w.carol)
            assert delivery.acked, spec.name  # within Slack's 3 seconds
            answers[spec.name] = await fake.wait_for_response(delivery, timeout=15)
            assert answers[spec.name].response_type == "ephemeral"
            assert "has no /" not in texts(answers[spec.name])  # bound on Slack
        assert "Hero candidates" in texts(answers["hero-candidates"])
        assert "alice" in texts(answers["member"])
        assert "not on the quiet list" in texts(answers["outreach"])
        assert "Contribution logged" in texts(answers["contribution"])
        assert "Digest preview" in texts(answers["digest"])
        assert "/signin/" in texts(answers["dashboard"])
        for spec in COMMANDS:
            if not spec.staff_only:
                continue
            delivery = await fake.slash_command(f"/{spec.name}", "whatever text", w.alice)
            refused = await fake.wait_for_response(delivery)
            assert "for staff" in texts(refused), spec.name
    # /digest preview's chart goes to carol's direct messages with Pulse.
    (chart,) = fake.uploads
    assert chart.data[:4] == b"\x89PNG"
    assert fake.calls_to("conversations.open")[0].params["users"] == w.carol
    fake.assert_no_surprises()


@pytest.mark.parametrize(
    ("command", "text", "message"),
    [
        ("/quiet", "0", "limit must be between 1 and 50, not 0"),
        ("/quiet", "lots", "limit"),
        ("/member", "<@U1> <@U2>", "too many arguments: /member <user>"),
        ("/member", "<@UNOBODY0|ghost>", "has not seen <@UNOBODY0> take part yet"),
        ("/hero", "crown <@U1>", "confirm"),
        ("/away", "someday", "someday"),
        ("/away", "2020-01-01", "2020-01-01 is in the past"),
        ("/contribution", "<@U1>", "/contribution needs kind"),
    ],
)
async def test_bad_input_gets_a_specific_error(fake_slack, sqlite_engine, command, text, message):
    fake, w = fake_slack, fake_slack.world
    async with pulse_slack(fake, sqlite_engine) as pulse:
        await fake.post_message(w.general, w.alice, "hello")
        await settle(fake, pulse, 1)
        reply = await fake.wait_for_response(await fake.slash_command(command, text, w.carol))
        assert reply.blocks[0]["text"]["text"].startswith("⚠️")
        assert message in texts(reply)


async def _quiet_community(fake, pulse, engine, regulars: int = 6) -> list[str]:
    """Members who were busy 80 to 30 days ago and then went quiet; flagged by the daily job."""
    w = fake.world
    now = fake.now()
    users = [fake.add_user(f"regular{i}")["id"] for i in range(regulars)]
    for user in users:
        await fake.join_channel(user, w.help, deliver=False)
    sent = 0
    for day in range(80, 30, -3):
        for i, user in enumerate(users):
            at = now - timedelta(days=day, minutes=i)
            asked = await fake.post_message(w.help, user, "anyone?", at=at)
            other = users[(i + 1) % len(users)]
            await fake.post_message(
                w.help, other, "here is how", thread_ts=asked["ts"], at=at + timedelta(minutes=1)
            )
            sent += 2
    await settle(fake, pulse, sent)
    await reclassify_and_scan(
        UnitOfWork(engine), 1, now, Settings().tiers.policy(), Settings().quiet.policy()
    )
    return users


async def test_quiet_list_pages_and_outreach_buttons(fake_slack, sqlite_engine):
    fake, w = fake_slack, fake_slack.world
    async with pulse_slack(fake, sqlite_engine) as pulse:
        await _quiet_community(fake, pulse, sqlite_engine)
        first = await fake.wait_for_response(await fake.slash_command("/quiet", "6", w.carol))
        ids = first.action_ids()
        assert sum(i.endswith(":done") for i in ids) == 4
        assert sum(i.endswith(":snooze") for i in ids) == 4
        assert sum(i.endswith(":dismiss") for i in ids) == 4
        next_page = next(i for i in ids if i.startswith("pulse:page:quiet:6:1"))
        second = await fake.wait_for_response(await fake.press_button(first, next_page, w.carol))
        assert second.replace_original  # the list pages in place
        assert sum(i.endswith(":done") for i in second.action_ids()) == 2
        assert "Page 2 of 2" in texts(second)
        # The message now shows page 2: its buttons are the ones to press.
        done = next(i for i in second.action_ids() if i.endswith(":done"))
        recorded = await fake.wait_for_response(await fake.press_button(second, done, w.carol))
        assert "Outreach recorded" in texts(recorded)
        assert not recorded.replace_original
        refused = await fake.wait_for_response(await fake.press_button(second, done, w.alice))
        assert "for staff" in texts(refused)
        twice = await fake.wait_for_response(await fake.press_button(second, done, w.carol))
        assert "already dealt with" in texts(twice)
    async with sqlite_engine.connect() as conn:
        rows = (await conn.execute(select(Outreach.action, Outreach.staff_platform_id))).all()
    assert rows == [("reached_out", w.carol)]


async def test_privacy_opt_out_through_the_button(fake_slack, sqlite_engine):
    fake, w = fake_slack, fake_slack.world
    async with pulse_slack(fake, sqlite_engine) as pulse:
        await fake.post_message(w.general, w.alice, "hello")
        await settle(fake, pulse, 1)
        shown = await fake.wait_for_response(await fake.slash_command("/privacy", "", w.alice))
        (delete,) = shown.action_ids()
        assert delete == f"pulse:privacy:delete:{w.alice}"
        refused = await fake.wait_for_response(await fake.press_button(shown, delete, w.bob))
        assert "only the member themselves" in texts(refused)
        done = await fake.wait_for_response(await fake.press_button(shown, delete, w.alice))
        assert "opted out" in texts(done)
        await fake.post_message(w.general, w.alice, "am I still logged?")
        await fake.post_message(w.general, w.bob, "sentinel")
        await settle(fake, pulse, 3)
    assert w.alice not in await members(sqlite_engine)
    assert [r.kind for r in await activities(sqlite_engine)] == ["message"]  # bob's


# --- nothing missed --------------------------------------------------------------------------


async def test_catch_up_reads_history_and_threads_and_collapses(fake_slack, sqlite_engine):
    fake, w = fake_slack, fake_slack.world
    now = fake.now()
    async with pulse_slack(fake, sqlite_engine) as pulse:
        old_thread = await fake.post_message(
            w.help, w.alice, "Old question?", at=now - timedelta(days=3)
        )
        await fake.post_message(
            w.help, w.bob, "Old answer", thread_ts=old_thread["ts"], at=now - timedelta(days=3)
        )
        await settle(fake, pulse, 2)
    # While Pulse is down: 250 messages (two pages of history), a thread, a reply to the thread
    # Pulse saw before (its starter is older than what history returns now), and a message
    # older than the look-back.
    for i in range(250):
        await fake.post_message(w.general, w.alice, f"missed {i}", deliver=False)
    fresh = await fake.post_message(w.help, w.carol, "New thread?", deliver=False)
    await fake.post_message(w.help, w.alice, "Answer", thread_ts=fresh["ts"], deliver=False)
    await fake.post_message(
        w.help, w.carol, "Late reply", thread_ts=old_thread["ts"], deliver=False
    )
    await fake.add_reaction(w.help, fresh["ts"], w.bob, "eyes", deliver=False)
    await fake.post_message(w.general, w.bob, "ancient", at=now - timedelta(days=60), deliver=False)
    fake.rate_limit("conversations.history", times=1, retry_after=1)
    async with pulse_slack(fake, sqlite_engine, catch_up_days=7) as pulse:
        await settle(fake, pulse, 254)
    rows = await activities(sqlite_engine)
    ids = {r.event_id for r in rows}
    assert len(rows) == 2 + 250 + 3 + 1
    assert f"{w.help}:{old_thread['ts']}" in ids
    assert sum(r.kind == "reply" for r in rows) == 3
    assert not any(
        r.event_id.startswith(w.general) and r.occurred_at < now - timedelta(days=7) for r in rows
    )
    assert any(c.status == 429 for c in fake.calls_to("conversations.history"))
    # A second start reads the same history again and stores nothing new.
    async with pulse_slack(fake, sqlite_engine, catch_up_days=7):
        pass
    assert len(await activities(sqlite_engine)) == len(rows)


async def test_catch_up_finds_replies_and_reactions_to_messages_before_where_it_starts(
    fake_slack, sqlite_engine
):
    fake, w = fake_slack, fake_slack.world
    now = fake.now()
    async with pulse_slack(fake, sqlite_engine) as pulse:
        older = await fake.post_message(w.help, w.alice, "Older?", at=now - timedelta(hours=2))
        await fake.post_message(w.general, w.bob, "the last message stored")
        await settle(fake, pulse, 2)
    # While Pulse is down: the question's first reply and a reaction. Catch-up starts 5 minutes
    # before the last message stored, after the question, and no reply of its thread is stored.
    reply = await fake.post_message(w.help, w.bob, "Answer", thread_ts=older["ts"], deliver=False)
    await fake.add_reaction(w.help, older["ts"], w.carol, "eyes", deliver=False)
    async with pulse_slack(fake, sqlite_engine, catch_up_days=7) as pulse:
        await settle(fake, pulse, 2)
    rows = await activities(sqlite_engine)
    ids = [r.event_id for r in rows]
    assert len(ids) == len(set(ids)) == 4
    assert f"{w.help}:{reply['ts']}" in ids
    assert f"{w.help}:{older['ts']}:eyes:{w.carol}" in ids


async def test_invited_to_a_channel_reads_its_recent_history(fake_slack, sqlite_engine):
    fake, w = fake_slack, fake_slack.world
    await fake.post_message(w.not_joined, w.alice, "before Pulse came", deliver=False)
    async with pulse_slack(fake, sqlite_engine) as pulse:
        await fake.join_channel(w.bot_user, w.not_joined, inviter=w.carol)
        await settle(fake, pulse, 1)
    rows = await activities(sqlite_engine)
    assert [r.event_id.split(":")[0] for r in rows] == [w.not_joined]


async def test_socket_mode_reconnects(fake_slack, sqlite_engine):
    fake, w = fake_slack, fake_slack.world
    async with pulse_slack(fake, sqlite_engine) as pulse:
        await fake.post_message(w.general, w.alice, "before")
        await fake.disconnect_socket(reason="warning")
        await fake.post_message(w.general, w.alice, "after")
        await settle(fake, pulse, 2)
    assert len(await activities(sqlite_engine)) == 2
    assert len(fake.connections) >= 2


async def test_refused_tokens_say_what_to_fix(fake_slack, sqlite_engine):
    fake = fake_slack
    bad_bot = SlackSecrets("xoxb-wrong", fake.app_token, fake.signing_secret)
    with pytest.raises(SlackSetupError, match=r"slack\.bot_token_env"):
        async with pulse_slack(fake, sqlite_engine, secrets=bad_bot):
            pass
    bad_app = SlackSecrets(fake.bot_token, "xapp-wrong", fake.signing_secret)
    with pytest.raises(SlackSetupError, match=r"slack\.app_token_env"):
        async with pulse_slack(fake, sqlite_engine, secrets=bad_app):
            pass


# --- digests and `pulse run` -----------------------------------------------------------------


async def test_digests_are_posted_to_the_configured_channels(fake_slack, sqlite_engine):
    from bot.scheduler import DigestSkipped
    from bot.services.digests import build_digest, space_ref

    fake, w = fake_slack, fake_slack.world
    async with pulse_slack(fake, sqlite_engine, staff_channel_id=w.staff) as pulse:
        asked = await fake.post_message(w.help, w.bob, "How do I page results?")
        await fake.post_message(w.help, w.alice, "Use the cursor.", thread_ts=asked["ts"])
        await settle(fake, pulse, 2)
        poster = SlackPoster(pulse.settings)
        poster.slack = pulse
        space = await space_ref(UnitOfWork(sqlite_engine), 1)
        staff = await build_digest(
            UnitOfWork(sqlite_engine), Settings().policies(), 1, "staff", fake.now()
        )
        where = await poster.post_digest(space, "staff", staff.rendered, staff.chart_png)
        assert where.startswith(w.staff)
        (posted,) = [p for p in fake.posted if p.channel == w.staff]
        assert posted.blocks[0]["type"] == "header"
        (chart,) = fake.uploads
        assert chart.thread_ts == posted.ts  # in the digest's thread
        assert chart.data[:4] == b"\x89PNG"
        community = await build_digest(
            UnitOfWork(sqlite_engine), Settings().policies(), 1, "community", fake.now()
        )
        with pytest.raises(DigestSkipped, match="community_channel_id is not set"):
            await poster.post_digest(space, "community", community.rendered, None)
        poster.settings = pulse.settings.model_copy(update={"community_channel_id": w.not_joined})
        with pytest.raises(DigestSkipped, match="invite Pulse"):
            await poster.post_digest(space, "community", community.rendered, None)


async def test_pulse_run_serves_slack_until_stopped(fake_slack, tmp_path, monkeypatch):
    from bot.app import serve
    from bot.settings import parse_settings
    from storage.engine import create_engine

    fake, w = fake_slack, fake_slack.world
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PULSE_SLACK_BOT_TOKEN", fake.bot_token)
    monkeypatch.setenv("PULSE_SLACK_APP_TOKEN", fake.app_token)
    monkeypatch.delenv("PULSE_DISCORD_TOKEN", raising=False)
    settings = parse_settings(
        {
            "database": {"url": f"sqlite:///{tmp_path / 'pulse.db'}"},
            "ingest": {"flush_interval_seconds": 0.01},
            "web": {"port": 0},
            "slack": {
                "api_base_url": fake.api_url,
                "staff_user_ids": [w.carol],
                "help_channel_ids": [w.help],
            },
        }
    )
    stop = asyncio.Event()
    server = asyncio.create_task(serve(settings, stop))
    await fake.wait_for(fake.live_connections, timeout=15, what="Socket Mode connection")
    await fake.post_message(w.help, w.alice, "Is anyone here?")
    engine = create_engine(f"sqlite:///{tmp_path / 'pulse.db'}")
    try:
        async with asyncio.timeout(10):
            while not await activities(engine):  # noqa: ASYNC110 - polls another task's writes
                await asyncio.sleep(0.02)
        reply = await fake.wait_for_response(await fake.slash_command("/quiet", "", w.carol))
        assert "Quiet" in texts(reply)
        stop.set()
        await asyncio.wait_for(server, 15)
        rows = await activities(engine)
    finally:
        await engine.dispose()
    assert [(r.kind, r.is_question) for r in rows] == [("message", True)]
    assert not (tmp_path / "pulse-unwritten.jsonl").exists()


async def test_live_logging_and_a_slack_export_import_collapse(fake_slack, sqlite_engine, tmp_path):
    from bot.importers.run import run_import
    from bot.importers.slack import SlackExportReader
    from bot.settings import parse_settings
    from tests.exports import write_slack

    fake, w = fake_slack, fake_slack.world
    async with pulse_slack(fake, sqlite_engine) as pulse:
        asked = await fake.post_message(w.help, w.alice, "Does the SDK retry?")
        await fake.post_message(w.help, w.bob, "Yes, three times.", thread_ts=asked["ts"])
        await fake.post_message(w.help, w.alice, "thanks <@U0BOB>!", thread_ts=asked["ts"])
        await fake.add_reaction(w.help, asked["ts"], w.carol, "eyes")
        await fake.post_message(w.general, w.carol, "Welcome, everyone")
        await settle(fake, pulse, 5)
    before = sorted(
        (r.event_id, r.kind, r.target_member_id) for r in await activities(sqlite_engine)
    )
    # The same workspace as Slack's export tool writes it: every message, replies included,
    # in one file per channel and day.
    days: dict[str, dict[str, list[dict]]] = {}
    for (channel, ts), message in sorted(fake.messages.items(), key=lambda kv: float(kv[0][1])):
        name = fake.channels[channel]["name"]
        day = fake_ts_day(ts)
        days.setdefault(name, {}).setdefault(day, []).append(message)
    users = list(fake.users.values())
    channels = [c for c in fake.channels.values() if not c["is_im"]]
    export = write_slack(tmp_path / "export", days, users=users, channels=channels)
    settings = parse_settings({"database": {"url": str(sqlite_engine.url)}})
    reader = SlackExportReader(export, help_channels=[w.help], team_id=w.team)
    result = await run_import(settings, reader, fake.now())
    assert result.stats.inserted == 0
    after = sorted(
        (r.event_id, r.kind, r.target_member_id) for r in await activities(sqlite_engine)
    )
    assert after == before


def fake_ts_day(ts: str) -> str:
    """The export day file a message with this ts lands in."""
    return datetime.fromtimestamp(float(ts), UTC).strftime("%Y-%m-%d.json")


async def test_pulse_run_serves_discord_and_slack_in_one_process(
    fake_slack, fake_discord, tmp_path, monkeypatch
):
    from bot.app import serve
    from bot.settings import parse_settings
    from storage.engine import create_engine

    slack, s = fake_slack, fake_slack.world
    discord, d = fake_discord, fake_discord.world
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PULSE_SLACK_BOT_TOKEN", slack.bot_token)
    monkeypatch.setenv("PULSE_SLACK_APP_TOKEN", slack.app_token)
    monkeypatch.setenv("PULSE_DISCORD_TOKEN", discord.token)
    settings = parse_settings(
        {
            "database": {"url": f"sqlite:///{tmp_path / 'pulse.db'}"},
            "ingest": {"flush_interval_seconds": 0.01},
            "web": {"port": 0},
            "slack": {"api_base_url": slack.api_url},
            "discord": {
                "guild_ids": [d.guild],
                "api_base_url": discord.base_url,
                "gateway_url": discord.gateway_url,
            },
        }
    )
    stop = asyncio.Event()
    server = asyncio.create_task(serve(settings, stop))
    await slack.wait_for(slack.live_connections, timeout=15, what="Socket Mode connection")
    await discord.wait_for(lambda: discord.calls("put_commands"), timeout=15, what="Discord")
    await slack.post_message(s.general, s.alice, "hello from Slack")
    await discord.send_message(d.general, d.alice, "hello from Discord")
    engine = create_engine(f"sqlite:///{tmp_path / 'pulse.db'}")
    try:
        async with asyncio.timeout(10):
            while len(await activities(engine)) < 2:  # noqa: ASYNC110 - polls the server's writes
                await asyncio.sleep(0.02)
        stop.set()
        await asyncio.wait_for(server, 15)
        async with engine.connect() as conn:
            spaces = sorted((await conn.execute(select(Space.platform, Space.name))).all())
    finally:
        await engine.dispose()
    assert spaces == [("discord", "Pulse Community"), ("slack", "Pulse Community")]


async def test_askers_follow_ups_are_not_help_and_acceptance_is_seen_live(
    fake_slack, sqlite_engine
):
    fake, w = fake_slack, fake_slack.world
    async with pulse_slack(fake, sqlite_engine) as pulse:
        question = await fake.post_message(w.help, w.alice, "How do I rotate my API key?")
        root = question["ts"]
        clarify = await fake.post_message(w.help, w.bob, "Which plan are you on?", thread_ts=root)
        follow = await fake.post_message(w.help, w.alice, "The team plan.", thread_ts=root)
        answer = await fake.post_message(w.help, w.bob, "Settings → Keys → Rotate.", thread_ts=root)
        await fake.add_reaction(w.help, answer["ts"], w.alice, "white_check_mark")
        thanks = await fake.post_message(w.help, w.alice, "that worked, thanks!", thread_ts=root)
        await settle(fake, pulse, 6)
    rows = {r.event_id.split(":", 1)[1]: r for r in await activities(sqlite_engine)}
    async with sqlite_engine.connect() as conn:
        ids = dict((await conn.execute(select(Member.platform_id, Member.id))).all())
    assert rows[clarify["ts"]].target_member_id == ids[w.alice]
    assert rows[follow["ts"]].target_member_id is None  # the asker's follow-up helps nobody
    assert rows[answer["ts"]].is_answer  # bob's one answer: his clarifying question is not
    assert not rows[clarify["ts"]].is_answer
    assert rows[answer["ts"]].is_accepted  # the asker's check mark accepts it
    assert not rows[clarify["ts"]].is_accepted  # her thanks accepts only the latest reply
    assert rows[thanks["ts"]].is_thanks
    assert rows[thanks["ts"]].target_member_id == ids[w.bob]
