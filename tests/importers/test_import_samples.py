"""The real export samples in ../shared/data, imported through `pulse import`.

Expected counts are computed here straight from the files with json and zipfile, not with the
importer's readers, so a reader that drops or invents records fails.
"""

import asyncio
import json
import zipfile

import pytest
from click.testing import CliRunner
from sqlalchemy import distinct, func, select

from bot.cli import cli
from storage.engine import create_engine
from storage.models import Activity, Member
from tests.conftest import SHARED
from tests.factories import stored_kinds

DATA = SHARED / "data"
SLACK_SAMPLE = DATA / "slack_export_viewer_testarchive.zip"
DISCORD_SAMPLE = DATA / "discord_dce_json_example-guild_general.json"

pytestmark = pytest.mark.skipif(
    not SLACK_SAMPLE.exists() or not DISCORD_SAMPLE.exists(),
    reason=f"real export samples absent ({DATA}): a fresh clone has no ../shared",
)


@pytest.fixture(autouse=True)
def hash_key(monkeypatch):
    monkeypatch.setenv("PULSE_HASH_KEY", "samples-key")


def stored(url) -> tuple[dict[str, int], int, int]:
    """Activities per kind, distinct acting members, and member rows."""

    async def go():
        engine = create_engine(url)
        try:
            async with engine.connect() as conn:
                kinds = await stored_kinds(conn)
                actors = (
                    await conn.execute(select(func.count(distinct(Activity.member_id))))
                ).scalar_one()
                members = (
                    await conn.execute(select(func.count()).select_from(Member))
                ).scalar_one()
                return kinds, actors, members
        finally:
            await engine.dispose()

    return asyncio.run(go())


def slack_expectations() -> dict:
    with zipfile.ZipFile(SLACK_SAMPLE) as zf:
        users = json.loads(zf.read("users.json"))
        bots = {u["id"] for u in users if u.get("is_bot")} | {"USLACKBOT"}
        day_files = [n for n in zf.namelist() if n.count("/") == 1 and n.endswith(".json")]
        records = [m for name in day_files for m in json.loads(zf.read(name))]
    human = [m for m in records if m.get("user") and m["user"] not in bots
             and m.get("subtype") != "bot_message"]  # fmt: skip
    posts = [m for m in human if m.get("subtype") in (None, "thread_broadcast", "file_share",
                                                       "me_message")]  # fmt: skip
    replies = [m for m in posts if m.get("thread_ts") and m["thread_ts"] != m["ts"]]
    joins = [m for m in human if m.get("subtype") == "channel_join"]
    reactions = [
        (user, m["ts"])
        for m in records
        if m.get("subtype") not in ("message_changed", "message_deleted", "message_replied")
        for r in m.get("reactions", [])
        for user in r.get("users", [])
        if user not in bots
    ]
    actors = {m["user"] for m in posts + joins} | {user for user, _ in reactions}
    return {
        "records": len(records),
        "users": len(users),
        "kinds": {
            "message": len(posts) - len(replies),
            "reply": len(replies),
            "reaction_given": len(reactions),
            "member_joined": len(joins),
        },
        "actors": len(actors),
    }


def test_slack_sample_counts_match_the_archive(database_url):
    expected = slack_expectations()
    assert expected["records"] == 158, "the sample's README says 158 messages"
    assert expected["users"] == 4
    result = CliRunner().invoke(
        cli, ["import", "slack-export", str(SLACK_SAMPLE), "--database-url", database_url]
    )
    assert result.exit_code == 0, result.output
    kinds, actors, members = stored(database_url)
    assert {k: v for k, v in kinds.items() if v} == {
        k: v for k, v in expected["kinds"].items() if v
    }
    assert actors == expected["actors"]
    assert members == expected["actors"]  # a reaction on a bot message creates no bot member
    again = CliRunner().invoke(
        cli, ["import", "slack-export", str(SLACK_SAMPLE), "--database-url", database_url]
    )
    assert "stored     0 new events" in again.output
    assert stored(database_url)[0] == kinds


