"""The fake Slack, proven with the real slack_sdk and slack_bolt: what it sends, what it records."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient

from community.clock import FixedClock
from tests.factories import tiny_png
from tests.fakes.slack import (
    SIGNATURE_MAX_AGE,
    FakeSlack,
    FakeSlackError,
    sign,
    signed_headers,
    started_fake_slack,
    ts_datetime,
)

SHARED_PAYLOADS = Path(__file__).resolve().parents[2] / ".." / "shared" / "payloads" / "slack"


def web_client(fake: FakeSlack, **options: Any) -> AsyncWebClient:
    return AsyncWebClient(token=fake.bot_token, base_url=fake.api_url, **options)


def buttons(*pairs: tuple[str, str]) -> list[dict[str, Any]]:
    """One actions block with a button per (action_id, value)."""
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": "*Quiet members*"}},
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "text": {"type": "plain_text", "text": action_id},
                    "action_id": action_id,
                    "value": value,
                }
                for action_id, value in pairs
            ],
        },
    ]


class Recorder:
    """A Bolt AsyncApp with listeners that record what reaches them, as an adapter would."""

    def __init__(self, fake: FakeSlack) -> None:
        self.client = web_client(fake)
        self.app = AsyncApp(client=self.client, signing_secret=fake.signing_secret)
        self.events: list[dict[str, Any]] = []
        self.retries: list[tuple[str | None, str | None]] = []
        self.commands: list[dict[str, Any]] = []
        self.actions: list[dict[str, Any]] = []
        self.url: str | None = None
        app = self.app

        @app.event(re.compile(".*"))
        async def every_event(body, request) -> None:
            self.events.append(body["event"])
            # Bolt keeps every header as a list of values.
            self.retries.append(
                (
                    request.headers.get("x-slack-retry-num", [None])[0],
                    request.headers.get("x-slack-retry-reason", [None])[0],
                )
            )

        @app.command("/quiet")
        async def quiet(ack, respond, command) -> None:
            await ack()
            self.commands.append(command)
            await respond(
                text="bob and dave went quiet",
                blocks=buttons(("outreach:done", "U0BOB"), ("outreach:done", "U0DAVE")),
            )

        @app.command("/ping")
        async def ping(ack, command) -> None:
            self.commands.append(command)
            await ack(f"pong {command['text']}")

        @app.action("outreach:done")
        async def done(ack, respond, body) -> None:
            await ack()
            self.actions.append(body)
            await respond(text=f"Marked {body['actions'][0]['value']}", replace_original=True)

        @app.action("outreach:snooze")
        async def snooze(ack, respond, body) -> None:
            await ack()
            self.actions.append(body)
            await respond(text="Snoozed for two weeks")

    def of_type(self, kind: str, subtype: str | None = None) -> list[dict[str, Any]]:
        return [e for e in self.events if e["type"] == kind and e.get("subtype") == subtype]


@contextlib.asynccontextmanager
async def served_over_http(fake: FakeSlack, recorder: Recorder) -> AsyncIterator[str]:
    """The Bolt app behind aiohttp on 127.0.0.1, in this test's loop; deliveries go there."""
    runner = web.AppRunner(recorder.app.web_app(path="/slack/events"))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/slack/events"
    recorder.url = url
    fake.deliver_http(url)
    try:
        yield url
    finally:
        await runner.cleanup()


@contextlib.asynccontextmanager
async def over_socket_mode(recorder: Recorder, fake: FakeSlack) -> AsyncIterator[Any]:
    """The Bolt app connected through AsyncSocketModeHandler (its web client is app.client)."""
    handler = AsyncSocketModeHandler(recorder.app, fake.app_token)
    await handler.connect_async()
    try:
        yield handler
    finally:
        await handler.close_async()


@pytest.fixture
async def http_app(fake_slack):
    recorder = Recorder(fake_slack)
    async with served_over_http(fake_slack, recorder):
        yield recorder


@pytest.fixture
async def socket_app(fake_slack):
    recorder = Recorder(fake_slack)
    async with over_socket_mode(recorder, fake_slack):
        yield recorder


# ---------------------------------------------------------------- Web API


async def test_auth_test_and_token_rules(fake_slack):
    fake, w = fake_slack, fake_slack.world
    client = web_client(fake)
    me = await client.auth_test()
    assert (me["team_id"], me["user_id"], me["bot_id"]) == (w.team, w.bot_user, w.bot_id)
    assert me.headers["x-oauth-scopes"] == ",".join(fake.scopes)

    async def error_of(call) -> str:
        with pytest.raises(SlackApiError) as failed:
            await call
        return failed.value.response["error"]

    wrong = AsyncWebClient(token="xoxb-1-2-wrong", base_url=fake.api_url)
    assert await error_of(wrong.auth_test()) == "invalid_auth"
    assert await error_of(AsyncWebClient(base_url=fake.api_url).auth_test()) == "not_authed"
    app_token_client = AsyncWebClient(token=fake.app_token, base_url=fake.api_url)
    assert (
        await error_of(app_token_client.chat_postMessage(channel=w.general, text="hi"))
        == "not_allowed_token_type"
    )
    assert (
        await error_of(client.apps_connections_open(app_token=fake.bot_token))
        == "not_allowed_token_type"
    )
    opened = await client.apps_connections_open(app_token=fake.app_token)
    assert opened["url"].startswith(f"ws://127.0.0.1:{fake.port}/link/?ticket=")
    assert await error_of(client.api_call("pins.list")) == "unknown_method"
    assert [c.method for c in fake.unknown_calls] == ["pins.list"]
    with pytest.raises(FakeSlackError, match=r"methods the fake does not know: pins\.list"):
        fake.assert_no_surprises()
    fake.unknown_calls.clear()  # seen and expected; keeps the fixture's teardown check quiet
    async with aiohttp.ClientSession() as session, session.get(fake.base_url + "/oauth") as got:
        assert got.status == 404
    assert fake.unknown_paths == ["GET /oauth"]
    fake.unknown_paths.clear()
    assert fake.calls[0].method == "auth.test"
    assert fake.calls[0].token == fake.bot_token


