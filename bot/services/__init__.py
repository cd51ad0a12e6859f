"""Application services: one function per use case, and the only code that opens a unit of work.

The CLI, the scheduler and the importers call these; the chat commands' handlers
(bot.commands) are services of the same kind, registered by command name.
"""
