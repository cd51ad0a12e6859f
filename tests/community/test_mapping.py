"""The pure pieces the importers and the live adapters share."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from community import ids
from community.helpgraph import reply_target
from community.mapping import RecentMap, ThreadTracker
from community.slack_map import SlackMapper, SlackUser
from community.text import _THANKS, _says_thanks, is_me_too, message_features


@pytest.mark.parametrize(
    ("text", "kwargs", "question", "thanks"),
    [
        ("thanks!", {}, False, False),  # aimed at nobody: credits nobody
        ("thanks!", {"aimed_at_member": True}, False, True),
        ("my build fails", {"in_help_channel": True}, True, False),
        ("my build fails", {"in_help_channel": True, "top_level": False}, False, False),
        ("How do I deploy?", {"top_level": False}, True, False),
        ("see `a?b`", {}, False, False),
        ("thanks, and why does it crash?", {"aimed_at_member": True}, True, True),
        (None, {"in_help_channel": True}, True, False),
    ],
)
def test_message_features(text, kwargs, question, thanks):
    got = message_features(text, **kwargs)
    assert (got.is_question, got.is_thanks) == (question, thanks)


def test_recent_map_forgets_the_oldest_and_keeps_what_is_used():
    recent = RecentMap(capacity=3)
    for n in range(3):
        recent[n] = f"v{n}"
    assert recent.get(0) == "v0"  # read back from the old generation: kept
    for n in range(3, 9):
        recent[n] = f"v{n}"
    assert recent.get(1) is None
    assert recent.get(8) == "v8"
    assert len(recent) <= 6


def test_thread_tracker_knows_the_starter_and_the_last_other_speaker():
    threads = ThreadTracker()
    threads.start("t1", "alice", "q1")
    assert threads.reply("t1", "bob") == ("alice", "q1", None)
    assert threads.reply("t1", "carol") == ("alice", "q1", "bob")
    assert threads.reply("t1", "alice") == ("alice", "q1", "carol")
    assert threads.reply("t1", "alice") == ("alice", "q1", "carol")
    # A thread first seen through a reply takes the starter the platform names.
    assert threads.reply("t2", "bob", starter="dave", parent_event_id="q2") == ("dave", "q2", None)
    assert threads.reply("t3", "bob") == (None, None, None)
    assert threads.reply("t3", "carol") == (None, None, "bob")


@pytest.mark.parametrize(
    ("author", "kwargs", "aimed"),
    [
        # Others' replies help the starter, or whoever they reference.
        ("bob", {"starter": "alice"}, "alice"),
        ("bob", {"starter": "alice", "replied_to": "carol"}, "carol"),
        # The starter's own replies are follow-ups, whoever they reference.
        ("alice", {"starter": "alice", "last_other": "bob"}, None),
        ("alice", {"starter": "alice", "replied_to": "bob"}, None),
        # A "me too" helps nobody.
        ("carol", {"starter": "alice", "me_too": True}, None),
        # Thanks: the member mentioned, else the one replied to, else the last other speaker.
        ("alice", {"starter": "alice", "last_other": "bob", "is_thanks": True}, "bob"),
        ("alice", {"starter": "alice", "mentioned": "carol", "is_thanks": True}, "carol"),
        ("alice", {"starter": "alice", "is_thanks": True}, None),
        ("bob", {"starter": "alice", "last_other": "bob", "is_thanks": True}, None),
        # Nobody is aimed at themselves; an unknown starter leaves the member spoken to.
        ("bob", {"starter": "alice", "replied_to": "bob"}, "alice"),
        ("bob", {"starter": None, "last_other": "carol"}, "carol"),
        ("bob", {"starter": None}, None),
    ],
)
def test_reply_target_rules(author, kwargs, aimed):
    assert reply_target(author, **kwargs) == aimed


@pytest.mark.parametrize(
    ("text", "me_too"),
    [
        ("+1", True),
        ("same here!", True),
        ("+1 same problem", True),
        ("I have the same issue", True),
        ("same, any update?", True),
        ("+1, same problem here since this morning", True),
        ("works for me too now", True),
        ("Same config works for me: set retries to 3 and restart", False),
        ("use the same config as prod", False),
    ],
)
def test_me_too(text, me_too):
    assert is_me_too(text) is me_too


def test_event_ids_fit_the_column():
    long_emoji = "x" * 300
    event_id = ids.slack_reaction("C1", "1.2", long_emoji, "U1")
    assert len(event_id) <= ids.MAX_LENGTH
    assert event_id == ids.slack_reaction("C1", "1.2", long_emoji, "U1")
    assert event_id != ids.slack_reaction("C1", "1.2", long_emoji + "y", "U1")
    assert ids.discord_thread("5") != ids.discord_message("5")


def test_slack_thanks_to_a_bot_credits_nobody():
    mapper = SlackMapper("T1", {"UBOT": SlackUser("bot", is_bot=True)})
    (event,) = mapper.events({"user": "U1", "ts": "1.0", "text": "thanks <@UBOT>"}, "C1")
    assert event.is_thanks is False
    assert event.target_member_id is None


PIECES = ["thanks", "Thank  U", "THX", "tyvm", "Cheers", "much appreciated", "merci", "DANKE",
          "gracias", "ty", "tyre", "ſ", "K", "İ", "ı", " ", "!", "a", "than", "x"]  # fmt: skip


@settings(max_examples=2000, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=8).map("".join))
def test_thanks_prefilter_never_rejects_a_match(text):
    assert _says_thanks(text) == (_THANKS.search(text) is not None)


@pytest.mark.parametrize(
    ("author", "text", "kwargs", "expected"),
    [
        # "thanks all" thanks nobody, and is not help either.
        ("alice", "thanks all, got it working.", {"last_other": "bob"}, (None, False, True)),
        ("carol", "perfect, thanks both", {"last_other": "bob"}, (None, False, True)),
        # The asker thanks the last helper.
        ("alice", "that did it, thanks", {"last_other": "bob"}, ("bob", True, True)),
        # A helper's polite answer is help, not a thank-you.
        (
            "bob",
            "Thanks for the logs! Each batch is over 1 MB; lower batch_size to 200.",
            {},
            ("alice", False, True),
        ),
        # The asker's "thanks! one more thing" stays a thank-you.
        (
            "alice",
            "thanks! one more thing: how do I point it at the EU region?",
            {"last_other": "bob"},
            ("bob", True, True),
        ),
        # A me-too hangs from nothing.
        ("carol", "+1, same here since Monday", {}, (None, False, False)),
    ],
)
def test_judge_reply(author, text, kwargs, expected):
    from community.helpgraph import judge_reply
    from community.text import is_thanks

    judged = judge_reply(author, text, starter="alice", says_thanks=is_thanks(text), **kwargs)
    assert (judged.target, judged.is_thanks, judged.hangs) == expected


def test_accept_reactions_match_across_platforms_and_skin_tones():
    from community.helpgraph import DEFAULT_ACCEPT_KEYS, accept_keys, is_accept

    for emoji in ("✅", "white_check_mark", "✔️", "heavy_check_mark", "🙏", "pray", "👍", "👍🏽",
                  "+1", "+1::skin-tone-3", "thumbsup", ":pray:"):  # fmt: skip
        assert is_accept(emoji, DEFAULT_ACCEPT_KEYS), emoji
    for emoji in ("eyes", "🎉", "heart", "-1"):
        assert not is_accept(emoji, DEFAULT_ACCEPT_KEYS), emoji
    custom = accept_keys(["✅", "1234567890", ":shipit:"])
    assert is_accept("1234567890", custom)
    assert is_accept("shipit", custom)
    assert not is_accept("👍", custom)