async def test_users_team_and_usergroups(fake_slack):
    fake, w = fake_slack, fake_slack.world
    client = web_client(fake)
    alice = (await client.users_info(user=w.alice))["user"]
    assert (alice["name"], alice["real_name"], alice["is_bot"], alice["deleted"]) == (
        "alice",
        "Alice Adams",
        False,
        False,
    )
    assert alice["profile"]["display_name"] == "alice"
    assert alice["tz"]
    bob = (await client.users_info(user=w.bob))["user"]
    assert bob["profile"]["display_name"] == ""
    assert bob["profile"]["real_name"] == "Bob Brown"
    helper = (await client.users_info(user=w.other_bot))["user"]
    assert helper["is_bot"]
    assert helper["profile"]["bot_id"] == w.other_bot_id
    assert (await client.users_info(user=w.slackbot))["user"]["is_bot"] is False
    with pytest.raises(SlackApiError) as missing:
        await client.users_info(user="U0NOBODY")
    assert missing.value.response["error"] == "user_not_found"

    # The iterator yields the same response object, refilled: read each page inside the loop.
    pages = [[m["id"] for m in page["members"]] async for page in await client.users_list(limit=2)]
    assert [len(p) for p in pages] == [2, 2, 2]
    members = [user for page in pages for user in page]
    assert set(members) == {w.bot_user, w.alice, w.bob, w.carol, w.other_bot, w.slackbot}
    assert len(members) == len(set(members))
    assert [c.params.get("cursor") is None for c in fake.calls_to("users.list")] == [
        True,
        False,
        False,
    ]

    team = (await client.team_info())["team"]
    assert (team["id"], team["name"], team["domain"]) == (
        w.team,
        "Pulse Community",
        fake.team["domain"],
    )
    assert (await client.usergroups_users_list(usergroup=w.staff_group))["users"] == [w.carol]
    [group] = (await client.usergroups_list(include_users=True))["usergroups"]
    assert (group["id"], group["handle"], group["users"]) == (w.staff_group, "devrel", [w.carol])
    with pytest.raises(SlackApiError) as unknown_group:
        await client.usergroups_users_list(usergroup="S0NOPE")
    assert unknown_group.value.response["error"] == "no_such_subteam"


async def test_channels_and_membership(fake_slack):
    fake, w = fake_slack, fake_slack.world
    client = web_client(fake)
    listed = {c["name"]: c for c in (await client.conversations_list())["channels"]}
    assert set(listed) == {"general", "help", "devrel-staff", "random"}
    assert {n for n, c in listed.items() if c["is_member"]} == {"general", "help", "devrel-staff"}
    assert listed["general"]["is_general"]
    assert listed["random"]["id"] == w.not_joined
    mine = (await client.users_conversations())["channels"]
    assert {c["id"] for c in mine} == {w.general, w.help, w.staff}
    alices = (await client.users_conversations(user=w.alice))["channels"]
    assert {c["id"] for c in alices} == {w.general, w.help, w.not_joined}
    info = (await client.conversations_info(channel=w.not_joined))["channel"]
    assert (info["name"], info["is_member"], info["is_private"]) == ("random", False, False)
    assert (await client.conversations_members(channel=w.staff))["members"] == [
        w.carol,
        w.bot_user,
    ]
    with pytest.raises(SlackApiError) as unknown:
        await client.conversations_info(channel="C0NOPE")
    assert unknown.value.response["error"] == "channel_not_found"
    assert (await client.conversations_list(types="private_channel"))["channels"] == []


async def test_history_pages_backward_from_latest_and_forward_from_oldest(fake_slack):
    fake, w = fake_slack, fake_slack.world
    client = web_client(fake)
    start = datetime.now(UTC) - timedelta(days=3)
    sent = [
        await fake.post_message(
            w.general, w.alice, f"m{i}", at=start + timedelta(minutes=i), deliver=False
        )
        for i in range(250)
    ]
    assert fake.deliveries == []

    pages = [
        (page["messages"], page["has_more"])
        async for page in await client.conversations_history(channel=w.general, limit=100)
    ]
    assert [(len(messages), more) for messages, more in pages] == [
        (100, True),
        (100, True),
        (50, False),
    ]
    texts = [m["text"] for messages, _ in pages for m in messages]
    assert texts == [f"m{i}" for i in reversed(range(250))]

    # Only oldest: Slack returns the page nearest oldest first and the cursor walks forward.
    cutoff = sent[19]["ts"]
    forward = [
        page["messages"]
        async for page in await client.conversations_history(
            channel=w.general, oldest=cutoff, limit=100
        )
    ]
    assert [messages[0]["text"] for messages in forward] == ["m119", "m219", "m249"]
    got = sorted((m for messages in forward for m in messages), key=lambda m: float(m["ts"]))
    assert [m["text"] for m in got] == [f"m{i}" for i in range(20, 250)]

    window = await client.conversations_history(
        channel=w.general, oldest=sent[10]["ts"], latest=sent[13]["ts"], inclusive=True
    )
    assert [m["text"] for m in window["messages"]] == ["m13", "m12", "m11", "m10"]
    exclusive = await client.conversations_history(
        channel=w.general, oldest=sent[10]["ts"], latest=sent[13]["ts"]
    )
    assert [m["text"] for m in exclusive["messages"]] == ["m12", "m11"]
    assert ts_datetime(sent[0]["ts"]) == start

    for channel, params, error in (
        (w.not_joined, {}, "not_in_channel"),
        (w.general, {"oldest": "yesterday"}, "invalid_ts_oldest"),
        (w.general, {"cursor": "bm90IGEgY3Vyc29y"}, "invalid_cursor"),
    ):
        with pytest.raises(SlackApiError) as refused:
            await client.conversations_history(channel=channel, **params)
        assert refused.value.response["error"] == error


