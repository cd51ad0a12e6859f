"""The dashboard's locks, tried over HTTP against the real app on 127.0.0.1.

Without a session nothing but the sign-in page; links work once, for ten minutes, and only
as issued; forms need their CSRF token; names are text; staff status is read on every request.
"""

from __future__ import annotations

import asyncio
import socket
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from bot.app import serve_dashboard
from bot.services.exports import EXPORT_KINDS
from bot.settings import WebSettings, parse_settings
from bot.web.security import COOKIE
from storage import models
from tests.web.site import FORMULA, SCRIPT, STAFF, served


def pages(site) -> list[str]:
    """Every page and chart of the dashboard, for the world's community."""
    s, member = site.world.space_id, site.world.ids["quiet"]
    return [
        "/",
        f"/c/{s}/",
        f"/c/{s}/quiet",
        f"/c/{s}/heroes",
        f"/c/{s}/channels",
        f"/c/{s}/members",
        f"/c/{s}/members?tier=active&sort=name&desc=0",
        f"/c/{s}/chart/weekly.svg",
        *(f"/c/{s}/export/{kind}.csv" for kind in EXPORT_KINDS),
        f"/c/{s}/member/{member}",
    ]


def forms(site) -> list[tuple[str, dict]]:
    """Every form of the dashboard, filled in as a page would."""
    s, member = site.world.space_id, site.world.ids["quiet"]
    return [
        (f"/c/{s}/quiet/{site.world.quiet_flag}", {"choice": "dismiss"}),
        (f"/c/{s}/member/{member}/hero", {"action": "confirm"}),
        (f"/c/{s}/member/{member}/contribution", {"kind": "talk", "title": "A talk"}),
        ("/signout", {}),
    ]


async def changes(engine) -> tuple[int, ...]:
    """What the forms change: outreach rows, heroes, contributions, flags still open."""
    async with engine.connect() as conn:
        return tuple(
            [
                (await conn.execute(select(func.count()).select_from(table))).scalar_one()
                for table in (models.Outreach, models.RecognizedHero, models.Contribution)
            ]
            + [
                (
                    await conn.execute(
                        select(func.count()).where(models.QuietFlag.status == "open")
                    )
                ).scalar_one()
            ]
        )


def is_sign_in(body: str) -> bool:
    return "Sign in with a link from chat" in body


async def test_without_a_session_every_page_and_form_is_the_sign_in_page(sqlite_engine):
    async with served(sqlite_engine) as site:
        before = await changes(sqlite_engine)
        for path in pages(site):
            answer = await site.client.get(path)
            body = await answer.text()
            assert answer.status == 401, path
            assert is_sign_in(body), path
            assert "Hana" not in body, path
            assert "alert(1)" not in body, path
        for path, data in forms(site):
            answer = await site.client.post(path, data={**data, "csrf": "0" * 64})
            assert answer.status == 401, path
            assert is_sign_in(await answer.text()), path
        assert await changes(sqlite_engine) == before


async def test_a_link_signs_in_once_and_every_page_answers(sqlite_engine):
    async with served(sqlite_engine) as site:
        token = await site.link()
        shown = await site.client.get(f"/signin/{token}")
        assert shown.status == 200
        assert 'action="/signin"' in await shown.text()  # opening it does not use it up
        signed = await site.client.post("/signin", data={"token": token}, allow_redirects=False)
        assert signed.status == 303
        assert signed.headers["Location"] == f"/c/{site.world.space_id}/"
        for path in pages(site):
            answer = await site.client.get(path)
            assert answer.status == 200, path
            assert answer.headers["Content-Security-Policy"].startswith("default-src 'none'")
        # The same link again, in another browser: refused, and a page says why.
        again = await site.client.get(f"/signin/{token}")
        assert again.status == 410
        assert "already used" in await again.text()
        reused = await site.client.post("/signin", data={"token": token}, allow_redirects=False)
        assert reused.status == 410
        assert "already used" in await reused.text()


async def test_expired_and_forged_links_are_refused(sqlite_engine):
    async with served(sqlite_engine) as site:
        token = await site.link()
        site.clock.advance(timedelta(minutes=10, seconds=1))
        late = await site.client.post("/signin", data={"token": token}, allow_redirects=False)
        assert late.status == 410
        assert "expired" in await late.text()
        assert "expired" in await (await site.client.get(f"/signin/{token}")).text()
        forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
        answer = await site.client.post("/signin", data={"token": forged}, allow_redirects=False)
        assert answer.status == 410
        assert "not a Pulse sign-in link" in await answer.text()
        assert (await site.client.get(f"/signin/{forged}")).status == 404
        assert COOKIE not in site.client.session.cookie_jar.filter_cookies(
            site.client.make_url("/")
        )


