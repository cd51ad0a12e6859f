"""Slack's side of slash commands and buttons: acknowledge in time, answer via the command layer."""

from __future__ import annotations

import asyncio
import logging

from slack_sdk.errors import SlackApiError

from bot.commands.replies import Reply
from bot.commands.service import Invocation
from bot.platforms import ANSWER_WITHIN
from bot.slack import render
from community.events import Platform

log = logging.getLogger(__name__)


class _Commands:
    """Slash commands and buttons. A part of PulseSlack (bot.slack.adapter)."""

    async def _invocation(self, user: str) -> Invocation:
        return Invocation(Platform.SLACK, self.team_id, user, await self.is_staff(user))

    async def on_command(self, ack, body: dict, respond) -> None:
        """Answer a slash command through the shared command layer."""
        user = body.get("user_id", "")
        name = str(body.get("command", "")).lstrip("/")
        work = self._run_command(user, name, str(body.get("text") or ""))
        await self._answer(ack, respond, work, user, inline=True, replace=False)

    async def _run_command(self, user: str, name: str, text: str) -> Reply:
        return await self.service.run_text(await self._invocation(user), name, text)

    async def on_action(self, ack, body: dict, respond) -> None:
        """Handle a press on one of Pulse's buttons."""
        user = (body.get("user") or {}).get("id", "")
        actions = body.get("actions") or [{}]
        action_id = str(actions[0].get("action_id", ""))
        work = self._press(user, action_id)
        paging = action_id.startswith("pulse:page:")
        await self._answer(ack, respond, work, user, inline=False, replace=paging)

    async def _press(self, user: str, action_id: str) -> Reply:
        return await self.service.press(await self._invocation(user), action_id)

    async def _answer(self, ack, respond, work, user: str, *, inline: bool, replace: bool) -> None:
        task = asyncio.ensure_future(work)
        if inline:
            done, _ = await asyncio.wait({task}, timeout=ANSWER_WITHIN)
            if done:
                # Answered in the acknowledgement itself: one round trip, nothing to follow up.
                reply = task.result()
                await ack(**render.message(reply))
                await self._more(reply, respond, user)
                return
        await ack()
        reply = await task
        try:
            await respond(**render.message(reply), replace_original=replace)
            await self._more(reply, respond, user)
        except Exception as exc:  # the response URL expired (30 minutes) or was refused
            log.error("could not answer %s: %s", user, exc)

    async def _more(self, reply: Reply, respond, user: str) -> None:
        for more in reply.followups:
            await respond(**render.message(more), replace_original=False)
        if reply.attachment is not None:
            await respond(**render.message(await self._send_file(user, reply.attachment)))

    async def _send_file(self, user: str, attachment: tuple[str, bytes]) -> Reply:
        # Slack has no ephemeral files: a private file goes to the member's DM with Pulse.
        name, content = attachment
        try:
            dm = await self.client.conversations_open(users=user)
            await self.client.files_upload_v2(
                channel=dm["channel"]["id"], content=content, filename=name, title=name
            )
        except SlackApiError as exc:
            return Reply(
                title="The chart could not be sent",
                text=f"Slack said {exc.response.get('error')}. Pulse needs the files:write and "
                "im:write scopes (see `pulse slack-manifest`).",
            )
        return Reply(title="Chart sent", text="The chart is in your direct messages with Pulse.")
