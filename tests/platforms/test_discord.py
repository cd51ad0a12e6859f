"""The Discord adapter end to end: the real discord.py client against the local fake Discord,
writing to a real database through the real writer and answering through the command layer."""

from __future__ import annotations

import contextlib
import logging
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.commands.service import CommandService
from bot.commands.spec import COMMANDS
from bot.discord.client import CONTENT_WARNING, PulseClient, run_discord
from bot.services.classification import reclassify_and_scan
from bot.settings import DiscordSettings, Settings
from community.clock import FixedClock
from storage.engine import create_engine
from storage.helpgraph import answered_questions
from storage.models import HelpEdge, Member, Space
from storage.uow import UnitOfWork
from storage.writer.queue import IngestWriter
from tests.factories import activities, settle
from tests.fakes.discord import GUILD_MEMBERS, started_fake

KEY = b"discord-test-key"
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def discord_settings(fake) -> DiscordSettings:
    """Settings for the fake's seeded community, pointed at the fake."""
    world = fake.world
    return DiscordSettings(
        api_base_url=fake.base_url,
        gateway_url=fake.gateway_url,
        guild_ids=[world.guild],
        staff_role_ids=[world.staff_role],
        help_channel_ids=[world.help, world.forum],
        catch_up_days=30,
    )


@contextlib.asynccontextmanager
async def pulse_bot(fake, engine, **kwargs):
    """The adapter connected to the fake, with a started writer; all closed afterwards."""
    clock = FixedClock(fake.now())
    writer = IngestWriter(engine, KEY, batch_size=50, flush_interval=0.01)
    await writer.start()
    service = CommandService(
        UnitOfWork(engine), Settings().policies(), KEY, clock, "http://127.0.0.1:8080"
    )
    client = PulseClient(
        discord_settings(fake), writer, service, service.uow, guild_ready_timeout=0.1, **kwargs
    )
    try:
        async with fake.running(client):
            await fake.wait_for(client.caught_up.is_set, what="catch-up to finish")
            yield client
    finally:
        await writer.close()


async def test_every_event_kind_is_logged_and_noise_is_not(fake_discord, sqlite_engine):
    fake, w = fake_discord, fake_discord.world
    async with pulse_bot(fake, sqlite_engine) as client:
        question = await fake.send_message(w.help, w.alice, "How do I rotate my API key")
        answer = await fake.reply(question, w.bob, "Settings → Keys → Rotate.")
        await fake.reply(answer, w.alice, "Thanks, that worked!")
        thread = await fake.start_thread(w.general, w.bob, "SDK ideas", content="Ideas welcome")
        await fake.send_message(thread["id"], w.alice, "A Rust SDK please")
        await fake.forum_post(w.forum, w.alice, "Crash on start", "It crashes on start.")
        await fake.add_reaction(question, w.bob, "🎉")
        await fake.remove_reaction(question, w.bob, "🎉")
        newcomer = await fake.member_join("dana")
        await fake.member_leave(newcomer["id"])
        # Noise: another bot, a webhook, a system message and a DM.
        await fake.send_message(w.general, w.other_bot, "beep?")
        await fake.webhook_message(w.general, "deploy finished?")
        await fake.system_message(w.general, w.alice)
        await fake.direct_message(w.alice, "hello bot?")
        await settle(fake, client, 11)
    rows = await activities(sqlite_engine)
    kinds = [r.kind for r in rows]
    assert sorted(kinds) == sorted(
        [
            "message",  # the question
            "reply",  # bob's answer
            "reply",  # alice's thanks
            "thread_started",  # bob's thread in #general
            "reply",  # bob's first message in his thread (a follow-up: he started it)
            "reply",  # alice in bob's thread
            "thread_started",  # alice's forum post
            "reaction_given",
            "reaction_removed",
            "member_joined",
            "member_left",
        ]
    ), kinds
    by_id = {r.event_id: r for r in rows}
    asked = by_id[question["id"]]
    assert asked.is_question  # a top-level post in a help channel
    ids = await member_ids(sqlite_engine)
    answered = by_id[answer["id"]]
    assert answered.target_member_id == ids[w.alice]
    assert answered.is_answer
    thanks = next(r for r in rows if r.parent_event_id == answer["id"])
    assert thanks.is_thanks
    assert thanks.target_member_id == ids[w.bob]
    forum = next(r for r in rows if r.kind == "thread_started" and r.member_id == ids[w.alice])
    assert forum.is_question  # a post in the help forum
    reaction = next(r for r in rows if r.kind == "reaction_given")
    assert reaction.target_member_id == ids[w.alice]
    assert w.other_bot not in ids
    async with sqlite_engine.connect() as conn:
        space = (await conn.execute(select(Space.name))).scalar_one()
    assert space == "Pulse Community"


