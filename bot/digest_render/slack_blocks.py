"""A laid-out digest drawn as Slack Block Kit blocks, within Slack's block limits."""

from __future__ import annotations

from bot.digest_render.layout import DigestDoc, Section, clip, fit_list

# Slack: https://api.slack.com/reference/block-kit/blocks
SLACK_BLOCKS = 50
SLACK_TEXT = 3000
SLACK_HEADER = 150


def slack_escape(text: str) -> str:
    """Escape the three characters Slack's mrkdwn treats as control (mentions, links)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_blocks(doc: DigestDoc) -> list[dict]:
    """Block Kit blocks within Slack's limits (50 blocks, 3,000 characters per text)."""
    blocks: list[dict] = [
        {"type": "header", "text": {"type": "plain_text", "text": clip(doc.title, SLACK_HEADER)}},
        {
            "type": "context",
            "elements": [
                {"type": "mrkdwn", "text": clip(slack_escape(doc.description), SLACK_TEXT)}
            ],
        },
    ]
    footer = {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": clip(slack_escape(doc.footer), SLACK_TEXT)}],
    }
    room = SLACK_BLOCKS - len(blocks) - 1
    sections = list(doc.sections)
    if len(sections) > room:
        sections = sections[:room]
        footer["elements"].insert(0, {"type": "mrkdwn", "text": "More in `/digest preview`."})
    for section in sections:
        blocks.append(_rich_section(section))
    blocks.append(footer)
    return blocks


def _rich_section(section: Section) -> dict:
    """A titled list as a rich_text block: its text is shown as written, never parsed as mrkdwn.

    Slack's mrkdwn has no escape for * _ ~ and backticks, so names that must not format (or
    link, or mention) go in rich_text, whose styles are explicit.
    """
    title = clip(section.title, SLACK_HEADER)
    body = fit_list(section, SLACK_TEXT - len(title) - 1)
    return {
        "type": "rich_text",
        "elements": [
            {
                "type": "rich_text_section",
                "elements": [
                    {"type": "text", "text": title + "\n", "style": {"bold": True}},
                    {"type": "text", "text": body},
                ],
            }
        ],
    }


def slack_block_text(block: dict) -> str:
    """The text a Block Kit block shows (tests and the plain-text fallback read it)."""
    if block.get("type") == "rich_text":
        return "".join(
            element.get("text", "")
            for part in block["elements"]
            for element in part.get("elements", [])
        )
    if "text" in block:
        return block["text"]["text"]
    return " ".join(element.get("text", "") for element in block.get("elements", []))