async def test_threads_replies_and_broadcasts(fake_slack):
    fake, w = fake_slack, fake_slack.world
    client = web_client(fake)
    question = await fake.post_message(w.help, w.alice, "Why does it crash?", deliver=False)
    answers = [
        await fake.post_message(w.help, user, f"reply {i}", thread_ts=question["ts"], deliver=False)
        for i, user in enumerate([w.bob, w.carol, w.bob, w.alice])
    ]
    shout = await fake.post_message(
        w.help, w.carol, "Fixed in 2.1", thread_ts=question["ts"], broadcast=True, deliver=False
    )
    starter = fake.messages[(w.help, question["ts"])]
    assert starter["reply_count"] == 5
    assert starter["reply_users"] == [w.bob, w.carol, w.alice]
    assert starter["reply_users_count"] == 3
    assert starter["latest_reply"] == shout["ts"]
    assert answers[0]["parent_user_id"] == w.alice
    assert answers[0]["thread_ts"] == question["ts"]
    assert shout["subtype"] == "thread_broadcast"
    assert shout["root"]["ts"] == question["ts"]

    history = (await client.conversations_history(channel=w.help))["messages"]
    assert [m["text"] for m in history] == ["Fixed in 2.1", "Why does it crash?"]
    assert history[1]["reply_count"] == 5

    thread = await client.conversations_replies(channel=w.help, ts=question["ts"])
    assert [m["text"] for m in thread["messages"]] == [
        "Why does it crash?",
        "reply 0",
        "reply 1",
        "reply 2",
        "reply 3",
        "Fixed in 2.1",
    ]
    since = await client.conversations_replies(
        channel=w.help, ts=question["ts"], oldest=answers[2]["ts"]
    )
    assert [m["text"] for m in since["messages"]] == [
        "Why does it crash?",
        "reply 3",
        "Fixed in 2.1",
    ]
    # Asking by a reply's ts gives the whole thread; continuation pages leave the starter out.
    pages = [
        [m["text"] for m in page["messages"]]
        async for page in await client.conversations_replies(
            channel=w.help, ts=answers[1]["ts"], limit=4
        )
    ]
    assert pages == [
        ["Why does it crash?", "reply 0", "reply 1", "reply 2"],
        ["reply 3", "Fixed in 2.1"],
    ]
    with pytest.raises(SlackApiError) as missing:
        await client.conversations_replies(channel=w.help, ts="1.000001")
    assert missing.value.response["error"] == "thread_not_found"
    with pytest.raises(FakeSlackError, match="itself a reply"):
        await fake.post_message(w.help, w.bob, "nested?", thread_ts=answers[0]["ts"])


async def test_posting_updating_and_ephemerals_are_recorded(fake_slack):
    fake, w = fake_slack, fake_slack.world
    fake.echo_bot_messages = False
    client = web_client(fake)
    question = await fake.post_message(w.help, w.alice, "Anyone?", deliver=False)
    posted = await client.chat_postMessage(
        channel=w.staff, text="Weekly digest", blocks=buttons(("digest:more", "1"))
    )
    reply = await client.chat_postMessage(
        channel=w.help, text="Here to help", thread_ts=question["ts"]
    )
    updated = await client.chat_update(channel=w.staff, ts=posted["ts"], text="Weekly digest (v2)")
    ephemeral = await client.chat_postEphemeral(channel=w.help, user=w.carol, text="Only you")

    first, second, third, fourth = fake.posted
    assert (first.method, first.channel, first.text, first.ts) == (
        "chat.postMessage",
        w.staff,
        "Weekly digest",
        posted["ts"],
    )
    assert first.action_ids() == ["digest:more"]
    assert all(b.get("block_id") for b in first.blocks)
    assert (second.thread_ts, second.channel) == (question["ts"], w.help)
    assert (third.method, third.text) == ("chat.update", "Weekly digest (v2)")
    assert (fourth.method, fourth.user, fourth.ephemeral, fourth.ts) == (
        "chat.postEphemeral",
        w.carol,
        True,
        ephemeral["message_ts"],
    )
    stored = fake.messages[(w.staff, posted["ts"])]
    assert (stored["user"], stored["bot_id"], stored["text"]) == (
        w.bot_user,
        w.bot_id,
        "Weekly digest (v2)",
    )
    assert stored["edited"]["user"] == w.bot_user
    assert updated["message"]["text"] == "Weekly digest (v2)"
    assert posted["message"]["bot_profile"]["app_id"] == w.app_id
    assert reply["message"]["parent_user_id"] == w.alice
    assert fake.messages[(w.help, question["ts"])]["reply_count"] == 1
    assert [m["ts"] for m in fake.channel_messages(w.staff)] == [posted["ts"]]

    async def error_of(call) -> str:
        with pytest.raises(SlackApiError) as failed:
            await call
        return failed.value.response["error"]

    assert (
        await error_of(client.chat_postMessage(channel=w.not_joined, text="hi")) == "not_in_channel"
    )
    assert await error_of(client.api_call("chat.postMessage", json={"channel": w.general})) == (
        "no_text"
    )
    assert (
        await error_of(client.chat_postMessage(channel="C0NOPE", text="x")) == "channel_not_found"
    )
    assert await error_of(client.chat_update(channel=w.help, ts=question["ts"], text="x")) == (
        "cant_update_message"
    )
    assert await error_of(client.chat_postEphemeral(channel=w.staff, user=w.alice, text="x")) == (
        "user_not_in_channel"
    )
    assert len(fake.posted) == 4

    # Form-encoded bodies (blocks as a JSON string) work as JSON bodies do.
    form = await client.api_call(
        "chat.postMessage",
        data={"channel": "#general", "text": "form", "blocks": json.dumps(buttons(("a", "1")))},
    )
    assert form["channel"] == w.general
    assert fake.posted[-1].action_ids() == ["a"]


