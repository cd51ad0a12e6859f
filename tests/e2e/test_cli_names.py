"""Names reach the terminal whole and inert: markup-like brackets shown, control characters not."""

import asyncio

import pytest
from rich.console import Console
from sqlalchemy import text

from storage.engine import create_engine
from storage.migrate import upgrade
from tests import digest_world
from tests.digest_world import NOW, build_world
from tests.factories import pulse

MINER = "⛏wedgenix⛏ [mining-dutch.nl]"
# An escape sequence that would clear the screen, a NUL, and a line break, inside one name.
TRICKY = "Sally\x1b[2J [bold]Silent[/bold]\x00\nSmith"
TRICKY_SHOWN = "Sally [2J [bold]Silent[/bold]  Smith"


@pytest.fixture(scope="module")
def world_db(tmp_path_factory):
    """The digest world with a miner as its steady helper and a tricky name for the silent one."""
    path = tmp_path_factory.mktemp("names") / "pulse.db"
    url = f"sqlite+aiosqlite:///{path}"
    names = {**digest_world.NAMES, "regular": MINER, "silent": TRICKY}

    async def go():
        engine = create_engine(url)
        try:
            await upgrade(engine)
            await build_world(engine)
            # Events arrive cleaned (community.clean); a database written before that was not,
            # and the terminal must still show its names inert.
            async with engine.begin() as conn:
                await conn.execute(
                    text("UPDATE members SET display_name = :name WHERE platform_id = 'silent'"),
                    {"name": TRICKY},
                )
        finally:
            await engine.dispose()

    with digest_world.renamed(names):
        asyncio.run(go())
    return f"sqlite:///{path}"


@pytest.fixture(autouse=True)
def wide_console(monkeypatch):
    # Wide enough that no table wraps a name: what is tested is escaping, not the layout.
    monkeypatch.setattr("bot.cli.base.console", Console(width=400))


def run(url, *args):
    result = pulse(*args, "--database-url", url, at=NOW)
    assert result.exit_code == 0, result.output
    return result.output


def assert_inert(output: str) -> None:
    assert "\x1b" not in output
    assert "\x00" not in output


@pytest.mark.parametrize(
    "args",
    [
        ("tiers", "--list", "active", "--limit", "50"),
        ("hero-candidates", "--limit", "50"),
        ("member", MINER),
    ],
)
def test_a_name_with_brackets_prints_whole(world_db, args):
    output = run(world_db, *args)
    assert MINER in output
    assert_inert(output)


def test_quiet_list_and_member_show_tricky_names_inert(world_db):
    output = run(world_db, "quiet")
    assert TRICKY_SHOWN in output
    assert_inert(output)
    member = run(world_db, "member", "Sally")
    assert TRICKY_SHOWN in member
    assert_inert(member)


def test_digest_preview_shows_names_whole_and_inert(world_db, tmp_path):
    output = run(world_db, "digest", "preview", "--out", tmp_path)
    assert "wedgenix" in output
    assert MINER in " ".join(output.split())
    assert_inert(output)


def test_not_found_quotes_the_query_literally(world_db):
    result = pulse("member", "[red]nobody[/red]", "--database-url", world_db, at=NOW)
    assert result.exit_code == 1
    assert "[red]nobody[/red]" in result.output


def test_member_found_by_a_name_with_its_discord_discriminator(world_db):
    # DiscordChatExporter wrote "Aaron Asker#0042"; the import stored "Aaron Asker".
    output = run(world_db, "member", "Aaron Asker#0042")
    assert "Aaron Asker (asker)" in output
    miner = run(world_db, "member", MINER + "#1234")
    assert MINER in miner
    missing = pulse("member", "Nobody#1234", "--database-url", world_db, at=NOW)
    assert missing.exit_code == 1
    assert "no member matches" in missing.output