async def test_a_forged_or_tampered_cookie_is_no_session(sqlite_engine):
    async with served(sqlite_engine) as site:
        await site.sign_in()
        jar = site.client.session.cookie_jar
        value = jar.filter_cookies(site.client.make_url("/"))[COOKIE].value
        session, mac = value.rsplit(".", 1)
        for forged in (f"{session}.{'0' * len(mac)}", f"x{session}.{mac}", session, ""):
            jar.clear()
            jar.update_cookies({COOKIE: forged}, site.client.make_url("/"))
            answer = await site.client.get(f"/c/{site.world.space_id}/")
            assert answer.status == 401, forged
        # Tokens are stored hashed: the database never holds the cookie's token.
        async with site.uow.read() as conn:
            stored = (await conn.execute(select(models.WebSession.token_hash))).scalars().all()
        assert stored
        assert session not in stored


async def test_a_member_who_is_not_staff_gets_no_link(sqlite_engine):
    async with served(sqlite_engine) as site:
        reply = await site.chat("dashboard", user="regular", staff=False)
        assert "for staff" in reply.text
        async with site.uow.read() as conn:
            links = (await conn.execute(select(func.count()).select_from(models.WebLink))).one()
        assert links == (0,)
        staff = await site.chat("dashboard")
        assert staff.title == "Your dashboard link"
        assert staff.text.splitlines()[0].startswith("http://127.0.0.1:8080/signin/")


async def test_staff_removed_from_the_role_lose_access_at_once(sqlite_engine):
    async with served(sqlite_engine) as site:
        await site.sign_in()
        overview = f"/c/{site.world.space_id}/"
        assert (await site.client.get(overview)).status == 200
        async with sqlite_engine.begin() as conn:
            await conn.execute(
                update(models.Member)
                .where(models.Member.platform_id == STAFF)
                .values(is_staff=False)
            )
        answer = await site.client.get(overview)
        assert answer.status == 401
        assert is_sign_in(await answer.text())


async def test_a_form_without_its_csrf_token_changes_nothing(sqlite_engine):
    async with served(sqlite_engine) as site:
        await site.sign_in()
        before = await changes(sqlite_engine)
        for path, data in forms(site):
            for csrf in ({}, {"csrf": "0" * 64}):
                answer = await site.client.post(path, data={**data, **csrf})
                assert answer.status == 403, path
        assert await changes(sqlite_engine) == before
        assert (await site.client.get(f"/c/{site.world.space_id}/")).status == 200  # still in


async def test_sign_out_ends_the_session_server_side(sqlite_engine):
    async with served(sqlite_engine) as site:
        await site.sign_in()
        url = site.client.make_url("/")
        cookie = site.client.session.cookie_jar.filter_cookies(url)[COOKIE].value
        csrf = await site.csrf(f"/c/{site.world.space_id}/")
        out = await site.client.post("/signout", data={"csrf": csrf})
        assert out.status == 200
        assert "signed out" in await out.text()
        # The old cookie, replayed, is no session any more.
        site.client.session.cookie_jar.update_cookies({COOKIE: cookie}, url)
        assert (await site.client.get(f"/c/{site.world.space_id}/")).status == 401


async def test_sessions_expire_after_session_hours(sqlite_engine):
    async with served(sqlite_engine, {"session_hours": 2}) as site:
        await site.sign_in()
        site.clock.advance(timedelta(hours=1, minutes=59))
        assert (await site.client.get(f"/c/{site.world.space_id}/")).status == 200
        site.clock.advance(timedelta(minutes=2))
        assert (await site.client.get(f"/c/{site.world.space_id}/")).status == 401


@pytest.mark.parametrize(("base_url", "secure"), [(None, False), ("https://pulse.example", True)])
async def test_the_cookie_is_httponly_lax_and_secure_behind_https(sqlite_engine, base_url, secure):
    async with served(sqlite_engine, {"base_url": base_url} if base_url else {}) as site:
        token = await site.link()
        answer = await site.client.post("/signin", data={"token": token}, allow_redirects=False)
        header = answer.headers["Set-Cookie"]
        assert "HttpOnly" in header
        assert "SameSite=Lax" in header
        assert ("Secure" in header) is secure


