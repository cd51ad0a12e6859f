"""Fault injection: PostgreSQL stopped, frozen and killed under the writer, crashes, bad files."""