async def test_askers_follow_ups_are_not_help_live(fake_discord, sqlite_engine):
    fake, w = fake_discord, fake_discord.world
    async with pulse_bot(fake, sqlite_engine) as client:
        question = await fake.send_message(w.help, w.alice, "How do I rotate my API key")
        answer = await fake.reply(question, w.bob, "Settings → Keys → Rotate.")
        still = await fake.reply(answer, w.alice, "I tried that, the button is greyed out")
        more = await fake.reply(still, w.bob, "You need the admin role for it.")
        thanks = await fake.reply(more, w.alice, "that was it, thank you!")
        thread = await fake.start_thread(w.general, w.alice, "Webhooks", content="Retries?")
        in_thread = await fake.send_message(thread["id"], w.bob, "Three, with backoff.")
        own = await fake.reply(in_thread, w.alice, "And can I change the count?")
        await fake.send_message(thread["id"], w.bob, "Not yet, sadly.")
        await settle(fake, client, 10)
    rows = {r.event_id: r for r in await activities(sqlite_engine)}
    ids = await member_ids(sqlite_engine)
    # Bob's answers help Alice; Alice's follow-ups in her own chain and thread help nobody.
    assert rows[answer["id"]].target_member_id == ids[w.alice]
    assert rows[more["id"]].target_member_id == ids[w.alice]
    assert rows[still["id"]].target_member_id is None
    assert rows[own["id"]].target_member_id is None
    assert rows[own["id"]].is_question
    # Her thanks still credits the member she thanked.
    assert rows[thanks["id"]].is_thanks
    assert rows[thanks["id"]].target_member_id == ids[w.bob]
    async with sqlite_engine.connect() as conn:
        edges = (await conn.execute(select(HelpEdge.helper_id, HelpEdge.helped_id))).all()
        answered = await answered_questions(conn, rows[question["id"]].space_id)
    assert [tuple(e) for e in edges] == [(ids[w.bob], ids[w.alice])]
    # Her question inside the thread is answered by Bob's later reply there.
    assert answered[own["id"]] is True


async def test_staff_first_seen_after_start_are_marked_staff(fake_discord, sqlite_engine):
    # Carol (staff role) has no member row when Pulse starts; her first message creates it.
    fake, w = fake_discord, fake_discord.world
    async with pulse_bot(fake, sqlite_engine) as client:
        await fake.send_message(w.general, w.alice, "hello")
        await fake.send_message(w.general, w.carol, "welcome!")
        await settle(fake, client, 2)
    async with sqlite_engine.connect() as conn:
        staff = dict((await conn.execute(select(Member.platform_id, Member.is_staff))).all())
    assert staff == {w.alice: False, w.carol: True}


async def member_ids(engine) -> dict[str, int]:
    async with engine.connect() as conn:
        return dict((await conn.execute(select(Member.platform_id, Member.id))).all())


