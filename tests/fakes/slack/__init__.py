"""A local fake Slack (Web API, Events API over HTTP, Socket Mode) on 127.0.0.1.

The real slack_sdk ``AsyncWebClient`` and a real slack_bolt ``AsyncApp`` talk to it unmodified.
See docs/fakes.md for how adapter tests use it. In short::

    async def test_something(fake_slack):
        fake, w = fake_slack, fake_slack.world     # started and seeded
        client = AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)
        ...                                         # start the app (Socket Mode or HTTP)
        await fake.post_message(w.help, w.alice, "How do I deploy?")
        await fake.wait_for(lambda: ..., what="the question to be logged")

Payloads follow Slack's own samples (../shared/payloads/slack/): an event_callback envelope with
team_id, api_app_id, event_id, event_time and authorizations around each event; slash commands
with Slack's form fields; block_actions with container, channel, response_url and actions.
"""

from .constants import (
    ACK_DEADLINE,
    API_PREFIX,
    DEFAULT_BOT_SCOPES,
    EVENT_SCOPES,
    METHOD_SCOPES,
    RESPONSE_URL_USES,
    SIGNATURE_MAX_AGE,
    SLACK_USER_AGENT,
)
from .formats import micros_ts, sign, signed_headers, ts_datetime, ts_micros
from .records import (
    ApiCall,
    Delivery,
    FakeSlackError,
    PostedMessage,
    ResponsePost,
    SocketConnection,
    Upload,
    World,
)
from .server import FakeSlack, fake_slack, started_fake_slack

__all__ = [
    "ACK_DEADLINE",
    "API_PREFIX",
    "DEFAULT_BOT_SCOPES",
    "EVENT_SCOPES",
    "METHOD_SCOPES",
    "RESPONSE_URL_USES",
    "SIGNATURE_MAX_AGE",
    "SLACK_USER_AGENT",
    "ApiCall",
    "Delivery",
    "FakeSlack",
    "FakeSlackError",
    "PostedMessage",
    "ResponsePost",
    "SocketConnection",
    "Upload",
    "World",
    "fake_slack",
    "micros_ts",
    "sign",
    "signed_headers",
    "started_fake_slack",
    "ts_datetime",
    "ts_micros",
]
