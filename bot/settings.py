"""Pulse settings: TOML validated by pydantic, secrets only from named environment variables."""

from __future__ import annotations

import datetime as dt
import os
import tomllib
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from community.goals import Goal, GoalMetric
from community.helpgraph import DEFAULT_ACCEPT_REACTIONS, accept_keys
from community.outcomes import DEFAULT_UNANSWERED_HOURS
from community.policies import DigestPolicy, Policies
from community.quiet import QuietPolicy
from community.tiers import TierPolicy

DEFAULT_CONFIG_PATH = Path("pulse.toml")
DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///pulse.db"


class ConfigError(Exception):
    """A config that cannot be used; the message names the file, the key and the problem."""


class _Section(BaseModel):
    # A typo in a key is an error, not a silently ignored setting.
    model_config = ConfigDict(extra="forbid", frozen=True)


PositiveInt = Annotated[int, Field(gt=0)]
PositiveFloat = Annotated[float, Field(gt=0)]

# The domain's rules carry the defaults; the settings only add validation and the TOML names.
_TIERS = TierPolicy()
_WEIGHTS = _TIERS.weights
_QUIET = QuietPolicy()
_POLICIES = Policies()
_DIGEST = _POLICIES.digest


class DatabaseSettings(_Section):
    """Where Pulse keeps its data."""

    url: str = DEFAULT_DATABASE_URL
    url_env: str | None = None
    echo: bool = False

    @field_validator("url")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        if not _known_database_url(value):
            raise ValueError(DATABASE_URL_RULE)
        return value


DATABASE_URL_RULE = "must be a sqlite:/// or postgresql:// URL"


def _known_database_url(value: str) -> bool:
    return value.startswith(("sqlite", "postgresql", "postgres"))


def _checked_url(value: str, source: str) -> str:
    # A URL given outside the config file is named by where it came from, not by the file.
    if not _known_database_url(value):
        raise ConfigError(f"{source} {DATABASE_URL_RULE} (got {value!r})")
    return value


class IngestSettings(_Section):
    """The batched writer's knobs."""

    batch_size: PositiveInt = 500
    flush_interval_seconds: PositiveFloat = 1.0
    queue_size: PositiveInt = 10_000
    retry_initial_seconds: PositiveFloat = 0.5
    retry_max_seconds: PositiveFloat = 30.0
    shutdown_timeout_seconds: PositiveFloat = 30.0


class PrivacySettings(_Section):
    """What Pulse forgets and when."""

    hash_key_env: str = "PULSE_HASH_KEY"
    retention_days: PositiveInt = _POLICIES.retention_days


class TierWeights(_Section):
    """Points per rollup count; helping counts most, raw volume and reactions least."""

    message: float = Field(_WEIGHTS["message"], ge=0)
    question: float = Field(_WEIGHTS["question"], ge=0)
    reply: float = Field(_WEIGHTS["reply"], ge=0)
    answer: float = Field(_WEIGHTS["answer"], ge=0)
    thanks_received: float = Field(_WEIGHTS["thanks_received"], ge=0)
    reaction_given: float = Field(_WEIGHTS["reaction_given"], ge=0)
    reaction_received: float = Field(_WEIGHTS["reaction_received"], ge=0)
    thread_started: float = Field(_WEIGHTS["thread_started"], ge=0)
    contribution: float = Field(_WEIGHTS["contribution"], ge=0)
    accepted_answer: float = Field(_WEIGHTS["accepted_answer"], ge=0)


class TierSettings(_Section):
    """How members are sorted into passive, active and hero."""

    window_days: PositiveInt = _TIERS.window_days
    decay_floor: float = Field(_TIERS.decay_floor, ge=0, le=1)
    active_score: PositiveFloat = _TIERS.active_score
    active_min_weeks: PositiveInt = _TIERS.active_min_weeks
    active_min_helped: int = Field(_TIERS.active_min_helped, ge=0)
    hero_score: PositiveFloat = _TIERS.hero_score
    hero_min_weeks: PositiveInt = _TIERS.hero_min_weeks
    hero_min_helped: PositiveInt = _TIERS.hero_min_helped
    demotion_evaluations: PositiveInt = _TIERS.demotion_evaluations
    demote_below: float = Field(_TIERS.demote_below, gt=0, le=1)
    promotion_grace_days: int = Field(_TIERS.promotion_grace_days, ge=0)
    demotion_notice_days: int = Field(_TIERS.demotion_notice_days, ge=0)
    candidate_ratio: float = Field(_TIERS.candidate_ratio, gt=0, le=1)
    # Reactions by which an asker accepts an answer: unicode emoji, Slack names or custom ids.
    accept_reactions: list[str] = Field(default_factory=lambda: list(DEFAULT_ACCEPT_REACTIONS))
    weights: TierWeights = TierWeights()

    @field_validator("accept_reactions")
    @classmethod
    def _named(cls, value: list[str]) -> list[str]:
        if any(not item.strip() for item in value):
            raise ValueError("an accept reaction is empty")
        return value

    def accept_keys(self) -> frozenset[str]:
        """The emoji keys the mappers compare reactions with (community.helpgraph)."""
        return accept_keys(self.accept_reactions)

    def policy(self) -> TierPolicy:
        """These settings as the domain's tier rules."""
        fields = self.model_dump(exclude={"accept_reactions", "weights"})
        return TierPolicy(**fields, weights=self.weights.model_dump())


