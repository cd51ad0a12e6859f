"""What the accuracy corpus's labels say: from the templates' hand-written labels and the cast.

The help edges, the answered and unanswered questions, the accepted answers, and the tier each
member is meant to hold (from personas whose tier is clear by a margin, which is checked here).
"""

from __future__ import annotations

from collections import defaultdict

from community.events import day_number
from community.tiers import DayCounts, Tier, TierPolicy, earned_tier, stats_from_history

try:
    from bench.accuracy_cast import END, INTENDED, Bot, Conversation, Person
    from bench.accuracy_discord_export import DISCORD_CHANNELS, GUILD
    from bench.accuracy_slack_export import SLACK_CHANNELS, SLACK_TEAM
    from bench.accuracy_templates import Template
except ImportError:  # run as a script: bench/ itself is on sys.path
    from accuracy_cast import END, INTENDED, Bot, Conversation, Person  # type: ignore[no-redef]
    from accuracy_discord_export import DISCORD_CHANNELS, GUILD  # type: ignore[no-redef]
    from accuracy_slack_export import SLACK_CHANNELS, SLACK_TEAM  # type: ignore[no-redef]
    from accuracy_templates import Template  # type: ignore[no-redef]


def _is_member(who: Person | Bot) -> bool:
    return isinstance(who, Person)


def _labels_of(c: Conversation, platform: str) -> dict:
    edges, replies, answered, unanswered, accepted = set(), [], [], [], []
    for m in c.messages:
        helped = m.spec.helped(platform)
        if helped is not None:
            target = c.cast[helped]
            assert _is_member(m.author), c.template.name
            assert _is_member(target), c.template.name
            assert m.author is not target, c.template.name
            edges.add((m.author.id, target.id))
            replies.append([m.event_id, m.author.id, target.id])
        if m.spec.q == "a":
            answered.append(m.event_id)
        elif m.spec.q == "o":
            unanswered.append(m.event_id)
        if m.spec.acc:
            accepted.append(m.event_id)
    return {
        "edges": edges,
        "replies": replies,
        "answered": answered,
        "unanswered": unanswered,
        "accepted": accepted,
    }


def check_template(t: Template) -> None:
    """Catch slips in hand-written labels that the rules rule out whatever the cast."""
    specs = t.messages
    for i, m in enumerate(specs):
        if m.q == "a":
            later = [n for n in specs[i + 1 :] if n.who not in (m.who, "BOT")]
            assert later, f"{t.name}: message {i} is labelled answered but nobody replies"
        if i and m.who == specs[0].who:
            assert m.helps is None, f"{t.name}: the starter's follow-up {i} is labelled help"
        if m.who == "BOT":
            assert m.helps is None, t.name
            assert m.q is None, t.name


# --- intended tiers -----------------------------------------------------------------------------


def ideal_tiers(conversations: list[Conversation], platform: str, people) -> dict[str, dict]:
    """Each member's figures as the labels count them, and the tier those figures earn."""
    policy = TierPolicy()
    counts: dict[str, dict[int, dict[str, int]]] = defaultdict(lambda: defaultdict(dict))
    helped: dict[str, list[tuple[str, int]]] = defaultdict(list)

    def add(member: str, day: int, name: str) -> None:
        row = counts[member][day]
        row[name] = row.get(name, 0) + 1

    for c in conversations:
        open_questions: list[tuple[str, bool]] = []
        for m in c.messages:
            day = day_number(m.at)
            if _is_member(m.author):
                add(m.author.id, day, "messages")
                target = m.spec.helped(platform)
                closes = [q for q in open_questions if q[0] != m.author.id]
                if target is not None:
                    add(m.author.id, day, "replies")
                    helped[m.author.id].append((c.cast[target].id, day))
                    if any(labelled for _, labelled in closes):
                        add(m.author.id, day, "answers")
                open_questions = [q for q in open_questions if q[0] == m.author.id]
                if m.spec.q:
                    add(m.author.id, day, "questions")
                    open_questions.append((m.author.id, m.spec.q == "a"))
                if m.spec.thanks:
                    add(c.cast[m.spec.thanks].id, day, "thanks_received")
            for reactor, _ in m.reactions:
                add(reactor.id, day, "reactions_given")
                if _is_member(m.author):
                    add(m.author.id, day, "reactions_received")
    today = day_number(END)
    out = {}
    for persona, members in people.items():
        for p in members:
            if p.id not in counts:
                continue
            days = [DayCounts(d, row) for d, row in sorted(counts[p.id].items())]
            stats = stats_from_history(days, helped[p.id], today, policy)
            tier = earned_tier(stats, policy)
            intended = INTENDED[persona]
            _check_margin(p, stats, tier, intended, policy)
            out[p.id] = {
                "name": p.name,
                "persona": persona,
                "tier": intended.value,
                "helped_members": stats.helped_members,
                "reason": _reason(persona, stats),
            }
    return out