async def test_files_upload_v2_lands_in_uploads_and_the_channel(fake_slack):
    fake, w = fake_slack, fake_slack.world
    client = web_client(fake)
    result = await client.files_upload_v2(
        channel=w.staff,
        file=tiny_png(),
        filename="weekly.png",
        title="Members per tier",
        initial_comment="This week's chart",
    )
    [upload] = fake.uploads
    assert upload.completed
    assert (upload.filename, upload.title, upload.channel) == (
        "weekly.png",
        "Members per tier",
        w.staff,
    )
    assert upload.data == tiny_png()
    assert upload.length == len(tiny_png())
    assert upload.initial_comment == "This week's chart"
    assert result["file"]["id"] == upload.file_id
    assert result["file"]["mimetype"] == "image/png"
    assert [c.method for c in fake.calls] == [
        "files.getUploadURLExternal",
        "files.completeUploadExternal",
    ]
    [message] = fake.channel_messages(w.staff)
    assert message["files"][0]["id"] == upload.file_id
    assert message["text"] == "This week's chart"


async def test_rate_limits_answer_429_until_the_retry_handler_succeeds(fake_slack):
    fake, w = fake_slack, fake_slack.world
    fake.rate_limit("conversations.history", times=2, retry_after=0)
    plain = web_client(fake)
    with pytest.raises(SlackApiError) as limited:
        await plain.conversations_history(channel=w.general)
    assert limited.value.response.status_code == 429
    assert limited.value.response["error"] == "ratelimited"
    assert limited.value.response.headers["Retry-After"] == "0"

    patient = web_client(fake, retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=2)])
    history = await patient.conversations_history(channel=w.general)
    assert history["ok"]
    assert [c.status for c in fake.calls_to("conversations.history")] == [429, 429, 200]


async def test_missing_scopes_refuse_methods_and_withhold_events():
    async with started_fake_slack(scopes=("chat:write", "channels:history")) as fake:
        w = fake.world
        client = web_client(fake)
        with pytest.raises(SlackApiError) as refused:
            await client.users_info(user=w.alice)
        assert refused.value.response["error"] == "missing_scope"
        assert refused.value.response["needed"] == "users:read"
        recorder = Recorder(fake)
        async with over_socket_mode(recorder, fake):
            message = await fake.post_message(w.general, w.alice, "hello")
            await fake.add_reaction(w.general, message["ts"], w.bob, "wave")
            await fake.wait_for(lambda: recorder.events, what="the message event")
        assert [e["type"] for e in recorder.events] == ["message"]
        [(event, reason)] = fake.undelivered
        assert event["type"] == "reaction_added"
        assert "reactions:read" in reason


# ---------------------------------------------------------------- Events API over HTTP


async def test_bolt_over_http_receives_signed_events(fake_slack, http_app):
    fake, w = fake_slack, fake_slack.world
    message = await fake.post_message(w.help, w.alice, f"How do I deploy, <@{w.bob}>?")
    delivery = fake.last_delivery
    assert (delivery.transport, delivery.status, delivery.acked) == ("http", 200, True)
    [event] = await fake.wait_for(lambda: http_app.of_type("message"), what="the message")
    assert event["ts"] == message["ts"]
    assert (event["channel"], event["user"], event["channel_type"]) == (w.help, w.alice, "channel")
    assert event["client_msg_id"]
    mention = event["blocks"][0]["elements"][0]["elements"][1]
    assert mention == {"type": "user", "user_id": w.bob}
    envelope = delivery.payload
    assert (envelope["type"], envelope["team_id"], envelope["api_app_id"]) == (
        "event_callback",
        w.team,
        w.app_id,
    )
    assert envelope["event_id"].startswith("Ev")
    assert envelope["authorizations"][0]["user_id"] == w.bot_user
    # Bolt asks auth.test who it is before the first dispatch.
    assert [c.method for c in fake.calls] == ["auth.test"]


async def test_forged_stale_tampered_and_unsigned_requests_are_rejected(fake_slack, http_app):
    fake, w = fake_slack, fake_slack.world
    body = json.dumps(fake.event_callback({"type": "app_mention", "user": w.alice}))

    async def status_of(data: str, headers: dict[str, str]) -> int:
        answer = await fake.send_http(data, headers={"Content-Type": "application/json", **headers})
        assert answer is not None
        return answer[0]

    assert await status_of(body, signed_headers("not-the-secret", body)) == 401
    stale = int(time.time()) - SIGNATURE_MAX_AGE - 60
    assert await status_of(body, signed_headers(fake.signing_secret, body, stale)) == 401
    tampered = body.replace(w.alice, w.bob)
    assert await status_of(tampered, signed_headers(fake.signing_secret, body)) == 401
    assert await status_of(body, {}) == 401
    assert http_app.events == []
    assert await status_of(body, signed_headers(fake.signing_secret, body)) == 200
    assert [e["type"] for e in http_app.events] == ["app_mention"]
    now = str(int(time.time()))
    assert signed_headers("s", "b", int(now))["X-Slack-Signature"] == sign("s", now, "b")


async def test_a_wrong_signing_secret_shows_as_failed_deliveries(fake_slack, http_app):
    fake, w = fake_slack, fake_slack.world
    fake.deliver_http(http_app.url, signing_secret="rotated-secret")
    await fake.post_message(w.general, w.bob, "hi")
    assert fake.last_delivery.status == 401
    assert fake.failed_deliveries() == [fake.last_delivery]
    with pytest.raises(FakeSlackError, match="did not acknowledge"):
        fake.assert_no_surprises()
    fake.strict = False


