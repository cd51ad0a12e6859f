"""Scheduled jobs: the weekly digests, the daily reclassification and quiet scan, the purge.

Each job is a short function beside its trigger. APScheduler only wakes the jobs; whether a run
is due is decided from the configured wall-clock slot and an injected clock, and who does it is
decided by the database (`storage.runs`), so a late start posts a missed digest once within the
grace period, and two Pulse processes on one database post each digest once.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, time, timedelta
from typing import TYPE_CHECKING, Protocol
from zoneinfo import ZoneInfo

from bot.digest_render.rendered import RenderedDigest
from bot.services.classification import purge_old_activities, reclassify_and_scan, space_ids
from bot.services.digests import build_digest, record_listed, space_ref
from bot.settings import Settings
from bot.tasks import is_outage, log_failure, one_line
from community.clock import Clock
from community.digest import Audience, SpaceRef
from community.policies import Policies
from community.schedule import Weekday, is_due, latest_daily_slot, latest_weekly_slot
from storage.outreach import mark_re_engaged
from storage.runs import RunStatus, claim_run, finish_run
from storage.uow import UnitOfWork

if TYPE_CHECKING:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler
    from apscheduler.triggers.cron import CronTrigger

log = logging.getLogger(__name__)

DAILY = "daily"  # the audience under which the daily job claims its runs


class DigestSkipped(Exception):
    """Raised by a poster that has nowhere to post this digest (no channel for the audience)."""


def audience_channel(settings, section: str, audience: str) -> str:
    """The channel id a platform section configures for AUDIENCE, or DigestSkipped naming it."""
    channel = getattr(settings, f"{audience}_channel_id")
    if not channel:
        raise DigestSkipped(f"{section}.{audience}_channel_id is not set")
    return channel


class DigestPoster(Protocol):
    """What the Discord and Slack adapters implement to post a digest."""

    async def post_digest(
        self,
        space: SpaceRef,
        audience: str,
        rendered: RenderedDigest,
        chart_png: bytes | None,
    ) -> str | None:
        """Post RENDERED (and the chart, when given) to the AUDIENCE channel of SPACE.

        Return a short note of where it went (kept on the digest run); raise DigestSkipped
        when the space has no channel for this audience, anything else when posting failed.
        """
        ...


class PlatformPoster:
    """A DigestPoster that hands each space's digest to the poster of its platform."""

    def __init__(self, posters: Mapping[str, DigestPoster]) -> None:
        self.posters = dict(posters)

    async def post_digest(
        self, space: SpaceRef, audience: str, rendered: RenderedDigest, chart_png: bytes | None
    ) -> str | None:
        """Post through the poster of SPACE's platform; skip platforms this process does not run."""
        poster = self.posters.get(space.platform)
        if poster is None:
            raise DigestSkipped(f"{space.platform} is not connected in this process")
        return await poster.post_digest(space, audience, rendered, chart_png)


@dataclass(frozen=True, slots=True)
class RunOutcome:
    """What one job did for one space and audience."""

    space_id: int
    audience: str
    key: int
    status: RunStatus | None  # None: another process has (or had) this run
    detail: str | None = None


def process_name() -> str:
    """How this process signs the runs it claims."""
    return f"{socket.gethostname()}:{os.getpid()}"


# --- the weekly digest -----------------------------------------------------------------------


def weekly_trigger(settings: Settings) -> CronTrigger:
    """Fires at the configured weekday and wall time in the configured timezone."""
    from apscheduler.triggers.cron import CronTrigger

    d = settings.digest
    return CronTrigger(
        day_of_week=Weekday[d.weekday.upper()].value,
        hour=d.time.hour,
        minute=d.time.minute,
        timezone=d.zone(),
    )


async def weekly_digest_job(
    uow: UnitOfWork,
    settings: Settings,
    policies: Policies,
    poster: DigestPoster,
    clock: Clock,
    claimed_by: str,
) -> list[RunOutcome]:
    """Post this week's digests for every space, unless done already or too late."""
    now = clock.now()
    d = settings.digest
    slot = latest_weekly_slot(now, Weekday[d.weekday.upper()], d.time, d.zone())
    grace = timedelta(hours=d.grace_hours)
    outcomes = []
    for space_id in await space_ids(uow):
        for audience in Audience.ALL:
            outcomes.append(
                await _digest_run(
                    uow, policies, poster, clock, space_id, audience, slot, grace, claimed_by
                )
            )
    return outcomes