def _check_margin(p: Person, stats, tier: Tier, intended: Tier, policy: TierPolicy) -> None:
    where = f"{p.name} ({p.persona}): {stats}"
    assert tier is intended, f"intended {intended.value}, figures earn {tier.value}: {where}"
    if intended is Tier.HERO:
        assert stats.score >= 1.3 * policy.hero_score, where
        assert stats.active_weeks >= policy.hero_min_weeks + 2, where
        assert stats.helped_members >= policy.hero_min_helped + 4, where
    elif intended is Tier.ACTIVE:
        assert 1.5 * policy.active_score <= stats.score, where
        assert stats.score <= 0.85 * policy.hero_score * policy.candidate_ratio, where
        assert stats.active_weeks >= policy.active_min_weeks + 1, where
        assert stats.helped_members >= policy.active_min_helped + 1, where
    else:
        assert stats.helped_members == 0 or stats.score <= 0.7 * policy.active_score, where


def _reason(persona: str, stats) -> str:
    figures = (
        f"helped {stats.helped_members} members in the 90-day window, active "
        f"{stats.active_weeks} weeks, labelled score {stats.score:.0f}"
    )
    return {
        "hero": "answers questions nearly every week: ",
        "active": "answers now and then: ",
        "former": "helped only more than 90 days ago: ",
        "needy": "asks a lot, never helps: ",
        "asker": "asks, never helps: ",
        "chatty": "chats and +1s, never helps: ",
        "lurker": "only reacts: ",
    }[persona] + figures


def corpus_labels(conversations, platform: str, people, bots) -> dict:
    """Everything the labels file of PLATFORM says, from the conversations as cast."""
    edges: set = set()
    answered, unanswered, accepted, listing, replies = [], [], [], [], []
    for c in conversations:
        found = _labels_of(c, platform)
        edges |= found["edges"]
        replies += found["replies"]
        answered += found["answered"]
        unanswered += found["unanswered"]
        accepted += found["accepted"]
        listing.append([c.template.name, c.channel, c.form, [m.event_id for m in c.messages]])
    non_members = {b.id: f"{b.name}: {b.why}" for kinds in bots.values() for b in kinds}
    if platform == "slack":
        space = SLACK_TEAM
        help_channels = [cid for cid, is_help, _ in SLACK_CHANNELS.values() if is_help]
    else:
        space = GUILD["id"]
        help_channels = [cid for cid, _, is_help in DISCORD_CHANNELS.values() if is_help]
    return {
        "about": "What is true of this export, from the hand-written labels of "
        "bench/accuracy_templates.py (written by bench/accuracy_corpus.py; do not edit)",
        "platform": platform,
        "space_id": space,
        "now": END.isoformat(),
        "help_channel_ids": help_channels,
        "help_edges": sorted([list(e) for e in edges]),
        # The replies that make each edge: [reply event id, helper, helped].
        "help_replies": sorted(replies),
        "questions": {"answered": sorted(answered), "unanswered": sorted(unanswered)},
        "accepted_answers": sorted(accepted),
        "members": ideal_tiers(conversations, platform, people),
        "non_members": dict(sorted(non_members.items())),
        "conversations": listing,
    }
