"""One line, not a traceback, for the connection trouble discord.py logs while it reconnects.

discord.py logs each reconnect attempt with the whole traceback of the error that caused it
("Attempting a reconnect in 1.97s"); while Discord is unreachable that is a screenful every few
seconds for an outage Pulse already rides out. The cause is kept, on the same line.
"""

from __future__ import annotations

import logging

from bot.tasks import one_line

RECONNECT_LOGGERS = ("discord.client", "discord.shard")


class OneLineReconnects(logging.Filter):
    """Fold the exception of a reconnect record into its message."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record in place; never drop it."""
        if record.exc_info and str(record.msg).startswith("Attempting a reconnect"):
            message = record.getMessage()
            record.msg = "Discord connection lost (%s); %s"
            record.args = (one_line(record.exc_info[1]), message[:1].lower() + message[1:])
            record.exc_info = None
            record.exc_text = None
        return True


def one_line_reconnects() -> None:
    """Install the filter on discord.py's loggers (idempotent)."""
    for name in RECONNECT_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, OneLineReconnects) for f in logger.filters):
            logger.addFilter(OneLineReconnects())