async def test_every_event_kind_arrives_as_slack_shapes_it(fake_slack, http_app):
    fake, w = fake_slack, fake_slack.world
    question = await fake.post_message(w.help, w.alice, "Where are the docs?")
    answer = await fake.post_message(w.help, w.bob, "docs.example.com", thread_ts=question["ts"])
    await fake.post_message(w.help, w.carol, "Pinned it", thread_ts=question["ts"], broadcast=True)
    await fake.edit_message(w.help, question["ts"], "Where are the API docs?")
    await fake.delete_message(w.help, answer["ts"])
    await fake.add_reaction(w.help, question["ts"], w.bob, "thumbsup")
    await fake.remove_reaction(w.help, question["ts"], w.bob, "thumbsup")
    await fake.bot_message(w.general, "Deployed v2.1")
    await fake.post_message(w.general, w.other_bot, "beep")
    dave = await fake.team_join("dave")
    await fake.join_channel(dave["id"], w.help)
    events = await fake.wait_for(lambda: len(http_app.events) == 14 and http_app.events)
    kinds = [(e["type"], e.get("subtype")) for e in events]
    assert kinds == [
        ("message", None),
        ("message", None),
        ("message", "thread_broadcast"),
        ("message", "message_changed"),
        ("message", "message_deleted"),
        ("reaction_added", None),
        ("reaction_removed", None),
        ("message", "bot_message"),
        ("message", None),
        ("team_join", None),
        ("message", "channel_join"),
        ("member_joined_channel", None),
        ("message", "channel_join"),
        ("member_joined_channel", None),
    ]
    reply = events[1]
    assert (reply["thread_ts"], reply["parent_user_id"]) == (question["ts"], w.alice)
    assert events[2]["root"]["ts"] == question["ts"]
    changed = events[3]
    assert changed["message"]["text"] == "Where are the API docs?"
    assert changed["previous_message"]["text"] == "Where are the docs?"
    assert changed["message"]["edited"]["user"] == w.alice
    assert events[4]["deleted_ts"] == answer["ts"]
    reaction = events[5]
    assert reaction["item"] == {"type": "message", "channel": w.help, "ts": question["ts"]}
    assert (reaction["user"], reaction["item_user"], reaction["reaction"]) == (
        w.bob,
        w.alice,
        "thumbsup",
    )
    legacy = events[7]
    assert legacy["bot_id"]
    assert "user" not in legacy
    by_bot = events[8]
    assert (by_bot["user"], by_bot["bot_id"]) == (w.other_bot, w.other_bot_id)
    assert by_bot["bot_profile"]["id"] == w.other_bot_id
    assert events[9]["user"]["id"] == dave["id"]
    assert events[9]["user"]["profile"]["display_name"] == "dave"
    assert (events[10]["channel"], events[10]["user"]) == (w.general, dave["id"])
    assert (events[13]["channel"], events[13]["channel_type"]) == (w.help, "C")

    # What catch-up would find afterwards: the edit, the deletion and the reactions stuck.
    stored = fake.messages[(w.help, question["ts"])]
    assert stored["text"] == "Where are the API docs?"
    assert "reactions" not in stored
    assert stored["reply_count"] == 1
    assert dave["id"] in fake.members[w.help]


async def test_reactions_show_on_the_stored_message(fake_slack):
    fake, w = fake_slack, fake_slack.world
    tip = await fake.post_message(w.general, w.alice, "Tip: use --fast", deliver=False)
    await fake.add_reaction(w.general, tip["ts"], w.bob, "tada", deliver=False)
    await fake.add_reaction(w.general, tip["ts"], w.carol, "tada", deliver=False)
    history = (await web_client(fake).conversations_history(channel=w.general))["messages"]
    assert history[0]["reactions"] == [{"name": "tada", "users": [w.bob, w.carol], "count": 2}]
    with pytest.raises(FakeSlackError, match="already_reacted"):
        await fake.add_reaction(w.general, tip["ts"], w.bob, "tada")
    with pytest.raises(FakeSlackError, match="no_reaction"):
        await fake.remove_reaction(w.general, tip["ts"], w.alice, "tada")


async def test_a_deleted_thread_starter_stays_as_a_tombstone(fake_slack):
    fake, w = fake_slack, fake_slack.world
    starter = await fake.post_message(w.help, w.alice, "q", deliver=False)
    await fake.post_message(w.help, w.bob, "a", thread_ts=starter["ts"], deliver=False)
    await fake.delete_message(w.help, starter["ts"], deliver=False)
    [tombstone] = (await web_client(fake).conversations_history(channel=w.help))["messages"]
    assert (tombstone["subtype"], tombstone["reply_count"]) == ("tombstone", 1)


async def test_channels_the_bot_is_not_in_send_no_events(fake_slack, http_app):
    fake, w = fake_slack, fake_slack.world
    stored = await fake.post_message(w.not_joined, w.alice, "off topic")
    assert fake.deliveries == []
    assert fake.last_delivery is None
    [(event, reason)] = fake.undelivered
    assert event["ts"] == stored["ts"]
    assert "not in channel" in reason
    assert fake.channel_messages(w.not_joined) == [stored]
    # Once the bot joins, the channel's events reach it. Bolt drops the bot's own channel_join
    # message as a self event but keeps member_joined_channel.
    await fake.join_channel(w.bot_user, w.not_joined)
    await fake.post_message(w.not_joined, w.bob, "welcome, bot")
    await fake.wait_for(lambda: len(http_app.events) == 2, what="member_joined and the message")
    assert [(e["type"], e.get("user")) for e in http_app.events] == [
        ("member_joined_channel", w.bot_user),
        ("message", w.bob),
    ]
    assert [d.event.get("subtype") for d in fake.deliveries] == ["channel_join", None, None]


async def test_retries_carry_slacks_headers_and_the_same_event_id(fake_slack, http_app):
    fake, w = fake_slack, fake_slack.world
    await fake.post_message(w.general, w.alice, "hi")
    first = fake.last_delivery
    retry = await fake.redeliver(first, retry_num=2, reason="timeout")
    assert retry.event_id == first.event_id
    assert retry.acked
    await fake.wait_for(lambda: len(http_app.events) == 2)
    assert http_app.retries == [(None, None), ("2", "timeout")]
    command = await fake.slash_command("/ping", "", w.alice)
    with pytest.raises(FakeSlackError, match="Events API deliveries only"):
        await fake.redeliver(command)


