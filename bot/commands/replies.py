"""What commands answer, before any platform shapes it: titles, lines, fields and buttons."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Tone(enum.StrEnum):
    """How a reply should look."""

    INFO = "info"
    SUCCESS = "success"
    ERROR = "error"


class Style(enum.StrEnum):
    """Button styles both platforms can show."""

    PRIMARY = "primary"
    SECONDARY = "secondary"
    DANGER = "danger"


@dataclass(frozen=True, slots=True)
class Button:
    """A button; pressing it sends ACTION_ID back to the command layer."""

    label: str
    action_id: str
    style: Style = Style.SECONDARY


@dataclass(frozen=True, slots=True)
class Entry:
    """One item of a list (a candidate, a quiet member), with its own buttons."""

    heading: str
    text: str
    buttons: tuple[Button, ...] = ()


@dataclass(frozen=True, slots=True)
class Reply:
    """A reply to one person (ephemeral unless PUBLIC)."""

    title: str
    text: str = ""
    entries: tuple[Entry, ...] = ()
    fields: tuple[tuple[str, str], ...] = ()
    buttons: tuple[Button, ...] = ()
    tone: Tone = Tone.INFO
    page: int = 0
    pages: int = 1
    footer: str = ""
    public: bool = False
    attachment: tuple[str, bytes] | None = None  # (file name, content), e.g. a chart PNG
    # Content already laid out for one platform (digests): used instead of the fields above.
    discord_embeds: tuple[dict, ...] = ()
    slack_blocks: tuple[dict, ...] = ()
    followups: tuple[Reply, ...] = ()  # further messages to the same person, in order
    # Member ids the text mentions on purpose as <@id>; any other <@…> is a name's own text.
    mentions: tuple[str, ...] = ()


def error(message: str, mentions: tuple[str, ...] = ()) -> Reply:
    """A reply saying what went wrong and what to do instead."""
    return Reply(title="That did not work", text=message, tone=Tone.ERROR, mentions=mentions)
