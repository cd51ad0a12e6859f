"""Replies from the command layer drawn as Block Kit messages, within Slack's limits."""

from __future__ import annotations

import re

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
    """TEXT safe for Slack's mrkdwn: control characters escaped, Pulse's own mentions kept."""
    parts = _MENTION.split(text)
    return "".join(
        part if i % 2 else part.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        for i, part in enumerate(parts)
    )


def _section(text: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _cut(text, SECTION_TEXT)}}


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
        out.append(_section(mrkdwn(reply.text)))
    fields = [
        {"type": "mrkdwn", "text": _cut(f"*{mrkdwn(name)}*\n{mrkdwn(value or '-')}", FIELD_TEXT)}
        for name, value in reply.fields
    ]
    for start in range(0, len(fields), FIELDS):
        out.append({"type": "section", "fields": fields[start : start + FIELDS]})
    tail: list[dict] = []
    if reply.buttons:
        tail.append(_actions(reply.buttons))
    if reply.footer:
        tail.append(
            {"type": "context", "elements": [{"type": "mrkdwn", "text": mrkdwn(reply.footer)}]}
        )
    room = MAX_BLOCKS - len(out) - len(tail)
    for shown, entry in enumerate(reply.entries):
        needed = 2 if entry.buttons else 1
        if needed > room - 1:  # keep a line saying how many more there are
            rest = len(reply.entries) - shown
            out.append(_section(f"…and {rest} more; ask for a smaller list."))
            break
        out.append(_section(f"*{mrkdwn(entry.heading)}*\n{mrkdwn(entry.text or '-')}"))
        if entry.buttons:
            out.append(_actions(entry.buttons))
        room -= needed
    return out + tail


def fallback_text(reply: Reply) -> str:
    """The plain text Slack shows in notifications and where blocks cannot be drawn."""
    text = f"{reply.title}: {reply.text}" if reply.text else reply.title
    return _cut(text, FALLBACK_TEXT)


def message(reply: Reply) -> dict:
    """Keyword arguments for ack(), respond() or chat.postMessage carrying REPLY."""
    return {
        "text": fallback_text(reply),
        "blocks": blocks(reply),
        "response_type": "in_channel" if reply.public else "ephemeral",
    }
