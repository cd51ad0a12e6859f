"""The help graph's rules: whom a reply is aimed at, and so whether it is help.

One rule set for the live adapters, catch-up and both importers (README, "How Pulse decides"):

- Help flows from a member to another member they replied to: the author of the message a
  reply references (Discord), else the member who started the thread or reply chain.
- A thread starter's own replies in their thread are follow-ups ("tried that, still failing"):
  aimed at nobody, so never help and never an answer.
- A "me too" ("+1", "same here") helps nobody.
- A thank-you is aimed at the member it mentions, else the one it replies to, else the last
  member other than the thanker who spoke in the thread: "thanks all" with nobody to point at
  credits nobody, and nobody is ever aimed at themselves.

The storage side (which replies count as answers, when a question is answered) is in
storage/helpgraph.py and storage/ingest.py; it reads only what these rules decided.
"""

from __future__ import annotations


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

    STARTER started the thread or reply chain (None: unknown), REPLIED_TO wrote the message the
    reply references, LAST_OTHER is the last member other than the starter who spoke in the
    thread before it, MENTIONED the first member the reply mentions.
    """
    if is_thanks:
        return _other(mentioned, author) or _other(replied_to, author) or _other(last_other, author)
    if me_too or (starter is not None and author == starter):
        return None
    if starter is None:
        # Nobody knows who started it: the member spoken to is the best guess there is.
        return _other(replied_to, author) or _other(last_other, author)
    return _other(replied_to, author) or _other(starter, author)


def is_follow_up(author: str, starter: str | None) -> bool:
    """Whether AUTHOR's reply is a follow-up in their own thread or reply chain."""
    return starter is not None and author == starter
