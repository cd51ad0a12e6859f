"""Slack's wire formats: request signatures, message timestamps, rich text."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from .constants import _MENTION


def sign(secret: str, timestamp: int | str, body: str | bytes) -> str:
    """Slack's request signature: v0= + HMAC-SHA256(secret, "v0:{timestamp}:{body}")."""
    raw = body.encode() if isinstance(body, str) else body
    base = b"v0:" + str(timestamp).encode() + b":" + raw
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def signed_headers(secret: str, body: str | bytes, timestamp: int | None = None) -> dict[str, str]:
    """The two headers Slack signs a request with; timestamp defaults to now (wall clock)."""
    # Bolt checks the timestamp against time.time(), not against the fake's clock.
    moment = int(time.time()) if timestamp is None else timestamp
    return {
        "X-Slack-Request-Timestamp": str(moment),
        "X-Slack-Signature": sign(secret, moment, body),
    }


def ts_micros(ts: str) -> int:
    """A Slack timestamp ("1700000000.000100", or whole seconds) as integer microseconds."""
    seconds, _, fraction = str(ts).strip().partition(".")
    if not seconds.isdigit() or (fraction and not fraction.isdigit()):
        raise ValueError(f"not a Slack timestamp: {ts!r}")
    return int(seconds) * 1_000_000 + int((fraction + "000000")[:6])


def micros_ts(micros: int) -> str:
    """Integer microseconds as a Slack timestamp string."""
    return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"


def ts_datetime(ts: str) -> datetime:
    """The moment a Slack timestamp stands for."""
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=ts_micros(ts))


def _micros(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError("naive datetime: pass a timezone-aware one")
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


def _rich_text(text: str) -> list[dict[str, Any]]:
    """The rich_text block Slack's clients attach to a typed message (mentions as user elements)."""
    elements: list[dict[str, Any]] = []
    position = 0
    for found in _MENTION.finditer(text):
        if found.start() > position:
            elements.append({"type": "text", "text": text[position : found.start()]})
        elements.append({"type": "user", "user_id": found.group(1)})
        position = found.end()
    if position < len(text) or not elements:
        elements.append({"type": "text", "text": text[position:]})
    return [
        {
            "type": "rich_text",
            "block_id": secrets.token_urlsafe(4)[:5],
            "elements": [{"type": "rich_text_section", "elements": elements}],
        }
    ]


def _walk_elements(blocks: list[dict[str, Any]] | None) -> Iterator[tuple[dict, dict]]:
    """(block, interactive element) pairs: actions elements and section accessories."""
    for block in blocks or []:
        for element in block.get("elements") or []:
            if isinstance(element, dict) and "action_id" in element:
                yield block, element
        accessory = block.get("accessory")
        if isinstance(accessory, dict) and "action_id" in accessory:
            yield block, accessory


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.lower() in ("1", "true", "yes")
    return bool(value)
