"""How the accuracy benchmark's conversations and their hand-written labels are written.

Each template is a short conversation between roles: ``A`` (who asks, and starts the thread or
reply chain), ``H`` and ``H2`` (helpers), ``B`` (a bystander) and ``BOT`` (a bot, webhook or
integration; the generator picks which kind per platform). Labels are written by hand on each
message, following the help-graph rules the product defines (see bench/accuracy.py):

* ``q``: the message is a question, ``"a"`` answered or ``"o"`` left open. A question is answered
  when another human (not its asker, not a bot) replies later in its thread or reply chain;
  reactions never answer. A top-level post in a help channel is a question by place.
* ``helps``: the role this message helps. A reply helps the member it is aimed at, whatever it
  says (an answer, a clarifying question, a question of one's own, congratulations), except:
  the thread starter's own replies are follow-ups and never help; thank-yous and me-toos ("+1,
  same here") are not help; a reply to a bot helps nobody. An answer that also thanks ("Thanks
  for the logs! Lower batch_size") is an answer, so help.
  ``helps_discord`` overrides it where Discord aims the reply elsewhere: a Discord reply that
  references a message is aimed at that message's author, a Slack thread reply always at the
  thread starter.
* ``acc``: an accepted answer: the asker thanks its author in the thread, or reacts to it with
  a check mark, a thumbs up or folded hands.

``to`` is the message a reply references on Discord (by position); without it, the starter's
replies reference the latest message of someone else and everyone else's the starter's latest.
``rx`` lists reactions as (role, Slack emoji name); ``thanks`` names whom a thank-you is for
(it only feeds the intended-tier arithmetic). ``{H}`` in a text is a mention of that role.
"""

from __future__ import annotations

from dataclasses import dataclass, field

SAME = "same"  # helps_discord default: as on Slack


@dataclass(frozen=True, slots=True)
class M:
    """One message of a template, with its labels."""

    who: str
    text: str
    q: str | None = None
    helps: str | None = None
    helps_discord: str | None = SAME
    acc: bool = False
    rx: tuple[tuple[str, str], ...] = ()
    to: int | None = None
    thanks: str | None = None

    def helped(self, platform: str) -> str | None:
        """The role this message helps on PLATFORM ("slack" or "discord")."""
        if platform == "discord" and self.helps_discord != SAME:
            return self.helps_discord
        return self.helps


@dataclass(frozen=True, slots=True)
class Template:
    """A conversation shape: where it happens, how often, and which renderings fit it."""

    name: str
    messages: tuple[M, ...]
    weight: float = 1.0
    place: str = "help"  # "help": a help channel; "chat": a channel where chat happens
    # Discord renderings: "forum" post, "thread" off a channel message (or started on its own),
    # reply "chain" in a channel.
    forms: tuple[str, ...] = ("forum", "thread", "chain")
    # Which bot kinds may fill the BOT role (SLACK_BOTS, DISCORD_BOTS in the export writers).
    bots: tuple[str, ...] = ("bot",)
    asker: str = "asker"  # the pool A is drawn from
    tags: tuple[str, ...] = field(default=())


ACCEPT = "white_check_mark"