class QuietSettings(_Section):
    """When a member who used to take part counts as gone quiet."""

    min_days: PositiveInt = _QUIET.min_days
    cadence_multiple: PositiveFloat = _QUIET.cadence_multiple
    expiry_days: PositiveInt = _QUIET.expiry_days

    def policy(self) -> QuietPolicy:
        """These settings as the domain's quiet-member rules."""
        return QuietPolicy(**self.model_dump())


Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


class _Zoned(_Section):
    """A section with a `timezone` (an IANA name), checked when the config loads."""

    timezone: str = "UTC"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("unknown timezone; use an IANA name such as Europe/Berlin") from None
        return value

    def zone(self) -> ZoneInfo:
        """The configured timezone."""
        return ZoneInfo(self.timezone)


class DigestSettings(_Zoned):
    """When the weekly digests are posted and how much they list."""

    enabled: bool = True
    weekday: Weekday = "monday"
    time: dt.time = dt.time(9, 0)
    grace_hours: float = Field(12.0, ge=0)
    shout_outs: PositiveInt = _DIGEST.shout_outs
    staff_list_limit: PositiveInt = _DIGEST.staff_list_limit

    def policy(self) -> DigestPolicy:
        """How much the digests list, as the domain's digest rules."""
        return DigestPolicy(shout_outs=self.shout_outs, staff_list_limit=self.staff_list_limit)


class JobSettings(_Zoned):
    """When the daily jobs run: reclassification with the quiet scan, then the retention purge."""

    daily_time: dt.time = dt.time(3, 0)
    purge_time: dt.time = dt.time(3, 30)
    grace_hours: float = Field(20.0, ge=0)


GoalMetricName = Literal[
    "active_members",
    "heroes",
    "conversions_per_month",
    "re_engagement_rate",
    "median_time_to_first_reply",
    "median_first_reply_hours",
    "answered_share",
    "newcomer_activation_rate",
    "cohort_retention_30d",
    "helper_concentration",
]
_FRACTION_METRICS = frozenset(
    {"re_engagement_rate", "answered_share", "newcomer_activation_rate", "cohort_retention_30d"}
)


class GoalSettings(_Section):
    """One `[[goals]]` entry: a metric, a target and the date to reach it by."""

    metric: GoalMetricName
    target: float = Field(ge=0)
    by: dt.date
    name: str | None = None

    @model_validator(mode="after")
    def _rate_is_a_fraction(self) -> GoalSettings:
        if self.metric in _FRACTION_METRICS and self.target > 1:
            raise ValueError(
                f"{self.metric} target is a fraction from 0 to 1 (0.3 for 30%), not {self.target}"
            )
        return self

    def goal(self) -> Goal:
        """The entry as a domain goal."""
        return Goal(GoalMetric(self.metric), self.target, self.by, self.name)


class HealthSettings(_Section):
    """Help health: when a question without a reply needs attention."""

    unanswered_hours: PositiveFloat = DEFAULT_UNANSWERED_HOURS


class DiscordSettings(_Section):
    """The Discord bot; on when the token's environment variable is set."""

    token_env: str = "PULSE_DISCORD_TOKEN"
    guild_ids: list[str] = []
    staff_role_ids: list[str] = []
    help_channel_ids: list[str] = []
    staff_channel_id: str | None = None
    community_channel_id: str | None = None
    catch_up_days: PositiveInt = 7
    active_role_id: str | None = None
    hero_role_id: str | None = None
    api_base_url: str = "https://discord.com/api/v10"
    gateway_url: str | None = None
    # Several processes split one bot's guilds: each runs SHARD_IDS of SHARD_COUNT shards.
    shard_count: PositiveInt | None = None
    shard_ids: list[int] = []

    @model_validator(mode="after")
    def _shards_fit(self) -> DiscordSettings:
        ids = self.shard_ids
        if ids and self.shard_count is None:
            raise ValueError("shard_ids needs shard_count (the total number of shards)")
        if len(set(ids)) != len(ids):
            raise ValueError("shard_ids lists a shard twice")
        if any(i < 0 or i >= (self.shard_count or 0) for i in ids):
            raise ValueError(f"shard_ids must lie from 0 to shard_count - 1 ({self.shard_count})")
        return self


class RecognitionSettings(_Section):
    """How roles on the platforms follow tiers."""

    # "confirmed": the hero role follows /hero confirm; "tier": it follows the hero tier.
    hero_role_follows: Literal["confirmed", "tier"] = "confirmed"
    # A direct message to a member whose role is at risk: off unless asked for, at most once
    # per cooldown, never to a member who is away.
    notify_members: bool = False
    notify_cooldown_days: PositiveInt = 60


