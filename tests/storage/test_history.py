"""Tier history: an import replays the daily evaluations it missed; reads take --as-of."""

import asyncio
import itertools
import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.services.classification import reclassify_and_scan
from bot.settings import parse_settings
from community.events import day_number
from community.stability import Standing, decide
from community.tiers import MemberStats, Tier, TierPolicy
from storage.engine import create_engine
from storage.history import end_of_day, warmup_days
from storage.migrate import upgrade
from storage.models import Space, TierAssignment, TierChange
from storage.uow import UnitOfWork
from tests import exports
from tests.factories import pulse

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
KEY = "history-test-hash-key"
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
DAY = NOW.date()
DAYS = 150  # several months: longer than the replayed span, so the replay starts cold


@pytest.fixture(autouse=True)
def hash_key(monkeypatch):
    monkeypatch.setenv("PULSE_HASH_KEY", KEY)


@pytest.fixture(scope="module")
def export(tmp_path_factory):
    root = tmp_path_factory.mktemp("history") / "export"
    return exports.busy_slack(root, NOW - timedelta(days=1), seed=7, days=DAYS, members=60)


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "pulse.toml"
    path.write_text('[slack]\nhelp_channel_ids = ["CHELP"]\n')
    return path


def run(url, config, *args, at=NOW):
    result = pulse(*args, "--database-url", url, "--config", config, at=at)
    assert result.exit_code == 0, result.output
    return result


def import_export(url, config, path, at=NOW):
    return run(url, config, "import", "slack-export", path, at=at)


# --- the rules the replay rests on ---------------------------------------------------------------


def test_hysteresis_without_the_band_forgets_its_start_within_the_warmup():
    """Without the band or grace, daily evaluations agree with a cold start after the warm-up.

    That holds with the notice period too, however long a member had been at risk before. With
    the band and grace (the defaults) the tier held in the band depends on the whole history,
    so a replay starts from the stored tier history where there is one (`stored_standings`).
    """
    earns = {Tier.PASSIVE: MemberStats(), Tier.ACTIVE: MemberStats(score=25, active_weeks=3,
             helped_members=1), Tier.HERO: MemberStats(score=200, active_weeks=10,
             helped_members=12)}  # fmt: skip
    cases = [(n, 0) for n in range(1, 5)] + [(1, 1), (1, 3), (2, 2), (3, 1)]
    for n, notice in cases:
        policy = TierPolicy(
            demotion_evaluations=n,
            demote_below=1.0,
            promotion_grace_days=0,
            demotion_notice_days=notice,
        )
        length = warmup_days(policy) + 1
        spells = [None, *(DAY - timedelta(days=k) for k in range(1, notice + 1))]
        starts = [Standing(t, b, at_risk_since=s) for t in Tier for b in range(n) for s in spells]
        for earned in itertools.product(list(Tier), repeat=length):
            ends = set()
            for standing in [*starts, Standing()]:
                for day, e in enumerate(earned):
                    d = decide(earns[e], standing, DAY + timedelta(days=day), policy)
                    standing = d.standing
                ends.add((standing.tier, standing.below_count, standing.at_risk_since))
            assert len(ends) == 1, (n, notice, earned, ends)


# --- an import rebuilds history ------------------------------------------------------------------


async def daily_reference(url: str, path, settings) -> None:
    """The export stored, then the daily job run at the end of every day, as if Pulse had run."""
    from bot.importers.run import run_import
    from bot.importers.slack import SlackExportReader

    reader = SlackExportReader(path, help_channels=["CHELP"])
    try:
        # Importing at the export's first moment replays nothing: the loop below evaluates.
        first = datetime.fromtimestamp(float(exports_first_ts(path)), UTC)
        await run_import(settings, reader, first)
    finally:
        reader.close()
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(TierChange.__table__.delete())
            await conn.execute(TierAssignment.__table__.delete())
            space_id = (await conn.execute(select(Space.id))).scalar_one()
        tiers, quiet = settings.tiers.policy(), settings.quiet.policy()
        for day in range(day_number(first), day_number(NOW)):
            await reclassify_and_scan(UnitOfWork(engine), space_id, end_of_day(day), tiers, quiet)
        await reclassify_and_scan(UnitOfWork(engine), space_id, NOW, tiers, quiet)
    finally:
        await engine.dispose()