async def test_commands_are_synced_and_staff_only_server_side(fake_discord, sqlite_engine):
    fake, w = fake_discord, fake_discord.world
    async with pulse_bot(fake, sqlite_engine) as client:
        await fake.send_message(w.general, w.alice, "hi all")
        await settle(fake, client, 1)
        synced = {c["name"]: c for c in fake.commands[w.guild]}
        assert set(synced) == {spec.name for spec in COMMANDS}
        assert synced["quiet"]["default_member_permissions"] is not None
        assert synced["privacy"]["default_member_permissions"] is None
        # Discord's permission settings are the admin's to change; Pulse refuses anyway.
        refused = await fake.wait_for_response(await fake.invoke_command("quiet", w.alice))
        assert refused.ephemeral
        assert "for staff" in refused.embeds[0]["description"]
        allowed = await fake.wait_for_response(await fake.invoke_command("quiet", w.carol))
        assert allowed.ephemeral
        assert allowed.embeds[0]["title"].startswith("Quiet members")


async def test_bad_input_gets_a_specific_error(fake_discord, sqlite_engine):
    fake, w = fake_discord, fake_discord.world
    async with pulse_bot(fake, sqlite_engine) as client:
        await fake.send_message(w.general, w.alice, "hi all")
        await settle(fake, client, 1)
        cases = [
            ("quiet", [{"name": "limit", "type": 4, "value": 0}], "between 1 and 50, not 0"),
            ("quiet", [{"name": "limit", "type": 4, "value": 10_000}], "not 10000"),
            (
                "member",
                [{"name": "user", "type": 6, "value": w.carol}],
                "take part yet, so it has nothing",
            ),
        ]
        for name, options, message in cases:
            interaction = await fake.invoke_command(name, w.carol, raw_options=options)
            reply = await fake.wait_for_response(interaction)
            assert reply.ephemeral
            assert message in reply.embeds[0]["description"], reply.embeds
        away = await fake.invoke_command("away", w.alice, until="2001-01-01")
        reply = await fake.wait_for_response(away)
        assert "in the past" in reply.embeds[0]["description"]


async def test_catch_up_fetches_what_was_missed_and_duplicates_collapse(
    fake_discord, sqlite_engine
):
    fake, w = fake_discord, fake_discord.world
    earlier = fake.now() - timedelta(days=2)
    missed = [
        await fake.send_message(w.general, w.bob, f"missed {i}", dispatch=False, at=earlier)
        for i in range(120)
    ]
    too_old = await fake.send_message(
        w.general, w.bob, "ancient", dispatch=False, at=fake.now() - timedelta(days=90)
    )
    async with pulse_bot(fake, sqlite_engine) as client:
        await settle(fake, client, 120)
        live = await fake.send_message(w.general, w.alice, "back online?")
        await settle(fake, client, 121)
        # A reconnect that loses the session runs catch-up again over the same messages.
        client.before_identify_hook = _no_wait
        await fake.invalidate_sessions()
        await fake.wait_for(lambda: fake.identifies >= 2, what="a second IDENTIFY")
        await fake.wait_for(lambda: client.catch_up_task.done() and client.caught_up.is_set())
        await client.writer.flush()
    rows = await activities(sqlite_engine)
    ids = [r.event_id for r in rows]
    assert len(ids) == len(set(ids)) == 121
    assert {m["id"] for m in missed} | {live["id"]} == set(ids)
    assert too_old["id"] not in ids  # beyond the look-back


async def _no_wait(shard_id, *, initial=False) -> None:
    return None


async def test_catch_up_logs_threads_started_and_members_joined_while_down(
    fake_discord, sqlite_engine
):
    fake, w = fake_discord, fake_discord.world
    # While Pulse was down (or held them in memory when it was killed): no history holds these.
    thread = fake.add_thread(w.general, w.bob, "while down")
    newcomer = fake.add_user("dana")
    member = fake.add_member(w.guild, newcomer["id"])
    async with pulse_bot(fake, sqlite_engine) as client:
        await settle(fake, client, 2)
    rows = {(r.kind, r.event_id) for r in await activities(sqlite_engine)}
    joined = int(datetime.fromisoformat(member["joined_at"]).timestamp())
    assert rows == {
        ("thread_started", f"thread:{thread['id']}"),
        ("member_joined", f"join:{newcomer['id']}:{joined}"),  # the id the live event has
    }


