"""The community the accuracy corpus is written about: personas cast into the templates' roles.

Members get personas (hero, active, asker...), every conversation a day and a member per role,
and every message a time and a native id (bench/accuracy_corpus.py then writes the exports).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from community.tiers import Tier

try:
    from bench.accuracy_chat_conversations import CHAT_CONVERSATIONS
    from bench.accuracy_help_conversations import HELP_CONVERSATIONS
    from bench.accuracy_templates import ACCEPT, M, Template
except ImportError:  # run as a script: bench/ itself is on sys.path
    from accuracy_chat_conversations import CHAT_CONVERSATIONS  # type: ignore[no-redef]
    from accuracy_help_conversations import HELP_CONVERSATIONS  # type: ignore[no-redef]
    from accuracy_templates import ACCEPT, M, Template  # type: ignore[no-redef]

# Help conversations first, then chat: the order the generator's seeded choices depend on.
TEMPLATES: tuple[Template, ...] = HELP_CONVERSATIONS + CHAT_CONVERSATIONS

END = datetime(2026, 11, 16, tzinfo=UTC)  # the corpus ends here; the benchmark's "now"
DAYS = 112  # 16 weeks
START = END - timedelta(days=DAYS)
SEED = 20261116
HELP_INSTANCES = 200
CHAT_INSTANCES = 30
ACTIVE_POINTS = 40.0

# Personas: how many of each per platform, and the tier each is meant to hold.
PERSONAS = {
    "hero": 3,  # answer questions every week
    "active": 7,  # answer now and then, ask sometimes
    "former": 1,  # helped a lot, but only more than 90 days ago
    "needy": 3,  # ask a lot, with many follow-ups; never help
    "asker": 24,  # ask a question or two; never help
    "chatty": 3,  # post in chat channels and +1 others' questions; never help
    "lurker": 2,  # only react
}
INTENDED = {
    "hero": Tier.HERO,
    "active": Tier.ACTIVE,
    "former": Tier.PASSIVE,
    "needy": Tier.PASSIVE,
    "asker": Tier.PASSIVE,
    "chatty": Tier.PASSIVE,
    "lurker": Tier.PASSIVE,
}
NAMES = (
    "ana.k", "bjorn", "chen_li", "dario", "elif", "fatima.o", "gus", "hana_m", "ivan.p", "jules",
    "kwame", "lena", "mateo", "nadia", "oskar", "priya.s", "quentin", "rosa", "sven", "tomasz",
    "uma", "vik", "wen", "ximena", "yusuf", "zoe.b", "amara", "bruno", "carla.d", "devon",
    "emeka", "farah", "gio", "hugo.r", "ines", "jonas", "keiko", "luca", "maya.t", "nils",
    "olga", "pablo", "rahul", "sofia", "theo", "valentina", "will.j", "yara",
)  # fmt: skip
ACCEPT_EMOJIS = ("white_check_mark", "heavy_check_mark", "pray")
DISCORD_EPOCH_MS = 1420070400000


@dataclass(frozen=True)
class Person:
    """A member of the generated community."""

    id: str
    name: str
    persona: str


@dataclass(frozen=True)
class Bot:
    """Something that posts but is not a member: a bot, webhook, integration or deleted user."""

    id: str
    name: str
    kind: str  # how it appears in the export (see the writers)
    why: str  # why it is not a member, for the labels


@dataclass
class Posted:
    """One rendered message of one conversation."""

    index: int
    spec: M
    author: Person | Bot
    at: datetime
    event_id: str
    native_id: str  # Slack ts, or Discord snowflake
    reference: int | None = None  # Discord: the message it references, by position
    broadcast: bool = False  # Slack: a thread reply also sent to the channel
    reactions: list[tuple[Person, str]] = field(default_factory=list)


@dataclass
class Conversation:
    """A template cast and placed: where, when, who."""

    template: Template
    day: int
    cast: dict[str, Person | Bot]
    channel: str = ""
    form: str = ""
    messages: list[Posted] = field(default_factory=list)


# --- casting ------------------------------------------------------------------------------------


def people_of(rng: random.Random, platform: str) -> dict[str, list[Person]]:
    """The members of PLATFORM's community, by persona, with ids as PLATFORM writes them."""
    names = list(NAMES)
    rng.shuffle(names)
    people: dict[str, list[Person]] = {}
    for persona, count in PERSONAS.items():
        people[persona] = []
        for _ in range(count):
            name = names.pop()
            if platform == "slack":
                pid = "U0" + "".join(
                    rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789") for _ in "x" * 8
                )
            else:
                pid = str(rng.randrange(200_000_000_000_000_000, 1_100_000_000_000_000_000))
            people[persona].append(Person(pid, name, persona))
    return people


def _pick(rng: random.Random, pools: list[tuple[list[Person], float]], exclude=()) -> Person:
    weighted = [(p, w) for pool, w in pools for p in pool if p not in exclude and w > 0]
    return rng.choices([p for p, _ in weighted], [w for _, w in weighted])[0]


