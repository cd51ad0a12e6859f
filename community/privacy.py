"""Keyed hashes of member ids: how Pulse remembers whom to forget."""

from __future__ import annotations

import hashlib
import hmac


def member_hash(key: bytes, platform: str, space_id: str, member_id: str) -> str:
    """A keyed hash of a member's platform id; the blocklist keeps only this."""
    message = f"{platform}\x1f{space_id}\x1f{member_id}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()
