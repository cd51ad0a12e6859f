"""Features derived from message text at ingestion; the text itself is dropped after."""

from __future__ import annotations

import re
from dataclasses import dataclass

# Thanks in the forms people actually type, matched as whole words so "tyre" is not thanks.
# The lookahead only lets the alternation start on a letter one of the forms begins with, which
# halves the cost of a search; it matches exactly what the alternation alone would.
_THANKS = re.compile(
    r"\b(?=[tcmdg])"
    r"(thanks?|thank\s*(you|u)|thx|tysm|ty|tyvm|cheers|much\s+appreciated|merci|danke|gracias)\b",
    re.IGNORECASE,
)
# Code blocks and quotes often end in "?" (a regex, a quoted question), so they are ignored.
# Every thank-you form contains one of these (lowercased); checking them first skips the regex,
# which costs tens of microseconds on a long message. None holds a letter that IGNORECASE folds
# from a non-ASCII one (k, s, i), so this never rejects a text the regex would match.
_THANKS_HINTS = re.compile("than|thx|ty|cheer|apprec|merc|dan|grac")
# A short reply that opens with "me too" helps nobody, whatever follows ("+1, since Monday").
_ME_TOO = re.compile(
    r"^\W*(\+1|same( here| issue| problem| error| for me| thing)\b|same\s*([,.!?]|$)|me too|"
    r"ditto|following\b|"
    r"(i'?m |i am )?(having|seeing|getting) the same|(i )?have the same|"
    r"(that |it |this )?(works|worked|fixed it) for me too)",
    re.IGNORECASE,
)
_ME_TOO_MAX = 80
_CODE = re.compile(r"```.*?```|`[^`]*`", re.DOTALL)
_QUOTE_LINE = re.compile(r"^\s*>.*$", re.MULTILINE)
_URL = re.compile(r"https?://\S+")
_QUESTION_MARK = re.compile(r"\?(\s|$|[)\"'])")
# A yes/no question opens with an auxiliary and its subject ("can I", "is it"): "will do" and
# "can do" are answers, not questions.
_QUESTION_OPENERS = re.compile(
    r"^((how|why|what|where|when|which|who|any(one|body)|help)\b[^.!]{3,}|"
    r"(is|are|was|were|can|could|does|do|did|should|would|will|has|have)\s+"
    r"(i|you|we|they|it|this|that|these|those|there|he|she|any(one|body)|some(one|body)|the|a|"
    r"an|my|your|our|their|its)\b[^.!]*)$",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class TextFeatures:
    """What Pulse keeps of a message's text: two booleans."""

    is_question: bool
    is_thanks: bool


# The four possible answers, built once: importers derive features for every message.
_FEATURES = {
    (question, thanks): TextFeatures(is_question=question, is_thanks=thanks)
    for question in (False, True)
    for thanks in (False, True)
}


def _clean(text: str) -> str:
    # Each substitution is skipped when its marker is absent: importers run this per message.
    if "`" in text:
        text = _CODE.sub(" ", text)
    if ">" in text:
        text = _QUOTE_LINE.sub(" ", text)
    if "http" in text:
        text = _URL.sub(" ", text)
    return text.strip()


def _says_thanks(cleaned: str) -> bool:
    lowered = cleaned.lower()
    if _THANKS_HINTS.search(lowered) is None:
        return False
    return _THANKS.search(cleaned) is not None


def _is_question(cleaned: str) -> bool:
    if not cleaned:
        return False
    if "?" in cleaned:
        # Any sentence ending in "?" counts, not only the last: "Hi! How do I X? Thanks."
        return _QUESTION_MARK.search(cleaned + " ") is not None
    # A one-line message opening like a question still is one when the "?" is forgotten.
    lines = cleaned.splitlines()
    return len(lines) == 1 and bool(_QUESTION_OPENERS.match(lines[0].strip()))


def is_question(text: str | None) -> bool:
    """Whether a message asks something: a sentence ending in '?' outside code and quotes."""
    return bool(text) and _is_question(_clean(text))


def is_me_too(text: str | None) -> bool:
    """Whether a reply only says "me too" ("+1", "same here", "having the same issue")."""
    return bool(text) and len(text) <= _ME_TOO_MAX and _ME_TOO.match(text.strip()) is not None


# "thanks all", "thanks both", "thank you everyone": a thank-you aimed at nobody in particular.
_THANKS_ALL = re.compile(
    r"\b(thanks?|thank\s*(you|u)|thx|ty|cheers)[\s,!.]*"
    r"(all|every(one|body)|both|guys|folks|y'?all|people|team|everyone)\b",
    re.IGNORECASE,
)
# How much a thank-you may carry before it is an answer that opens politely.
_MORE_THAN_THANKS = 40


def thanks_all(text: str | None) -> bool:
    """Whether a thank-you is to everyone ("thanks all", "thanks both") rather than one member."""
    return bool(text) and _THANKS_ALL.search(text) is not None


def says_more_than_thanks(text: str | None) -> bool:
    """Whether a message goes on well past its thank-you ("Thanks for the logs! Lower X to 200")."""
    if not text:
        return False
    cleaned = _clean(text)
    found = _THANKS.search(cleaned)
    if found is None:
        return False
    rest = (cleaned[: found.start()] + " " + cleaned[found.end() :]).strip(" \t\n!.,:;-")
    return len(rest) >= _MORE_THAN_THANKS


def is_thanks(text: str | None) -> bool:
    """Whether a message says thank you."""
    return bool(text) and _says_thanks(_clean(text))


def features(text: str | None, *, in_help_channel: bool = False) -> TextFeatures:
    """Derive the kept features of a message; a top-level post in a help channel is a question."""
    cleaned = _clean(text) if text else ""
    return _FEATURES[
        in_help_channel or _is_question(cleaned), bool(cleaned) and _says_thanks(cleaned)
    ]


def message_features(
    text: str | None,
    *,
    in_help_channel: bool = False,
    top_level: bool = True,
    aimed_at_member: bool = False,
) -> TextFeatures:
    """The features adapters and importers keep of one message, before dropping its text.

    Only a top-level post in a help channel is a question by place (a reply there is judged by
    its text), and a thank-you counts only when it is aimed at a member, by a reply or a mention:
    "thanks all" credits nobody.
    """
    found = features(text, in_help_channel=in_help_channel and top_level)
    if found.is_thanks and not aimed_at_member:
        return _FEATURES[found.is_question, False]
    return found
