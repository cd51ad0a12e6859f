"""A laid-out digest drawn for the terminal: plain text, or a rich panel."""

from __future__ import annotations

from bot.digest_render.layout import DigestDoc, fit_list
from community.digest import Audience

# The terminal shows this many lines of a list before "and N more".
TEXT_LINES = 25


def plain_text(doc: DigestDoc, max_lines: int = TEXT_LINES) -> str:
    """The digest as plain text (the CLI preview, logs, Slack's notification fallback)."""
    out = [doc.title, doc.description, ""]
    for section in doc.sections:
        out.append(section.title)
        body = fit_list(section, 100_000, max_lines=max_lines)
        out.extend(f"  {line}" for line in body.splitlines())
        out.append("")
    out.append(doc.footer)
    return "\n".join(out)


def rich_digest(doc: DigestDoc, max_lines: int = TEXT_LINES):
    """The digest as a rich panel for the terminal (names shown literally, never as markup)."""
    from rich.console import Group
    from rich.panel import Panel
    from rich.text import Text

    from bot.render import shown

    parts = [shown(doc.description, "dim"), Text("")]
    for section in doc.sections:
        parts.append(shown(section.title, "bold"))
        body = fit_list(section, 100_000, max_lines=max_lines)
        parts.append(shown("\n".join(f"  {line}" for line in body.splitlines()), multiline=True))
    parts.append(Text(""))
    parts.append(shown(doc.footer, "dim"))
    style = "cyan" if doc.audience == Audience.COMMUNITY else "magenta"
    return Panel(Group(*parts), title=shown(doc.title, "bold"), border_style=style)