def cast(rng: random.Random, people, bots: dict[str, list[Bot]]) -> list[Conversation]:
    """Place every conversation in time and give each role a member."""
    help_templates = [t for t in TEMPLATES if t.place == "help"]
    chat_templates = [t for t in TEMPLATES if t.place == "chat"]
    conversations = []
    for templates, count in ((help_templates, HELP_INSTANCES), (chat_templates, CHAT_INSTANCES)):
        for _ in range(count):
            template = rng.choices(templates, [t.weight for t in templates])[0]
            conversations.append(Conversation(template, rng.randrange(DAYS), {}))
    conversations.sort(key=lambda c: (c.day, c.template.name))
    # Helpers: actives answer in conversations spread over the window until they hold about
    # ACTIVE_POINTS (well between the active bar and the hero candidates' bar); the former
    # helper only the early ones; heroes the rest.
    needs_h = [c for c in conversations if _roles(c.template) & {"H"}]
    assigned: dict[int, Person] = {}
    helping = [i for i, c in enumerate(needs_h) if _h_helps(c.template)]
    recent = [i for i in helping if needs_h[i].day >= 30]
    rng.shuffle(recent)
    points = dict.fromkeys(people["active"], 0.0)
    for i in recent:
        below = [p for p, held in points.items() if held < ACTIVE_POINTS]
        if not below:
            break
        person = rng.choice(below)
        assigned[i] = person
        points[person] += _h_points(needs_h[i])
    early = [i for i in helping if needs_h[i].day <= 18 and i not in assigned]
    for i in rng.sample(early, min(8, len(early))):
        assigned[i] = people["former"][0]
    heroes = people["hero"]
    asker_pools = {
        "asker": [(people["needy"], 4.0), (people["asker"], 1.0), (people["active"], 0.4),
                  (people["chatty"], 0.3)],
        "chatty": [(people["chatty"], 1.0)],
        "casual": [(people["asker"], 1.0)],
    }  # fmt: skip
    for i, c in enumerate(needs_h):
        c.cast["H"] = assigned.get(i) or _pick(rng, [(heroes, 1.0)])
    for c in conversations:
        roles = _roles(c.template)
        cast = c.cast
        if "H" in roles and c.template.name.startswith("a release"):
            cast["H"] = _pick(rng, [(heroes, 1.0)])
        if "A" in roles:
            pools = asker_pools[c.template.asker]
            cast["A"] = _pick(rng, pools, exclude=[cast.get("H")])
        if "H2" in roles:
            cast["H2"] = _pick(
                rng, [(heroes, 1.0), (people["active"], 0.03)], exclude=[cast["H"], cast.get("A")]
            )
        if "B" in roles:
            cast["B"] = _pick(
                rng,
                [(people["chatty"], 3.0), (people["asker"], 0.3)],
                exclude=[cast.get("A")],
            )
        if "BOT" in roles:
            kinds = [b for k in c.template.bots for b in bots[k]]
            cast["BOT"] = rng.choice(kinds)
    return conversations


def _h_points(c: Conversation) -> float:
    """Roughly what H earns in C, by the tier weights, decayed by age at the corpus's end."""
    specs = c.template.messages
    earned = sum(0.5 + 2.0 * bool(m.helps) for m in specs if m.who == "H")
    earned += 4.0 + 3.0 * sum(m.thanks == "H" for m in specs)
    return earned * (1.0 - 0.5 * (DAYS - c.day) / 90)


def _h_helps(template: Template) -> bool:
    """Whether H helps someone in TEMPLATE (on Slack; Discord differs only in whom)."""
    return any(m.who == "H" and m.helps for m in template.messages)


def _roles(template: Template) -> set[str]:
    return {m.who for m in template.messages} | {r for m in template.messages for r, _ in m.rx}


# --- placing messages ---------------------------------------------------------------------------


class Clock:
    """Unique, increasing native ids for messages placed at arbitrary times."""

    def __init__(self) -> None:
        self._used: set[str] = set()
        self._seq = 0

    def slack_ts(self, at: datetime) -> str:
        """A Slack ts for AT, unique in the export."""
        self._seq += 1
        ts = f"{int(at.timestamp())}.{self._seq % 1_000_000:06d}"
        assert ts not in self._used
        self._used.add(ts)
        return ts

    def snowflake(self, at: datetime) -> str:
        """A Discord snowflake for AT, unique in the export."""
        self._seq += 1
        ms = int(at.timestamp() * 1000) - DISCORD_EPOCH_MS
        return str((ms << 22) | (1 << 17) | (self._seq & 0x1FFFF))


def _default_reference(spec_list: list[M], i: int) -> int:
    """The message a reply references when its template names none."""
    who = spec_list[i].who
    starter = spec_list[0].who
    for j in range(i - 1, -1, -1):
        other = spec_list[j].who
        if who == starter and other != who:
            return j
        if who != starter and other == starter:
            return j
    return 0


def place_messages(rng: random.Random, c: Conversation, platform: str, clock: Clock) -> None:
    """Give every message of C a time, a native id, its reference and its reactions."""
    at = START + timedelta(days=c.day, hours=rng.randrange(7, 14), minutes=rng.randrange(60))
    specs = list(c.template.messages)
    for i, spec in enumerate(specs):
        if i:
            at += timedelta(minutes=rng.randrange(3, 75), seconds=rng.randrange(60))
        else:
            at += timedelta(seconds=rng.randrange(60))
        native = clock.slack_ts(at) if platform == "slack" else clock.snowflake(at)
        author = c.cast[spec.who]
        posted = Posted(i, spec, author, at.replace(microsecond=0), "", native)
        if platform == "discord" and i and (c.form == "chain" or spec.to is not None):
            posted.reference = spec.to if spec.to is not None else _default_reference(specs, i)
        for role, emoji in spec.rx:
            if emoji == ACCEPT:
                emoji = rng.choice(ACCEPT_EMOJIS)
            posted.reactions.append((c.cast[role], emoji))  # type: ignore[arg-type]
        c.messages.append(posted)
