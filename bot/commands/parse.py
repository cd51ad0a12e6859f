"""Turning command arguments (typed on Discord, plain text on Slack) into checked values."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta

from bot.commands.spec import Arg, ArgKind, CommandSpec

AWAY_MAX_DAYS = 365
_MENTION = re.compile(r"^<@!?([A-Za-z0-9]+)(?:\|[^>]*)?>$")
_PLATFORM_ID = re.compile(r"^[A-Za-z0-9]{2,32}$")
_DURATION = re.compile(
    r"^(\d{1,4})\s*(h|hours?|d|days?|w|weeks?|m|months?)$",
    re.IGNORECASE,
)
_UNIT_DAYS = {"h": 1 / 24, "d": 1, "w": 7, "m": 30}


class CommandError(ValueError):
    """A command that cannot run as given; the message is shown to the person who typed it."""

    def __init__(self, message: str, mentions: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.mentions = mentions  # member ids the message mentions on purpose (see Reply)


def parse_member(value: object) -> str:
    """A member's platform id from an id or a mention (<@123>, <@!123>, <@U123|name>)."""
    text = str(value or "").strip()
    match = _MENTION.match(text)
    if match:
        return match.group(1)
    if _PLATFORM_ID.match(text):
        return text
    raise CommandError(f"'{text}' is not a member: mention them, like @name")


def parse_integer(arg: Arg, value: object) -> int:
    """An integer within the argument's bounds."""
    try:
        number = int(str(value).strip()) if not isinstance(value, int) else value
    except ValueError:
        raise CommandError(f"{arg.name} must be a whole number, not '{value}'") from None
    low, high = arg.minimum, arg.maximum
    if (low is not None and number < low) or (high is not None and number > high):
        raise CommandError(f"{arg.name} must be between {low} and {high}, not {number}")
    return number


def parse_choice(arg: Arg, value: object) -> str:
    """One of the argument's choices, case-insensitively."""
    text = str(value or "").strip().lower()
    if text not in arg.choices:
        raise CommandError(f"{arg.name} must be one of {', '.join(arg.choices)}, not '{value}'")
    return text


def parse_text(arg: Arg, value: object) -> str:
    """Non-empty text within the argument's length."""
    text = " ".join(str(value or "").split())
    if not text:
        raise CommandError(f"{arg.name} is empty")
    if arg.maximum is not None and len(text) > arg.maximum:
        raise CommandError(f"{arg.name} is {len(text)} characters; the most is {arg.maximum}")
    return text


def parse_when(value: object, now: datetime) -> datetime:
    """A future moment from a date (2026-12-24) or a duration (3d, 2w, 10 days, 1 month)."""
    text = str(value or "").strip()
    match = _DURATION.match(text)
    if match:
        amount, unit = int(match.group(1)), match.group(2)[0].lower()
        until = now + timedelta(days=amount * _UNIT_DAYS[unit])
    else:
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise CommandError(
                f"'{text}' is neither a date (2026-12-24) nor a duration (3d, 2w, 10 days)"
            ) from None
        until = datetime(day.year, day.month, day.day, tzinfo=UTC)
    if until <= now:
        raise CommandError(f"{text} is in the past: give a date or duration ahead of today")
    if until - now > timedelta(days=AWAY_MAX_DAYS):
        raise CommandError(f"{text} is more than {AWAY_MAX_DAYS} days away; pick a nearer date")
    return until


def parse_args(spec: CommandSpec, raw: Mapping[str, object], now: datetime) -> dict[str, object]:
    """Check RAW against SPEC: defaults filled, every value converted, or a CommandError."""
    unknown = set(raw) - {arg.name for arg in spec.args}
    if unknown:
        raise CommandError(f"/{spec.name} takes no {', '.join(sorted(unknown))}")
    values: dict[str, object] = {}
    for arg in spec.args:
        value = raw.get(arg.name)
        if value is None or (isinstance(value, str) and not value.strip()):
            if arg.required:
                raise CommandError(f"/{spec.name} needs {arg.name}: {spec.usage}")
            values[arg.name] = arg.default
            continue
        if arg.kind is ArgKind.INTEGER:
            values[arg.name] = parse_integer(arg, value)
        elif arg.kind is ArgKind.MEMBER:
            values[arg.name] = parse_member(value)
        elif arg.kind is ArgKind.CHOICE:
            values[arg.name] = parse_choice(arg, value)
        elif arg.kind is ArgKind.TEXT:
            values[arg.name] = parse_text(arg, value)
        else:
            values[arg.name] = parse_when(value, now)
    return values


def split_text(spec: CommandSpec, text: str) -> dict[str, str]:
    """Slack's one text argument split into SPEC's arguments, in order.

    A text or date argument takes the rest of the line, so titles and durations may contain
    spaces ("/away 10 days", "/contribution @ana talk Intro to Pulse").
    """
    words = text.split()
    values: dict[str, str] = {}
    for position, arg in enumerate(spec.args):
        if not words:
            break
        if arg.kind in (ArgKind.TEXT, ArgKind.WHEN):
            values[arg.name] = " ".join(words)
            words = []
        elif (
            not arg.required
            and arg.kind is ArgKind.INTEGER
            and position < len(spec.args) - 1
            and not _numeric(words[0])
        ):
            continue  # an optional number left out
        else:
            values[arg.name] = words.pop(0)
    if words:
        raise CommandError(f"too many arguments: {spec.usage}")
    return values


def _numeric(word: str) -> bool:
    return word.lstrip("-").isdigit()
