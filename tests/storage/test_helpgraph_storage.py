"""The help graph as stored: which questions are answered, which replies are answers, thanks."""

from datetime import timedelta

from sqlalchemy import func, select

from community.digest import Period
from storage.digests import unanswered_questions
from storage.helpgraph import accepted_answers, answered_questions
from storage.models import Activity, DailyRollup, HelpEdge, Member
from storage.spaces import resolve_space
from tests.factories import T0, ev, ingest


def thread(event_id="q1", asker="alice", **kwargs):
    """A question that starts a thread."""
    return ev("message", asker, event_id=event_id, is_question=True, **kwargs)


def reply(member, target, *, event_id, root="q1", minutes=1, **kwargs):
    """A reply in ROOT's thread, MINUTES after T0."""
    return ev(
        "reply",
        member,
        event_id=event_id,
        target_member_id=target,
        parent_event_id=root,
        at=T0 + timedelta(minutes=minutes),
        **kwargs,
    )


async def test_which_questions_are_answered(engine):
    events = [
        # A question answered by another member's reply in its thread.
        thread("q1"),
        reply("bob", "alice", event_id="r1"),
        # A question with only a reaction and the asker's own follow-up: unanswered.
        thread("q2"),
        ev("reaction_given", "bob", event_id="x2", target_member_id="alice", parent_event_id="q2"),
        reply("alice", None, event_id="f2", root="q2", minutes=2),
        # A question asked inside a thread, answered by a later reply there; one asked after
        # the last reply is not.
        thread("q3", asker="carol"),
        reply("alice", "carol", event_id="r3a", root="q3", minutes=1),
        reply("carol", None, event_id="q3b", root="q3", minutes=2, is_question=True),
        reply("alice", "carol", event_id="r3c", root="q3", minutes=3),
        reply("carol", None, event_id="q3d", root="q3", minutes=4, is_question=True),
        # A helper's clarifying question is a reply, so it answers (as the issue defines it);
        # the asker's follow-up answers the clarifying question.
        thread("q4", asker="dave"),
        reply("bob", "dave", event_id="q4a", root="q4", minutes=1, is_question=True),
        reply("dave", None, event_id="f4", root="q4", minutes=2),
        # A "me too" hangs from nothing and answers nothing.
        thread("q5", asker="erin"),
        ev("reply", "frank", event_id="m5", at=T0 + timedelta(minutes=1)),
    ]
    await ingest(engine, events)
    async with engine.connect() as conn:
        space = await resolve_space(conn, None)
        got = await answered_questions(conn, space)
    assert got == {
        "q1": True,
        "q2": False,
        "q3": True,
        "q3b": True,
        "q3d": False,
        "q4": True,
        "q4a": True,
        "q5": False,
    }


async def test_csv_questions_are_never_called_unanswered(engine):
    await ingest(engine, [thread("q1"), thread("csv:c1:abc", asker="bob")])
    async with engine.connect() as conn:
        space = await resolve_space(conn, None)
        period = Period(T0 - timedelta(days=1), T0 + timedelta(days=1))
        listed, total = await unanswered_questions(conn, space, period, 10)
    assert total == 1
    assert [q.member.platform_id for q in listed] == ["alice"]


async def test_answers_once_per_helper_and_thread_and_thanks_once(engine):
    events = [
        thread("q1"),
        reply("bob", "alice", event_id="r1", minutes=1),
        reply("bob", "alice", event_id="r2", minutes=2),
        reply("bob", "alice", event_id="r3", minutes=3),
        # Carol answers Bob's point, not Alice's question: help to Bob, not an answer.
        reply("carol", "bob", event_id="r4", minutes=4),
        reply("alice", "bob", event_id="t1", minutes=5, is_thanks=True),
        reply("alice", "bob", event_id="t2", minutes=6, is_thanks=True),
        # A question asked inside the thread: Carol's reply to it is her answer.
        reply("alice", None, event_id="q2", minutes=7, is_question=True),
        reply("carol", "alice", event_id="r5", minutes=8),
    ]
    await ingest(engine, events)
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(
                Member.platform_id,
                func.sum(DailyRollup.answers),
                func.sum(DailyRollup.replies),
                func.sum(DailyRollup.thanks_received),
            )
            .join(DailyRollup, DailyRollup.member_id == Member.id)
            .group_by(Member.platform_id)
        )
        totals = {m: (a, r, t) for m, a, r, t in rows}
        answers = set(
            (await conn.execute(select(Activity.event_id).where(Activity.is_answer))).scalars()
        )
    assert answers == {"r1", "r5"}
    assert totals["bob"] == (1, 3, 1)
    assert totals["carol"] == (1, 2, 0)
    assert totals["alice"] == (0, 0, 0)