async def test_privacy_opt_out_through_the_button(fake_discord, sqlite_engine):
    fake, w = fake_discord, fake_discord.world
    async with pulse_bot(fake, sqlite_engine) as client:
        await fake.send_message(w.general, w.alice, "hello")
        await settle(fake, client, 1)
        shown = await fake.wait_for_response(await fake.invoke_command("privacy", w.alice))
        assert shown.ephemeral
        (delete,) = shown.custom_ids()
        assert delete == f"pulse:privacy:delete:{w.alice}"
        pressed = await fake.press_button(shown.message, delete, w.alice)
        done = await fake.wait_for_response(pressed)
        assert "opted out" in done.embeds[0]["title"]
        await fake.send_message(w.general, w.alice, "am I still logged?")
        await settle(fake, client, 2)
    assert w.alice not in await member_ids(sqlite_engine)
    assert await activities(sqlite_engine) == []


async def test_quiet_list_pages_with_buttons(fake_discord, sqlite_engine):
    fake, w = fake_discord, fake_discord.world
    now = fake.now()
    regulars = [fake.add_user(f"regular{i}")["id"] for i in range(6)]
    for user in regulars:
        fake.add_member(w.guild, user)
    async with pulse_bot(fake, sqlite_engine) as client:
        sent = 0
        for day in range(80, 30, -3):
            for i, user in enumerate(regulars):
                at = now - timedelta(days=day, minutes=i)
                first = await fake.send_message(w.general, user, "anyone?", at=at)
                other = regulars[(i + 1) % len(regulars)]
                await fake.reply(first, other, "here is how", at=at + timedelta(minutes=1))
                sent += 2
        await settle(fake, client, sent)
        await reclassify_and_scan(
            UnitOfWork(sqlite_engine), 1, now, Settings().tiers.policy(), Settings().quiet.policy()
        )
        first = await fake.wait_for_response(await fake.invoke_command("quiet", w.carol, limit=6))
        assert len(first.embeds[0]["fields"]) == 4
        ids = first.custom_ids()
        assert sum(i.endswith(":done") for i in ids) == 4
        next_page = next(i for i in ids if i.startswith("pulse:page:quiet:6:1"))
        pressed = await fake.press_button(first.message, next_page, w.carol)
        second = await fake.wait_for_response(pressed)
        assert second.type == 7  # the same message, updated in place
        assert len(second.embeds[0]["fields"]) == 2
        assert "Page 2 of 2" in second.embeds[0]["footer"]["text"]


async def test_without_message_content_it_warns_once_and_keeps_logging(sqlite_engine, caplog):
    async with started_fake(enabled_privileged_intents=GUILD_MEMBERS) as fake:
        w = fake.world
        writer = IngestWriter(sqlite_engine, KEY, batch_size=10, flush_interval=0.01)
        await writer.start()
        service = CommandService(
            UnitOfWork(sqlite_engine), Settings().policies(), KEY, FixedClock(NOW)
        )
        stop = __import__("asyncio").Event()
        runner = __import__("asyncio").create_task(
            run_discord(discord_settings(fake), fake.token, writer, service, service.uow, stop)
        )
        with caplog.at_level(logging.WARNING):
            await fake.wait_for(lambda: len(fake.sessions) >= 1, timeout=15, what="a session")
            await fake.wait_for(lambda: fake.calls("put_commands"), timeout=15)
            await fake.send_message(w.help, w.alice, "Why does it crash?")
            await fake.wait_for(lambda: writer.stats.received >= 1, what="the message")
        stop.set()
        await runner
        await writer.close()
    rows = await activities(sqlite_engine)
    assert [r.kind for r in rows] == ["message"]
    assert rows[0].is_question  # still a question: it was posted in a help channel
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings.count(CONTENT_WARNING) == 1