async def _claim(uow: UnitOfWork, *args, **kwargs) -> int | None:
    """Claim a run in a transaction of its own, committed before any work happens."""
    async with uow.write() as conn:
        return await claim_run(conn, *args, **kwargs)


async def _finish(uow: UnitOfWork, *args) -> None:
    async with uow.write() as conn:
        await finish_run(conn, *args)


async def _digest_run(uow, policies, poster, clock, space_id, audience, slot, grace, claimed_by):
    now = clock.now()
    key = slot.week_start
    if not is_due(slot, now, grace):
        # Past the grace period: mark the week missed so no later start posts it either.
        got = await _claim(
            uow, space_id, audience, key, now, slot.at, claimed_by, status=RunStatus.MISSED
        )
        return RunOutcome(space_id, audience, key, RunStatus.MISSED if got else None)
    run_id = await _claim(uow, space_id, audience, key, now, slot.at, claimed_by)
    if run_id is None:
        return RunOutcome(space_id, audience, key, None)
    try:
        built_at = clock.now()
        built = await build_digest(uow, policies, space_id, audience, slot.at)
        where = await poster.post_digest(
            await space_ref(uow, space_id), audience, built.rendered, built.chart_png
        )
        status, detail = RunStatus.POSTED, where
    except DigestSkipped as exc:
        status, detail = RunStatus.SKIPPED, str(exc)
    except Exception as exc:
        log_failure(log, exc, "posting the %s digest for space %s failed", audience, space_id)
        status, detail = RunStatus.FAILED, f"{type(exc).__name__}: {exc}"
    if status is RunStatus.POSTED:
        try:
            # Only now have staff seen it: a demotion waits for this (community.stability).
            await record_listed(uow, space_id, built, built_at)
        except Exception as exc:  # the digest went out: never mark it failed for this
            log_failure(log, exc, "recording who the staff digest listed at risk failed")
    await _finish(uow, run_id, status, clock.now(), detail)
    log.info("%s digest for space %s, week %s: %s", audience, space_id, key, status.value)
    return RunOutcome(space_id, audience, key, status, detail)


# --- the daily reclassification and quiet scan ------------------------------------------------


def daily_trigger(at: time, zone: ZoneInfo) -> CronTrigger:
    """Fires every day at AT, wall time in ZONE."""
    from apscheduler.triggers.cron import CronTrigger

    return CronTrigger(hour=at.hour, minute=at.minute, timezone=zone)


async def daily_job(
    uow: UnitOfWork,
    settings: Settings,
    policies: Policies,
    clock: Clock,
    claimed_by: str,
    roles=None,
) -> list[RunOutcome]:
    """Reclassify tiers, scan for quiet members and mark re-engaged members, once a day.

    Then ROLES (a bot.services.roles.RoleSync), when given, brings platform roles in step.
    """
    now = clock.now()
    j = settings.jobs
    slot = latest_daily_slot(now, j.daily_time, j.zone())
    if not is_due(slot, now, timedelta(hours=j.grace_hours)):
        return []
    outcomes = []
    for space_id in await space_ids(uow):
        # Reclassifying twice in a day would count two evaluations toward a demotion.
        run_id = await _claim(uow, space_id, DAILY, slot.day, now, slot.at, claimed_by)
        if run_id is None:
            outcomes.append(RunOutcome(space_id, DAILY, slot.day, None))
            continue
        try:
            result, scan = await reclassify_and_scan(
                uow, space_id, now, policies.tiers, policies.quiet
            )
            async with uow.write() as conn:
                back = await mark_re_engaged(conn, space_id, now)
            status = RunStatus.DONE
            detail = (
                f"{result.changes} tier changes; quiet flags {scan.opened} opened, "
                f"{scan.returned} returned; {back} re-engaged after outreach"
            )
        except Exception as exc:
            log_failure(log, exc, "the daily job for space %s failed", space_id)
            status, detail = RunStatus.FAILED, f"{type(exc).__name__}: {exc}"
        await _finish(uow, run_id, status, now, detail)
        outcomes.append(RunOutcome(space_id, DAILY, slot.day, status, detail))
    if roles is not None and any(o.status is RunStatus.DONE for o in outcomes):
        await roles.run()
    return outcomes


