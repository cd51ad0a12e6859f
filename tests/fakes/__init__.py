"""Fakes of external platforms for tests; see README.md in this folder."""