async def accepted(engine) -> tuple[set[str], dict[str, int]]:
    """The accepted replies, and each member's accepted answers in their rollups."""
    async with engine.connect() as conn:
        space = await resolve_space(conn, None)
        replies = await accepted_answers(conn, space)
        rows = await conn.execute(
            select(Member.platform_id, func.sum(DailyRollup.accepted_answers))
            .join(DailyRollup, DailyRollup.member_id == Member.id)
            .group_by(Member.platform_id)
        )
        return replies, {m: int(n) for m, n in rows if n}


async def test_an_asker_accepts_by_thanks_or_by_reaction(engine):
    events = [
        thread("q1"),
        reply("bob", "alice", event_id="r1", minutes=1),
        reply("bob", "alice", event_id="r2", minutes=2),
        # Thanks accept the helper's latest reply before them, once however often said.
        reply("alice", "bob", event_id="t1", minutes=3, is_thanks=True),
        reply("alice", "bob", event_id="t2", minutes=4, is_thanks=True),
        thread("q2", asker="carol"),
        reply("dave", "carol", event_id="r3", root="q2", minutes=1),
        # An accept reaction (a reaction whose is_thanks the mapper set) by the asker.
        ev(
            "reaction_given",
            "carol",
            event_id="x3",
            target_member_id="dave",
            parent_event_id="r3",
            is_thanks=True,
        ),
        # Someone else's accept reaction accepts nothing: the reply did not help them.
        reply("dave", "carol", event_id="r4", root="q2", minutes=2),
        ev(
            "reaction_given",
            "erin",
            event_id="x4",
            target_member_id="dave",
            parent_event_id="r4",
            is_thanks=True,
        ),
    ]
    await ingest(engine, events)
    replies, counts = await accepted(engine)
    assert replies == {"r2", "r3"}
    assert counts == {"bob": 1, "dave": 1}


async def test_a_reaction_stored_before_its_reply_still_accepts_it(engine):
    reaction = ev("reaction_given", "alice", event_id="x1", target_member_id="bob",
                  parent_event_id="r1", is_thanks=True)  # fmt: skip
    await ingest(engine, [thread("q1"), reaction])
    await ingest(engine, [reply("bob", "alice", event_id="r1")])
    assert await accepted(engine) == ({"r1"}, {"bob": 1})


async def test_the_readme_example_thread(engine):
    """The example in docs/how-pulse-decides.md, through the Slack mapper and the writer."""
    from community.slack_map import SlackMapper, SlackUser

    users = {u: SlackUser(u.lower()) for u in ("UALICE", "UBOB", "UCAROL")}
    mapper = SlackMapper("T1", users, help_channels=["CHELP"])
    root = "1780000000.000100"

    def msg(ts, user, text, **extra):
        return {"ts": ts, "user": user, "text": text, "thread_ts": root, **extra}

    thread_messages = [
        msg(root, "UALICE", "How do I rotate my API key?"),
        msg("1780000060.000100", "UBOB", "Which plan are you on?", parent_user_id="UALICE"),
        msg("1780000120.000100", "UALICE", "The team plan.", parent_user_id="UALICE"),
        msg("1780000180.000100", "UBOB", "Settings → Keys → Rotate.", parent_user_id="UALICE",
            reactions=[{"name": "white_check_mark", "users": ["UALICE"], "count": 1}]),
        msg("1780000240.000100", "UCAROL", "+1, same here", parent_user_id="UALICE"),
        msg("1780000300.000100", "UALICE", "that worked, thanks!", parent_user_id="UALICE"),
    ]  # fmt: skip
    events = [e for m in thread_messages for e in mapper.events(m, "CHELP", "help")]
    await ingest(engine, events)
    ids = [f"CHELP:{m['ts']}" for m in thread_messages]
    async with engine.connect() as conn:
        space = await resolve_space(conn, None)
        answered = await answered_questions(conn, space)
        edges = (
            await conn.execute(
                select(Member.platform_id, HelpEdge.replies).join(
                    HelpEdge, HelpEdge.helper_id == Member.id
                )
            )
        ).all()
    assert answered == {ids[0]: True, ids[1]: True}
    assert [tuple(e) for e in edges] == [("UBOB", 2)]  # bob's two replies; nobody else helped
    replies, counts = await accepted(engine)
    assert replies == {ids[3]}
    assert counts == {"UBOB": 1}
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(
                Member.platform_id,
                func.sum(DailyRollup.answers),
                func.sum(DailyRollup.thanks_received),
            )
            .join(DailyRollup, DailyRollup.member_id == Member.id)
            .group_by(Member.platform_id)
        )
        totals = {m: (int(a), int(t)) for m, a, t in rows}
    assert totals == {"UALICE": (0, 0), "UBOB": (1, 1), "UCAROL": (0, 0)}
