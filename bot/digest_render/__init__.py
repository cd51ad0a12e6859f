"""Weekly digests drawn for people: laid out once, then fitted to each destination's limits.

``layout`` turns a digest into neutral sections; ``discord_embeds``, ``slack_blocks`` and
``terminal`` fit those sections into Discord embeds, Slack Block Kit and the terminal, cutting
long lists with "and N more" rather than letting a post fail; ``rendered`` draws one digest
for every destination at once.
"""