async def test_the_apps_own_posts_come_back_as_events_bolt_ignores(fake_slack, http_app):
    fake, w = fake_slack, fake_slack.world
    posted = await http_app.client.chat_postMessage(channel=w.general, text="Weekly digest")
    echo = await fake.wait_for(
        lambda: next(
            (d for d in fake.deliveries if d.event and d.event.get("bot_id") and d.acked), None
        ),
        what="the echo of the app's own message",
    )
    assert echo.event["ts"] == posted["ts"]
    assert echo.event["user"] == w.bot_user
    assert echo.acked
    assert http_app.events == []  # Bolt's ignoring_self_events middleware acked and dropped it


async def test_an_event_without_a_listener_is_not_acknowledged(fake_slack):
    fake, w = fake_slack, fake_slack.world
    bare = Recorder(fake)
    bare.app = AsyncApp(client=bare.client, signing_secret=fake.signing_secret)
    async with served_over_http(fake, bare):
        await fake.post_message(w.general, w.alice, "nobody listens")
    # Bolt answers 404 to what no listener matches (and over Socket Mode sends no ack at all),
    # so Slack would retry it; the fixture fails the test at teardown unless it expects this.
    assert fake.last_delivery.status == 404
    assert fake.failed_deliveries() == [fake.last_delivery]
    fake.strict = False


async def test_over_socket_mode_bolt_does_not_ack_an_unhandled_event():
    async with started_fake_slack(ack_timeout=0.3) as fake:
        bare = Recorder(fake)
        bare.app = AsyncApp(client=bare.client)
        async with over_socket_mode(bare, fake):
            await fake.post_message(fake.world.general, fake.world.alice, "nobody listens")
        assert (fake.last_delivery.timed_out, fake.last_delivery.ack) == (True, None)


# ---------------------------------------------------------------- commands and buttons


async def test_a_slash_command_is_acked_then_answered_through_its_response_url(
    fake_slack, http_app
):
    fake, w = fake_slack, fake_slack.world
    command = await fake.slash_command("/quiet", "5", w.carol, channel=w.staff)
    assert (command.status, command.answer) == (200, None)
    response = await fake.wait_for_response(command)
    [received] = http_app.commands
    assert (received["command"], received["text"], received["user_id"]) == ("/quiet", "5", w.carol)
    assert (received["channel_id"], received["channel_name"]) == (w.staff, "devrel-staff")
    assert received["response_url"] == command.response_url
    assert received["trigger_id"]
    assert (response.via, response.response_type, response.ephemeral) == (
        "response_url",
        "ephemeral",
        True,
    )
    assert response.text == "bob and dave went quiet"
    assert response.action_ids() == ["outreach:done", "outreach:done"]
    assert fake.responses == [response]

    with pytest.raises(FakeSlackError, match="pick one by value"):
        await fake.press_button(response, "outreach:done", w.carol)
    with pytest.raises(FakeSlackError, match=r"no button 'outreach:snooze'"):
        await fake.press_button(response, "outreach:snooze", w.carol)
    press = await fake.press_button(response, "outreach:done", w.carol, value="U0DAVE")
    assert press.acked
    [action_body] = http_app.actions
    assert action_body["type"] == "block_actions"
    assert action_body["container"] == {
        "type": "message",
        "message_ts": response.ts,
        "channel_id": w.staff,
        "is_ephemeral": True,
    }
    assert "message" not in action_body  # Slack sends no message for an ephemeral source
    [action] = action_body["actions"]
    assert (action["action_id"], action["value"], action["type"]) == (
        "outreach:done",
        "U0DAVE",
        "button",
    )
    assert action["block_id"]
    replaced = await fake.wait_for_response(press)
    assert (replaced.replace_original, replaced.text, replaced.ts) == (
        True,
        "Marked U0DAVE",
        response.ts,
    )
    assert fake.ephemerals[response.ts]["text"] == "Marked U0DAVE"
    assert fake.ephemerals[response.ts]["blocks"] == []
    with pytest.raises(FakeSlackError, match=r"no button 'outreach:done'"):
        await fake.press_button(response, "outreach:done", w.carol, value="U0BOB")


async def test_a_command_answered_inline_and_a_button_on_a_channel_message(fake_slack, http_app):
    fake, w = fake_slack, fake_slack.world
    command = await fake.slash_command("/ping", "hello", w.alice)
    assert command.answer == {"text": "pong hello"}
    response = await fake.wait_for_response(command)
    assert (response.via, response.text, response.channel) == ("ack", "pong hello", w.general)

    posted = await http_app.client.chat_postMessage(
        channel=w.staff,
        text="Quiet list",
        blocks=buttons(("outreach:done", "U0BOB"), ("outreach:snooze", "U0BOB")),
    )
    [record] = [p for p in fake.posted if p.ts == posted["ts"]]
    snooze = await fake.press_button(record, "outreach:snooze", w.carol)
    body = http_app.actions[-1]
    assert body["container"]["is_ephemeral"] is False
    assert body["message"]["ts"] == posted["ts"]
    assert body["channel"] == {"id": w.staff, "name": "devrel-staff"}
    # Without replace_original a response is a new ephemeral message for the presser.
    note = await fake.wait_for_response(snooze)
    assert (note.ephemeral, note.user, note.text) == (True, w.carol, "Snoozed for two weeks")
    assert note.ts != posted["ts"]
    # A message dict from history works as a source too.
    done = await fake.press_button(fake.messages[(w.staff, posted["ts"])], "outreach:done", w.carol)
    replaced = await fake.wait_for_response(done)
    assert (replaced.ts, replaced.ephemeral) == (posted["ts"], False)
    assert fake.messages[(w.staff, posted["ts"])]["text"] == "Marked U0BOB"
    assert fake.messages[(w.staff, posted["ts"])]["edited"]["user"] == w.bot_user
    changed = await fake.wait_for(
        lambda: [
            d
            for d in fake.deliveries
            if d.acked and d.event and d.event.get("subtype") == "message_changed"
        ],
        what="the echo of the replaced message",
    )
    assert changed[0].event["message"]["text"] == "Marked U0BOB"
    with pytest.raises(FakeSlackError, match="slash commands start with"):
        await fake.slash_command("quiet", "", w.carol)


# ---------------------------------------------------------------- Socket Mode


