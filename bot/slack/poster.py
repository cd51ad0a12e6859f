"""Posting the weekly digests to Slack channels for the scheduler."""

from __future__ import annotations

from slack_sdk.errors import SlackApiError

from bot.digest_render.rendered import RenderedDigest
from bot.scheduler import DigestSkipped, audience_channel
from bot.settings import SlackSettings
from bot.slack.render import notification_text
from community.digest import SpaceRef
from community.events import Platform


class SlackPoster:
    """The scheduler's DigestPoster for Slack; run_slack sets the live app."""

    def __init__(self, settings: SlackSettings) -> None:
        self.settings = settings
        self.slack = None  # bot.slack.adapter.PulseSlack once connected

    async def post_digest(
        self, space: SpaceRef, audience: str, rendered: RenderedDigest, chart_png: bytes | None
    ) -> str | None:
        """Post RENDERED to the staff or community channel the config names for this workspace."""
        if space.platform != Platform.SLACK.value:
            raise DigestSkipped(f"{space.platform} spaces are not posted to Slack")
        channel = audience_channel(self.settings, "slack", audience)
        slack = self.slack
        if slack is None:
            raise RuntimeError("Slack is not connected")
        if space.platform_id != slack.team_id:
            raise DigestSkipped(f"workspace {space.platform_id} is not the one Pulse runs in")
        first_line = rendered.text.splitlines()[0] if rendered.text else "Pulse digest"
        try:
            posted = await slack.client.chat_postMessage(
                channel=channel, text=notification_text(first_line), blocks=rendered.slack_blocks
            )
            if chart_png and rendered.chart_filename:
                # Under the digest, in its thread, so the channel shows one post a week.
                await slack.client.files_upload_v2(
                    channel=channel,
                    thread_ts=posted["ts"],
                    content=chart_png,
                    filename=rendered.chart_filename,
                    title="Weekly active members",
                )
        except SlackApiError as exc:
            error = exc.response.get("error")
            if error in ("not_in_channel", "channel_not_found"):
                raise DigestSkipped(
                    f"Slack said {error} for slack.{audience}_channel_id {channel}: invite Pulse "
                    "to that channel (/invite @Pulse)"
                ) from exc
            raise
        return f"{channel} ({posted['ts']})"