@pytest.mark.parametrize("spec", COMMANDS, ids=lambda s: s.name)
def test_every_command_has_a_discord_payload(spec):
    from bot.discord.client import command_payloads

    payload = next(p for p in command_payloads() if p["name"] == spec.name)
    assert [o["name"] for o in payload["options"]] == [a.name for a in spec.args]


async def test_pulse_run_serves_discord_until_stopped(tmp_path, monkeypatch, caplog):
    import asyncio
    import re

    import aiohttp

    from bot.app import serve
    from bot.settings import parse_settings

    caplog.set_level(logging.INFO, logger="bot.web.app")

    monkeypatch.chdir(tmp_path)  # the spill file, if any, lands here
    async with started_fake() as fake:
        w = fake.world
        monkeypatch.setenv("PULSE_DISCORD_TOKEN", fake.token)
        settings = parse_settings(
            {
                "database": {"url": f"sqlite:///{tmp_path / 'pulse.db'}"},
                "ingest": {"flush_interval_seconds": 0.01},
                "web": {"port": 0},
                "discord": {
                    "guild_ids": [w.guild],
                    "staff_role_ids": [w.staff_role],
                    "api_base_url": fake.base_url,
                    "gateway_url": fake.gateway_url,
                },
            }
        )
        stop = asyncio.Event()
        server = asyncio.create_task(serve(settings, stop))
        await fake.wait_for(lambda: fake.calls("put_commands"), timeout=15, what="command sync")
        await fake.send_message(w.general, w.alice, "Is anyone here?")
        await _until_stored(tmp_path / "pulse.db", 1)
        reply = await fake.wait_for_response(await fake.invoke_command("hero-candidates", w.carol))
        assert reply.embeds[0]["title"] == "Hero candidates"
        # The dashboard runs in the same process and loop, on the port it was given (any: 0).
        (address,) = re.findall(r"dashboard listening on (http://127\.0\.0\.1:\d+)", caplog.text)
        async with aiohttp.ClientSession() as http, http.get(address + "/") as page:
            assert page.status == 401
            assert "Sign in with a link from chat" in await page.text()
        stop.set()
        await asyncio.wait_for(server, 15)
    engine = create_engine(f"sqlite:///{tmp_path / 'pulse.db'}")
    try:
        rows = await activities(engine)
    finally:
        await engine.dispose()
    assert [(r.kind, r.is_question) for r in rows] == [("message", True)]
    assert not (tmp_path / "pulse-unwritten.jsonl").exists()  # everything was written


async def _until_stored(path, count: int, timeout: float = 10.0) -> None:  # noqa: ASYNC109
    """Poll the database file until COUNT activities are stored (the writer runs elsewhere)."""
    import asyncio

    engine = create_engine(f"sqlite:///{path}")
    try:
        async with asyncio.timeout(timeout):
            while len(await activities(engine)) < count:  # noqa: ASYNC110 - polls another task
                await asyncio.sleep(0.02)
    finally:
        await engine.dispose()


async def test_outreach_button_and_digest_preview(fake_discord, sqlite_engine):
    from storage.models import Outreach

    fake, w = fake_discord, fake_discord.world
    now = fake.now()
    async with pulse_bot(fake, sqlite_engine) as client:
        for day in range(70, 20, -2):
            at = now - timedelta(days=day)
            asked = await fake.send_message(w.help, w.bob, "How do I page results?", at=at)
            await fake.reply(asked, w.alice, "Use the cursor.", at=at + timedelta(minutes=5))
        await settle(fake, client, 50)
        await reclassify_and_scan(
            UnitOfWork(sqlite_engine), 1, now, Settings().tiers.policy(), Settings().quiet.policy()
        )
        listed = await fake.wait_for_response(await fake.invoke_command("quiet", w.carol))
        done = next(i for i in listed.custom_ids() if i.endswith(":done"))
        pressed = await fake.press_button(listed.message, done, w.carol)
        recorded = await fake.wait_for_response(pressed)
        assert recorded.embeds[0]["title"] == "Outreach recorded"
        refused = await fake.wait_for_response(
            await fake.press_button(listed.message, done, w.alice)
        )
        assert "for staff" in refused.embeds[0]["description"]

        preview = await fake.invoke_command("digest", w.carol, action="preview")
        # Under load the preview may pass the 2 s answer deadline: then a deferral comes first.
        first = await fake.wait_for(
            lambda: next((r for r in preview.responses if r.embeds), None), what="the preview"
        )
        assert first.ephemeral
        await fake.wait_for(
            lambda: sum(1 for r in preview.responses if r.embeds) >= 2, what="the community digest"
        )
        files = [f for r in preview.responses for f in r.files]
        assert [f.data[:4] for f in files] == [b"\x89PNG"]
    async with sqlite_engine.connect() as conn:
        rows = (await conn.execute(select(Outreach.action, Outreach.staff_platform_id))).all()
    assert rows == [("reached_out", w.carol)]