async def test_socket_mode_hello_events_acks_and_reconnects(fake_slack, socket_app):
    fake, w = fake_slack, fake_slack.world
    [connection] = fake.connections
    assert connection.sent[0]["type"] == "hello"
    assert connection.sent[0]["connection_info"] == {"app_id": w.app_id}
    assert [c.token for c in fake.calls_to("apps.connections.open")] == [fake.app_token]

    await fake.post_message(w.general, w.alice, "over the socket")
    delivery = fake.last_delivery
    assert (delivery.transport, delivery.acked) == ("socket", True)
    assert delivery.ack == {"envelope_id": delivery.envelope_id}
    envelope = connection.sent[-1]
    assert (envelope["type"], envelope["accepts_response_payload"]) == ("events_api", False)
    assert (envelope["retry_attempt"], envelope["retry_reason"]) == (0, "")
    await fake.wait_for(lambda: socket_app.events, what="the event")

    await fake.disconnect_socket()
    await fake.post_message(w.general, w.bob, "after the blip")
    assert fake.last_delivery.acked
    await fake.wait_for(lambda: len(socket_app.events) == 2, what="the event after reconnecting")
    assert len(fake.connections) == 2
    assert len(fake.calls_to("apps.connections.open")) == 2

    await fake.disconnect_socket(reason="refresh_requested")
    retry = await fake.redeliver(delivery, retry_num=1, reason="timeout")
    assert retry.acked
    assert fake.connections[-1].sent[-1]["retry_attempt"] == 1
    await fake.wait_for(lambda: len(socket_app.events) == 3)
    # Bolt 1.30 turns retry_attempt into headers, the first attempt's 0 included.
    assert socket_app.retries == [("0", ""), ("0", ""), ("1", "timeout")]


async def test_socket_mode_commands_and_buttons(fake_slack, socket_app):
    fake, w = fake_slack, fake_slack.world
    inline = await fake.slash_command("/ping", "there", w.bob)
    envelope = fake.connections[-1].sent[-1]
    assert (envelope["type"], envelope["accepts_response_payload"]) == ("slash_commands", True)
    assert envelope["payload"]["command"] == "/ping"
    assert inline.answer == {"text": "pong there"}

    command = await fake.slash_command("/quiet", "", w.carol, channel=w.staff)
    response = await fake.wait_for_response(command)
    # The ephemeral as fake.ephemerals holds it works as a source too.
    press = await fake.press_button(fake.ephemerals[response.ts], "outreach:done", w.carol, "U0BOB")
    assert fake.connections[-1].sent[-1]["type"] == "interactive"
    assert fake.connections[-1].sent[-1]["payload"]["container"]["is_ephemeral"] is True
    replaced = await fake.wait_for_response(press)
    assert replaced.text == "Marked U0BOB"


async def test_deliveries_wait_for_the_app_to_connect(fake_slack):
    fake, w = fake_slack, fake_slack.world
    recorder = Recorder(fake)
    pending = asyncio.create_task(fake.post_message(w.general, w.alice, "early bird"))
    await fake.wait_for(lambda: fake.deliveries, what="the delivery to be queued")
    assert fake.deliveries[0].transport is None
    async with over_socket_mode(recorder, fake):
        await pending
        await fake.wait_for(lambda: recorder.events, what="the early message")
    assert fake.deliveries[0].acked


async def test_a_raw_socket_mode_client_and_an_unacknowledged_envelope():
    async with started_fake_slack(ack_timeout=0.3) as fake:
        w = fake.world
        seen: list[dict[str, Any]] = []
        client = SocketModeClient(app_token=fake.app_token, web_client=web_client(fake))

        async def listen(client, message, raw) -> None:
            seen.append(message)

        async def answer(client, request: SocketModeRequest) -> None:
            if request.type == "slash_commands":
                response = SocketModeResponse(request.envelope_id, payload={"text": "on it"})
                await client.send_socket_mode_response(response)

        client.message_listeners.append(listen)
        client.socket_mode_request_listeners.append(answer)
        await client.connect()
        try:
            await fake.wait_for(lambda: seen, what="hello")
            assert seen[0]["type"] == "hello"
            command = await fake.slash_command("/quiet", "", w.carol)
            assert command.ack["payload"] == {"text": "on it"}
            assert command.answer == {"text": "on it"}
            # Nobody acks events here: after ack_timeout the delivery counts as not acked.
            await fake.post_message(w.general, w.alice, "hello?")
            unanswered = fake.last_delivery
            assert (unanswered.timed_out, unanswered.acked) == (True, False)
            assert fake.failed_deliveries() == [unanswered]
        finally:
            await client.close()


async def test_an_envelope_cut_off_by_a_disconnect_is_sent_again_after_reconnecting(fake_slack):
    fake, w = fake_slack, fake_slack.world
    received: list[str] = []
    client = SocketModeClient(app_token=fake.app_token, web_client=web_client(fake))

    async def ack_the_second_time(client, request: SocketModeRequest) -> None:
        received.append(request.payload["event_id"])
        if received.count(request.payload["event_id"]) == 2:
            await client.send_socket_mode_response(SocketModeResponse(request.envelope_id))

    client.socket_mode_request_listeners.append(ack_the_second_time)
    await client.connect()
    try:
        sending = asyncio.create_task(fake.post_message(w.general, w.alice, "mid-blip"))
        await fake.wait_for(lambda: received, what="the first, unacknowledged send")
        await fake.disconnect_socket()
        await sending
        delivery = fake.last_delivery
        assert delivery.acked
        assert received == [delivery.event_id, delivery.event_id]
        assert len(fake.connections) == 2
        assert fake.connections[1].received == [{"envelope_id": delivery.envelope_id}]
    finally:
        await client.close()


async def test_a_socket_mode_ticket_opens_one_connection(fake_slack):
    fake = fake_slack
    url = (await web_client(fake).apps_connections_open(app_token=fake.app_token))["url"]
    async with aiohttp.ClientSession() as session, session.ws_connect(url) as first:
        hello = await first.receive_json()
        assert hello["type"] == "hello"
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await session.ws_connect(url)
        assert refused.value.status == 401


