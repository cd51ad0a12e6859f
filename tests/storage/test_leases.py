"""Leases on a job for a space: one holder at a time, given back, taken over once expired."""

import asyncio
from datetime import timedelta

from sqlalchemy import select

from storage.leases import LeaseJob, claim_lease, release_lease, renew_lease
from storage.models import JobLease, Space
from storage.uow import UnitOfWork
from tests.factories import T0, ev, ingest

TTL = timedelta(minutes=15)
ROLES = LeaseJob.ROLES


async def _space(engine) -> int:
    await ingest(engine, [ev("message", "alice")])
    async with engine.connect() as conn:
        return (await conn.execute(select(Space.id))).scalar_one()


async def _claim(uow, space, holder, at=T0) -> bool:
    async with uow.write() as conn:
        return await claim_lease(conn, ROLES, space, holder, at, TTL)


async def _renew(uow, space, holder, at=T0) -> bool:
    async with uow.write() as conn:
        return await renew_lease(conn, ROLES, space, holder, at, TTL)


async def _release(uow, space, holder) -> None:
    async with uow.write() as conn:
        await release_lease(conn, ROLES, space, holder)


async def test_one_holder_at_a_time_until_released(engine):
    uow, space = UnitOfWork(engine), await _space(engine)
    assert await _claim(uow, space, "a")
    assert not await _claim(uow, space, "b")
    assert await _renew(uow, space, "a")
    assert not await _renew(uow, space, "b")
    await _release(uow, space, "b")  # not b's to give back
    assert not await _claim(uow, space, "b", T0 + timedelta(minutes=5))
    await _release(uow, space, "a")
    assert await _claim(uow, space, "b", T0 + timedelta(minutes=5))
    async with engine.connect() as conn:
        rows = (await conn.execute(select(JobLease.holder, JobLease.expires_at))).all()
    assert [(r.holder, r.expires_at) for r in rows] == [("b", T0 + timedelta(minutes=20))]


async def test_a_lease_left_by_a_killed_process_expires(engine):
    uow, space = UnitOfWork(engine), await _space(engine)
    assert await _claim(uow, space, "killed")
    assert not await _claim(uow, space, "next", T0 + TTL - timedelta(seconds=1))
    assert await _claim(uow, space, "next", T0 + TTL)
    # The old holder, had it only hung, learns that it lost the lease and stops.
    assert not await _renew(uow, space, "killed", T0 + TTL)
    assert await _renew(uow, space, "next", T0 + TTL)


async def test_of_many_claiming_at_once_exactly_one_wins(engine):
    uow, space = UnitOfWork(engine), await _space(engine)
    # Taking over an expired lease is raced too.
    assert await _claim(uow, space, "dead", T0 - 2 * TTL)
    for at in (T0, T0 + 2 * TTL):
        won = await asyncio.gather(*(_claim(uow, space, f"p{n}", at) for n in range(6)))
        assert won.count(True) == 1, won
