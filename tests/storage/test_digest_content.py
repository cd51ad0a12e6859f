import json
from datetime import timedelta

from bot.digest_render.rendered import render
from storage.digests import community_digest, staff_digest, week_ending
from storage.outreach import reached_out
from storage.tier_changes import tier_counts_at, weekly_active_by_tier
from storage.tiers import tier_counts
from tests.digest_world import NAMES, NOW, POLICY, build_world

# Words that only staff figures use; the public digest must never say them.
STAFF_WORDS = ("tier", "score", "quiet", "candidate", "outreach", "goal", "passive", "hero bar",
               "unanswered", "silent", "staff")  # fmt: skip


def all_renderings(digest) -> str:
    rendered = render(digest)
    return "\n".join(
        [rendered.text, json.dumps(rendered.discord_embeds), json.dumps(rendered.slack_blocks)]
    )


async def test_community_digest_celebrates_and_leaks_nothing(engine):
    world = await build_world(engine)
    async with engine.connect() as conn:
        digest = await community_digest(conn, world.space_id, week_ending(NOW), POLICY)

    assert [m.name for m in digest.new_members] == ["Nina Newcomer", "Ned Newer"]
    thanked = [s.member.name for s in digest.shout_outs]
    assert thanked[0] == NAMES["riser"]  # four answers and four thanks this week
    assert NAMES["regular"] in thanked
    assert [m.name for m in digest.new_heroes] == [NAMES["hero"]]
    assert digest.busiest_channels[0].name == "help"
    assert [(t.starter.platform_id, t.replies) for t in digest.busiest_threads] == [("asker", 3)]
    assert digest.questions_answered > 0

    # The quiet member helped yesterday (their flag is still open): never named in public.
    # Nor staff, members who are away, members who opted out, or bots.
    hidden = ("quiet", "silent", "staff", "away", "leaver")
    assert not digest.named_members() & {world.ids[h] for h in hidden if h in world.ids}
    text = all_renderings(digest)
    for who in hidden:
        assert NAMES[who] not in text, who
    assert "Release Bot" not in text
    lowered = text.lower()
    for word in STAFF_WORDS:
        assert word not in lowered, word


async def test_staff_digest_reports_movement_people_and_outcomes(engine):
    world = await build_world(engine)
    async with engine.begin() as conn:
        await reached_out(
            conn, world.space_id, world.silent_flag, "staff-1", NOW - timedelta(days=2)
        )
    async with engine.connect() as conn:
        digest = await staff_digest(conn, world.space_id, week_ending(NOW), POLICY)
        now_counts = await tier_counts(conn, world.space_id)

    assert digest.tiers_now == now_counts
    assert [(m.member.name, m.label) for m in digest.conversions] == [
        (NAMES["riser"], "passive → active")
    ]
    assert digest.tier_change("active") == 1
    assert digest.demotions == ()
    # The silent member was reached out to (snoozed for the re-engagement window); the quiet
    # member's flag stays on the list until the next scan notices they are back.
    assert [q.member.name for q in digest.quiet] == [NAMES["quiet"]]
    assert digest.quiet_total == 1
    # The member who opted out took their five answers with them: those questions count as
    # unanswered again, oldest first, with the newcomer's.
    assert [q.member.name for q in digest.unanswered] == [NAMES["asker"]] * 5 + [NAMES["newbie"]]
    assert digest.unanswered_total == 6
    assert digest.outreach_week.reached_out == 1
    assert digest.outreach_week.pending == 1
    assert digest.weekly_active is not None
    assert len(digest.weekly_active.week_starts) == 12
    text = render(digest).text
    assert NAMES["quiet"] in text
    assert "reached out 1" in text


async def test_tier_counts_at_a_past_moment_match_what_was_stored_then(engine):
    world = await build_world(engine)
    async with engine.connect() as conn:
        # Counts a week ago are rebuilt from tier history and join dates.
        before = await tier_counts_at(conn, world.space_id, NOW - timedelta(days=7))
        now = await tier_counts_at(conn, world.space_id, NOW)
        weekly = await weekly_active_by_tier(conn, world.space_id, NOW, weeks=2)
    assert now["active"] == before["active"] + 1  # the riser
    # Passive: the riser left it, the two members who joined this week were not here before.
    assert now["passive"] == before["passive"] - 1 + 2
    # This week: the riser counts as active (their tier at the week's end), the quiet member
    # who came back yesterday still as active.
    assert weekly.counts["active"][-1] >= 3
    assert sum(weekly.counts[t][-1] for t in weekly.counts) >= 5
