"""Hostile names: what members can call themselves, and what each output must make of it.

One corpus for every output (terminal tables, Discord embeds, Slack blocks): a name may hold
markup of any of them, terminal escapes, mentions, direction overrides, invisible characters,
line breaks, NUL, or be 10,000 characters long. Shown anywhere, it must show as text: nothing
formats, links, moves the cursor or pings anyone.
"""

from __future__ import annotations

import re

LINK = "[link=https://evil.example]x[/link]"
RICH = "[red]Red[/red] [bold]B"
ANSI = "Esc\x1b[2J\x1b[31mRed\x9b1m"
OSC8 = "\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\"
MARKDOWN = "*bold* _it_ ~strike~ `code` ||spoiler|| > quote # head [a](https://evil.example)"
SLACK_BROADCAST = "<!channel> <!here> <!everyone>"
SLACK_MENTIONS = "<@U123> <#C123> <!subteam^S123> <https://evil.example|x>"
DISCORD_MASS = "@everyone @here"
DISCORD_MENTIONS = "<@&123456789012345678> <@123456789012345678> <#123456789012345678>"
RTL = "abc\u202edlrow\u202c"
INVISIBLE = "ze\u200bro\u200dwidth\ufeff\u2066"
EMOJI = "👩\u200d👩\u200d👧 🏳️\u200d🌈 🚀"
NEWLINES = "two\nlines\r\nthree\u2028four"
LONG = "L" * 10_000
NUL = "nul\x00byte"

CORPUS = {
    "link": LINK,
    "rich": RICH,
    "ansi": ANSI,
    "osc8": OSC8,
    "markdown": MARKDOWN,
    "slack_broadcast": SLACK_BROADCAST,
    "slack_mentions": SLACK_MENTIONS,
    "discord_mass": DISCORD_MASS,
    "discord_mentions": DISCORD_MENTIONS,
    "rtl": RTL,
    "invisible": INVISIBLE,
    "emoji": EMOJI,
    "newlines": NEWLINES,
    "long": LONG,
    "nul": NUL,
}

# The people of tests.digest_world, each named with a few of the above, so that every output
# that names anyone names several of them.
WORLD_NAMES = {
    "regular": f"Rita {LINK} {MARKDOWN}",
    "riser": f"Ravi {SLACK_BROADCAST} {DISCORD_MASS}",
    "newbie": f"Nina {ANSI} {OSC8}",
    "asker": f"Aaron {DISCORD_MENTIONS} {SLACK_MENTIONS}",
    "quiet": f"Quincy {RTL} {INVISIBLE} {EMOJI}",
    "silent": f"Sally {NEWLINES} {NUL} {RICH}",
    "staff": f"Stan {LONG}",
    "away": f"Ada {RICH}",
    "leaver": f"Otto {DISCORD_MASS}",
    "hero": f"Hana {MARKDOWN} {SLACK_BROADCAST}",
}

# Characters that must never reach a terminal: they start escape sequences (ESC, CSI, OSC),
# end strings (NUL), or reorder or hide what follows (bidi overrides and isolates).
TERMINAL_FORBIDDEN = re.compile(r"[\x00\x1b\x9b\x9d\u202a-\u202e\u2066-\u2069]")


def assert_terminal_inert(output: str) -> None:
    """OUTPUT (what a command printed) holds nothing a terminal would act on."""
    found = TERMINAL_FORBIDDEN.search(output)
    assert found is None, f"{found.group()!r} reached the terminal: {output[:2000]!r}"


# Discord mentions that would ping: @everyone/@here without the zero-width space that
# disarms them, and user, role and channel mentions.
DISCORD_PING = re.compile(r"(?<![\\\u200b])@(everyone|here)|<@[!&]?\d+>|<#\d+>")


# Explicit direction overrides, embeddings and isolates: one left open in a name reverses or
# reorders whatever the line shows after it (a classic for spoofing names and links).
BIDI_CONTROL = re.compile(r"[\u202a-\u202e\u2066-\u2069]")


def assert_discord_inert(payload: dict) -> None:
    """A message or interaction payload Pulse sent: mentions off, names' markdown escaped."""
    assert payload.get("allowed_mentions") == {"parse": []}, payload.get("allowed_mentions")
    for text in discord_texts(payload):
        assert DISCORD_PING.search(text) is None, text[:500]
        assert BIDI_CONTROL.search(text) is None, text[:500]
        for fragment in (MARKDOWN, LINK):
            assert fragment not in text, text[:500]


def discord_texts(payload: dict) -> list[str]:
    """Every text Discord renders as markdown in PAYLOAD: content, embed titles, descriptions
    and fields."""
    texts = [payload.get("content") or ""]
    for embed in payload.get("embeds") or []:
        texts += [embed.get("title") or "", embed.get("description") or ""]
        for field in embed.get("fields") or []:
            texts += [field.get("name") or "", field.get("value") or ""]
    return [t for t in texts if t]


def assert_slack_inert(blocks: list[dict], text: str | None) -> None:
    """Blocks and fallback text Pulse sent: no name parsed as mrkdwn, no mention from a name.

    Only Pulse's own mentions may be user elements; a name's <!channel> or <@U123> must stay
    text, and the fallback text (which Slack parses) must carry them escaped.
    """
    for block in _walk(blocks):
        if block.get("type") == "mrkdwn":
            body = block.get("text", "")
            assert not any(part in body for part in _NAME_PARTS), body[:500]
        if block.get("type") in ("broadcast", "usergroup", "channel", "link"):
            raise AssertionError(f"a {block['type']} element in a reply: {block}")
        if block.get("type") == "user":
            assert block.get("user_id") != "U123", block
    if text:
        for token in ("<!channel>", "<!here>", "<!everyone>", "<@U123>", "<!subteam^"):
            assert token not in text, text[:500]


_NAME_PARTS = ("Rita", "Ravi", "Nina", "Aaron", "Quincy", "Sally", "Stan", "Ada", "Otto", "Hana")


def _walk(node):
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item)
