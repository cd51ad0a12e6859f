"""What a button carries: typed actions, written to and read from the platforms' action ids.

A Reply's button holds a short string that the platform sends back when it is pressed
(Discord's ``custom_id``, Slack's ``action_id``, both at most 100 characters). The string is
only ever made by ``encode`` and read by ``decode``, so a press is handled by its type and a
string Pulse did not make is refused in one place.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.commands.parse import CommandError
from bot.commands.spec import OUTREACH_CHOICES

PREFIX = "pulse"
NOT_OURS = "that button is not one of Pulse's"


@dataclass(frozen=True, slots=True)
class ShowPage:
    """Show page PAGE of a list command's answer, for a list of at most LIMIT members."""

    command: str
    limit: int
    page: int


@dataclass(frozen=True, slots=True)
class RecordOutreach:
    """Record CHOICE (done, snooze or dismiss) on quiet flag FLAG_ID."""

    flag_id: int
    choice: str


@dataclass(frozen=True, slots=True)
class DeleteMyData:
    """Opt member USER_ID out; only that member may press it."""

    user_id: str


Action = ShowPage | RecordOutreach | DeleteMyData


def encode(action: Action) -> str:
    """The action id a button carries for ACTION."""
    match action:
        case ShowPage(command, limit, page):
            return f"{PREFIX}:page:{command}:{limit}:{page}"
        case RecordOutreach(flag_id, choice):
            return f"{PREFIX}:outreach:{flag_id}:{choice}"
        case DeleteMyData(user_id):
            return f"{PREFIX}:privacy:delete:{user_id}"
    raise TypeError(f"not a button action: {action!r}")


def decode(action_id: str) -> Action:
    """The action behind ACTION_ID, or CommandError when Pulse did not make that id."""
    parts = action_id.split(":")
    try:
        match parts:
            case [p, "page", command, limit, page] if p == PREFIX:
                return ShowPage(command, _count(limit), _count(page))
            case [p, "outreach", flag_id, choice] if p == PREFIX and choice in OUTREACH_CHOICES:
                return RecordOutreach(_count(flag_id), choice)
            case [p, "privacy", "delete", user_id] if p == PREFIX and user_id:
                return DeleteMyData(user_id)
    except ValueError:
        pass
    raise CommandError(NOT_OURS)


def _count(text: str) -> int:
    # Digits only: int() would also take "-1", " 2" or "٣".
    if not (text.isascii() and text.isdigit()):
        raise ValueError(text)
    return int(text)
