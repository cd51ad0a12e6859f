"""Replies from the command layer drawn as Block Kit messages, within Slack's limits."""

from __future__ import annotations

import re
from collections.abc import Collection

from bot.commands.replies import Button, Reply, Style, Tone

# Slack's limits: 50 blocks a message, 150 characters a header, 3,000 a section's text, 10 fields
# of 2,000 in a section, 25 elements in an actions block, 75 characters a button label, 255 an
# action id, 2,000 a button value.
MAX_BLOCKS = 50
HEADER = 150
SECTION_TEXT = 3000
FIELDS = 10
FIELD_TEXT = 2000
ACTIONS = 25
BUTTON_LABEL = 75
ACTION_ID = 255
FALLBACK_TEXT = 3000
_MARK = {Tone.INFO: "", Tone.SUCCESS: "✅ ", Tone.ERROR: "⚠️ "}
_STYLES = {Style.PRIMARY: "primary", Style.DANGER: "danger"}  # Slack's default is secondary
# Member mentions the command layer writes on purpose: kept, while any other < > & is escaped.
_MENTION = re.compile(r"(<@[A-Z0-9]+>)")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def mrkdwn(text: str) -> str:
    """TEXT safe for Slack's mrkdwn: control characters escaped, Pulse's own mentions kept.

    mrkdwn has no escape for * _ ~ and backticks: text that holds names goes in rich_text
    (see rich) or plain_text instead; this is for Pulse's own words.
    """
    parts = _MENTION.split(text)
    return "".join(
        part if i % 2 else part.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        for i, part in enumerate(parts)
    )


def rich(text: str, heading: str | None = None, mentions: Collection[str] = ()) -> dict:
    """A rich_text block showing TEXT as written (under a bold HEADING), MENTIONS as mentions.

    Nothing in it is parsed: a name like "*bold* <!channel> <@U1>" shows as typed and pings
    nobody, while the mentions Pulse writes on purpose (<@U…> of an id in MENTIONS) become user
    elements.
    """
    elements: list[dict] = []
    if heading is not None:
        elements.append({"type": "text", "text": heading + "\n", "style": {"bold": True}})
    for i, part in enumerate(_MENTION.split(text)):
        if i % 2 and part[2:-1] in mentions:
            elements.append({"type": "user", "user_id": part[2:-1]})
        elif part:
            if elements and elements[-1]["type"] == "text" and "style" not in elements[-1]:
                elements[-1]["text"] += part
            else:
                elements.append({"type": "text", "text": part})
    if not elements:
        elements.append({"type": "text", "text": "-"})
    return {"type": "rich_text", "elements": [{"type": "rich_text_section", "elements": elements}]}


def block_text(block: dict) -> str:
    """The text a Block Kit block shows, mentions as <@U…> (tests and fallbacks read it)."""
    if block.get("type") == "rich_text":
        return "".join(
            element.get("text") or f"<@{element.get('user_id')}>"
            for part in block["elements"]
            for element in part.get("elements", [])
        )
    parts = [block["text"]["text"]] if "text" in block else []
    parts += [field["text"] for field in block.get("fields", [])]
    for element in block.get("elements", []):
        text = element.get("text")
        parts.append(text["text"] if isinstance(text, dict) else text or "")
    return "\n".join(parts)


def _section(text: str, mentions: Collection[str] = ()) -> dict:
    return rich(_cut(text, SECTION_TEXT), mentions=mentions)


def _button(button: Button) -> dict:
    element = {
        "type": "button",
        "text": {"type": "plain_text", "text": _cut(button.label, BUTTON_LABEL), "emoji": True},
        "action_id": button.action_id[:ACTION_ID],
        "value": button.action_id[:ACTION_ID],
    }
    if button.style in _STYLES:
        element["style"] = _STYLES[button.style]
    return element


def _actions(buttons: tuple[Button, ...]) -> dict:
    return {"type": "actions", "elements": [_button(b) for b in buttons[:ACTIONS]]}


def blocks(reply: Reply) -> list[dict]:
    """The Block Kit blocks for a reply: its own laid-out ones (digests), or drawn from it."""
    if reply.slack_blocks:
        return list(reply.slack_blocks[:MAX_BLOCKS])
    title = _MARK[reply.tone] + reply.title
    out: list[dict] = [
        {"type": "header", "text": {"type": "plain_text", "text": _cut(title, HEADER)}}
    ]
    if reply.text:
        out.append(_section(reply.text, reply.mentions))
    fields = [
        {"type": "plain_text", "text": _cut(f"{name}\n{value or '-'}", FIELD_TEXT), "emoji": True}
        for name, value in reply.fields
    ]
    for start in range(0, len(fields), FIELDS):
        out.append({"type": "section", "fields": fields[start : start + FIELDS]})
    tail: list[dict] = []
    if reply.buttons:
        tail.append(_actions(reply.buttons))
    if reply.footer:
        tail.append(
            {
                "type": "context",
                "elements": [{"type": "plain_text", "text": _cut(reply.footer, SECTION_TEXT)}],
            }
        )
    room = MAX_BLOCKS - len(out) - len(tail)
    for shown, entry in enumerate(reply.entries):
        needed = 2 if entry.buttons else 1
        if needed > room - 1:  # keep a line saying how many more there are
            rest = len(reply.entries) - shown
            out.append(_section(f"…and {rest} more; ask for a smaller list."))
            break
        out.append(rich(_cut(entry.text or "-", SECTION_TEXT), heading=_cut(entry.heading, HEADER)))
        if entry.buttons:
            out.append(_actions(entry.buttons))
        room -= needed
    return out + tail


def fallback_text(reply: Reply) -> str:
    """The plain text Slack shows in notifications and where blocks cannot be drawn."""
    text = f"{reply.title}: {reply.text}" if reply.text else reply.title
    return notification_text(_cut(text, FALLBACK_TEXT))


def notification_text(text: str) -> str:
    """TEXT for a message's top-level text, which Slack parses: every < > & shown as typed.

    A member's name there (a profile's title) could otherwise say <!channel> and notify
    everyone; the blocks carry Pulse's own mentions.
    """
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def message(reply: Reply) -> dict:
    """Keyword arguments for ack(), respond() or chat.postMessage carrying REPLY."""
    return {
        "text": fallback_text(reply),
        "blocks": blocks(reply),
        "response_type": "in_channel" if reply.public else "ephemeral",
    }
