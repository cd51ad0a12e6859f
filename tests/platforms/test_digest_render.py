import json
import re
from datetime import UTC, date, datetime, timedelta

import pytest

from bot.digest_render.discord_embeds import (
    EMBED_DESCRIPTION,
    EMBED_FIELD_NAME,
    EMBED_FIELD_VALUE,
    EMBED_FIELDS,
    EMBED_TITLE,
    EMBED_TOTAL,
    discord_embeds,
    embed_length,
)
from bot.digest_render.layout import DigestDoc, Section, fit_list
from bot.digest_render.rendered import render
from bot.digest_render.slack_blocks import (
    SLACK_BLOCKS,
    SLACK_HEADER,
    SLACK_TEXT,
    slack_block_text,
    slack_blocks,
)
from community.digest import (
    ChannelRow,
    CommunityDigest,
    Period,
    ShoutOut,
    StaffDigest,
    TierMove,
    UnansweredQuestion,
    WeeklyTierCounts,
)
from community.goals import Goal, GoalMetric, GoalProgress, GoalStatus
from community.outreach import OutreachStats
from community.quiet import QuietContext
from community.tiers import Trend
from community.views import AtRiskRow, Candidate, MemberRef, QuietEntry

END = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
PERIOD = Period(END - timedelta(days=7), END)


def member(i: int, name_len: int = 30) -> MemberRef:
    return MemberRef(id=i, platform_id=f"u{i}", name=f"Member {i:04d} " + "x" * name_len)


def huge_community(n: int = 2000) -> CommunityDigest:
    return CommunityDigest(
        space_name="S" * 400,
        period=PERIOD,
        new_members=tuple(member(i) for i in range(n)),
        shout_outs=tuple(ShoutOut(member(i, 300), 9, 9, 9) for i in range(n)),
        new_heroes=tuple(member(i) for i in range(n)),
        busiest_channels=tuple(ChannelRow("c" * 120, 10, 5) for _ in range(n)),
        questions_answered=12345,
    )


def huge_staff(n: int = 2000) -> StaffDigest:
    context = QuietContext(last_seen=END - timedelta(days=40), silent_days=40, usual_gap_days=2.0,
                           tier="active", channels=("help",) * 3, helped=("A", "B", "C"),
                           helped_count=20)  # fmt: skip
    goal = Goal(GoalMetric.ACTIVE_MEMBERS, 100, date(2027, 1, 1), name="G" * 500)
    stats = OutreachStats(start=PERIOD.start, end=END, as_of=END, reached_out=5, re_engaged=2)
    return StaffDigest(
        space_name="Staff space",
        period=PERIOD,
        tiers_now={"hero": 10, "active": 50, "passive": 500},
        tiers_before={"hero": 9, "active": 52, "passive": 480},
        conversions=tuple(TierMove(member(i), "passive", "active", END) for i in range(n)),
        demotions=tuple(TierMove(member(i), "hero", "active", END) for i in range(n)),
        quiet=tuple(
            QuietEntry(flag_id=i, member=member(i), status="open", opened_at=END, context=context)
            for i in range(n)
        ),
        quiet_total=n + 500,
        hero_candidates=tuple(
            Candidate(member(i), "active", 100.0, 0.9, Trend.RISING, "r") for i in range(n)
        ),
        at_risk=tuple(
            AtRiskRow(member(i), "hero", "active", ("score 100 of 120 needed",), 0, END.date(), 1.0)
            for i in range(n)
        ),
        unanswered=tuple(UnansweredQuestion(member(i), "help", END) for i in range(n)),
        unanswered_total=n,
        outreach_week=stats,
        outreach_quarter=stats,
        goals=tuple(GoalProgress(goal, 50, 80, GoalStatus.OFF_TRACK) for _ in range(n)),
        weekly_active=WeeklyTierCounts(
            (END.date(),), {"hero": (1,), "active": (2,), "passive": (3,)}
        ),
    )


def more_count(text: str) -> int:
    found = re.search(r"and (\d+) more$", text)
    return int(found.group(1)) if found else 0


