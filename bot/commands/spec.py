"""The chat commands, declared once: Discord registers them and Slack's manifest lists them."""

from __future__ import annotations

import enum
from dataclasses import dataclass

LIST_LIMIT_MAX = 50  # longer lists paginate; more than 50 at once is a report, not a chat reply
CONTRIBUTION_KINDS = ("talk", "post", "video", "meetup", "other")
TITLE_MAX = 500  # contributions.title
OUTREACH_CHOICES = ("done", "snooze", "dismiss")


class ArgKind(enum.StrEnum):
    """How an argument is given and checked."""

    INTEGER = "integer"
    MEMBER = "member"
    CHOICE = "choice"
    TEXT = "text"
    WHEN = "when"  # a date (2026-12-24) or a duration (3d, 2w, 10 days)


@dataclass(frozen=True, slots=True)
class Arg:
    """One argument of a command."""

    name: str
    kind: ArgKind
    description: str
    required: bool = True
    choices: tuple[str, ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    default: int | str | None = None


@dataclass(frozen=True, slots=True)
class CommandSpec:
    """A command: its name (without the slash), who may use it, and its arguments."""

    name: str
    description: str
    staff_only: bool
    args: tuple[Arg, ...] = ()

    @property
    def usage(self) -> str:
        """How the command is typed, e.g. '/quiet [limit]'."""
        parts = [f"/{self.name}"]
        for arg in self.args:
            shown = "|".join(arg.choices) if arg.choices else arg.name
            parts.append(f"<{shown}>" if arg.required else f"[{shown}]")
        return " ".join(parts)


def _limit(default: int = 10) -> Arg:
    return Arg(
        "limit",
        ArgKind.INTEGER,
        f"How many to show (1-{LIST_LIMIT_MAX}, default {default})",
        required=False,
        minimum=1,
        maximum=LIST_LIMIT_MAX,
        default=default,
    )


_MEMBER = Arg("user", ArgKind.MEMBER, "The member")

COMMANDS: tuple[CommandSpec, ...] = (
    CommandSpec(
        "hero-candidates",
        "Members at or near hero level, with reasons and trend",
        True,
        (_limit(),),
    ),
    CommandSpec(
        "quiet", "Members who went quiet, with context for a help-first message", True, (_limit(),)
    ),
    CommandSpec("member", "One member's tier, reasons, history and quiet flag", True, (_MEMBER,)),
    CommandSpec(
        "community-stats",
        "Tiers, activity and outreach outcomes over recent weeks",
        True,
        (
            Arg(
                "weeks",
                ArgKind.INTEGER,
                "How many weeks back (1-52, default 4)",
                required=False,
                minimum=1,
                maximum=52,
                default=4,
            ),
        ),
    ),
    CommandSpec(
        "contribution",
        "Log a talk, post, video or meetup a member gave",
        True,
        (
            _MEMBER,
            Arg("kind", ArgKind.CHOICE, "What it was", choices=CONTRIBUTION_KINDS),
            Arg("title", ArgKind.TEXT, "Its title or URL", maximum=TITLE_MAX),
        ),
    ),
    CommandSpec(
        "hero",
        "Confirm or remove a member's hero recognition; pin or unpin their tier",
        True,
        (
            Arg(
                "action",
                ArgKind.CHOICE,
                "confirm or remove recognition; pin or unpin the tier",
                choices=("confirm", "remove", "pin", "unpin"),
            ),
            _MEMBER,
        ),
    ),
    CommandSpec(
        "outreach",
        "Record what you did about a quiet member",
        True,
        (
            _MEMBER,
            Arg(
                "action",
                ArgKind.CHOICE,
                "done (reached out), snooze (two weeks) or dismiss",
                choices=OUTREACH_CHOICES,
            ),
        ),
    ),
    CommandSpec(
        "digest",
        "Preview this week's community and staff digests",
        True,
        (Arg("action", ArgKind.CHOICE, "preview", choices=("preview",)),),
    ),
    CommandSpec("dashboard", "A single-use sign-in link to the staff web dashboard", True),
    CommandSpec("privacy", "What Pulse keeps about you; opt out and delete it", False),
    CommandSpec(
        "away",
        "Going away? Pause the check-ins about you until a date",
        False,
        (Arg("until", ArgKind.WHEN, "A date (2026-12-24) or a duration (3d, 2w, 10 days)"),),
    ),
)

BY_NAME = {spec.name: spec for spec in COMMANDS}
