"""The Discord and Slack adapters, real libraries against the local fakes, and their renderers."""