async def test_digests_are_posted_to_the_configured_channels(fake_discord, sqlite_engine):
    from bot.discord.poster import DiscordPoster
    from bot.scheduler import DigestSkipped
    from bot.services.digests import build_digest, space_ref

    fake, w = fake_discord, fake_discord.world
    async with pulse_bot(fake, sqlite_engine) as client:
        asked = await fake.send_message(w.help, w.bob, "How do I page results?")
        await fake.reply(asked, w.alice, "Use the cursor.")
        await settle(fake, client, 2)
        settings = discord_settings(fake).model_copy(
            update={"staff_channel_id": w.staff, "community_channel_id": None}
        )
        poster = DiscordPoster(settings)
        poster.client = client
        space = await space_ref(UnitOfWork(sqlite_engine), 1)
        staff = await build_digest(
            UnitOfWork(sqlite_engine), Settings().policies(), 1, "staff", fake.now()
        )
        where = await poster.post_digest(space, "staff", staff.rendered, staff.chart_png)
        assert where.startswith("#devrel-staff")
        (posted,) = fake.posted_messages(w.staff)
        assert posted["embeds"]
        assert posted["attachments"][0]["filename"].endswith(".png")
        community = await build_digest(
            UnitOfWork(sqlite_engine), Settings().policies(), 1, "community", fake.now()
        )
        with pytest.raises(DigestSkipped, match="community_channel_id is not set"):
            await poster.post_digest(space, "community", community.rendered, None)


def _dce_message(stored: dict, fake) -> dict:
    """A message the fake holds, as DiscordChatExporter writes it."""
    kinds = {0: "Default", 19: "Reply"}
    ref = stored.get("message_reference")
    reactions = []
    for reaction in stored.get("reactions", []):
        emoji = reaction["emoji"]
        reactions.append(
            {
                "emoji": {"id": emoji.get("id") or "", "name": emoji["name"]},
                "count": reaction["count"],
                "users": [{"id": u, "name": fake.users[u]["username"]} for u in reaction["_users"]]
                if "_users" in reaction
                else [],
            }
        )
    author = stored["author"]
    return {
        "id": stored["id"],
        "type": kinds[stored["type"]],
        "timestamp": stored["timestamp"],
        "content": stored["content"],
        "author": {
            "id": author["id"],
            "name": author["username"],
            "isBot": author.get("bot", False),
        },
        "reference": {"messageId": ref["message_id"], "channelId": ref["channel_id"]}
        if ref
        else None,
        "mentions": [{"id": m["id"], "name": m["username"]} for m in stored.get("mentions", [])],
        "reactions": reactions,
    }


