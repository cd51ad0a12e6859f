"""The platform-neutral command layer that Discord and Slack both call."""
