"""Background tasks an adapter runs beside its connection."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine


class Background:
    """Tasks started beside a platform connection (catch-up, staff syncs), stopped together.

    asyncio keeps only weak references to tasks, so they are held here until they finish.
    """

    def __init__(self) -> None:
        self.tasks: set[asyncio.Task] = set()

    def spawn(self, coro: Coroutine, name: str) -> asyncio.Task:
        """Run CORO as a task named NAME, held until it ends."""
        task = asyncio.create_task(coro, name=name)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    async def cancel(self) -> None:
        """Cancel every task still running and wait for them to end."""
        tasks = list(self.tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


class Stopped(Exception):
    """Raised by unless_stopped when the stop event came before the work was done."""


async def unless_stopped(coro: Coroutine, stop: asyncio.Event, name: str = "start-up"):
    """CORO's result, or Stopped once STOP is set first (CORO is then cancelled and awaited)."""
    work = asyncio.create_task(coro, name=name)
    stopper = asyncio.create_task(stop.wait(), name=f"{name}-stop")
    try:
        await asyncio.wait({work, stopper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopper.cancel()
        if not work.done():
            work.cancel()
            # What it was waiting on may take a moment to give up; its error is not news.
            await asyncio.gather(work, return_exceptions=True)
    if work.cancelled():
        raise Stopped(name)
    return work.result()


def one_line(exc: BaseException | None) -> str:
    """EXC as one line for a log: its type and the first line of its message."""
    if exc is None:
        return "unknown cause"
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


def is_outage(exc: BaseException) -> bool:
    """Whether EXC says a platform or the database is out of reach (not a bug in Pulse)."""
    import aiohttp

    from storage.faults import is_unavailable

    return isinstance(exc, OSError | TimeoutError | aiohttp.ClientError) or is_unavailable(exc)


def log_failure(logger: logging.Logger, exc: BaseException, message: str, *args: object) -> None:
    """Log MESSAGE for EXC: one line naming the cause for an outage, the traceback for a bug."""
    if is_outage(exc):
        logger.error(message + " (%s)", *args, one_line(exc))
    else:
        logger.error(message, *args, exc_info=exc)
