"""The command registry and button actions: every command has one handler, every id one meaning."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.commands import outreach
from bot.commands.actions import DeleteMyData, RecordOutreach, ShowPage, decode, encode
from bot.commands.parse import CommandError
from bot.commands.registry import HANDLERS
from bot.commands.service import CommandService  # noqa: F401  (imports every handler module)
from bot.commands.spec import BY_NAME, OUTREACH_CHOICES


def test_every_command_has_exactly_one_handler_and_every_handler_a_command():
    assert set(HANDLERS) == set(BY_NAME)


def test_every_outreach_choice_a_button_can_carry_is_one_the_handler_knows():
    assert set(outreach.CHOICES) == set(OUTREACH_CHOICES)


@pytest.mark.parametrize(
    ("action", "wire"),
    [
        # The strings buttons already posted in chats carry: they must keep their meaning.
        (ShowPage("quiet", 10, 2), "pulse:page:quiet:10:2"),
        (RecordOutreach(42, "snooze"), "pulse:outreach:42:snooze"),
        (DeleteMyData("U012AB3CD"), "pulse:privacy:delete:U012AB3CD"),
    ],
)
def test_actions_keep_the_ids_of_buttons_already_posted(action, wire):
    assert encode(action) == wire
    assert decode(wire) == action


ids = st.text(st.characters(blacklist_characters=":"), min_size=1, max_size=30)


@given(
    st.one_of(
        st.builds(ShowPage, ids, st.integers(0, 10**6), st.integers(0, 10**6)),
        st.builds(RecordOutreach, st.integers(0, 10**12), st.sampled_from(OUTREACH_CHOICES)),
        st.builds(DeleteMyData, ids),
    )
)
def test_every_action_reads_back_as_itself(action):
    assert decode(encode(action)) == action


@pytest.mark.parametrize(
    "foreign",
    [
        "",
        "pulse",
        "other:page:quiet:10:0",
        "pulse:page:quiet:-1:0",
        "pulse:page:quiet:10",
        "pulse:page:quiet:١٠:0",
        "pulse:outreach:7:ban",
        "pulse:outreach:x:done",
        "pulse:privacy:delete:",
        "pulse:privacy:keep:U1",
    ],
)
def test_an_id_pulse_did_not_make_is_refused_in_one_line(foreign):
    with pytest.raises(CommandError, match="not one of Pulse's"):
        decode(foreign)
