"""The dashboard's pages and forms over HTTP: what staff see, and that acting here acts in chat."""

from __future__ import annotations

import html
import re
from datetime import timedelta

from sqlalchemy import select

from bot.services.dashboard import CHANNEL_DAYS
from bot.services.digests import build_digest
from community.outcomes import health_lines
from storage import models
from storage.health import help_health
from tests.digest_world import NAMES
from tests.web.site import FORMULA, SCRIPT, served


async def test_overview_shows_tiers_moves_outreach_and_unanswered(sqlite_engine):
    async with served(sqlite_engine) as site:
        await site.sign_in()
        body = await (await site.client.get(f"/c/{site.world.space_id}/")).text()
        assert "since last week" in body
        assert NAMES["riser"] in body  # converted to active this week
        assert NAMES["newbie"] in body  # asked a question nobody answered
        assert "Re-engagement rate" in body
        assert f'src="/c/{site.world.space_id}/chart/weekly.svg"' in body
        chart = await site.client.get(f"/c/{site.world.space_id}/chart/weekly.svg")
        assert chart.content_type == "image/svg+xml"
        # The help-health lines are the staff digest's, word for word.
        built = await build_digest(
            site.uow, site.settings.policies(), site.world.space_id, "staff", site.clock.now()
        )
        assert built.content.health is not None
        for line in health_lines(built.content.health):
            assert html.escape(line) in body
        assert (await chart.read()).lstrip().startswith(b"<?xml")


async def test_member_page_shows_history_help_and_the_flag(sqlite_engine):
    async with served(sqlite_engine) as site:
        await site.sign_in()
        s, ids = site.world.space_id, site.world.ids
        regular = await (await site.client.get(f"/c/{s}/member/{ids['regular']}")).text()
        assert NAMES["regular"] in regular
        assert "Tier history" in regular
        assert "→ active" in regular
        assert NAMES["asker"] in regular  # whom Rita helped
        pages = [await (await site.client.get(f"/c/{s}/member/{ids[who]}")).text() for who in ids]
        counts = re.findall(r"</a> \((\d+) (repl(?:y|ies))\)</li>", "".join(pages))
        assert all((n == "1") == (word == "reply") for n, word in counts), counts
        assert ("1", "reply") in counts, counts  # some pairs met once
        quiet = await (await site.client.get(f"/c/{s}/member/{ids['quiet']}")).text()
        assert f'action="/c/{s}/quiet/{site.world.quiet_flag}"' in quiet
        # A year of weeks, drawn inline: one bar each, the busiest full height.
        assert regular.count("<rect ") == 52
        assert 'height="160.0"><title>week of' in regular
        missing = await site.client.get(f"/c/{s}/member/999999")
        assert missing.status == 404


async def test_channels_page_shows_help_health(sqlite_engine):
    async with served(sqlite_engine) as site:
        await site.sign_in()
        s = site.world.space_id
        body = await (await site.client.get(f"/c/{s}/channels")).text()
        now = site.clock.now()
        async with site.uow.read() as conn:
            health = await help_health(conn, s, now - timedelta(days=CHANNEL_DAYS), now)
    # The page's question figures are pulse health's, channel by channel.
    rows = re.findall(r"<tr><td>#([^<]+)</td>(.*?)</tr>", body, flags=re.S)
    cells = {name: re.findall(r"<td>([^<]*)", rest) for name, rest in rows}
    assert "help" in cells
    for figures in health.channels:
        if figures.channel not in cells:
            continue
        _posts, questions, within_day, answered, median, _p90 = cells[figures.channel][:6]
        assert int(questions) == figures.questions
        assert answered == (
            f"{figures.answered_share:.0%}" if figures.answered_share is not None else "–"
        )
        assert within_day == (
            f"{figures.within_day_share:.0%}" if figures.within_day_share is not None else "–"
        )
        assert median == (
            f"{figures.median_hours:.1f} h" if figures.median_hours is not None else "–"
        )
    assert any(f.questions for f in health.channels if f.channel in cells)


async def test_acting_on_a_quiet_flag_here_changes_the_chat_quiet_list(sqlite_engine):
    async with served(sqlite_engine) as site:
        await site.sign_in()
        s = site.world.space_id
        listed = await site.chat("quiet", {"limit": 10})
        assert SCRIPT in [e.heading for e in listed.entries]
        csrf = await site.csrf(f"/c/{s}/quiet")
        done = await site.client.post(
            f"/c/{s}/quiet/{site.world.quiet_flag}",
            data={"csrf": csrf, "choice": "done", "back": f"/c/{s}/quiet"},
            allow_redirects=False,
        )
        assert done.status == 303
        assert done.headers["Location"] == f"/c/{s}/quiet?note=reached_out"
        after = await site.chat("quiet", {"limit": 10})
        assert SCRIPT not in [e.heading for e in after.entries]
        assert FORMULA in [e.heading for e in after.entries]
        page = await (await site.client.get(done.headers["Location"])).text()
        assert "Recorded: you reached out" in page
        # The chat button on the same flag now finds it dealt with: one implementation.
        again = await site.client.post(
            f"/c/{s}/quiet/{site.world.quiet_flag}", data={"csrf": csrf, "choice": "dismiss"}
        )
        assert "Someone already dealt with" in await again.text()
        async with site.uow.read() as conn:
            rows = (await conn.execute(select(models.Outreach.staff_platform_id))).all()
        assert rows == [("staff",)]