async def test_live_logging_and_a_history_import_collapse(fake_discord, sqlite_engine, tmp_path):
    import json

    from bot.importers.discord import DiscordExportReader
    from bot.importers.run import run_import
    from bot.settings import parse_settings

    fake, w = fake_discord, fake_discord.world
    async with pulse_bot(fake, sqlite_engine) as client:
        asked = await fake.send_message(w.general, w.alice, "Does the SDK retry?")
        answer = await fake.reply(asked, w.bob, "Yes, three times.")
        await fake.reply(answer, w.alice, "thanks!")
        post = await fake.forum_post(w.forum, w.bob, "Timeouts", "Why do calls time out?")
        await fake.send_message(post["id"], w.alice, "Raise the timeout.")
        await settle(fake, client, 5)
    before = sorted((r.event_id, r.kind) for r in await activities(sqlite_engine))
    guild = {"id": w.guild, "name": "Pulse Community"}
    exports = {
        "general.json": {
            "guild": guild,
            "channel": {"id": w.general, "type": "GuildTextChat", "name": "general"},
            "messages": [_dce_message(fake.messages[i], fake) for i in fake.history[w.general]],
        },
        "thread.json": {
            "guild": guild,
            "channel": {
                "id": post["id"],
                "type": "GuildPublicThread",
                "categoryId": w.forum,
                "category": "questions",
                "name": "Timeouts",
            },
            "messages": [_dce_message(fake.messages[i], fake) for i in fake.history[post["id"]]],
        },
    }
    for name, data in exports.items():
        (tmp_path / name).write_text(json.dumps(data), encoding="utf-8")
    url = str(sqlite_engine.url)
    settings = parse_settings({"database": {"url": url}})
    result = await run_import(
        settings, DiscordExportReader([tmp_path], help_channels=[w.forum]), NOW
    )
    assert result.stats.inserted == 0
    after = sorted((r.event_id, r.kind) for r in await activities(sqlite_engine))
    assert after == before


async def test_every_command_answers_staff_and_refuses_members(fake_discord, sqlite_engine):
    fake, w = fake_discord, fake_discord.world
    async with pulse_bot(fake, sqlite_engine) as client:
        said = await fake.send_message(w.general, w.alice, "Hello, how do I start?")
        await fake.reply(said, w.bob, "Read the guide.")
        await fake.dispatch("MESSAGE_CREATE", fake._gateway_message(fake.messages[said["id"]]))
        await settle(fake, client, 3)  # the re-delivered message is the third event
        calls = {
            "hero-candidates": {"limit": 5},
            "quiet": {"limit": 5},
            "member": {"user": w.bob},
            "community-stats": {"weeks": 2},
            "contribution": {"user": w.bob, "kind": "talk", "title": "Pulse in practice"},
            "hero": {"action": "confirm", "user": w.bob},
            "outreach": {"user": w.bob, "action": "dismiss"},
            "digest": {"action": "preview"},
            "privacy": {},
            "away": {"until": "3d"},
            "dashboard": {},  # last: it stores carol's member row, which /away would then find
        }
        assert set(calls) == {spec.name for spec in COMMANDS}
        answers = {}
        for name, options in calls.items():
            interaction = await fake.invoke_command(name, w.carol, **options)
            answers[name] = await fake.wait_for_response(interaction)
        for spec in COMMANDS:
            if spec.staff_only:
                refused = await fake.wait_for_response(
                    await fake.invoke_command(spec.name, w.alice, **calls[spec.name])
                )
                assert "for staff" in refused.embeds[0]["description"], spec.name
        away = await fake.invoke_command("away", w.alice, until="3d")
        alice_away = await fake.wait_for_response(away)
    assert alice_away.embeds[0]["title"] == "Enjoy your time away"
    assert all(a.ephemeral for a in answers.values())
    titles = {name: a.embeds[0].get("title", "") for name, a in answers.items()}
    assert titles["contribution"] == "Contribution logged"
    assert titles["hero"] == "Hero recognition updated"
    assert titles["member"] == "Bob"  # the display name (global_name) Discord shows
    assert titles["away"] == "Nothing to pause"  # carol never took part
    assert titles["dashboard"] == "Your dashboard link"
    assert "/signin/" in answers["dashboard"].embeds[0]["description"]
    assert "not on the quiet list" in answers["outreach"].embeds[0]["description"]
    rows = await activities(sqlite_engine)
    assert [r.kind for r in rows].count("message") == 1  # delivered twice, stored once
