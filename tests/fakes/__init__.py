"""Fakes of external platforms for tests; see docs/fakes.md."""