# --- the retention purge -----------------------------------------------------------------------


async def purge_job(uow: UnitOfWork, policies: Policies, clock: Clock) -> int:
    """Delete raw activities past the retention period (idempotent: two processes may both run)."""
    cutoff = clock.now() - timedelta(days=policies.retention_days)
    removed = await purge_old_activities(uow, cutoff)
    log.info("purged %d activities older than %s", removed, cutoff.date())
    return removed


# --- the scheduler -----------------------------------------------------------------------------


def build_scheduler(
    uow: UnitOfWork,
    settings: Settings,
    poster: DigestPoster,
    clock: Clock,
    policies: Policies,
    name: str | None = None,
    roles=None,
) -> AsyncIOScheduler:
    """The scheduler `pulse run` starts: its jobs, plus a catch-up of each job at start.

    ROLES (a bot.services.roles.RoleSync), when given, reconciles roles at start and after
    each daily job.
    """
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    name = name or process_name()
    # The jobs decide themselves whether they are due, so APScheduler may run them however late
    # (misfire_grace_time None), once (coalesce), never overlapping (max_instances 1).
    scheduler = AsyncIOScheduler(
        timezone=UTC,
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
    )
    running: set[asyncio.Task] = set()
    scheduler.pulse_running = running  # see stop_scheduler
    weekly_digest, daily, purge = (
        _tracked(running, job) for job in (weekly_digest_job, daily_job, purge_job)
    )
    j = settings.jobs
    if settings.digest.enabled:
        digest_args = (uow, settings, policies, poster, clock, name)
        scheduler.add_job(
            weekly_digest,
            weekly_trigger(settings),
            digest_args,
            id="weekly-digest",
            name="weekly digests",
        )
        # At start: post a digest whose time passed while Pulse was down (within grace).
        scheduler.add_job(
            weekly_digest,
            "date",
            digest_args,
            id="weekly-digest-catch-up",
            name="weekly digests missed while down",
        )
    daily_args = (uow, settings, policies, clock, name, roles)
    if roles is not None:
        scheduler.add_job(
            _tracked(running, roles.run), "date", id="roles-at-start", name="roles at start"
        )
    scheduler.add_job(
        daily,
        daily_trigger(j.daily_time, j.zone()),
        daily_args,
        id="daily",
        name="reclassify and quiet scan",
    )
    scheduler.add_job(
        daily,
        "date",
        daily_args,
        id="daily-catch-up",
        name="reclassify and quiet scan missed while down",
    )
    scheduler.add_job(
        purge,
        daily_trigger(j.purge_time, j.zone()),
        (uow, policies, clock),
        id="purge",
        name="retention purge",
    )
    return scheduler


def _tracked(running: set, job):
    """JOB as the scheduler runs it: known while under way, stopped quietly at shutdown."""

    @functools.wraps(job)
    async def run(*args):
        task = asyncio.current_task()
        running.add(task)
        try:
            return await job(*args)
        except asyncio.CancelledError:
            # Shutting down: every job is safe to stop (one transaction each) and catches up
            # at the next start, so this is news, not an error with a traceback.
            log.info("%s stopped by shutdown; it catches up at the next start", job.__name__)
            return None
        except Exception as exc:
            if not is_outage(exc):
                raise  # a bug: APScheduler logs it with its traceback
            # The database (or a platform) went away mid-job: the cause, in one line.
            log.error("%s stopped: %s", job.__name__, one_line(exc))
            return None
        finally:
            running.discard(task)

    return run


async def stop_scheduler(scheduler: AsyncIOScheduler, grace: float = 10.0) -> None:
    """Stop scheduling; let jobs under way finish for GRACE seconds, then stop them.

    Jobs are short (a transaction or a post each). Cancelled mid-query, one can leave its
    SQLite connection's thread running, which keeps the process from exiting, so they get
    the chance to end on their own first.
    """
    scheduler.shutdown(wait=False)
    running = set(getattr(scheduler, "pulse_running", ()))
    if not running:
        return
    _, late = await asyncio.wait(running, timeout=grace)
    for task in late:
        task.cancel()
    if late:
        await asyncio.wait(late, timeout=2)
