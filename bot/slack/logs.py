"""Keep member text out of the logs that slack-bolt and slack-sdk write.

Bolt logs the whole body of a request that fails the signature check at INFO, and the SDK logs
every Web API response (conversations.history: members' messages) at DEBUG. Neither may reach
Pulse's logs.
"""

from __future__ import annotations

import logging
import re

# Bolt sets each of its loggers' levels from the root logger's when it creates them, so only a
# filter on the logger itself holds; these are the ones that put a request body in a message.
BOLT_LOGGERS = ("slack_bolt.RequestVerification", "slack_bolt.AsyncApp", "slack_bolt.App")
_BODY = re.compile(r"(body: |for the request \().*", re.DOTALL)


class WithholdBodies(logging.Filter):
    """Cut a request body out of a log record's message, keeping the rest of the line."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record in place; never drop it."""
        message = record.getMessage()
        cut = _BODY.sub(r"\1withheld)", message)
        if cut != message:
            record.msg, record.args = cut, ()
        return True


def withhold_request_bodies() -> None:
    """Install the filter on Bolt's loggers and keep the SDK's response dumps out (idempotent)."""
    for name in BOLT_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, WithholdBodies) for f in logger.filters):
            logger.addFilter(WithholdBodies())
    sdk = logging.getLogger("slack_sdk")
    if sdk.getEffectiveLevel() < logging.INFO:
        sdk.setLevel(logging.INFO)