def exports_first_ts(path) -> str:
    stamps = []
    for day_file in path.glob("*/*.json"):
        stamps += [m["ts"] for m in json.loads(day_file.read_text())]
    return min(stamps, key=float)


async def history(url: str, since: datetime) -> list[tuple]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            from storage.models import Member

            rows = await conn.execute(
                select(Member.platform_id, TierChange.from_tier, TierChange.to_tier,
                       TierChange.changed_at)
                .join(Member, Member.id == TierChange.member_id)
                .where(TierChange.changed_at >= since)
            )  # fmt: skip
            changes = sorted((tuple(r) for r in rows), key=repr)
            tiers = sorted(
                tuple(r)
                for r in await conn.execute(
                    select(
                        Member.platform_id, TierAssignment.tier, TierAssignment.below_count
                    ).join(Member, Member.id == TierAssignment.member_id)
                )
            )
    finally:
        await engine.dispose()
    return changes, tiers


def changes_and_tiers(url: str, since: datetime) -> tuple[list, list]:
    return asyncio.run(history(url, since))


def staff_digest(url, config, tmp_path, at=NOW):
    result = run(url, config, "digest", "preview", "--json", "--out", tmp_path, at=at)
    return json.loads(result.stdout)["staff"]["digest"]


def test_import_replays_the_daily_evaluations_it_missed(
    database_url, other_url, export, config, tmp_path
):
    import_export(database_url, config, export)
    settings = parse_settings(
        {"database": {"url": other_url}, "slack": {"help_channel_ids": ["CHELP"]}}
    )
    asyncio.run(daily_reference(other_url, export, settings))

    # Exact from the end of the warm-up on: the same changes, at the same moments, same tiers.
    policy = settings.tiers.policy()
    exact_from = NOW - timedelta(days=12 * 7)
    got, expected = (
        changes_and_tiers(database_url, exact_from),
        changes_and_tiers(other_url, exact_from),
    )
    assert got == expected
    assert len(got[0]) > 5, "members moved between tiers during the export"
    assert policy.demotion_evaluations == 2

    digest = staff_digest(database_url, config, tmp_path)
    reference = staff_digest(other_url, config, tmp_path / "ref")
    # No invented conversions: the week's moves are those the daily job made, not everyone.
    assert digest["conversions"] == reference["conversions"]
    assert digest["tiers_before"] == reference["tiers_before"]
    assert digest["weekly_active"] == reference["weekly_active"]
    active_now = digest["tiers_now"]["active"] + digest["tiers_now"]["hero"]
    assert len(digest["conversions"]) < active_now
    weekly = digest["weekly_active"]["counts"]
    assert any(weekly["active"][:-1]), "weeks before the import day show active members"


def test_reimport_and_later_exports_keep_the_history_stored(database_url, export, config, tmp_path):
    days = sorted(p.name for p in (export / "general").iterdir())
    early = tmp_path / "early"
    import shutil

    shutil.copytree(export, early, ignore=lambda _, names: [
        n for n in names if n.endswith(".json") and n[:4].isdigit() and n > days[100]
    ])  # fmt: skip
    first_now = datetime.fromisoformat(days[100][:10]).replace(tzinfo=UTC) + timedelta(hours=30)
    import_export(database_url, config, early, at=first_now)
    before, _ = changes_and_tiers(database_url, EPOCH)
    assert before

    result = import_export(database_url, config, export)
    after, _ = changes_and_tiers(database_url, EPOCH)
    assert after[: len(before)] == before or set(before) <= set(after)
    # Nothing stored again or back-dated: new changes all come after the first import's evaluation.
    assert len(set(after)) == len(after)
    assert all(row[3] > first_now for row in set(after) - set(before))
    assert "tier history replayed" in result.output

    again = import_export(database_url, config, export)
    assert (changes_and_tiers(database_url, EPOCH))[0] == after
    assert "tier history replayed" not in again.output


@pytest.fixture
async def other_url(database_url, request, tmp_path):
    """A second empty database on the same backend, for the reference."""
    from tests.conftest import _fresh_pg_database

    if database_url.startswith("sqlite"):
        url = f"sqlite+aiosqlite:///{tmp_path / 'reference.db'}"
    else:
        url = await _fresh_pg_database(request.getfixturevalue("postgres_server"))
    engine = create_engine(url)
    await upgrade(engine)
    await engine.dispose()
    return url