async def test_hostile_names_render_as_text(sqlite_engine):
    async with served(sqlite_engine) as site:
        await site.sign_in()
        s = site.world.space_id
        for path in (
            f"/c/{s}/quiet",
            f"/c/{s}/member/{site.world.ids['quiet']}",
            f"/c/{s}/members?q=script",
        ):
            body = await (await site.client.get(path)).text()
            assert SCRIPT not in body
            assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
        quiet = await (await site.client.get(f"/c/{s}/quiet")).text()
        assert "=HYPERLINK(&#34;http://x&#34;)" in quiet
        assert FORMULA not in quiet
        # In a spreadsheet, the formula is text too: the export neutralises it.
        export = await (await site.client.get(f"/c/{s}/export/members.csv?quiet=yes")).text()
        assert "'=HYPERLINK" in export
        assert ",=HYPERLINK" not in export


async def test_a_community_where_one_is_not_staff_is_refused(sqlite_engine):
    async with served(sqlite_engine) as site:
        await site.sign_in()
        async with sqlite_engine.begin() as conn:
            other = (
                await conn.execute(
                    models.Space.__table__.insert()
                    .values(
                        platform="discord",
                        platform_id="g2",
                        name="Other",
                        created_at=site.clock.now(),
                    )
                    .returning(models.Space.id)
                )
            ).scalar_one()
        answer = await site.client.get(f"/c/{other}/")
        assert answer.status == 403
        assert "Other" not in await (await site.client.get(f"/c/{site.world.space_id}/")).text()


async def test_the_server_listens_on_loopback_unless_told_otherwise(tmp_path):
    assert WebSettings().host == "127.0.0.1"
    from storage.engine import create_engine
    from storage.migrate import upgrade

    url = f"sqlite+aiosqlite:///{tmp_path / 'pulse.db'}"
    engine = create_engine(url)
    await upgrade(engine)
    await engine.dispose()
    settings = parse_settings({"database": {"url": url}, "web": {"port": 0}})
    stop, ready = asyncio.Event(), asyncio.get_running_loop().create_future()
    server = asyncio.create_task(serve_dashboard(settings, stop, ready=ready.set_result))
    address = await asyncio.wait_for(ready, 10)
    try:
        # The address the socket is bound to, as the operating system reports it.
        assert address.startswith("http://127.0.0.1:")
        port = int(address.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            pass
    finally:
        stop.set()
        await server


async def test_sign_in_pages_and_a_form_on_both_backends(engine):
    # `engine` runs this on SQLite and on the session's PostgreSQL server.
    async with served(engine) as site:
        token = await site.link()
        await site.client.post("/signin", data={"token": token})
        s = site.world.space_id
        for path in pages(site):
            assert (await site.client.get(path)).status == 200, path
        reused = await site.client.post("/signin", data={"token": token}, allow_redirects=False)
        assert reused.status == 410
        before = await changes(engine)
        assert (await site.client.post(f"/c/{s}/quiet/{site.world.quiet_flag}")).status == 403
        assert await changes(engine) == before
        csrf = await site.csrf(f"/c/{s}/quiet")
        await site.client.post(
            f"/c/{s}/quiet/{site.world.quiet_flag}", data={"csrf": csrf, "choice": "dismiss"}
        )
        assert await changes(engine) != before


async def test_the_switcher_lists_exactly_the_communities_one_is_staff_of(sqlite_engine):
    async with served(sqlite_engine) as site:
        await site.sign_in()
        now = site.clock.now()
        async with sqlite_engine.begin() as conn:
            spaces = {}
            for platform_id, name in (("g2", "Second guild"), ("g3", "Third guild")):
                spaces[name] = (
                    await conn.execute(
                        models.Space.__table__.insert()
                        .values(platform="discord", platform_id=platform_id, name=name,
                                created_at=now)
                        .returning(models.Space.id)
                    )
                ).scalar_one()  # fmt: skip
            # Staff in the second guild, a plain member in the third.
            for name, staff in (("Second guild", True), ("Third guild", False)):
                await conn.execute(
                    models.Member.__table__.insert().values(
                        space_id=spaces[name], platform_id=STAFF, is_staff=staff, is_bot=False
                    )
                )
        body = await (await site.client.get(f"/c/{site.world.space_id}/")).text()
        assert "Second guild" in body
        assert "Third guild" not in body
        assert (await site.client.get(f"/c/{spaces['Second guild']}/quiet")).status == 200
        assert (await site.client.get(f"/c/{spaces['Third guild']}/quiet")).status == 403
