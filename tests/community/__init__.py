"""Pure domain rules, no database."""
