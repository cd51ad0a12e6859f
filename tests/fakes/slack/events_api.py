"""Delivering events, commands and actions: signed HTTP POSTs to the app (Events API)."""

from __future__ import annotations

import asyncio
import json
from urllib.parse import urlencode

import aiohttp

from .constants import SLACK_USER_AGENT
from .formats import signed_headers
from .records import Delivery, FakeSlackError


class _EventsApi:
    """Deliveries and the Events API's signed HTTP requests."""

    async def _deliver(self, delivery: Delivery) -> Delivery:
        self.deliveries.append(delivery)
        self.last_delivery = delivery
        if self._http_target is not None:
            await self._deliver_over_http(delivery, *self._http_target)
        else:
            await self._deliver_over_socket(delivery)
        self._notify()
        return delivery

    def http_body(self, delivery: Delivery) -> tuple[str, str]:
        """(body, content type) as Slack sends a delivery over HTTP: events as JSON, commands
        form-encoded, interactions as a form field payload= holding JSON."""
        if delivery.kind == "events_api":
            return json.dumps(delivery.payload), "application/json"
        if delivery.kind == "slash_commands":
            return urlencode(delivery.payload), "application/x-www-form-urlencoded"
        return urlencode({"payload": json.dumps(delivery.payload)}), (
            "application/x-www-form-urlencoded"
        )

    async def _deliver_over_http(self, delivery: Delivery, url: str, secret: str) -> None:
        body, content_type = self.http_body(delivery)
        headers = {"Content-Type": content_type, "User-Agent": SLACK_USER_AGENT}
        headers.update(signed_headers(secret, body))
        if delivery.retry_num:
            headers["X-Slack-Retry-Num"] = str(delivery.retry_num)
            headers["X-Slack-Retry-Reason"] = delivery.retry_reason or "http_error"
        delivery.transport = "http"
        answer = await self.send_http(body, headers=headers, url=url)
        if answer is None:
            delivery.timed_out = True
            return
        delivery.status, delivery.body, delivery.headers = answer

    async def send_http(
        self,
        body: str | bytes,
        *,
        headers: dict[str, str],
        url: str | None = None,
    ) -> tuple[int, str, dict[str, str]] | None:
        """POST a raw request to the app's URL (default: the deliver_http one) and return
        (status, body, headers), or None if it did not answer within ack_timeout. For forged,
        tampered or stale requests built with signed_headers()."""
        target = url or (self._http_target[0] if self._http_target else None)
        if target is None:
            raise FakeSlackError("no app URL: call fake.deliver_http(url) first")
        assert self._session is not None, "the fake is not started"
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.connect_timeout
        raw = body.encode() if isinstance(body, str) else body
        while True:
            try:
                async with self._session.post(
                    target,
                    data=raw,
                    headers=headers,
                    timeout=aiohttp.ClientTimeout(total=self.ack_timeout),
                ) as response:
                    return response.status, await response.text(), dict(response.headers)
            except aiohttp.ClientConnectorError:
                # The app's server may still be starting: wait rather than lose the delivery.
                if loop.time() >= deadline:
                    raise FakeSlackError(
                        f"nothing listens at {target} after {self.connect_timeout}s"
                    ) from None
                await asyncio.sleep(0.02)
            except TimeoutError:
                return None
