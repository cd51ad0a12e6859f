"""Slack: the slack-bolt app, its listeners, rendering and posting."""
