"""No member text in Pulse's logs, even from requests that fail Slack's signature check."""

import json
import logging
import time

from bot.slack.logs import WithholdBodies
from tests.factories import settle
from tests.fakes.slack import signed_headers
from tests.platforms.test_slack import free_port, pulse_slack

FORGED_TEXT = "forged-zebra-7731 my password is hunter2"
SIGNED_TEXT = "signed-okapi-4410 please keep this private"


async def test_rejected_and_accepted_bodies_never_reach_the_logs(fake_slack, sqlite_engine, caplog):
    fake, w = fake_slack, fake_slack.world
    caplog.set_level(logging.DEBUG)  # the most a verbose operator could see
    async with pulse_slack(fake, sqlite_engine, mode="http", port=free_port()) as pulse:
        await fake.post_message(w.general, w.alice, SIGNED_TEXT)
        await settle(fake, pulse, 1)
        event = fake.event_callback(
            fake._message_event(
                w.general,
                {"type": "message", "user": w.alice, "text": FORGED_TEXT, "ts": "1.000001"},
            )
        )
        body = json.dumps(event)
        for headers in (
            signed_headers("not-the-secret", body),
            signed_headers(fake.signing_secret, body, timestamp=int(time.time()) - 600),
            {"Content-Type": "application/json"},
        ):
            status, _, _ = await fake.send_http(
                body, headers={"Content-Type": "application/json", **headers}
            )
            assert status == 401
    messages = [r.getMessage() for r in caplog.records]
    assert any("Invalid request signature" in m for m in messages), "the refusal is logged"
    for text in (FORGED_TEXT, SIGNED_TEXT, "hunter2", "okapi"):
        assert not [m for m in messages if text in m], text


def test_the_filter_keeps_the_line_and_cuts_the_body():
    record = logging.LogRecord(
        "slack_bolt.AsyncApp", logging.WARNING, __file__, 1,
        "A global middleware (%s) skipped calling either `next()` or `next_()` without "
        "providing a response for the request (%s)", ("m", {"text": "secret words"}), None,
    )  # fmt: skip
    assert WithholdBodies().filter(record)
    message = record.getMessage()
    assert "secret words" not in message
    assert message.endswith("for the request (withheld)")
