"""The help graph's rules: whom a reply is aimed at, and so whether it is help.

One rule set for the live adapters, catch-up and both importers (docs/how-pulse-decides.md):

- Help flows from a member to another member they replied to: the author of the message a
  reply references (Discord), else the member who started the thread or reply chain.
- A thread starter's own replies in their thread are follow-ups ("tried that, still failing"):
  aimed at nobody, so never help and never an answer.
- A "me too" ("+1", "same here") helps nobody and answers nothing: it hangs from no question.
- Replies in a thread a bot started help only a member they reference.
- An asker accepts a helper's reply by thanking them in the thread after it, or by reacting to
  it with an accept reaction (``[tiers] accept_reactions``): the reply is an accepted answer.
- A thank-you is aimed at the member it mentions, else the one it replies to, else the last
  member other than the thanker who spoke in the thread; "thanks all" credits nobody, and
  nobody is ever aimed at themselves. A helper's reply that opens with thanks and goes on
  ("Thanks for the logs! Lower batch_size to 200") is an answer, not a thank-you.

The storage side (which replies count as answers, when a question is answered) is in
storage/helpgraph.py and storage/writer/; it reads only what these rules decided.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from community.text import is_me_too, says_more_than_thanks, thanks_all

# Reactions that accept an answer unless configured otherwise, and the names Slack gives them.
DEFAULT_ACCEPT_REACTIONS = ("✅", "✔️", "🙏", "👍")
_SLACK_NAMES = {
    "✅": ("white_check_mark",),
    "✔": ("heavy_check_mark",),
    "☑": ("ballot_box_with_check",),
    "🙏": ("pray",),
    "👍": ("+1", "thumbsup"),
}
# Variation selectors and skin tones: "👍🏽" and "✔️" accept as "👍" and "✔" do.
_EMOJI_NOISE = re.compile("[\ufe0e\ufe0f\U0001f3fb-\U0001f3ff]|::skin-tone-\\d")


def emoji_key(emoji: str) -> str:
    """An emoji as accept reactions compare it: ":+1::skin-tone-2:", "👍🏽" and "👍" alike."""
    key = _EMOJI_NOISE.sub("", emoji.strip())
    return key.strip(":") or key


def accept_keys(reactions: Iterable[str] = DEFAULT_ACCEPT_REACTIONS) -> frozenset[str]:
    """The emoji keys (unicode, Slack names, Discord custom emoji ids) that accept an answer."""
    keys: set[str] = set()
    for reaction in reactions:
        key = emoji_key(reaction)
        keys.add(key)
        keys.update(_SLACK_NAMES.get(key, ()))
    return frozenset(keys)


def is_accept(emoji: str, keys: frozenset[str]) -> bool:
    """Whether a reaction with EMOJI (unicode, Slack name or custom id) accepts an answer."""
    return emoji_key(emoji) in keys


DEFAULT_ACCEPT_KEYS = accept_keys()
# The starter of a thread or reply chain that a bot, a webhook or an app began.
BOT_STARTER = ""


def _other(member: str | None, author: str) -> str | None:
    return member if member and member != author else None


def reply_target(
    author: str,
    *,
    starter: str | None,
    replied_to: str | None = None,
    last_other: str | None = None,
    mentioned: str | None = None,
    is_thanks: bool = False,
    me_too: bool = False,
) -> str | None:
    """The member a reply by AUTHOR is aimed at, or None when it helps or thanks nobody.

    STARTER started the thread or reply chain (None: unknown, BOT_STARTER: not a person),
    REPLIED_TO wrote the message the reply references, LAST_OTHER is the last member other
    than the starter who spoke in the thread before it, MENTIONED the first member the reply
    mentions.
    """
    if is_thanks:
        return _other(mentioned, author) or _other(replied_to, author) or _other(last_other, author)
    if me_too or is_follow_up(author, starter):
        return None
    if starter is None:
        # Nobody knows who started it: the member spoken to is the best guess there is.
        return _other(replied_to, author) or _other(last_other, author)
    return _other(replied_to, author) or _other(starter, author)


@dataclass(frozen=True, slots=True)
class ReplyJudgement:
    """What the help graph makes of one reply."""

    target: str | None  # whom it helps or thanks
    is_thanks: bool  # a thank-you aimed at TARGET (else help, when TARGET is set)
    hangs: bool  # whether it hangs from its thread: a "me too" hangs from nothing


def judge_reply(
    author: str,
    text: str,
    *,
    starter: str | None,
    says_thanks: bool,
    replied_to: str | None = None,
    last_other: str | None = None,
    mentioned: str | None = None,
) -> ReplyJudgement:
    """Whom a reply by AUTHOR with TEXT is aimed at, and whether it thanks them (see module)."""
    if says_thanks and not is_follow_up(author, starter) and says_more_than_thanks(text):
        says_thanks = False
    me_too = not says_thanks and is_me_too(text)
    if says_thanks and thanks_all(text) and mentioned is None:
        return ReplyJudgement(None, False, True)
    target = reply_target(
        author,
        starter=starter,
        replied_to=replied_to,
        last_other=last_other,
        mentioned=mentioned,
        is_thanks=says_thanks,
        me_too=me_too,
    )
    return ReplyJudgement(target, says_thanks and target is not None, not me_too)


def is_follow_up(author: str, starter: str | None) -> bool:
    """Whether AUTHOR's reply is a follow-up in their own thread or reply chain."""
    return bool(starter) and author == starter
