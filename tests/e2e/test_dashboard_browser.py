"""The dashboard as a staff member uses it, in a real headless Chromium.

From `/dashboard` in (the fake) Discord, and in (the fake) Slack over signed HTTP requests, to
the pages, acting on the quiet list and seeing the chat's /quiet change, and out again; then
every page of the demo community, photographed.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import re
import shutil
from datetime import timedelta

from sqlalchemy import select

from bot.commands.service import CommandService
from bot.discord.client import PulseClient
from bot.services.classification import reclassify_and_scan
from bot.services.web_auth import link_for_operator
from bot.settings import Settings, parse_settings
from bot.web.app import build_app, serve_web
from bot.web.links import sign_in_url
from community.clock import FixedClock
from storage.engine import create_engine
from storage.migrate import upgrade
from storage.models import Outreach
from storage.uow import UnitOfWork
from storage.writer.queue import IngestWriter
from tests.factories import DEMO_NOW, settle
from tests.platforms.test_discord import KEY, discord_settings
from tests.platforms.test_slack import KEY as SLACK_KEY
from tests.platforms.test_slack import _quiet_community as quiet_community
from tests.platforms.test_slack import free_port, pulse_slack
from tests.platforms.test_slack import texts as slack_texts
from tests.web.browser import chromium, screenshot


@contextlib.asynccontextmanager
async def dashboard_at(uow: UnitOfWork, clock, key: bytes = KEY):
    """The dashboard served on a free loopback port: the settings whose links point at it."""
    stop, ready = asyncio.Event(), asyncio.get_running_loop().create_future()
    app = build_app(uow, Settings(), key, clock)
    server = asyncio.create_task(serve_web(app, "127.0.0.1", 0, stop, ready.set_result))
    try:
        url = await asyncio.wait_for(ready, 10)
        yield parse_settings({"web": {"port": int(url.rsplit(":", 1)[1])}})
    finally:
        stop.set()
        await server


def quiet_names(reply) -> list[str]:
    return [field["name"] for field in reply.embeds[0].get("fields", [])]


def slack_quiet(reply) -> list[str]:
    """The members a Slack /quiet answer lists: each entry opens with the name in bold."""
    return [
        part["text"].strip()
        for block in reply.blocks
        if block["type"] == "rich_text"
        for section in block["elements"]
        for part in section["elements"][:1]
        if part.get("style", {}).get("bold")
    ]


async def test_from_the_dashboard_command_to_the_quiet_list_and_out(fake_discord, engine):
    # `engine`: on SQLite and on the session's PostgreSQL server.
    fake, w = fake_discord, fake_discord.world
    now = fake.now()
    clock = FixedClock(now)
    uow = UnitOfWork(engine)
    writer = IngestWriter(engine, KEY, batch_size=50, flush_interval=0.01)
    await writer.start()
    try:
        async with dashboard_at(uow, clock) as settings:
            service = CommandService(
                uow, settings.policies(), KEY, clock, settings.web.public_url()
            )
            client = PulseClient(
                discord_settings(fake), writer, service, uow, guild_ready_timeout=0.1
            )
            async with fake.running(client):
                await fake.wait_for(client.caught_up.is_set, what="catch-up to finish")
                for day in range(70, 20, -2):
                    at = now - timedelta(days=day)
                    asked = await fake.send_message(w.help, w.bob, "How do I page?", at=at)
                    await fake.reply(
                        asked, w.alice, "Use the cursor.", at=at + timedelta(minutes=5)
                    )
                await settle(fake, client, 50)
                policies = settings.tiers.policy(), settings.quiet.policy()
                await reclassify_and_scan(uow, 1, now, *policies)
                before = quiet_names(
                    await fake.wait_for_response(await fake.invoke_command("quiet", w.carol))
                )
                assert before

                answer = await fake.wait_for_response(
                    await fake.invoke_command("dashboard", w.carol)
                )
                assert answer.ephemeral
                link = answer.embeds[0]["description"].splitlines()[0]
                async with chromium() as browser:
                    page = await browser.new_page()
                    await page.goto(link)
                    await page.click("button:has-text('Sign in')")
                    await page.wait_for_selector("text=since last week")
                    for nav, expect in (
                        ("Hero candidates", "h1:has-text('Hero candidates')"),
                        ("Channels", "h1:has-text('Channels')"),
                        ("Overview", "text=since last week"),
                        ("Quiet", "h1:has-text('Quiet members')"),
                    ):
                        await page.click(f"nav >> text={nav}")
                        await page.wait_for_selector(expect)
                    first = page.locator(".entry").first
                    name = (await first.locator("h2").inner_text()).strip()
                    assert name == before[0]
                    await first.locator("h2 a").click()
                    await page.wait_for_selector(f"h1:has-text('{name}')")
                    await page.wait_for_selector("text=Tier history")
                    await page.click("button:has-text('Reached out')")
                    await page.wait_for_selector("text=Recorded: you reached out")

                    after = quiet_names(
                        await fake.wait_for_response(await fake.invoke_command("quiet", w.carol))
                    )
                    assert name not in after

                    # Members: filter to active, sort by name, download this view, read it.
                    await page.click("nav >> text=Members")
                    await page.select_option("select[name=tier]", "active")
                    await page.click("button:has-text('Filter')")
                    await page.click("th >> text=Member")
                    await page.wait_for_selector("th:has-text('Member ▲')")
                    listed = await page.locator("tbody tr td:first-child a").all_inner_texts()
                    async with page.expect_download() as waiting:
                        await page.click("text=Download CSV of this view")
                    download = await waiting.value
                    saved = await download.path()
                    text = await asyncio.to_thread(saved.read_text, encoding="utf-8")
                    rows = list(csv.DictReader(io.StringIO(text)))
                    assert [r["name"] for r in rows] == listed
                    assert listed
                    assert {r["tier"] for r in rows} == {"active"}

                    await page.click("button:has-text('Sign out')")
                    await page.wait_for_selector("text=You are signed out")
                    await page.goto(link.split("/signin/")[0] + "/c/1/quiet")
                    await page.wait_for_selector("text=Sign in with a link from chat")
                    # The link itself was used up when signing in.
                    await page.goto(link)
                    await page.wait_for_selector("text=already used")
    finally:
        await writer.close()


async def test_from_the_slack_dashboard_command_to_the_quiet_list_and_out(fake_slack, engine):
    """The same walk from Slack: a signed /dashboard over HTTP, the link, the quiet list.

    On SQLite and on the session's PostgreSQL server (`engine`).
    """
    fake, w = fake_slack, fake_slack.world
    uow = UnitOfWork(engine)
    async with (
        dashboard_at(uow, FixedClock(fake.now()), SLACK_KEY) as settings,
        pulse_slack(
            fake, engine, mode="http", port=free_port(), web_url=settings.web.public_url()
        ) as pulse,
    ):
        await quiet_community(fake, pulse, engine)
        before = slack_quiet(await fake.wait_for_response(await fake.slash_command(
            "/quiet", "10", w.carol)))  # fmt: skip
        assert before

        delivery = await fake.slash_command("/dashboard", "", w.carol)
        assert delivery.status == 200  # HTTP mode: the signed request was accepted
        answer = await fake.wait_for_response(delivery)
        assert answer.response_type == "ephemeral"
        # One link, in the message's fallback text and in its blocks.
        (link,) = set(re.findall(r"http://127\.0\.0\.1:\d+/signin/[\w-]+", slack_texts(answer)))
        async with chromium() as browser:
            page = await browser.new_page()
            await page.goto(link)
            await page.click("button:has-text('Sign in')")
            await page.wait_for_selector("text=since last week")
            await page.click("nav >> text=Quiet")
            await page.wait_for_selector("h1:has-text('Quiet members')")
            first = page.locator(".entry").first
            name = (await first.locator("h2").inner_text()).strip()
            assert name == before[0]
            await first.locator("h2 a").click()
            await page.wait_for_selector(f"h1:has-text('{name}')")
            await page.wait_for_selector("text=Tier history")
            await page.click("button:has-text('Reached out')")
            await page.wait_for_selector("text=Recorded: you reached out")

            after = slack_quiet(await fake.wait_for_response(await fake.slash_command(
                "/quiet", "10", w.carol)))  # fmt: skip
            # /quiet shows four a page: the next one moves up into the freed place.
            assert name not in after
            assert [n for n in before if n != name] == after[: len(before) - 1]

            await page.click("button:has-text('Sign out')")
            await page.wait_for_selector("text=You are signed out")
            await page.goto(link.split("/signin/")[0] + "/c/1/quiet")
            await page.wait_for_selector("text=Sign in with a link from chat")
    async with engine.connect() as conn:
        rows = (await conn.execute(select(Outreach.action, Outreach.staff_platform_id))).all()
    assert rows == [("reached_out", w.carol)]


async def test_every_page_of_the_demo_community_in_chromium(demo_db, tmp_path):
    path = tmp_path / "demo.db"
    shutil.copy(demo_db[0], path)  # the session's demo file is read-only for tests
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    await upgrade(engine)
    clock, uow = FixedClock(DEMO_NOW), UnitOfWork(engine)
    try:
        async with dashboard_at(uow, clock, KEY) as settings, chromium() as browser:
            token = await link_for_operator(uow, 1, clock.now(), 10)
            page = await browser.new_page()
            await page.goto(sign_in_url(settings.web.public_url(), token))
            await page.click("button:has-text('Sign in')")
            await page.wait_for_selector("text=since last week")
            # The load event waits for the charts; the strict CSP would refuse a script check.
            await page.wait_for_load_state("load")
            shots = [await screenshot(page, tmp_path, "overview")]
            for nav, name in (("Members", "members"), ("Quiet", "quiet"),
                              ("Hero candidates", "heroes"), ("Channels", "channels")):  # fmt: skip
                await page.click(f"nav >> text={nav}")
                await page.wait_for_load_state("load")
                assert "Sign in" not in await page.title()
                shots.append(await screenshot(page, tmp_path, name))
            await page.click("nav >> text=Hero candidates")
            await page.locator("td a").first.click()
            await page.wait_for_selector("text=Tier history")
            # The load event waits for the charts; the strict CSP would refuse a script check.
            await page.wait_for_load_state("load")
            shots.append(await screenshot(page, tmp_path, "member"))
        assert all(shot.read_bytes()[:4] == b"\x89PNG" for shot in shots)
    finally:
        await engine.dispose()
