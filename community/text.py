"""Features derived from message text at ingestion; the text itself is dropped after."""

from __future__ import annotations

import re
from dataclasses import dataclass

# Thanks in the forms people actually type, matched as whole words so "tyre" is not thanks.
_THANKS = re.compile(
    r"\b(thanks?|thank\s*(you|u)|thx|tysm|ty|tyvm|cheers|much\s+appreciated|merci|danke|gracias)\b",
    re.IGNORECASE,
)
# Code blocks and quotes often end in "?" (a regex, a quoted question), so they are ignored.
_CODE = re.compile(r"```.*?```|`[^`]*`", re.DOTALL)
_QUOTE_LINE = re.compile(r"^\s*>.*$", re.MULTILINE)
_URL = re.compile(r"https?://\S+")
_QUESTION_OPENERS = re.compile(
    r"^(how|why|what|where|when|which|who|is|are|can|could|does|do|did|should|would|will|has|"
    r"have|any(one|body)|help)\b[^.!]{3,}$",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class TextFeatures:
    """What Pulse keeps of a message's text: two booleans."""

    is_question: bool
    is_thanks: bool


def _clean(text: str) -> str:
    text = _CODE.sub(" ", text)
    text = _QUOTE_LINE.sub(" ", text)
    return _URL.sub(" ", text).strip()


def is_question(text: str | None) -> bool:
    """Whether a message asks something: a sentence ending in '?' outside code and quotes."""
    if not text:
        return False
    cleaned = _clean(text)
    if not cleaned:
        return False
    if "?" in cleaned:
        # Any sentence ending in "?" counts, not only the last: "Hi! How do I X? Thanks."
        return re.search(r"\?(\s|$|[)\"'])", cleaned + " ") is not None
    # A one-line message opening like a question still is one when the "?" is forgotten.
    first_line = cleaned.splitlines()[0].strip()
    return len(cleaned.splitlines()) == 1 and bool(_QUESTION_OPENERS.match(first_line))


def is_thanks(text: str | None) -> bool:
    """Whether a message says thank you."""
    if not text:
        return False
    return _THANKS.search(_clean(text)) is not None


def features(text: str | None, *, in_help_channel: bool = False) -> TextFeatures:
    """Derive the kept features of a message; a top-level post in a help channel is a question."""
    return TextFeatures(is_question=in_help_channel or is_question(text), is_thanks=is_thanks(text))
