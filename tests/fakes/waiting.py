"""Waiting on a fake's state, shared by both fakes: no sleeps, and always a deadline."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any


class Waiting:
    """Polls a predicate whenever the fake notifies a change, and at least every 20 ms."""

    _changed: asyncio.Event

    # What never answers (see stall), and the event close() sets to let those requests end.
    stalled: set[str]
    _release: asyncio.Event

    def _notify(self) -> None:
        self._changed.set()

    def stall(self, *names: str) -> None:
        """Never answer NAMES until close(): on Discord REST route names (see _ROUTES) or
        "hello" (the gateway accepts and sends nothing); on Slack Web API methods or "socket"
        (a Socket Mode link never opens)."""
        self.stalled.update(names)

    async def _stall_if(self, name: str) -> None:
        if name in self.stalled:
            self._notify()
            await self._release.wait()

    def _check_while_waiting(self) -> None:
        """Raise at once when waiting can no longer succeed; a fake overrides this."""

    def _timed_out(self, message: str) -> Exception:
        """The error for a wait that ran out, MESSAGE followed by what the fake saw last."""
        raise NotImplementedError

    async def wait_for(
        self,
        predicate: Callable[[], Any],
        *,
        timeout: float = 5.0,  # noqa: ASYNC109 - polls a predicate, so no asyncio.timeout block
        what: str | None = None,
    ) -> Any:
        """Wait until predicate() is truthy and return its value; fail after timeout seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            value = predicate()
            if value:
                return value
            self._check_while_waiting()
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise self._timed_out(
                    f"timed out after {timeout}s waiting for {what or predicate!r}"
                )
            self._changed.clear()
            # Also poll: the client's or app's own state (client.is_ready()) changes without
            # telling the fake.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(remaining, 0.02))