async def test_no_app_at_all_fails_with_a_clear_message():
    async with started_fake_slack(connect_timeout=0.2) as fake:
        with pytest.raises(FakeSlackError, match="no app connected over Socket Mode"):
            await fake.post_message(fake.world.general, fake.world.alice, "anyone?")


# ---------------------------------------------------------------- time, waiting, fidelity


async def test_timestamps_come_from_the_injected_clock():
    moment = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
    async with started_fake_slack(clock=FixedClock(moment)) as fake:
        w = fake.world
        first = await fake.post_message(w.general, w.alice, "a", deliver=False)
        second = await fake.post_message(w.general, w.bob, "b", deliver=False)
        old = await fake.post_message(
            w.general, w.carol, "c", at=moment - timedelta(days=2), deliver=False
        )
        assert ts_datetime(first["ts"]) == moment
        assert ts_datetime(second["ts"]) == moment + timedelta(microseconds=1)
        assert ts_datetime(old["ts"]) == moment - timedelta(days=2)
        assert [m["text"] for m in fake.channel_messages(w.general)] == ["c", "a", "b"]
        with pytest.raises(ValueError, match="naive"):
            fake.new_ts(datetime(2026, 1, 1))  # noqa: DTZ001 - the error under test


async def test_wait_for_names_what_it_waited_for_and_the_last_calls(fake_slack):
    fake = fake_slack
    await web_client(fake).auth_test()
    with pytest.raises(FakeSlackError, match=r"the impossible.*auth\.test -> ok"):
        await fake.wait_for(lambda: False, timeout=0.05, what="the impossible")


def _sample(name: str) -> dict[str, Any]:
    path = SHARED_PAYLOADS / f"java-slack-sdk_{name}.json"
    if not path.exists():
        pytest.skip(f"{path} is absent: the payload samples live in ../shared/payloads")
    return json.loads(path.read_text())


# Keys the samples carry that a single-workspace (non-Enterprise Grid) app does not get, or that
# Slack has retired (authed_users/authed_teams).
NOT_FOR_THIS_WORKSPACE = {
    "enterprise_id",
    "enterprise_name",
    "authed_users",
    "authed_teams",
    "enterprise",
}


async def test_payloads_have_every_key_of_slacks_samples(fake_slack, http_app):
    fake, w = fake_slack, fake_slack.world
    question = await fake.post_message(w.help, w.alice, "q")
    await fake.post_message(w.help, w.bob, "a", thread_ts=question["ts"])
    await fake.post_message(w.help, w.carol, "b", thread_ts=question["ts"], broadcast=True)
    await fake.post_message(w.general, w.other_bot, "beep")
    await fake.edit_message(w.help, question["ts"], "q2")
    await fake.add_reaction(w.help, question["ts"], w.bob, "eyes")
    await fake.bot_message(w.general, "deployed")
    await fake.team_join("dave", join_general=False)
    await fake.join_channel(w.alice, w.staff, inviter=w.carol)
    command = await fake.slash_command("/ping", "x", w.alice)
    envelopes = [d.payload for d in fake.deliveries if d.kind == "events_api"]
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for envelope in envelopes:
        event = envelope["event"]
        by_kind.setdefault(event.get("subtype") or event["type"], []).append(event)

    def missing(sample: dict[str, Any], ours: list[dict[str, Any]], optional: set[str]) -> set:
        have = set().union(*(set(o) for o in ours))
        return set(sample) - have - optional - NOT_FOR_THIS_WORKSPACE

    sample = _sample("MessagePayload")
    assert not set(sample) - set(envelopes[0]) - NOT_FOR_THIS_WORKSPACE
    # A typed message, a reply and a bot user's message together cover every situational key.
    assert not missing(sample["event"], by_kind["message"], {"attachments", "metadata", "edited"})
    checks = [
        ("MessageThreadBroadcastPayload", "thread_broadcast", {"attachments"}),
        ("MessageChangedPayload", "message_changed", set()),
        ("ReactionAddedPayload", "reaction_added", set()),
        ("MessageBotPayload", "bot_message", {"blocks", "attachments", "thread_ts"}),
        ("MessageChannelJoinPayload", "channel_join", set()),
        ("MemberJoinedChannelPayload", "member_joined_channel", set()),
    ]
    for name, kind, optional in checks:
        gap = missing(_sample(name)["event"], by_kind[kind], optional)
        assert not gap, f"{name}: the fake's {kind} lacks {sorted(gap)}"
    user_sample = _sample("TeamJoinPayload")["event"]["user"]
    # Present only for some users or with extra request flags (presence, locale, 2FA, grid).
    situational = {
        "is_invited_user",
        "is_connector_bot",
        "is_stranger",
        "has_2fa",
        "presence",
        "enterprise_user",
        "two_factor_type",
        "has_files",
        "locale",
        "is_workflow_bot",
    }
    [joined] = by_kind["team_join"]
    assert not set(user_sample) - set(joined["user"]) - situational
    profile_situational = {
        "guest_channels",
        "guest_invited_by",
        "guest_expiration_ts",
        "bot_id",
        "email",
        "api_app_id",
        "always_active",
        "image_original",
        "image_1024",
        "is_custom_image",
        "pronouns",
        "huddle_state",
        "huddle_state_expiration_ts",
        "status_emoji_url",
    }
    assert not set(user_sample["profile"]) - set(joined["user"]["profile"]) - profile_situational
    gap = set(_sample("SlashCommandPayload")) - set(command.payload) - NOT_FOR_THIS_WORKSPACE
    assert not gap


async def test_a_wait_that_runs_out_names_what_it_waited_for(fake_slack):
    with pytest.raises(
        FakeSlackError,
        match=r"timed out after 0.05s waiting for 'the moon'; last Web API calls: none",
    ):
        await fake_slack.wait_for(lambda: False, timeout=0.05, what="the moon")
    assert await fake_slack.wait_for(lambda: "here", timeout=0.05) == "here"