@pytest.mark.parametrize("digest", [huge_community(), huge_staff()], ids=["community", "staff"])
def test_discord_embeds_stay_within_every_limit(digest):
    embeds = render(digest).discord_embeds
    assert len(embeds) == 1
    embed = embeds[0]
    assert embed_length(embed) <= EMBED_TOTAL
    assert len(embed["title"]) <= EMBED_TITLE
    assert len(embed["description"]) <= EMBED_DESCRIPTION
    assert 0 < len(embed["fields"]) <= EMBED_FIELDS
    for f in embed["fields"]:
        assert 0 < len(f["name"]) <= EMBED_FIELD_NAME
        assert 0 < len(f["value"]) <= EMBED_FIELD_VALUE
    # Long lists end in "and N more", and N plus what is shown is the whole list.
    welcome = embed["fields"][0]["value"]
    if isinstance(digest, CommunityDigest):
        shown = welcome.count("Member ")
        assert shown + more_count(welcome) == len(digest.new_members)
        assert shown >= 1


@pytest.mark.parametrize("digest", [huge_community(), huge_staff()], ids=["community", "staff"])
def test_slack_blocks_stay_within_every_limit(digest):
    blocks = render(digest).slack_blocks
    assert len(blocks) <= SLACK_BLOCKS
    assert len(blocks[0]["text"]["text"]) <= SLACK_HEADER
    for block in blocks:
        if block["type"] == "rich_text":
            text = slack_block_text(block)
            assert len(text) <= SLACK_TEXT
            title = text.split("\n", 1)[0]
            if title not in ("Members per tier", "Outreach"):
                assert more_count(text) > 0
        if block["type"] == "context":
            for element in block["elements"]:
                assert len(element["text"]) <= SLACK_TEXT


def test_staff_quiet_list_counts_members_beyond_those_loaded():
    digest = huge_staff(n=3)
    field = next(f for f in render(digest).discord_embeds[0]["fields"] if "quiet" in f["name"])
    # Three loaded, 503 flagged in all.
    assert more_count(field["value"]) == 500


def test_more_sections_than_slack_allows_are_cut_with_a_pointer():
    doc = DigestDoc("community", "T", "D", tuple(Section(f"s{i}", ("x",)) for i in range(80)), "F")
    blocks = slack_blocks(doc)
    assert len(blocks) == SLACK_BLOCKS
    assert "More in" in blocks[-1]["elements"][0]["text"]
    embeds = discord_embeds(doc)
    assert len(embeds[0]["fields"]) == EMBED_FIELDS


def test_fit_list_cuts_with_and_n_more():
    section = Section("t", tuple(f"item {i}" for i in range(10)))
    text = fit_list(section, 30)
    assert len(text) <= 30
    assert text.startswith("item 0\nitem 1")
    assert text.endswith(f"… and {10 - text.count('item')} more")
    assert fit_list(Section("t", ("a" * 500,)), 20).endswith("…")
    assert fit_list(Section("t", ()), 100) == "none this week"
    inline = Section("t", tuple(f"n{i}" for i in range(100)), inline=True)
    assert fit_list(inline, 40).endswith("more")


def test_names_cannot_mention_or_format():
    sneaky = MemberRef(id=1, platform_id="u1", name="<!channel> **bold** @everyone <@123>")
    digest = CommunityDigest(space_name="S", period=PERIOD, new_members=(sneaky,))
    rendered = render(digest)
    # Slack: the name sits in rich_text, shown as typed and parsed for nothing.
    block = rendered.slack_blocks[2]
    assert block["type"] == "rich_text"
    assert sneaky.name in slack_block_text(block)
    assert all(element["type"] == "text" for element in block["elements"][0]["elements"]), (
        "no mention, link or emoji element comes from a name"
    )
    assert sneaky.name not in json.dumps(
        [b for b in rendered.slack_blocks if b["type"] != "rich_text"], ensure_ascii=False
    )
    discord_value = rendered.discord_embeds[0]["fields"][0]["value"]
    assert "\\*\\*bold\\*\\*" in discord_value
    assert "@everyone" not in discord_value  # "@\u200beveryone" reads as no ping
    assert "<@123>" not in discord_value


def test_command_replies_show_names_as_typed_on_both_platforms():
    from bot.commands.replies import Entry, Reply
    from bot.discord import render as discord_render
    from bot.slack import render as slack_render

    name = "*bold* _it_ `code` <!channel> @everyone [click](https://evil.example)"
    reply = Reply(title="Hero candidates", text=f"Top: {name}", entries=(Entry(name, name),))
    blocks = slack_render.blocks(reply)
    rich = [b for b in blocks if b["type"] == "rich_text"]
    assert all(name in slack_render.block_text(b) for b in rich)
    assert name not in json.dumps([b for b in blocks if b["type"] != "rich_text"])
    card = discord_render.embed(reply)
    shown = [card.description, *(f.name for f in card.fields), *(f.value for f in card.fields)]
    for text in shown:
        assert "@everyone" not in text
        assert "*bold*" not in text
        assert "](" not in text
