from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import cli
from bot.settings import DEFAULT_DATABASE_URL, ConfigError, load_settings


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "pulse.toml"
    path.write_text(text)
    return path


def test_defaults_without_a_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = load_settings()
    assert settings.database_url() == DEFAULT_DATABASE_URL
    assert settings.tiers.window_days == 90
    assert settings.quiet.min_days == 14


def test_pulse_toml_in_the_working_directory_is_picked_up(tmp_path, monkeypatch):
    write(tmp_path, "[tiers]\nwindow_days = 60\n")
    monkeypatch.chdir(tmp_path)
    assert load_settings().tiers.window_days == 60


def test_database_url_flag_overrides_config(tmp_path):
    path = write(tmp_path, '[database]\nurl = "sqlite:///other.db"\n')
    settings = load_settings(path, database_url="postgresql://u@127.0.0.1/x")
    assert settings.database_url() == "postgresql://u@127.0.0.1/x"


def test_database_url_from_named_environment_variable(tmp_path):
    path = write(tmp_path, '[database]\nurl_env = "MY_DB"\n')
    settings = load_settings(path)
    assert settings.database_url({"MY_DB": "postgresql://a@127.0.0.1/b"}).endswith("/b")
    with pytest.raises(ConfigError, match="MY_DB"):
        settings.database_url({})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[tiers]\nwindow_days = 0\n", "tiers.window_days: Input should be greater than 0"),
        ("[tiers]\nwindw_days = 3\n", "tiers.windw_days: unknown setting"),
        ("[quiet]\nmin_days = 'soon'\n", "quiet.min_days"),
        ('[database]\nurl = "mysql://x"\n', "database.url"),
        ("[slack]\nmode = 'carrier-pigeon'\n", "slack.mode"),
        ("[tiers\n", "is not valid TOML"),
        ('[digest]\ntimezone = "Mars/Base"\n', "digest.timezone: Value error, unknown timezone"),
        ('[digest]\ntime = "25:00"\n', "digest.time"),
        ('[digest]\nweekday = "funday"\n', "digest.weekday"),
        ("[jobs]\ngrace_hours = -1\n", "jobs.grace_hours"),
        ('[[goals]]\nmetric = "heroes"\ntarget = 3\n', "goals.0.by: Field required"),
        ('[[goals]]\nmetric = "vibes"\ntarget = 3\nby = 2027-01-01\n', "goals.0.metric"),
        (
            '[[goals]]\nmetric = "re_engagement_rate"\ntarget = 30\nby = 2027-01-01\n',
            "re_engagement_rate target is a fraction from 0 to 1",
        ),
    ],
)
def test_bad_config_names_key_and_problem(tmp_path, text, expected):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match=expected.replace("[", r"\[")):
        load_settings(path)


def test_missing_explicit_config_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.toml")


@pytest.mark.parametrize("command", [["db", "upgrade"], ["run"]])
def test_cli_bad_config_exits_2_with_one_message(tmp_path, command):
    path = write(tmp_path, "[tiers]\nhero_score = -1\n")
    result = CliRunner().invoke(cli, [*command, "--config", str(path)])
    assert result.exit_code == 2
    assert "tiers.hero_score" in result.output
    assert "Traceback" not in result.output


def test_run_without_a_platform_says_what_is_missing(tmp_path, monkeypatch):
    for name in ("PULSE_DISCORD_TOKEN", "PULSE_SLACK_BOT_TOKEN", "PULSE_SLACK_APP_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    url = f"sqlite:///{tmp_path / 'p.db'}"
    result = CliRunner().invoke(cli, ["run", "--database-url", url])
    assert result.exit_code == 2
    assert "PULSE_DISCORD_TOKEN" in result.output
    assert "discord.guild_ids" in result.output
    assert "PULSE_SLACK_BOT_TOKEN" in result.output
    assert "PULSE_SLACK_APP_TOKEN" in result.output
