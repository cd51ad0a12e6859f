"""Background tasks an adapter runs beside its connection."""

from __future__ import annotations

import asyncio
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