# --- reads as of a day ---------------------------------------------------------------------------


def read(url, config, *args, at=NOW):
    return json.loads(run(url, config, *args, "--json", at=at).stdout)


READS = (
    ("tiers", "--list", "active"),
    ("tiers", "--list", "passive", "--limit", "5"),
    ("hero-candidates",),
    ("quiet",),
    ("member", "U00"),
)


def test_as_of_today_is_what_the_commands_say_without_it(database_url, export, config, tmp_path):
    import_export(database_url, config, export)
    for args in READS:
        assert read(database_url, config, *args, "--as-of", "2026-06-01") == read(
            database_url, config, *args
        ), args
    digest = ("digest", "preview", "--out", tmp_path)
    plain, as_of = (
        read(database_url, config, *digest),
        read(database_url, config, *digest, "--as-of", "2026-06-01"),
    )
    assert as_of["staff"]["digest"] == plain["staff"]["digest"]
    assert as_of["community"]["digest"] == plain["community"]["digest"]


def test_as_of_a_past_day_shows_the_community_then(database_url, export, config, tmp_path):
    import_export(database_url, config, export)
    day = "2026-04-15"
    counts = read(database_url, config, "tiers", "--as-of", day)["counts"]
    assert counts != read(database_url, config, "tiers")["counts"]
    # Recomputed from the rollups, it agrees with the replayed history the digest reads.
    staff = read(database_url, config, "digest", "preview", "--out", tmp_path, "--as-of", day)
    assert staff["staff"]["digest"]["tiers_now"] == counts
    assert staff["staff"]["digest"]["period"]["end"].startswith("2026-04-15T23:59:59")
    moment = datetime(2026, 4, 15, 23, 59, 59, tzinfo=UTC)
    for row in read(database_url, config, "tiers", "--list", "active", "--as-of", day)["members"]:
        assert row["reasons"].startswith("active:")
        assert datetime.fromisoformat(row["since"]) <= moment
    profile = read(database_url, config, "member", "U00", "--as-of", day)
    assert all(datetime.fromisoformat(at) <= moment for at, *_ in profile["tier_history"])
    # The import's flags opened at its evaluation, after that day.
    assert read(database_url, config, "quiet", "--as-of", day) == []
    assert read(database_url, config, "quiet")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2026-13-01", "--as-of 2026-13-01 is not a date (YYYY-MM-DD)"),
        ("yesterday", "--as-of yesterday is not a date (YYYY-MM-DD)"),
        ("2026-06-02", "--as-of 2026-06-02 is in the future (today is 2026-06-01 UTC)"),
    ],
)
def test_bad_as_of_is_one_clear_line(value, message, tmp_path):
    for command in (("tiers",), ("quiet",), ("hero-candidates",), ("member", "x"),
                    ("digest", "preview")):  # fmt: skip
        result = pulse(*command, "--as-of", value, "--database-url",
                       f"sqlite:///{tmp_path / 'x.db'}", at=NOW)  # fmt: skip
        assert result.exit_code == 2, result.output
        assert message in result.output
        assert "Traceback" not in result.output


def test_an_export_older_than_the_window_names_its_last_day(tmp_path, config):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    result = import_export(url, config, exports.write_slack(tmp_path / "export"))
    assert "the export ends on 2024-03-05" in result.output
    assert "pulse tiers --as-of 2024-03-05" in result.output
    assert sum(read(url, config, "tiers", "--as-of", "2024-03-05")["counts"].values()) == 3


def test_a_long_replay_reports_progress(export, config, tmp_path, monkeypatch, caplog):
    monkeypatch.setattr("storage.history.PROGRESS_SECONDS", 0.0)
    url = f"sqlite:///{tmp_path / 'progress.db'}"
    with caplog.at_level("INFO", logger="pulse.history"):
        import_export(url, config, export)
    progress = [r.getMessage() for r in caplog.records if r.name == "pulse.history"]
    assert any(m.startswith("replaying tier history: 2026-") for m in progress)
    # 86 days of history plus the warm-up (2 x the 7-day demotion notice).
    assert f"of {86 + warmup_days(TierPolicy())} days" in progress[0]
