"""`pulse import` on the shapes real exports come in: split files, unnamed files, cut CSV,
Slack exports without users.json, and what the summary says each of them cannot show."""

import json

import pytest

from tests import exports
from tests.factories import pulse
from tests.importers.test_import import facts

KEY = "import-test-hash-key"


@pytest.fixture(autouse=True)
def hash_key(monkeypatch):
    monkeypatch.setenv("PULSE_HASH_KEY", KEY)


@pytest.fixture
def url(tmp_path):
    return f"sqlite+aiosqlite:///{tmp_path / 'pulse.db'}"


def imported(url, *args):
    return pulse("import", *args, "--database-url", url)


# --- DiscordChatExporter file names ----------------------------------------------------------


def test_split_exports_read_the_channel_id_before_the_part(url, tmp_path):
    folder = tmp_path / "dce"
    exports.write_csv(folder / "Test Guild - Text - general [500] [part 2].csv")
    exports.write_json(folder / "Test Guild - Text - general [500] [part 3].json",
                       exports.dce_general())  # fmt: skip
    result = imported(url, "discord-export", folder, "--guild-id", "900")
    assert result.exit_code == 0, result.output
    got = facts(url)
    assert got["channels"] == {"general"}
    assert any(e.startswith("csv:500:") for e in got["event_ids"])
    assert "1003:👍:103" in got["event_ids"]
    assert "(2 files;" in result.output


def test_channel_id_names_the_channel_of_unnamed_csv(url, tmp_path):
    path = exports.write_csv(tmp_path / "1.csv")
    refused = imported(url, "discord-export", path, "--guild-id", "900")
    assert refused.exit_code == 1
    assert "--channel-id" in refused.output
    assert "Traceback" not in refused.output
    result = imported(url, "discord-export", path, "--guild-id", "900", "--channel-id", "777")
    assert result.exit_code == 0, result.output
    got = facts(url)
    assert got["kinds"] == {"message": 4, "reaction_received": 3}
    assert all(e.startswith("csv:777:") for e in got["event_ids"])


def test_csv_cut_inside_a_quoted_field_is_damaged_not_imported(url, tmp_path):
    path = tmp_path / "Test Guild - Text - general [500] [part 2].csv"
    exports.write_csv(path)
    whole = path.read_text(encoding="utf-8")
    # Cut in the middle of the last row's quoted Content, as an interrupted copy leaves it.
    path.write_text(whole + '103;"Carol#0003";"2024-03-04T10:09:00+00:00";"half a sent', "utf-8")
    result = imported(url, "discord-export", path, "--guild-id", "900")
    assert result.exit_code == 1, result.output
    # The whole name, brackets included, on one line with the reason.
    line = next(x for x in result.output.splitlines() if "quoted field" in x)
    assert str(path) in " ".join(result.output.split())
    assert "cut or damaged" in line
    assert "Traceback" not in result.output
    # The whole rows before the cut are kept; the cut one is not.
    got = facts(url)
    assert got["kinds"] == {"message": 4, "reaction_received": 3}
    assert "103" not in got["members"]


def test_a_quote_left_open_mid_file_is_damage_too(url, tmp_path):
    path = exports.write_csv(
        tmp_path / "g [500].csv",
        rows=[
            ["101", "Alice#0001", "2024-03-04T10:01:00+00:00", "fine", "", ""],
            ["102", "Bob#0002", "2024-03-04T10:02:00+00:00", "also fine", "", ""],
        ],
    )
    text = path.read_text(encoding="utf-8").replace("fine", '"broken', 1)
    path.write_text(text, encoding="utf-8")
    result = imported(url, "discord-export", path, "--guild-id", "900")
    assert result.exit_code == 1, result.output
    assert "g [500].csv" in result.output
    assert "Traceback" not in result.output


def test_csv_summary_says_nobody_can_be_shown_helping(url, tmp_path):
    path = exports.write_csv(tmp_path / "Test Guild - Text - general [500].csv")
    result = imported(url, "discord-export", path, "--guild-id", "900")
    assert result.exit_code == 0, result.output
    assert "CSV exports carry no replies" in result.output
    assert "nobody in them can be shown helping" in result.output
    json_only = imported(
        url, "discord-export", exports.write_json(tmp_path / "g.json", exports.dce_general())
    )
    assert "CSV" not in json_only.output


# --- Slack exports without users.json ---------------------------------------------------------


def slack_without_users(root, days):
    path = exports.write_slack(root, days)
    (path / "users.json").unlink()
    return path


def test_slack_export_without_users_takes_the_team_from_messages(url, tmp_path):
    ts = exports.slack_ts
    days = {
        "general": {
            "2024-03-04.json": [
                exports.slack_msg(
                    "UALICE", ts(4, 10), "hello", team="T0FROMMSG", user_team="T0FROMMSG"
                ),
                # An app posting under its bot user: bot_id says so, no users.json needed.
                exports.slack_msg(
                    "UAPPBOT", ts(4, 20), "deploy done", bot_id="B9", team="T0FROMMSG"
                ),
                exports.slack_msg(
                    "UBOB",
                    ts(4, 30),
                    "hi alice",
                    team="T0FROMMSG",
                    reactions=[{"name": "+1", "users": ["UALICE"], "count": 1}],
                ),
                exports.slack_msg(None, ts(4, 40), "beep", subtype="bot_message", bot_id="B1"),
            ]
        }
    }
    path = slack_without_users(tmp_path / "export", days)
    result = imported(url, "slack-export", path)
    assert result.exit_code == 0, result.output
    got = facts(url)
    assert got["spaces"] == [("slack", "T0FROMMSG")]
    assert set(got["members"]) == {"UALICE", "UBOB"}
    assert got["kinds"] == {"message": 2, "reaction_given": 1}
    assert "no users.json" in result.output
    assert "unnamed" in result.output


def test_slack_export_without_users_or_team_asks_for_the_team_id(url, tmp_path):
    days = {"general": {"2024-03-04.json": [exports.slack_msg("UALICE", "1709542810.0", "hi")]}}
    path = slack_without_users(tmp_path / "export", days)
    result = imported(url, "slack-export", path)
    assert result.exit_code == 1
    assert "--team-id" in result.output
    assert "Traceback" not in result.output
    given = imported(url, "slack-export", path, "--team-id", "T0GIVEN")
    assert given.exit_code == 0, given.output
    assert facts(url)["spaces"] == [("slack", "T0GIVEN")]


def test_export_names_reach_the_terminal_whole_and_inert(url, tmp_path):
    path = tmp_path / "Test Guild - Text - general [500] [part 2].csv"
    path.write_text("Who;What\n1;2\n", encoding="utf-8")
    result = imported(url, "discord-export", path, "--guild-id", "900")
    assert result.exit_code == 1
    assert "general [500] [part 2].csv" in " ".join(result.output.split())
    days = json.dumps(
        [exports.slack_msg("UALICE", "1709542810.0", "x", subtype="odd\x1b[2J")]
    ).encode()
    slack = exports.write_slack(tmp_path / "export", {}, raw={"general/2024-03-04.json": days})
    result = imported(url, "slack-export", slack)
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.output
    assert "not a post (odd [2J)" in result.output
