"""The Discord adapter: gateway events in, slash commands and buttons through the command layer."""