async def test_hero_and_contribution_forms_record_what_the_chat_commands_do(sqlite_engine):
    async with served(sqlite_engine) as site:
        await site.sign_in()
        s, rita = site.world.space_id, site.world.ids["regular"]
        here = f"/c/{s}/member/{rita}"
        csrf = await site.csrf(here)
        await site.client.post(f"{here}/hero", data={"csrf": csrf, "action": "confirm"})
        await site.client.post(
            f"{here}/contribution",
            data={"csrf": csrf, "kind": "talk", "title": "<b>Pulse</b> at FOSDEM", "back": here},
        )
        body = await (await site.client.get(here)).text()
        assert "recognized hero" in body
        assert "&lt;b&gt;Pulse&lt;/b&gt; at FOSDEM" in body
        assert "(logged by Stan Staff)" in body  # the staff member's name, not their id
        in_chat = await site.chat("member", {"user": "regular"})
        assert "recognized hero" in dict(in_chat.fields)["Role"]
        bad = await site.client.post(
            f"{here}/contribution", data={"csrf": csrf, "kind": "poem", "title": "x"},
            allow_redirects=False,
        )  # fmt: skip
        assert bad.headers["Location"].endswith("note=bad-input")
        async with site.uow.read() as conn:
            heroes = (await conn.execute(select(models.RecognizedHero.confirmed_by))).all()
            talks = (await conn.execute(select(models.Contribution.title))).all()
        assert ("staff",) in heroes
        assert talks == [("<b>Pulse</b> at FOSDEM",)]


async def test_the_overview_keeps_its_figures_for_a_slot_and_forgets_them_after_a_change(
    sqlite_engine,
):
    def quiet_now(body: str) -> int:
        return int(re.search(r"Quiet members now: <a [^>]*>(\d+)</a>", body).group(1))

    async with served(sqlite_engine) as site:
        await site.sign_in()
        s = site.world.space_id
        overview = f"/c/{s}/"
        first = quiet_now(await (await site.client.get(overview)).text())
        assert first >= 2
        # In chat: the overview keeps its figures until the clock leaves the five-minute slot.
        await site.chat("outreach", {"user": "silent", "action": "dismiss"})
        assert quiet_now(await (await site.client.get(overview)).text()) == first
        site.clock.advance(timedelta(minutes=5))
        assert quiet_now(await (await site.client.get(overview)).text()) == first - 1
        # Through the dashboard: the change shows at once.
        csrf = await site.csrf(f"/c/{s}/quiet")
        await site.client.post(
            f"/c/{s}/quiet/{site.world.quiet_flag}", data={"csrf": csrf, "choice": "dismiss"}
        )
        assert quiet_now(await (await site.client.get(overview)).text()) == first - 2


def member_names(body: str) -> list[str]:
    """The names in a members table, as the browser shows them."""
    found = re.findall(r'<tr><td><a href="/c/\d+/member/\d+">([^<]*)</a>', body)
    return [html.unescape(name) for name in found]


async def test_members_filter_sort_search_and_page(sqlite_engine):
    async with served(sqlite_engine) as site:
        await site.sign_in()
        s = site.world.space_id
        every = await (await site.client.get(f"/c/{s}/members?sort=name&desc=0")).text()
        names = member_names(every)
        assert names == sorted(names, key=str.lower)
        assert NAMES["regular"] in names
        assert NAMES["leaver"] not in names  # opted out: gone
        active = member_names(
            await (await site.client.get(f"/c/{s}/members?tier=active&sort=name&desc=0")).text()
        )
        assert NAMES["regular"] in active
        assert NAMES["newbie"] not in active
        quiet = member_names(await (await site.client.get(f"/c/{s}/members?quiet=yes")).text())
        assert set(quiet) == {SCRIPT, FORMULA}
        found = member_names(await (await site.client.get(f"/c/{s}/members?q=rita")).text())
        assert found == [NAMES["regular"]]
        bad = await (await site.client.get(f"/c/{s}/members?tier=wizard")).text()
        assert "unknown tier" in bad


async def test_members_pages_and_the_csv_of_the_view(sqlite_engine):
    import csv
    import io

    import bot.web.members as members

    async with served(sqlite_engine) as site:
        await site.sign_in()
        s = site.world.space_id
        saved, members.PER_PAGE = members.PER_PAGE, 3
        try:
            first = await (await site.client.get(f"/c/{s}/members?sort=name&desc=0")).text()
            second = await (await site.client.get(f"/c/{s}/members?sort=name&desc=0&page=2")).text()
        finally:
            members.PER_PAGE = saved
        assert len(member_names(first)) == 3
        assert "Page 1 of" in first
        assert "page=2" in first
        assert set(member_names(first)).isdisjoint(member_names(second))
        view = "tier=active&sort=name&desc=0"
        assert f"/c/{s}/export/members.csv?" in first
        answer = await site.client.get(f"/c/{s}/export/members.csv?{view}")
        assert answer.headers["Content-Type"] == "text/csv; charset=utf-8"
        assert "attachment" in answer.headers["Content-Disposition"]
        rows = list(csv.DictReader(io.StringIO(await answer.text())))
        shown = member_names(await (await site.client.get(f"/c/{s}/members?{view}")).text())
        # The same members in the same order; a name a spreadsheet would run gets a leading '.
        assert [r["name"] for r in rows] == [
            "'" + name if name.startswith(("=", "+", "-", "@")) else name for name in shown
        ]
        assert "'" + FORMULA in [r["name"] for r in rows]
        assert {r["tier"] for r in rows} == {"active"}
        for kind in ("tier-changes", "outreach", "weekly"):
            got = await site.client.get(f"/c/{s}/export/{kind}.csv")
            assert got.status == 200
            assert (await got.text()).count("\n") >= 1
        assert (await site.client.get(f"/c/{s}/export/passwords.csv")).status == 404