class SlackSettings(_Section):
    """The Slack app; on when its tokens' environment variables are set."""

    mode: Literal["socket", "http"] = "socket"
    bot_token_env: str = "PULSE_SLACK_BOT_TOKEN"
    app_token_env: str = "PULSE_SLACK_APP_TOKEN"
    signing_secret_env: str = "PULSE_SLACK_SIGNING_SECRET"
    staff_user_ids: list[str] = []
    staff_usergroup_id: str | None = None
    active_usergroup_id: str | None = None
    hero_usergroup_id: str | None = None
    help_channel_ids: list[str] = []
    staff_channel_id: str | None = None
    community_channel_id: str | None = None
    host: str = "127.0.0.1"
    port: int = Field(3000, gt=0, lt=65536)
    path: str = "/slack/events"
    catch_up_days: PositiveInt = 7
    api_base_url: str = "https://slack.com/api/"


class WebSettings(_Section):
    """The staff dashboard: where it listens and how long a sign-in lasts."""

    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, lt=65536)  # 0: any free port (`pulse web` prints it)
    # The address staff open (behind a reverse proxy with TLS: https://pulse.example.com).
    base_url: str | None = None
    session_hours: PositiveInt = 12

    @field_validator("base_url")
    @classmethod
    def _web_address(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/") if value else value

    def public_url(self) -> str:
        """Where links point: base_url, else the address the server listens on."""
        if self.base_url:
            return self.base_url
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"


class Settings(_Section):
    """Everything Pulse can be told, with defaults that run on embedded SQLite."""

    database: DatabaseSettings = DatabaseSettings()
    ingest: IngestSettings = IngestSettings()
    privacy: PrivacySettings = PrivacySettings()
    tiers: TierSettings = TierSettings()
    quiet: QuietSettings = QuietSettings()
    discord: DiscordSettings = DiscordSettings()
    slack: SlackSettings = SlackSettings()
    recognition: RecognitionSettings = RecognitionSettings()
    digest: DigestSettings = DigestSettings()
    jobs: JobSettings = JobSettings()
    web: WebSettings = WebSettings()
    health: HealthSettings = HealthSettings()
    goals: list[GoalSettings] = []

    def policies(self) -> Policies:
        """The rules these settings configure, resolved once for services and jobs."""
        return Policies(
            tiers=replace(
                self.tiers.policy(), staff_digest_platforms=self.staff_digest_platforms()
            ),
            quiet=self.quiet.policy(),
            accept=self.tiers.accept_keys(),
            digest=self.digest.policy(),
            goals=tuple(g.goal() for g in self.goals),
            retention_days=self.privacy.retention_days,
            unanswered_hours=self.health.unanswered_hours,
        )

    def staff_digest_platforms(self) -> frozenset[str]:
        """The platforms whose spaces get a weekly staff digest (a staff channel is set)."""
        if not self.digest.enabled:
            return frozenset()
        channels = {"discord": self.discord.staff_channel_id, "slack": self.slack.staff_channel_id}
        return frozenset(platform for platform, channel in channels.items() if channel)

    def database_url(self, environ: dict[str, str] | None = None) -> str:
        """The database URL, from the named environment variable when one is given."""
        env = os.environ if environ is None else environ
        if self.database.url_env:
            value = env.get(self.database.url_env)
            if not value:
                raise ConfigError(
                    f"database.url_env names {self.database.url_env}, which is not set"
                )
            return _checked_url(value, f"environment variable {self.database.url_env}")
        return self.database.url

    def secret(self, env_name: str, environ: dict[str, str] | None = None) -> str | None:
        """A secret read from the environment variable the config names, or None."""
        env = os.environ if environ is None else environ
        value = env.get(env_name, "").strip()
        return value or None


def _describe(error: dict) -> str:
    key = ".".join(str(part) for part in error["loc"]) or "(top level)"
    if error["type"] == "extra_forbidden":
        return f"{key}: unknown setting (check the spelling against config.example.toml)"
    return f"{key}: {error['msg']} (got {error.get('input')!r})"


def parse_settings(data: dict, source: str = "config") -> Settings:
    """Validate a parsed TOML document; raise ConfigError naming each bad key."""
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        problems = "\n  ".join(_describe(e) for e in exc.errors())
        raise ConfigError(f"{source} is not valid:\n  {problems}") from None


def load_settings(path: Path | None = None, database_url: str | None = None) -> Settings:
    """Load settings from PATH, or ./pulse.toml when it exists, else the built-in defaults."""
    explicit = path is not None
    path = path if explicit else DEFAULT_CONFIG_PATH
    data: dict = {}
    if path.exists():
        try:
            with path.open("rb") as fh:
                data = tomllib.load(fh)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path} is not valid TOML: {exc}") from None
        except UnicodeDecodeError as exc:
            raise ConfigError(
                f"{path} is not UTF-8 text (byte {exc.start:,}); save it as UTF-8"
            ) from None
        except OSError as exc:
            raise ConfigError(f"{path} cannot be read: {exc.strerror}") from None
    elif explicit:
        raise ConfigError(f"{path} does not exist (copy config.example.toml to start one)")
    if database_url:
        _checked_url(database_url, "--database-url")
        data.setdefault("database", {})["url"] = database_url
        data["database"].pop("url_env", None)
    return parse_settings(data, source=str(path))