def discord_expectations() -> dict:
    data = json.loads(DISCORD_SAMPLE.read_text(encoding="utf-8"))
    messages = data["messages"]
    humans = [m for m in messages if not m["author"].get("isBot")]
    posts = [m for m in humans if m["type"] in ("Default", "Reply")]
    replies = [m for m in posts if (m.get("reference") or {}).get("messageId")]
    named = [(u["id"], m["id"]) for m in messages for r in m.get("reactions", [])
             for u in r.get("users", []) if not u.get("isBot")]  # fmt: skip
    counted = sum(
        r["count"] - len(r.get("users", [])) for m in humans for r in m.get("reactions", [])
    )
    actors = {m["author"]["id"] for m in humans} | {user for user, _ in named}
    return {
        "count": data.get("messageCount"),
        "messages": len(messages),
        "kinds": {
            "message": len(posts) - len(replies),
            "reply": len(replies),
            "thread_started": sum(m["type"] == "ThreadCreated" for m in humans),
            "member_joined": sum(m["type"] == "GuildMemberJoin" for m in humans),
            "reaction_given": len(named),
            "reaction_received": counted,
        },
        "actors": len(actors),
    }


def test_discord_sample_counts_match_the_file(database_url):
    expected = discord_expectations()
    assert expected["messages"] == expected["count"] == 35
    result = CliRunner().invoke(
        cli, ["import", "discord-export", str(DISCORD_SAMPLE), "--database-url", database_url]
    )
    assert result.exit_code == 0, result.output
    kinds, actors, members = stored(database_url)
    assert kinds == {k: v for k, v in expected["kinds"].items() if v}
    # Every one of the 35 messages is a post, a join or a thread start by a person.
    assert sum(kinds[k] for k in ("message", "reply", "thread_started", "member_joined")) == 35
    assert actors == expected["actors"] == 4
    assert members == 4
    assert "messages   32 (2 replies, 1 threads started)" in result.output


def help_graph(url) -> tuple[set[tuple[str, str]], dict[str, bool]]:
    """Who helped whom (by name), and each stored question with whether it is answered."""
    from sqlalchemy.orm import aliased

    from storage.helpgraph import answered_questions
    from storage.models import HelpEdge
    from storage.spaces import resolve_space

    async def go():
        engine = create_engine(url)
        try:
            async with engine.connect() as conn:
                helper, helped = aliased(Member), aliased(Member)
                edges = await conn.execute(
                    select(helper.display_name, helped.display_name)
                    .join(HelpEdge, HelpEdge.helper_id == helper.id)
                    .join(helped, helped.id == HelpEdge.helped_id)
                )
                questions = await answered_questions(conn, await resolve_space(conn, None))
                return {tuple(e) for e in edges}, questions
        finally:
            await engine.dispose()

    return asyncio.run(go())


def test_discord_sample_help_graph_checked_by_hand(database_url):
    result = CliRunner().invoke(
        cli, ["import", "discord-export", str(DISCORD_SAMPLE), "--database-url", database_url]
    )
    assert result.exit_code == 0, result.output
    edges, questions = help_graph(database_url)
    # Read by hand: Adam answers Thomas's "How so?" by replying to it; Patrick replies to Adam's
    # answer with a question of his own, aimed at Adam. Nobody else replies to anyone.
    assert edges == {("Adam", "Thomas"), ("Patrick", "Adam")}
    ids = {"everybody": "1060926221136973825", "how so": "1060926317920538735",
           "get started": "1060926395313827840", "book scanner": "1060927205481402388"}  # fmt: skip
    # "How so?" is answered by Adam's reply. The others are not answered as Pulse sees them:
    # Thomas's "Yes" and Adam's numbered steps follow in the channel without replying to the
    # question, and "Have you seen this…?" gets only a thread nobody's replies are in.
    assert questions == {
        ids["everybody"]: False,
        ids["how so"]: True,
        ids["get started"]: False,
        ids["book scanner"]: False,
    }


def test_slack_sample_help_graph_checked_by_hand(database_url):
    result = CliRunner().invoke(
        cli, ["import", "slack-export", str(SLACK_SAMPLE), "--database-url", database_url]
    )
    assert result.exit_code == 0, result.output
    edges, questions = help_graph(database_url)
    # The archive has no threads: five questions in #general, none replied to in a thread, and
    # nobody shown helping anybody. Its 97 bot messages make no member.
    assert edges == set()
    assert len(questions) == 5
    assert not any(questions.values())
    assert "97 bot message" in result.output
