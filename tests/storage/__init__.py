"""The storage layer on real SQLite and PostgreSQL: writer, migrations, queries, locks."""
