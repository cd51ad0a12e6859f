"""A synthetic, seeded community for `pulse demo`: about 26 weeks of a developer community.

Personas: lurkers who ask a question or two, steady helpers, heroes who also give talks,
members close to hero level, passive members who just started helping, actives who went
quiet (some right after a question nobody answered), members who left, members who said they
are away, staff, and a bot. The same seed always gives the same community.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from community.events import ActivityEvent, ActivityKind, Platform

SPACE_ID = "demo-community"
SPACE_NAME = "Acme Developers (demo)"
CHANNELS = {
    "c-help": "help",
    "c-general": "general",
    "c-showcase": "showcase",
    "c-integrations": "integrations",
    "c-events": "events",
}
_FIRST = [
    "Ada",
    "Alan",
    "Grace",
    "Linus",
    "Margaret",
    "Dennis",
    "Barbara",
    "Ken",
    "Frances",
    "Guido",
    "Radia",
    "Bjarne",
    "Hedy",
    "John",
    "Katherine",
    "Tim",
    "Anita",
    "Donald",
    "Sophie",
    "Yukihiro",
    "Joan",
    "Rob",
    "Shafi",
    "Lynn",
    "Brian",
    "Evelyn",
    "Niklaus",
    "Mary",
    "Edsger",
    "Jean",
    "Leslie",
    "Kathleen",
    "Vint",
    "Carol",
    "Whitfield",
    "Adele",
    "Ward",
    "Ida",
    "Martin",
    "Erna",
    "Ivan",
    "Lois",
]
_LAST = [
    "Okafor",
    "Lindqvist",
    "Tanaka",
    "Moreau",
    "Novak",
    "Costa",
    "Haddad",
    "Kowalski",
    "Nakamura",
    "Fischer",
    "Rossi",
    "Silva",
    "Dubois",
    "Jansen",
    "Ivanova",
    "Quinn",
    "Mbeki",
    "Larsen",
    "Horvat",
    "Ortega",
    "Sato",
    "Nilsen",
    "Brandt",
    "Keller",
    "Varga",
]
KINDS = ("talk", "post", "video", "meetup")


@dataclass
class DemoCommunity:
    """Everything the demo writes: events plus the facts staff would have recorded."""

    now: datetime
    events: list[ActivityEvent] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)
    personas: dict[str, str] = field(default_factory=dict)
    staff: list[str] = field(default_factory=list)
    bots: list[str] = field(default_factory=list)
    recognized_heroes: list[str] = field(default_factory=list)
    away_until: dict[str, datetime] = field(default_factory=dict)
    contributions: list[tuple[str, str, str, datetime]] = field(default_factory=list)


@dataclass
class _Persona:
    member: str
    kind: str
    start: int  # first day (0-based from the start of the history) they take part
    stop: int  # last day they take part
    post_rate: float  # chance of posting on a day they take part
    help_rate: float  # chance, when posting, of answering someone
    weekday_only: bool = False


class _Builder:
    def __init__(self, seed: int, now: datetime, days: int) -> None:
        self.rng = random.Random(seed)
        self.now = now
        self.days = days
        self.start = now - timedelta(days=days)
        self.community = DemoCommunity(now=now)
        self.counter = 0
        self.open_questions: list[tuple[str, str, str]] = []  # (event id, asker, channel)
        self.unanswerable: set[str] = set()
        self.used_names: set[str] = set()

    def name(self) -> str:
        while True:
            candidate = f"{self.rng.choice(_FIRST)} {self.rng.choice(_LAST)}"
            if candidate not in self.used_names:
                self.used_names.add(candidate)
                return candidate

    def member(self, kind: str) -> str:
        member_id = f"u{len(self.community.names) + 1:04d}"
        self.community.names[member_id] = self.name()
        self.community.personas[member_id] = kind
        return member_id

    def at(self, day: int) -> datetime:
        # Working-hours timestamps so days and weeks look like a real community's.
        return self.start + timedelta(
            days=day, hours=self.rng.randint(7, 21), minutes=self.rng.randint(0, 59)
        )

    def emit(self, kind: ActivityKind, member: str, when: datetime, **kwargs) -> ActivityEvent:
        self.counter += 1
        event = ActivityEvent(
            platform=Platform.DEMO,
            space_id=SPACE_ID,
            event_id=f"demo-{self.counter}",
            kind=kind,
            member_id=member,
            occurred_at=when,
            member_name=self.community.names.get(member),
            member_is_bot=member in self.community.bots,
            space_name=SPACE_NAME,
            channel_name=CHANNELS.get(kwargs.get("channel_id") or ""),
            **kwargs,
        )
        self.community.events.append(event)
        return event

    def ask(self, member: str, day: int, *, answerable: bool = True) -> None:
        channel = "c-help" if self.rng.random() < 0.7 else "c-integrations"
        kind = ActivityKind.THREAD_STARTED if self.rng.random() < 0.3 else ActivityKind.MESSAGE
        event = self.emit(kind, member, self.at(day), channel_id=channel, is_question=True)
        if answerable:
            self.open_questions.append((event.event_id, member, channel))
        else:
            self.unanswerable.add(event.event_id)

    def chat(self, member: str, day: int) -> None:
        channel = self.rng.choice(["c-general", "c-general", "c-showcase", "c-integrations"])
        self.emit(ActivityKind.MESSAGE, member, self.at(day), channel_id=channel)

    def answer(self, helper: str, day: int) -> bool:
        candidates = [q for q in self.open_questions[-40:] if q[1] != helper]
        if not candidates:
            return False
        question = self.rng.choice(candidates)
        self.open_questions.remove(question)
        event_id, asker, channel = question
        when = self.at(day)
        reply = self.emit(
            ActivityKind.REPLY,
            helper,
            when,
            channel_id=channel,
            target_member_id=asker,
            parent_event_id=event_id,
        )
        if self.rng.random() < 0.55:
            self.emit(
                ActivityKind.REPLY,
                asker,
                when + timedelta(minutes=self.rng.randint(5, 120)),
                channel_id=channel,
                target_member_id=helper,
                parent_event_id=reply.event_id,
                is_thanks=True,
            )
        if self.rng.random() < 0.5:
            self.emit(
                ActivityKind.REACTION_GIVEN,
                asker,
                when + timedelta(minutes=self.rng.randint(1, 60)),
                channel_id=channel,
                target_member_id=helper,
            )
        return True

    def react(self, member: str, day: int, pool: list[str]) -> None:
        target = self.rng.choice(pool)
        if target != member:
            self.emit(
                ActivityKind.REACTION_GIVEN,
                member,
                self.at(day),
                channel_id="c-general",
                target_member_id=target,
            )

    def contribute(self, member: str, day: int) -> None:
        kind = self.rng.choice(KINDS)
        when = self.at(day)
        title = {
            "talk": "Talk: building on the Acme API",
            "post": "Blog: five Acme tips",
            "video": "Video: Acme in 10 minutes",
            "meetup": "Meetup: Acme users night",
        }[kind]
        self.emit(
            ActivityKind.CONTRIBUTION_LOGGED,
            member,
            when,
            channel_id=None,
            contribution_kind=kind,
        )
        self.community.contributions.append((member, kind, title, when))


def build(now: datetime, *, seed: int = 7, days: int = 182, lurkers: int = 200) -> DemoCommunity:
    """Generate the demo community, ending at NOW."""
    if now.tzinfo is None:
        raise ValueError("build needs a timezone-aware now")
    b = _Builder(seed, now, days)
    rng = b.rng
    c = b.community
    last = days - 1

    def personas(kind: str, n: int, **kw) -> list[_Persona]:
        made = []
        for _ in range(n):
            member = b.member(kind)
            params = {k: (v(rng) if callable(v) else v) for k, v in kw.items()}
            made.append(_Persona(member=member, kind=kind, **params))
        return made

    heroes = personas("hero", 7, start=lambda r: r.randint(0, 20), stop=last,
                      post_rate=lambda r: r.uniform(0.55, 0.8), help_rate=0.75)  # fmt: skip
    near = personas("near-hero", 6, start=lambda r: r.randint(40, 90), stop=last,
                    post_rate=lambda r: r.uniform(0.35, 0.5), help_rate=0.7)  # fmt: skip
    helpers = personas("helper", 36, start=lambda r: r.randint(0, 120), stop=last,
                       post_rate=lambda r: r.uniform(0.12, 0.3), help_rate=0.5,
                       weekday_only=True)  # fmt: skip
    rising = personas("rising", 8, start=last - 12, stop=last,
                      post_rate=lambda r: r.uniform(0.15, 0.25), help_rate=0.7)  # fmt: skip
    quiet = personas("went-quiet", 16, start=lambda r: r.randint(0, 60),
                     stop=lambda r: last - r.randint(22, 55),
                     post_rate=lambda r: r.uniform(0.35, 0.6), help_rate=0.6)  # fmt: skip
    away = personas("away", 2, start=lambda r: r.randint(0, 40), stop=last - 30,
                    post_rate=0.4, help_rate=0.6)  # fmt: skip
    leavers = personas("left", 10, start=lambda r: r.randint(0, 80),
                       stop=lambda r: r.randint(100, 150), post_rate=0.25,
                       help_rate=0.4)  # fmt: skip
    staff = personas("staff", 4, start=0, stop=last, post_rate=0.7, help_rate=0.8,
                     weekday_only=True)  # fmt: skip
    c.staff = [p.member for p in staff]
    bot = b.member("bot")
    c.bots = [bot]
    c.names[bot] = "Acme Release Bot"
    lurker_ids = [b.member("lurker") for _ in range(lurkers)]
    joined_only = [b.member("joined-only") for _ in range(30)]

    engaged = heroes + near + helpers + rising + quiet + away + leavers + staff
    everyone = [p.member for p in engaged] + lurker_ids
    for p in engaged:
        b.emit(ActivityKind.MEMBER_JOINED, p.member, b.at(max(p.start - 3, 0)))
    lurker_days = {
        m: sorted(rng.sample(range(days), rng.choice((1, 1, 1, 2, 3)))) for m in lurker_ids
    }
    for m, ask_days in lurker_days.items():
        b.emit(ActivityKind.MEMBER_JOINED, m, b.at(max(ask_days[0] - 1, 0)))
    for m in joined_only:
        b.emit(ActivityKind.MEMBER_JOINED, m, b.at(rng.randint(0, last)))
    asks_by_day: dict[int, list[str]] = {}
    for m, ask_days in lurker_days.items():
        for d in ask_days:
            asks_by_day.setdefault(d, []).append(m)

    for day in range(days):
        weekday = (b.start + timedelta(days=day)).weekday()
        for m in asks_by_day.get(day, []):
            b.ask(m, day)
        rng.shuffle(engaged)
        for p in engaged:
            if not p.start <= day <= p.stop or (p.weekday_only and weekday >= 5):
                continue
            if rng.random() >= p.post_rate:
                if rng.random() < 0.2:
                    b.react(p.member, day, everyone)
                continue
            if rng.random() < p.help_rate and b.answer(p.member, day):
                pass
            elif rng.random() < 0.25:
                b.ask(p.member, day)
            else:
                b.chat(p.member, day)
            if rng.random() < 0.3:
                b.react(p.member, day, everyone)
        if day % 9 == 0:
            b.emit(ActivityKind.MESSAGE, bot, b.at(day), channel_id="c-general")
    # Some members went quiet right after a question nobody answered: the strongest signal.
    for p in quiet[:6]:
        b.ask(p.member, p.stop, answerable=False)
    for p in heroes:
        for _ in range(rng.randint(1, 3)):
            b.contribute(p.member, rng.randint(last - 80, last))
    for p in near[:3]:
        b.contribute(p.member, rng.randint(last - 40, last))
    for p in leavers:
        b.emit(ActivityKind.MEMBER_LEFT, p.member, b.at(p.stop + 1))
    c.recognized_heroes = [p.member for p in heroes[:2]]
    for p in away:
        c.away_until[p.member] = now + timedelta(days=21)
    c.events.sort(key=lambda e: e.occurred_at)
    return c
