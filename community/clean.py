"""Platform strings made storable once, at the edge, so every backend accepts what one accepts.

Names (members, channels, spaces) and contribution kinds are display text: control characters
(NUL among them, which PostgreSQL refuses in text) and lone surrogates (which no UTF-8 database
can store) are removed, line breaks, tabs and other spaces become a plain space, and the result
is clipped to its column. Nothing needs the full value, so clipping loses nothing that
matters. Format characters (zero-width joiners in emoji, bidi marks in some scripts) and code
points this Python does not know yet (newer emoji) are kept: removing them would mangle names.

Ids cannot be clipped or cleaned: two distinct ids must stay distinct, and the same id must map
to the same value on every replay and import, since the writer is idempotent on it. An id that
is too long or holds a character no backend stores is replaced by a readable prefix and a digest
of the whole (the scheme community.ids uses for long reaction ids): stable, within the column,
and unique in practice. Rejecting such events instead would drop real activity over a quirk.
"""

from __future__ import annotations

import hashlib
import unicodedata

# Column sizes of storage.models, restated here because community/ imports no storage.
NAME_LENGTH = 200  # spaces.name, channels.name, members.display_name
CONTRIBUTION_KIND_LENGTH = 16  # contributions.kind
PLATFORM_ID_LENGTH = 64  # spaces/channels/members.platform_id
EVENT_ID_LENGTH = 200  # activities.event_id, activities.parent_event_id
# How much of a fitted event id stays readable (community.ids fits long reaction ids alike).
ID_PREFIX = 120

_DIGEST_LENGTH = 40
# Unicode categories removed from names: controls, surrogates, line and paragraph separators.
_DROPPED = frozenset({"Cc", "Cs", "Zl", "Zp"})


def clean_name(value: str | None, limit: int = NAME_LENGTH) -> str | None:
    """VALUE as storable display text of at most LIMIT characters; None when nothing is left."""
    if value is None or (value.isprintable() and len(value) <= limit):
        return value  # nearly every name: one C-speed scan
    kept = []
    for char in value:
        category = unicodedata.category(char)
        if category in _DROPPED:
            if char.isspace():
                kept.append(" ")  # a tab or line break separated words
            continue
        kept.append(" " if category == "Zs" else char)
    cleaned = "".join(kept)[:limit]
    return cleaned or None


def fit_id(value: str, limit: int, keep: int | None = None) -> str:
    """VALUE as a storable id of at most LIMIT characters, distinct ids staying distinct.

    KEEP is how many leading characters stay readable before the digest (default: as many as
    fit).
    """
    if len(value) <= limit and value.isprintable():
        return value
    if len(value) <= limit and not any(unicodedata.category(c) in _DROPPED for c in value):
        return value  # a printable-enough id (a space of another script, a format character)
    keep = limit - _DIGEST_LENGTH - 1 if keep is None else keep
    prefix = "".join(c for c in value[:keep] if unicodedata.category(c) not in _DROPPED)
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{prefix}~{digest[:_DIGEST_LENGTH]}"
