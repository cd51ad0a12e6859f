"""The writer: how ActivityEvents become rows, from the live queue or an import.

``records`` (events as plain tuples), ``statements`` (the SQL a batch runs), ``ids`` (platform
ids to row ids), ``batch`` (one batch in one transaction: BatchWriter), ``queue`` (the live
queue and its retries: IngestWriter), ``spill`` (the spill and quarantine files) and ``bulk``
(an import's connection and deferred indexes). Import the module you need: this package
re-exports nothing, so a reader process that needs only ``records`` loads no SQLAlchemy.
"""
